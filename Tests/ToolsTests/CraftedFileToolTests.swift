import Dataset
import Formats
import Foundation
import Tensors
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Nothing trusted blindly (issue 14): a changed dataset, a linked file, crafted model and
/// scores files and bad flags are refused by the release tools with one line and exit 2 (or 1
/// for flags, 4 for outputs), never a trap or a silent success. Each test failed before its fix.
@Suite("crafted files and flags", .serialized)
struct CraftedFileToolTests {
    /// A small dataset and a model trained on it, made once for the suite.
    static let fixture: (directory: String, dataset: String, model: String) = {
        let directory = try! ToolProcess.temporaryDirectory("crafted")
        let export = directory + "/export", dataset = directory + "/data", model = directory + "/model.safetensors"
        let synth = try! ToolProcess.run(
            "synth",
            ["--out", export, "--customers", "40", "--reps", "4", "--weeks", "30", "--seed", "4", "--quiet", "--no-xml"]
        )
        precondition(synth.status == 0, synth.stderr)
        let imported = try! ToolProcess.run(
            "importer", [export + "/visits.csv", "--customers", export + "/customers.csv", "--out", dataset, "--quiet"])
        precondition(imported.status == 0, imported.stderr)
        let trained = try! ToolProcess.run(
            "trainer",
            [dataset, "--out", model, "--model", "cnn_lstm", "--epochs", "1", "--validation-dates", "4", "--quiet"])
        precondition(trained.status == 0, trained.stderr)
        return (directory, dataset, model)
    }()

    /// A copy of the fixture's dataset to damage.
    static func copyOfDataset(_ label: String) throws -> String {
        let copy = try ToolProcess.temporaryDirectory(label) + "/data"
        try FileManager.default.copyItem(atPath: fixture.dataset, toPath: copy)
        return copy
    }

    /// Every reader of a dataset: trainer, scorer, evaluator audit, importer --append.
    static func readers(_ dataset: String, scratch: String) throws -> [(
        String, (status: Int32, stdout: String, stderr: String)
    )] {
        let scores = scratch + "/scores.csv"
        try
            "customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version\nC1,R1,2020-01-06,0.5,1,1,m,1\n"
            .write(toFile: scores, atomically: true, encoding: .utf8)
        let export = scratch + "/more.csv"
        try
            "visit_id,customer_id,rep_id,visit_date,method,target,purpose,result\nZ1,C1,R1,2020-01-06,phone,active,follow_up,order\n"
            .write(toFile: export, atomically: true, encoding: .utf8)
        return [
            (
                "trainer",
                try ToolProcess.run(
                    "trainer", [dataset, "--out", scratch + "/m.safetensors", "--epochs", "1", "--quiet"])
            ),
            ("scorer", try ToolProcess.run("scorer", ["--model", fixture.model, "--dataset", dataset])),
            (
                "evaluator",
                try ToolProcess.run(
                    "evaluator", ["audit", "--scores", scores, "--dataset", dataset, "--out", scratch + "/r", "--quiet"]
                )
            ),
            ("importer", try ToolProcess.run("importer", [export, "--out", dataset, "--append", "--quiet"]))
        ]
    }

