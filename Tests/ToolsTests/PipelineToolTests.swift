import Dataset
import Formats
import Foundation
import Tensors
import TestSupport
import Testing

/// The nightly pipeline through the real executables on a small simulated export:
/// synth → importer → trainer → scorer, with the determinism, interruption and refusal
/// behaviour an operator relies on.
@Suite("synth → importer → trainer → scorer", .serialized)
struct PipelineToolTests {
    /// A small export and its imported dataset, made once for the suite (80 customers, 6 reps,
    /// 40 weeks: a few thousand weekly examples, seconds of training in a debug build).
    static let fixture: (directory: String, dataset: String) = {
        let directory = try! ToolProcess.temporaryDirectory("pipeline")
        let dataset = ToolProcess.simulatedDataset(in: directory, customers: 80, reps: 6, weeks: 40, seed: 11).dataset
        return (directory, dataset)
    }()

    static let quickTraining = [
        "--epochs", "2", "--batch-size", "128", "--validation-dates", "4", "--seed", "3", "--quiet"
    ]

    static func train(_ model: String, _ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String)
    {
        try ToolProcess.run("trainer", [fixture.dataset, "--out", model] + quickTraining + extra)
    }

    @Test func trainsAndScoresPerRepCallLists() throws {
        let model = Self.fixture.directory + "/cnn.safetensors"
        let trained = try Self.train(model, ["--model", "cnn_lstm"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let scored = try ToolProcess.run(
            "scorer", ["--model", model, "--dataset", Self.fixture.dataset, "--top-per-rep", "5"])
        #expect(scored.status == 0, "\(scored.stderr)")
        let lines = scored.stdout.split(separator: "\n")
        let header =
            "customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version,"
            + "expected_orders,expected_days_to_order,median_days_to_order,p_order_7d,p_order_14d,p_order_28d,horizon_days,train_until,"
            + "reason_1,reason_2,reason_3"
        #expect(lines.first.map(String.init) == header)
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.count == 6 * 5, "6 reps × top 5")
        var byRep: [Substring: [(rank: Int, p: Double)]] = [:]
        for row in rows {
            // The CNN-LSTM predicts whether, not when or how many: its forecast columns are empty.
            // (Split on every comma: a reason holding one is quoted and splits further, past column 16.)
            #expect(row.count >= 19 && row[7] == "3" && row[8..<14].allSatisfy(\.isEmpty))
            // The model's H and training cut-off travel with every row, for the audit.
            #expect(row[14] == "28" && Day(iso: String(row[15])) != nil)
            let p = Double(row[3])!
            #expect(p >= 0 && p <= 1)
            byRep[row[1], default: []].append((Int(row[4])!, p))
        }
        for (rep, list) in byRep {
            #expect(list.map(\.rank) == [1, 2, 3, 4, 5], "\(rep)")
            #expect(zip(list, list.dropFirst()).allSatisfy { $0.p >= $1.p }, "\(rep): ranks follow probabilities")
        }
        // As a filter: dataset-format visit rows on standard input, scores on standard output.
        let visits = try Data(contentsOf: URL(fileURLWithPath: Self.fixture.dataset + "/visits.csv"))
        let piped = try ToolProcess.run(
            "scorer", ["--model", model, "--visits", "-", "--customers", Self.fixture.dataset + "/customers.csv"],
            stdin: visits)
        #expect(piped.status == 0, "\(piped.stderr)")
        let full = try ToolProcess.run("scorer", ["--model", model, "--dataset", Self.fixture.dataset])
        #expect(piped.stdout == full.stdout, "stdin rows and the dataset directory give the same scores")
        // The thread count changes the speed, not the scores.
        for threads in ["1", "2", "3"] {
            let scored = try ToolProcess.run(
                "scorer", ["--model", model, "--dataset", Self.fixture.dataset, "--threads", threads])
            #expect(scored.status == 0 && scored.stdout == full.stdout, "--threads \(threads): \(scored.stderr)")
        }
    }

    /// The thread count changes the speed, not the model: the row blocks depend on the batch
    /// size alone, and the file does not record the count.
    @Test func theThreadCountDoesNotChangeTheModelFile() throws {
        let one = Self.fixture.directory + "/threads-1.safetensors",
            two = Self.fixture.directory + "/threads-2.safetensors"
        #expect(try Self.train(one, ["--model", "cnn_lstm", "--threads", "1"]).status == 0)
        #expect(try Self.train(two, ["--model", "cnn_lstm", "--threads", "2"]).status == 0)
        let a = try Data(contentsOf: URL(fileURLWithPath: one)), b = try Data(contentsOf: URL(fileURLWithPath: two))
        #expect(a == b)
    }

    /// Same dataset, flags and seed → the same model file, byte for byte.
    @Test func retrainingGivesAByteIdenticalModelFile() throws {
        let first = Self.fixture.directory + "/a.safetensors", second = Self.fixture.directory + "/b.safetensors"
        #expect(try Self.train(first, ["--model", "gru"]).status == 0)
        #expect(try Self.train(second, ["--model", "gru"]).status == 0)
        let a = try Data(contentsOf: URL(fileURLWithPath: first)),
            b = try Data(contentsOf: URL(fileURLWithPath: second))
        #expect(a == b)
        #expect(!FileManager.default.fileExists(atPath: first + ".checkpoint"), "a finished run removes its checkpoint")
    }

    /// SIGTERM during training leaves the last epoch's checkpoint and exits 130; --resume then
    /// finishes with exactly the model an uninterrupted run writes, here on another thread count
    /// than the interrupted run (two, then one).
    @Test func aSignalLeavesACheckpointAndResumeFinishesTheSameModel() throws {
        let flags = [
            "--model", "lstm", "--epochs", "4", "--patience", "10", "--batch-size", "32", "--validation-dates", "4",
            "--seed", "5", "--quiet"
        ]
        let reference = Self.fixture.directory + "/uninterrupted.safetensors"
        let uninterrupted = try ToolProcess.run("trainer", [Self.fixture.dataset, "--out", reference] + flags)
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        let model = Self.fixture.directory + "/interrupted.safetensors"
        let running = try ToolProcess.start("trainer", [Self.fixture.dataset, "--out", model, "--threads", "2"] + flags)
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: model + ".checkpoint") && running.process.isRunning
            && Date() < deadline
        {
            Thread.sleep(forTimeInterval: 0.05)
        }
        try #require(running.process.isRunning, "training finished before it could be interrupted")
        running.process.terminate()  // SIGTERM
        running.process.waitUntilExit()
        let stderr = String(decoding: running.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(running.process.terminationStatus == 130, "\(stderr)")
        #expect(FileManager.default.fileExists(atPath: model + ".checkpoint"))
        #expect(!FileManager.default.fileExists(atPath: model), "no model file from an interrupted run")

        let resumed = try ToolProcess.run(
            "trainer", [Self.fixture.dataset, "--out", model, "--resume", "--threads", "1"] + flags)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == Data(contentsOf: URL(fileURLWithPath: reference)))
    }

