import Dataset
import Foundation
import Testing

/// Partitioned datasets and partition-wise scoring through the real executables (issue 20,
/// Docs/ScaleOut.md): `importer partition`, every tool reading the partitions as the whole,
/// `scorer --partial` + `scorer population` + `scorer merge` giving the single-machine scores
/// byte for byte, refusals, `trainer --sample-partitions`, and the Spark driver in local mode.
@Suite("partitioned datasets and scoring them a partition at a time", .serialized)
struct ScaleOutToolTests {
    /// A small export, its dataset and two models (the default CNN-LSTM + BG/NBD ensemble, and
    /// XGBoost), made once for the suite.
    static let fixture: (directory: String, dataset: String, models: [String]) = {
        let directory = try! ToolProcess.temporaryDirectory("scaleout")
        // The pipeline suite's export: small, and the BG/NBD fits behind xgboost's inputs converge at every date.
        let dataset = ToolProcess.simulatedDataset(in: directory, customers: 80, reps: 6, weeks: 40, seed: 11).dataset
        var models: [String] = []
        for model in ["cnn_lstm_bgnbd", "xgboost"] {
            let path = directory + "/\(model).safetensors"
            let trained = try! ToolProcess.run(
                "trainer",
                [
                    dataset, "--out", path, "--model", model, "--epochs", "1", "--batch-size", "128",
                    "--validation-dates", "3", "--seed", "2", "--quiet"
                ])
            precondition(trained.status == 0, trained.stderr)
            models.append(path)
        }
        return (directory, dataset, models)
    }()