    /// Orders written into `visits.csv` by hand: every tool used to exit 0 on it (the backtest
    /// then reported the reps at 31.6% instead of 6%). Each reader now checks the size and
    /// SHA-256 the manifest recorded and refuses, naming the file.
    @Test func aChangedDatasetFileIsRefusedByEveryReader() throws {
        let dataset = try Self.copyOfDataset("tampered")
        let path = dataset + "/visits.csv"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        try original.replacingOccurrences(of: ",no_answer,0", with: ",order,1").write(
            toFile: path, atomically: true, encoding: .utf8)
        for (tool, result) in try Self.readers(dataset, scratch: (dataset as NSString).deletingLastPathComponent) {
            #expect(result.status == 2, "\(tool): \(result.stderr)")
            #expect(
                result.stderr.contains("visits.csv")
                    && result.stderr.contains("the dataset was changed after the importer wrote it"),
                "\(tool): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(tool): one line")
        }
        #expect(
            try String(contentsOfFile: path, encoding: .utf8) != original,
            "--append did not write fresh hashes over the change")
    }

    /// Counts that do not reconcile (read ≠ accepted + rejected + duplicates) are refused.
    @Test func countsThatDoNotReconcileAreRefused() throws {
        let dataset = try Self.copyOfDataset("counts")
        let path = dataset + "/manifest.json"
        var json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var counts = try #require(json["visit_counts"] as? [String: Any])
        counts["read"] = (counts["read"] as! Int) + 7
        json["visit_counts"] = counts
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        let result = try ToolProcess.run("scorer", ["--model", Self.fixture.model, "--dataset", dataset])
        #expect(result.status == 2 && result.stderr.contains("visit_counts do not reconcile"), "\(result.stderr)")
    }

    /// A dataset file that is a link elsewhere is refused, and nothing of the linked file is
    /// echoed (its first line used to appear in the error).
    @Test func aLinkedDatasetFileIsRefusedWithoutEchoingIt() throws {
        let dataset = try Self.copyOfDataset("symlink")
        let secret = (dataset as NSString).deletingLastPathComponent + "/secret.txt"
        try "TOP-SECRET-LINE\n".write(toFile: secret, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: dataset + "/customers.csv")
        try FileManager.default.createSymbolicLink(atPath: dataset + "/customers.csv", withDestinationPath: secret)
        let result = try ToolProcess.run("scorer", ["--model", Self.fixture.model, "--dataset", dataset])
        #expect(result.status == 2 && result.stderr.contains("customers.csv: is a symbolic link"), "\(result.stderr)")
        #expect(!result.stderr.contains("TOP-SECRET"))
    }

    /// A model's provenance names the data: a dataset whose `visits.csv` was changed and its
    /// manifest digest rewritten to match (so it loads) gives a model with another
    /// `dataset_sha256` (it used to hash `manifest.json` only, which a data edit left alone).
    @Test func theProvenanceHashCoversTheData() throws {
        let dataset = try Self.copyOfDataset("rehashed")
        let scratch = (dataset as NSString).deletingLastPathComponent
        func provenance(_ directory: String) throws -> String {
            let model = scratch + "/\(UUID().uuidString).safetensors"
            let trained = try ToolProcess.run("trainer", [directory, "--out", model, "--model", "bgnbd", "--quiet"])
            #expect(trained.status == 0, "\(trained.stderr)")
            return try TensorFile.read(from: model).metadata["dataset_sha256"] ?? ""
        }
        let genuine = try provenance(dataset)
        let original = try provenance(Self.fixture.dataset)
        #expect(genuine.count == 64 && genuine == original)
        // Same number of rows, one result changed; the manifest's size and SHA-256 rewritten.
        let visitsPath = dataset + "/visits.csv"
        let visits = try String(contentsOfFile: visitsPath, encoding: .utf8)
        let range = try #require(visits.range(of: ",no_answer,0\n"))
        let changed = Array(visits.replacingCharacters(in: range, with: ",order,1\n").utf8)
        try Data(changed).write(to: URL(fileURLWithPath: visitsPath))
        let manifestPath = dataset + "/manifest.json"
        var json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
                as? [String: Any])
        json["files"] = (json["files"] as! [[String: Any]]).map { entry in
            guard entry["role"] as? String == "output", entry["path"] as? String == "visits.csv" else { return entry }
            var rewritten = entry
            rewritten["bytes"] = changed.count
            rewritten["sha256"] = SHA256.hex(changed)
            return rewritten
        }
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(
            to: URL(fileURLWithPath: manifestPath))
        let tampered = try provenance(dataset)
        #expect(tampered.count == 64 && tampered != genuine)
    }

    /// A checkpoint records the dataset and pipeline it came from: `--resume` on another
    /// dataset is refused instead of continuing a different run.
    @Test func resumeOnAnotherDatasetIsRefused() throws {
        let scratch = try ToolProcess.temporaryDirectory("resume-other")
        let model = scratch + "/m.safetensors"
        let flags = [
            "--model", "lstm", "--epochs", "50", "--patience", "50", "--batch-size", "16", "--validation-dates", "4",
            "--quiet"
        ]
        let running = try ToolProcess.start("trainer", [Self.fixture.dataset, "--out", model] + flags)
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: model + ".checkpoint") && running.process.isRunning
            && Date() < deadline
        {
            Thread.sleep(forTimeInterval: 0.05)
        }
        try #require(running.process.isRunning, "training finished before it could be interrupted")
        running.process.terminate()
        running.process.waitUntilExit()
        #expect(running.process.terminationStatus == 130)
        // Another dataset: the same export less its last visits.
        let other = scratch + "/other"
        let visits = try String(contentsOfFile: Self.fixture.dataset + "/visits.csv", encoding: .utf8).split(
            separator: "\n")
        try (visits.dropLast(200).joined(separator: "\n") + "\n").write(
            toFile: scratch + "/fewer.csv", atomically: true, encoding: .utf8)
        #expect(try ToolProcess.run("importer", [scratch + "/fewer.csv", "--out", other, "--quiet"]).status == 0)
        let resumed = try ToolProcess.run("trainer", [other, "--out", model, "--resume"] + flags)
        #expect(resumed.status == 2, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("cannot resume: it was made from another"), "\(resumed.stderr)")
    }

    // MARK: Crafted model files

    /// NaN or infinite weights: the scorer and `trainer --init-from` refuse the file (exit 2)
    /// instead of trapping.
    @Test func nonFiniteWeightsAreRefused() throws {
        var file = try TensorFile.read(from: Self.fixture.model)
        let name = try #require(file.tensors.keys.sorted().first)
        var poisoned = file.tensors[name]!
        poisoned.withUnsafeMutableBufferPointer { $0[0] = .infinity }
        file.tensors[name] = poisoned
        let path = Self.fixture.directory + "/poisoned.safetensors"
        try file.write(to: path)
        let scored = try ToolProcess.run("scorer", ["--model", path, "--dataset", Self.fixture.dataset])
        #expect(scored.status == 2 && scored.stderr.contains("NaN or infinite"), "\(scored.stderr)")
        let warm = try ToolProcess.run(
            "trainer",
            [
                Self.fixture.dataset, "--out", Self.fixture.directory + "/warm.safetensors", "--model", "cnn_lstm",
                "--init-from", path, "--quiet"
            ])
        #expect(warm.status == 2 && warm.stderr.contains("NaN or infinite"), "\(warm.stderr)")
    }

    /// Sizes in a file are checked before anything is allocated: a shape of 2^62 elements, a
    /// header of absurd length, a pipeline `sequence_length` of 10^9.
    @Test func absurdSizesAreRefusedBeforeAllocating() throws {
        let directory = Self.fixture.directory
        func header(_ json: String) -> Data {
            var data = Data()
            var length = UInt64(json.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
            data.append(Data(json.utf8))
            return data
        }
        let huge =
            header(#"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}}"#) + Data(count: 16)
        try huge.write(to: URL(fileURLWithPath: directory + "/huge.safetensors"))
        var length = UInt64(1) << 60
        let longHeader = withUnsafeBytes(of: &length) { Data($0) } + Data("{}".utf8)
        try longHeader.write(to: URL(fileURLWithPath: directory + "/header.safetensors"))
        var file = try TensorFile.read(from: Self.fixture.model)
        let pipeline = try #require(file.metadata["pipeline"])
        file.metadata["pipeline"] = pipeline.replacingOccurrences(
            of: "\"sequence_length\":10", with: "\"sequence_length\":1000000000")
        #expect(file.metadata["pipeline"] != pipeline, "the fixture's pipeline names sequence_length")
        try file.write(to: directory + "/window.safetensors")
        for name in ["huge", "header", "window"] {
            let result = try ToolProcess.run(
                "scorer", ["--model", directory + "/\(name).safetensors", "--dataset", Self.fixture.dataset])
            #expect(result.status == 2, "\(name): \(result.stderr)")
            #expect(result.stderr.hasPrefix("scorer: \(directory)/\(name).safetensors: "), "\(name): \(result.stderr)")
        }
    }

    // MARK: Flags and outputs

    /// Every numeric flag is validated: infinite and negative values give a clear message and
    /// exit 1 (`--positive-weight inf` trapped; a negative value said "Missing value").
    @Test func numericFlagsAreValidated() throws {
        let cases: [([String], String)] = [
            (["--loss", "bce", "--positive-weight", "inf"], "positive class weight must be a positive finite number"),
            (
                ["--loss", "bce", "--positive-weight", "-5"],
                "positive class weight must be a positive finite number, got -5"
            ),
            (["--learning-rate", "-1"], "learning rate must be a positive finite number"),
            (["--gamma", "inf"], "gamma"),
            (["--clip", "inf"], "gradient clip must be a positive finite number"),
            (["--epochs", "-3"], "epochs must be at least 1")
        ]
        for (flags, message) in cases {
            let result = try ToolProcess.run(
                "trainer", [Self.fixture.dataset, "--out", Self.fixture.directory + "/x.safetensors"] + flags)
            #expect(result.status == 1, "\(flags): \(result.stderr)")
            #expect(
                result.stderr.contains(message) && !result.stderr.contains("Missing value"),
                "\(flags): \(result.stderr)")
        }
        let synth = try ToolProcess.run("synth", ["--out", Self.fixture.directory + "/s", "--customers", "-5"])
        #expect(synth.status == 1 && !synth.stderr.contains("Missing value"), "\(synth.stderr)")
        // Upper bounds: values that would overflow a date or run for ever are usage errors.
        let bounded: [(String, [String], String)] = [
            (
                "trainer",
                [Self.fixture.dataset, "--out", Self.fixture.directory + "/x.safetensors", "--horizon", "3000000000"],
                "--horizon in 1...3660"
            ),
            (
                "trainer",
                [Self.fixture.dataset, "--out", Self.fixture.directory + "/x.safetensors", "--epochs", "1000000000"],
                "epochs must be at most 100000"
            ),
            (
                "evaluator",
                [
                    "audit", "--scores", "s.csv", "--dataset", Self.fixture.dataset, "--out", "r", "--bootstrap",
                    "1000000000"
                ], "--bootstrap must be at most 100000"
            ),
            (
                "scorer", ["--model", Self.fixture.model, "--dataset", Self.fixture.dataset, "--as-of", "9999-12-31"],
                "--as-of must be a date YYYY-MM-DD in 1900-01-01…2999-12-31"
            )
        ]
        for (tool, arguments, message) in bounded {
            let result = try ToolProcess.run(tool, arguments)
            #expect(
                result.status == 1 && result.stderr.contains(message), "\(tool) \(arguments.last!): \(result.stderr)")
        }
    }

    /// An unwritable `--out` is found before training, and every output failure is one line
    /// `TOOL: PATH: reason` with exit 4, never a raw NSCocoaErrorDomain dump.
    @Test func unwritableOutputsAreOneLineAndExit4() throws {
        let directory = Self.fixture.directory
        let missing = try ToolProcess.run(
            "trainer", [Self.fixture.dataset, "--out", directory + "/no/such/dir/m.safetensors", "--epochs", "5"])
        #expect(missing.status == 4, "\(missing.stderr)")
        #expect(!missing.stderr.contains("epoch "), "refused before the first epoch: \(missing.stderr)")
        let isDirectory = try ToolProcess.run("trainer", [Self.fixture.dataset, "--out", directory, "--epochs", "1"])
        #expect(isDirectory.status == 4 && isDirectory.stderr.contains("is a directory"), "\(isDirectory.stderr)")

        let file = directory + "/plain-file"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        let scores = directory + "/s.csv"
        try
            "customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version\nC1,R1,2020-01-06,0.5,1,1,m,1\n"
            .write(toFile: scores, atomically: true, encoding: .utf8)
        let results = [
            (
                "evaluator",
                try ToolProcess.run(
                    "evaluator",
                    ["audit", "--scores", scores, "--dataset", Self.fixture.dataset, "--out", file, "--quiet"])
            ),
            (
                "synth",
                try ToolProcess.run(
                    "synth", ["--out", file, "--customers", "5", "--reps", "1", "--weeks", "2", "--quiet"])
            )
        ]
        for (tool, result) in results {
            #expect(result.status == 4, "\(tool): \(result.stderr)")
            #expect(result.stderr.hasPrefix("\(tool): \(file)"), "\(tool): \(result.stderr)")
            #expect(
                !result.stderr.contains("NSCocoaErrorDomain") && result.stderr.split(separator: "\n").count == 1,
                "\(tool): \(result.stderr)")
        }
    }

    /// Report fields from a scores file are escaped (raw HTML and a line break used to go into
    /// report.md as they were); ids with control characters are refused; the number of models
    /// a file may hold is bounded (1M ids made a report past 4 GB).
    @Test func reportFieldsAreEscapedAndModelIdsBounded() throws {
        let directory = try ToolProcess.temporaryDirectory("report-fields")
        let header = "customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version\n"
        try (header + "C1,R1,2018-05-07,0.5,1,1,<script>x</script> # *bold*,1\n").write(
            toFile: directory + "/html.csv", atomically: true, encoding: .utf8)
        let html = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", directory + "/html.csv", "--dataset", Self.fixture.dataset, "--out",
                directory + "/r", "--quiet", "--bootstrap", "10"
            ])
        #expect(html.status == 0, "\(html.stderr)")
        let markdown = try String(contentsOfFile: directory + "/r/report.md", encoding: .utf8)
        #expect(!markdown.contains("<script>") && markdown.contains("\\<script\\>x\\</script\\> \\# \\*bold\\*"))

        try (header + "C1,R1,2020-01-06,0.5,1,1,\"two\n## lines\",1\n").write(
            toFile: directory + "/newline.csv", atomically: true, encoding: .utf8)
        let newline = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", directory + "/newline.csv", "--dataset", Self.fixture.dataset, "--out",
                directory + "/r2", "--quiet"
            ])
        #expect(
            newline.status == 2 && newline.stderr.contains("model_id") && newline.stderr.contains("control characters"),
            "\(newline.stderr)")

        var many = header
        for model in 0...100 { many += "C1,R1,2020-01-06,0.5,1,1,m\(model),1\n" }
        try many.write(toFile: directory + "/many.csv", atomically: true, encoding: .utf8)
        let bounded = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", directory + "/many.csv", "--dataset", Self.fixture.dataset, "--out",
                directory + "/r3", "--quiet"
            ])
        #expect(
            bounded.status == 2 && bounded.stderr.contains("more than 100 distinct model_id values"),
            "\(bounded.stderr)")
    }
}