    /// synth's CSV and XML layouts of one export import into the same dataset, byte for byte.
    @Test func synthCSVAndXMLImportIdentically() throws {
        let directory = try ToolProcess.temporaryDirectory("synth-formats")
        let synth = try ToolProcess.run(
            "synth",
            [
                "--out", directory + "/export", "--customers", "60", "--reps", "4", "--weeks", "20", "--seed", "9",
                "--quiet"
            ])
        #expect(synth.status == 0, "\(synth.stderr)")
        for format in ["csv", "xml"] {
            let imported = try ToolProcess.run(
                "importer",
                [
                    directory + "/export/visits.\(format)", "--customers", directory + "/export/customers.\(format)",
                    "--out", directory + "/\(format)", "--quiet"
                ])
            #expect(imported.status == 0, "\(format): \(imported.stderr)")
        }
        for file in ["visits.csv", "customers.csv"] {
            let fromCSV = try Data(contentsOf: URL(fileURLWithPath: directory + "/csv/" + file))
            let fromXML = try Data(contentsOf: URL(fileURLWithPath: directory + "/xml/" + file))
            #expect(!fromCSV.isEmpty && fromCSV == fromXML, "\(file) differs between the CSV and XML imports")
        }
        let manifest = try Dataset.readManifest(directory: directory + "/xml")
        #expect(manifest.visitCounts.rejected == 0 && manifest.visitCounts.reconciles)
    }