    static func partition(_ count: Int, name: String) throws -> String {
        let out = fixture.directory + "/" + name
        let result = try ToolProcess.run(
            "importer", ["partition", "--dataset", fixture.dataset, "--partitions", String(count), "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        return out
    }

    static func read(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }

    @Test func partitionsHoldEveryCustomerOnceAndReadAsTheWhole() throws {
        let parts = try Self.partition(3, name: "parts3")
        let flat = try Dataset.load(directory: Self.fixture.dataset)
        let whole = try Dataset.load(directory: parts)
        #expect(whole.visits == flat.visits && whole.customers == flat.customers)
        #expect(whole.manifest == flat.manifest, "the source's manifest: counts, columns, mapping, history")
        var seen = Set<String>()
        for index in 0..<3 {
            // Each partition is a dataset directory of its own, whose customers hash to it.
            let part = try Dataset.load(directory: parts + "/" + CustomerPartitioning.directoryName(index))
            #expect(!part.visits.isEmpty)
            for visit in part.visits {
                #expect(CustomerPartitioning.partition(of: visit.customerID, count: 3) == index)
            }
            let ids = Set(part.visits.map(\.customerID))
            #expect(seen.isDisjoint(with: ids), "a customer's history is in exactly one partition")
            seen.formUnion(ids)
            #expect(part.manifest.visitCounts.reconciles && part.manifest.customerCounts.reconciles)
        }
        #expect(seen == Set(flat.visits.map(\.customerID)))
        // The same split twice: the same bytes (nothing depends on time or order of work).
        let again = try Self.partition(3, name: "parts3-again")
        #expect(Self.read(parts + "/manifest.json") == Self.read(again + "/manifest.json"))
    }

    @Test func partialScoresMergedAreTheSingleMachineScoresByteForByte() throws {
        let parts = try Self.partition(4, name: "parts4")
        let work = Self.fixture.directory + "/merge"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let dates = ["2018-11-19", "2018-11-26"]
        for model in Self.fixture.models {
            let population = work + "/population.json"
            let fitted = try ToolProcess.run(
                "scorer",
                ["population", "--dataset", parts, "--as-of", dates.joined(separator: ","), "--out", population])
            #expect(fitted.status == 0, "\(fitted.stderr)")
            var partials: [String] = []
            var expected = Data()
            for date in dates {
                // Single machine: the flat dataset scored whole.
                let flat = try ToolProcess.run(
                    "scorer", ["--model", model, "--dataset", Self.fixture.dataset, "--as-of", date, "--quiet"])
                #expect(flat.status == 0, "\(flat.stderr)")
                expected += Data(
                    (expected.isEmpty ? flat.stdout : String(flat.stdout.split(separator: "\n", maxSplits: 1)[1]))
                        .utf8)
                // The partitioned dataset read whole gives the same bytes.
                let whole = try ToolProcess.run(
                    "scorer", ["--model", model, "--dataset", parts, "--as-of", date, "--quiet"])
                #expect(whole.stdout == flat.stdout)
                for index in 0..<4 {
                    let out = work + "/p\(index)-\(date).csv"
                    let partial = try ToolProcess.run(
                        "scorer",
                        [
                            "--model", model, "--dataset", parts + "/" + CustomerPartitioning.directoryName(index),
                            "--as-of", date, "--partial", "--population", population, "--out", out, "--quiet"
                        ])
                    #expect(partial.status == 0, "\(partial.stderr)")
                    partials.append(out)
                }
            }
            // Both folds in one merge: the two single-date files, one header.
            let merged = try ToolProcess.run("scorer", ["merge"] + partials + ["--quiet"])
            #expect(merged.status == 0, "\(merged.stderr)")
            #expect(Data(merged.stdout.utf8) == expected, "\(model): merged scores differ from the scorer's")
            // The merged folds audit against the partitioned dataset as against the flat one.
            try Data(merged.stdout.utf8).write(to: URL(fileURLWithPath: work + "/merged.csv"))
            let audit = try ToolProcess.run(
                "evaluator",
                ["audit", "--scores", work + "/merged.csv", "--dataset", parts, "--out", work + "/audit", "--quiet"])
            #expect(audit.status == 0, "\(audit.stderr)")
            // Concatenated partial files on stdin are the same input.
            let concatenated = partials.reduce(Data()) { $0 + Self.read($1) }
            let piped = try ToolProcess.run("scorer", ["merge", "-", "--quiet"], stdin: concatenated)
            #expect(piped.stdout == merged.stdout)
            // The call list and all scores, as the nightly job writes them.
            let lists = try ToolProcess.run(
                "scorer",
                [
                    "merge", partials[4], partials[5], partials[6], partials[7], "--top-per-rep", "3",
                    "--all-scores", work + "/all.csv", "--out", work + "/lists.csv", "--quiet"
                ])
            #expect(lists.status == 0, "\(lists.stderr)")
            let single = try ToolProcess.run(
                "scorer",
                [
                    "--model", model, "--dataset", Self.fixture.dataset, "--as-of", dates[1], "--top-per-rep", "3",
                    "--all-scores", work + "/all-flat.csv", "--out", work + "/lists-flat.csv", "--quiet"
                ])
            #expect(single.status == 0)
            #expect(Self.read(work + "/lists.csv") == Self.read(work + "/lists-flat.csv"))
            #expect(Self.read(work + "/all.csv") == Self.read(work + "/all-flat.csv"))
        }
    }

    @Test func refusesWhatWouldGiveWrongListsWithAReason() throws {
        let parts = try Self.partition(2, name: "parts2")
        let model = Self.fixture.models[0], part0 = parts + "/part-00000"
        // --partial needs the whole dataset's population and one as-of date.
        let noPopulation = try ToolProcess.run(
            "scorer", ["--model", model, "--dataset", part0, "--as-of", "2018-11-26", "--partial"])
        #expect(noPopulation.status == 1 && noPopulation.stderr.contains("--population"))
        let noDate = try ToolProcess.run("scorer", ["--model", model, "--dataset", part0, "--partial"])
        #expect(noDate.status == 1 && noDate.stderr.contains("--as-of"))
        let population = Self.fixture.directory + "/population-2.json"
        _ = try ToolProcess.run(
            "scorer", ["population", "--dataset", parts, "--as-of", "2018-11-26", "--out", population, "--quiet"])
        let otherDate = try ToolProcess.run(
            "scorer",
            ["--model", model, "--dataset", part0, "--as-of", "2018-12-03", "--partial", "--population", population])
        #expect(otherDate.status == 2 && otherDate.stderr.contains("no fit for --as-of 2018-12-03"))
        let partial = Self.fixture.directory + "/p0.csv"
        let scored = try ToolProcess.run(
            "scorer",
            [
                "--model", model, "--dataset", part0, "--as-of", "2018-11-26", "--partial", "--population",
                population, "--out", partial, "--quiet"
            ])
        #expect(scored.status == 0, "\(scored.stderr)")
        // The same partition twice would list its customers twice.
        let overlap = try ToolProcess.run("scorer", ["merge", partial, partial])
        #expect(overlap.status == 2 && overlap.stderr.contains("scored twice"))
        // A crafted partial row is refused, naming file, line and column.
        let rows = String(decoding: Self.read(partial), as: UTF8.self).split(separator: "\n").map(String.init)
        for (column, value) in [(3, "nan"), (3, "1.5"), (13, "-4"), (14, "inf"), (10, "99999"), (0, "")] {
            var fields = rows[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[column] = value
            let crafted = Self.fixture.directory + "/crafted.csv"
            try Data((rows[0] + "\n" + fields.joined(separator: ",") + "\n").utf8).write(
                to: URL(fileURLWithPath: crafted))
            let refused = try ToolProcess.run("scorer", ["merge", crafted])
            #expect(
                refused.status == 2 && refused.stderr.contains("crafted.csv:2:"),
                "\(column)=\(value): \(refused.stderr)")
        }
        // A scores file is not a partial one.
        let flat = Self.fixture.directory + "/flat.csv"
        _ = try ToolProcess.run(
            "scorer", ["--model", model, "--dataset", Self.fixture.dataset, "--out", flat, "--quiet"])
        let notPartial = try ToolProcess.run("scorer", ["merge", flat])
        #expect(notPartial.status == 2 && notPartial.stderr.contains("scorer --partial"))
        // A changed partition is refused by every reader, naming the file.
        let visits = parts + "/part-00001/visits.csv"
        var bytes = Self.read(visits)
        bytes[bytes.count - 3] = bytes[bytes.count - 3] == 0x30 ? 0x31 : 0x30
        try bytes.write(to: URL(fileURLWithPath: visits))
        let tampered = try ToolProcess.run("scorer", ["--model", model, "--dataset", parts])
        #expect(tampered.status == 2 && tampered.stderr.contains("part-00001/visits.csv"))
        // Nothing writes into a partitioned dataset: an append says what to do instead.
        let export = Self.fixture.directory + "/export"
        let append = try ToolProcess.run(
            "importer", [export + "/visits.csv", "--customers", export + "/customers.csv", "--out", parts, "--append"])
        #expect(append.status != 0 && append.stderr.contains("importer partition"))
        // More partitions than customers: empty partitions are datasets too, and score to no rows.
        let many = try Self.partition(200, name: "parts200")
        let manifest = try Dataset.readPartitionedManifest(directory: many).manifest
        let empty = try #require(manifest.partitions.first { $0.visits == 0 })
        let emptyScores = try ToolProcess.run(
            "scorer",
            [
                "--model", model, "--dataset", many + "/" + empty.directory, "--as-of", "2018-11-26", "--partial",
                "--population", population, "--quiet"
            ])
        #expect(emptyScores.status == 0, "\(emptyScores.stderr)")
        #expect(emptyScores.stdout.split(separator: "\n").count == 1, "the header alone")
        let badCount = try ToolProcess.run(
            "importer", ["partition", "--dataset", Self.fixture.dataset, "--partitions", "0", "--out", parts])
        #expect(badCount.status == 1)
    }

    @Test func populationFromEachPartitionsObservationsIsTheSequentialFit() throws {
        let parts = try Self.partition(5, name: "parts-population")
        let work = Self.fixture.directory + "/population"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let dates = "2018-11-19,2018-11-26"
        let sequential = try ToolProcess.run(
            "scorer",
            ["population", "--dataset", parts, "--as-of", dates, "--out", work + "/sequential.json", "--quiet"])
        #expect(sequential.status == 0, "\(sequential.stderr)")
        var files: [String] = []
        for index in [3, 0, 4, 1, 2] {
            let out = work + "/obs\(index).csv"
            let observed = try ToolProcess.run(
                "scorer",
                [
                    "population", "--dataset", parts, "--as-of", dates, "--partition", String(index), "--observations",
                    "--out", out
                ])
            #expect(observed.status == 0, "\(observed.stderr)")
            files.append(out)
        }
        let fitted = try ToolProcess.run(
            "scorer",
            ["population", "--dataset", parts, "--as-of", dates, "--from-observations"] + files + [
                "--out", work + "/distributed.json", "--quiet"
            ])
        #expect(fitted.status == 0, "\(fitted.stderr)")
        #expect(Self.read(work + "/distributed.json") == Self.read(work + "/sequential.json"))
        // Every partition exactly once: a missing or repeated one would fit another population.
        let missing = try ToolProcess.run(
            "scorer",
            ["population", "--dataset", parts, "--as-of", dates, "--from-observations"] + files.dropLast() + [
                "--out", work + "/x.json"
            ])
        #expect(missing.status == 2 && missing.stderr.contains("are missing"))
        let repeated = try ToolProcess.run(
            "scorer",
            ["population", "--dataset", parts, "--as-of", dates, "--from-observations"] + files + [files[0]] + [
                "--out", work + "/x.json"
            ])
        #expect(repeated.status == 2 && repeated.stderr.contains("given twice"))
    }

    @Test func trainsOnASampleOfPartitionsAndSaysSoInTheModelFile() throws {
        let parts = try Self.partition(4, name: "parts-sample")
        let model = Self.fixture.directory + "/sample.safetensors"
        let trained = try ToolProcess.run(
            "trainer",
            [
                parts, "--sample-partitions", "0-1", "--model", "logreg", "--out", model, "--validation-dates", "3",
                "--quiet"
            ])
        #expect(trained.status == 0, "\(trained.stderr)")
        let text = String(decoding: Self.read(model), as: UTF8.self)
        #expect(text.contains("\"dataset_sample\":\"partitions 0-1 of 4"))
        // The sample's model scores the whole dataset.
        let scored = try ToolProcess.run("scorer", ["--model", model, "--dataset", parts, "--quiet"])
        #expect(scored.status == 0, "\(scored.stderr)")
        let flat = try ToolProcess.run(
            "trainer",
            [Self.fixture.dataset, "--sample-partitions", "0", "--model", "logreg", "--out", model + "2", "--quiet"])
        #expect(flat.status == 2 && flat.stderr.contains("needs a partitioned dataset"))
        let outside = try ToolProcess.run(
            "trainer", [parts, "--sample-partitions", "9", "--model", "logreg", "--out", model + "3", "--quiet"])
        #expect(outside.status == 2 && outside.stderr.contains("partitions 0…3"))
    }

    /// `Tools/spark/score.py` with `arguments`, in local mode with two workers.
    static func runDriver(_ python: String, _ driver: String, _ arguments: [String]) throws -> (
        status: Int32, stderr: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [driver, "--bin", ToolProcess.binDirectory.path, "--master", "local[2]"] + arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr)
    }

    /// The Spark driver in local mode with two workers: the scores of the single-machine scorer,
    /// byte for byte, for a call list and for a backtest's folds. Needs Java and a Python with
    /// pyspark (`make spark-env`, which `make test` runs); `REVISIT_SPARK_PYTHON` names that
    /// Python. Without it the test fails where `REVISIT_REQUIRE_PYTHON=1` (CI), and says it did
    /// not run otherwise.
    @Test func sparkLocalModeScoresAsTheScorerDoes() throws {
        guard let python = ProcessInfo.processInfo.environment["REVISIT_SPARK_PYTHON"] else {
            #expect(
                ProcessInfo.processInfo.environment["REVISIT_REQUIRE_PYTHON"] != "1",
                "REVISIT_SPARK_PYTHON is not set; `make test` sets it (make spark-env)")
            print("ScaleOutToolTests: REVISIT_SPARK_PYTHON not set; the Spark test did not run")
            return
        }
        let parts = try Self.partition(3, name: "parts-spark")
        let model = Self.fixture.models[0]
        let work = Self.fixture.directory + "/spark"
        let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tools/spark/score.py").path
        let lists = try Self.runDriver(
            python, driver,
            [
                "--dataset", parts, "--model", model, "--as-of", "2018-11-26", "--top-per-rep", "4", "--out",
                work + "-lists.csv", "--all-scores", work + "-all.csv", "--metrics", work + "-metrics.json"
            ])
        #expect(lists.status == 0, "\(lists.stderr)")
        let single = try ToolProcess.run(
            "scorer",
            [
                "--model", model, "--dataset", Self.fixture.dataset, "--as-of", "2018-11-26", "--top-per-rep", "4",
                "--all-scores", work + "-flat-all.csv", "--out", work + "-flat-lists.csv", "--quiet"
            ])
        #expect(single.status == 0)
        #expect(!Self.read(work + "-lists.csv").isEmpty)
        #expect(Self.read(work + "-lists.csv") == Self.read(work + "-flat-lists.csv"))
        #expect(Self.read(work + "-all.csv") == Self.read(work + "-flat-all.csv"))
        // Every partition ran as its own task.
        let metrics = try JSONSerialization.jsonObject(with: Self.read(work + "-metrics.json")) as? [String: Any]
        #expect((metrics?["tasks"] as? [Any])?.count == 3)

        // A backtest's folds, each with its own model: the single-machine files of each date, one header.
        let folds = try Self.runDriver(
            python, driver,
            [
                "--dataset", parts, "--fold", "2018-11-19=" + Self.fixture.models[0], "--fold",
                "2018-11-26=" + Self.fixture.models[1], "--out", work + "-folds.csv"
            ])
        #expect(folds.status == 0, "\(folds.stderr)")
        var expected = ""
        for (date, model) in [("2018-11-19", Self.fixture.models[0]), ("2018-11-26", Self.fixture.models[1])] {
            let flat = try ToolProcess.run(
                "scorer", ["--model", model, "--dataset", Self.fixture.dataset, "--as-of", date, "--quiet"])
            expected += expected.isEmpty ? flat.stdout : String(flat.stdout.split(separator: "\n", maxSplits: 1)[1])
        }
        #expect(Self.read(work + "-folds.csv") == Data(expected.utf8))
    }
}