    @Test func helpDescribesEveryFlagAndExitsZero() throws {
        for (tool, flags) in [
            (
                "trainer",
                ["--model", "--epochs", "--resume", "--init-from", "--train-until", "--log-json", "Exit codes"]
            ),
            ("scorer", ["--model", "--dataset", "--visits", "--top-per-rep", "--as-of", "Exit codes"])
        ] {
            let help = try ToolProcess.run(tool, ["--help"])
            #expect(help.status == 0, "\(tool) --help: \(help.stderr)")
            for flag in flags { #expect(help.stdout.contains(flag), "\(tool) --help lacks \(flag)") }
        }
        // Every tool names its release (the model file and report.json record it too).
        for tool in ["importer", "trainer", "scorer", "evaluator", "synth"] {
            let version = try ToolProcess.run(tool, ["--version"])
            #expect(
                version.status == 0 && version.stdout == RevisitVersion.current + "\n",
                "\(tool) --version: \(version.stdout) \(version.stderr)")
        }
        let backtest = try ToolProcess.run("evaluator", ["backtest", "--help"])
        #expect(
            backtest.status == 0 && backtest.stdout.contains("--first-fold") && backtest.stdout.contains("--models"),
            "\(backtest.stderr)")
    }

    @Test func refusalsHaveReasonsAndExitCodes() throws {
        let missing = try ToolProcess.run(
            "trainer", [Self.fixture.directory + "/nothing", "--out", Self.fixture.directory + "/x.safetensors"])
        #expect(missing.status == 2 && missing.stderr.contains("manifest.json"), "\(missing.stderr)")
        let badModel = try ToolProcess.run(
            "trainer", [Self.fixture.dataset, "--out", "/tmp/x", "--model", "transformer"])
        #expect(badModel.status == 1, "usage errors exit 1: \(badModel.stderr)")
        // The parser lists the registry's names.
        #expect(
            badModel.stderr.contains("'transformer' is invalid for '--model <model>'")
                && badModel.stderr.contains("- xgboost_timing"), "\(badModel.stderr)")
        for (tool, arguments) in [
            ("trainer", [Self.fixture.dataset, "--out", "/tmp/x"]),
            ("scorer", ["--model", "/tmp/x", "--dataset", Self.fixture.dataset]),
            ("evaluator", ["backtest", "--dataset", Self.fixture.dataset, "--out", "/tmp/x"])
        ] {
            let zeroThreads = try ToolProcess.run(tool, arguments + ["--threads", "0"])
            #expect(
                zeroThreads.status == 1 && zeroThreads.stderr.contains("threads must be in 1...64"),
                "\(tool): \(zeroThreads.stderr)")
        }
        let noResume = try ToolProcess.run(
            "trainer",
            [Self.fixture.dataset, "--out", Self.fixture.directory + "/never.safetensors", "--resume", "--quiet"])
        #expect(noResume.status == 2 && noResume.stderr.contains("no checkpoint"), "\(noResume.stderr)")
        // A file that is not a model.
        let notModel = try ToolProcess.run(
            "scorer", ["--model", Self.fixture.dataset + "/manifest.json", "--dataset", Self.fixture.dataset])
        #expect(notModel.status == 2 && notModel.stderr.hasPrefix("scorer: "), "\(notModel.stderr)")
        let unwritable = try ToolProcess.run(
            "scorer",
            [
                "--model", Self.fixture.directory + "/cnn.safetensors", "--dataset", Self.fixture.dataset,
                "--out", "/nonexistent-directory/scores.csv"
            ])
        #expect(unwritable.status == 4, "\(unwritable.stderr)")
        // A model whose pipeline needs a column this dataset lacks is refused with the reason:
        // trained on a copy of the dataset with a numeric `amount` column, scored without it.
        let model = Self.fixture.directory + "/logreg.safetensors"
        let other = try ToolProcess.temporaryDirectory("pipeline-other")
        var manifest = try Dataset.readManifest(directory: Self.fixture.dataset)
        manifest.visitColumns = DatasetManifest.ExtraColumns(numeric: ["amount"])
        let dataset = try Dataset.load(directory: Self.fixture.dataset)
        let visits = dataset.visits.map {
            var v = $0; v.numeric = [1]; return v
        }
        try Data(Dataset.encodeVisits(visits, columns: manifest.visitColumns)).write(
            to: URL(fileURLWithPath: other + "/visits.csv"))
        try FileManager.default.copyItem(
            atPath: Self.fixture.dataset + "/customers.csv", toPath: other + "/customers.csv")
        try FileManager.default.copyItem(atPath: Self.fixture.dataset + "/rejects.csv", toPath: other + "/rejects.csv")
        try DatasetFiles.writeManifest(manifest, to: other)
        let trained = try ToolProcess.run("trainer", [other, "--out", model, "--model", "logreg"] + Self.quickTraining)
        #expect(trained.status == 0, "\(trained.stderr)")
        let mismatch = try ToolProcess.run("scorer", ["--model", model, "--dataset", Self.fixture.dataset])
        #expect(mismatch.status == 2 && mismatch.stderr.contains("does not fit"), "\(mismatch.stderr)")
    }

    /// The field's contenders through the tools: trained, saved and scored like the CNN-LSTM,
    /// each with the calibration it asks for (or is given).
    @Test func statisticalContendersTrainAndScoreThroughTheTools() throws {
        for (name, extra) in [("xgboost", ["--calibration", "isotonic"]), ("bgnbd", []), ("round_robin", [])] {
            let model = Self.fixture.directory + "/\(name).safetensors"
            let trained = try Self.train(model, ["--model", name] + extra)
            #expect(trained.status == 0, "\(name): \(trained.stderr)")
            let scored = try ToolProcess.run(
                "scorer", ["--model", model, "--dataset", Self.fixture.dataset, "--top-per-rep", "2", "--quiet"])
            #expect(scored.status == 0, "\(name): \(scored.stderr)")
            let rows = scored.stdout.split(separator: "\n").dropFirst()
            #expect(
                !rows.isEmpty && rows.allSatisfy { $0.contains(",\(name)-") }, "\(name): the model id names the model")
            let file = try TensorFile.read(from: model)
            #expect(file.metadata["model"] == name)
            let expected = name == "xgboost" ? "isotonic" : "none"
            #expect(
                file.metadata["calibration"]?.contains("\"method\":\"\(expected)\"") == true,
                "\(name): \(file.metadata["calibration"] ?? "")")
        }
        let refused = try Self.train(
            Self.fixture.directory + "/x.safetensors", ["--model", "recency", "--calibration", "platt"])
        #expect(refused.status == 1 && refused.stderr.contains("cannot be calibrated"), "\(refused.stderr)")
    }

    /// A timing model's scores file carries when and how many: expected orders, expected and
    /// median days, P(order within 7/14/28 days) non-decreasing with P(within 28) = the
    /// probability at H = 28 (one model serves both); BG/NBD fills them from its posterior; and
    /// the evaluator's audit reads the file back.
    @Test func timingModelsWriteTheForecastColumns() throws {
        for name in ["xgboost_timing", "bgnbd"] {
            let model = Self.fixture.directory + "/forecast-\(name).safetensors"
            let trained = try Self.train(model, ["--model", name])
            #expect(trained.status == 0, "\(name): \(trained.stderr)")
            let scored = try ToolProcess.run("scorer", ["--model", model, "--dataset", Self.fixture.dataset, "--quiet"])
            #expect(scored.status == 0, "\(name): \(scored.stderr)")
            let rows = scored.stdout.split(separator: "\n").dropFirst().map {
                $0.split(separator: ",", omittingEmptySubsequences: false)
            }
            #expect(rows.count > 50)
            for row in rows {
                guard row.count >= 19, let p = Double(row[3]), let orders = Double(row[8]),
                    let expected = Double(row[9]),
                    let median = Double(row[10]), let p7 = Double(row[11]), let p14 = Double(row[12]),
                    let p28 = Double(row[13])
                else {
                    Issue.record("\(name): a forecast column is empty or not a number: \(row)")
                    return
                }
                #expect(orders >= 0 && expected > 0 && median >= 1 && p7 <= p14 && p14 <= p28)
                #expect(abs(p28 - p) < 1e-6, "\(name): P(order within 28 days) \(p28) is the score \(p) at H = 28")
            }
            let scores = Self.fixture.directory + "/forecast-\(name).csv"
            try scored.stdout.write(toFile: scores, atomically: true, encoding: .utf8)
            let audit = try ToolProcess.run(
                "evaluator",
                [
                    "audit", "--scores", scores, "--dataset", Self.fixture.dataset,
                    "--out", Self.fixture.directory + "/forecast-report-\(name)", "--quiet", "--bootstrap", "10"
                ])
            #expect(audit.status == 0, "\(name): \(audit.stderr)")
        }
        // A list scored inside the model's training period is flagged by the scorer and left
        // out by the audit; --visits without --customers says the profiles are missing.
        let model = Self.fixture.directory + "/forecast-bgnbd.safetensors"
        let early = try ToolProcess.run(
            "scorer", ["--model", model, "--dataset", Self.fixture.dataset, "--as-of", "2018-06-04"])
        #expect(early.status == 0 && early.stderr.contains("inside the model's training period"), "\(early.stderr)")
        let earlyScores = Self.fixture.directory + "/early.csv"
        try early.stdout.write(toFile: earlyScores, atomically: true, encoding: .utf8)
        let earlyAudit = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", earlyScores, "--dataset", Self.fixture.dataset,
                "--out", Self.fixture.directory + "/early-report", "--bootstrap", "10"
            ])
        #expect(
            earlyAudit.stdout.contains("scored inside their model's training period")
                || earlyAudit.stderr.contains("training period"),
            "\(earlyAudit.stdout) \(earlyAudit.stderr)")
        let refused = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", earlyScores, "--dataset", Self.fixture.dataset,
                "--out", Self.fixture.directory + "/early-report-14", "--horizon", "14"
            ])
        #expect(refused.status == 2 && refused.stderr.contains("made for a 28-day window"), "\(refused.stderr)")
        let visits = try Data(contentsOf: URL(fileURLWithPath: Self.fixture.dataset + "/visits.csv"))
        let bare = try ToolProcess.run("scorer", ["--model", model, "--visits", "-"], stdin: visits)
        #expect(bare.status == 0 && bare.stderr.contains("without --customers"), "\(bare.stderr)")
    }
}
