import Foundation
import Testing

/// `Docs/nightly-retrain.sh` run night after night on a simulated ERP, as cron would: the job
/// must survive what months of nights bring (a model that cannot warm-start, a broken export)
/// and keep the audit history that `evaluator trend` draws.
@Suite("nightly job")
struct NightlyJobToolTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs the script as `night` with the tools of this build; stdout and stderr together.
    static func night(_ night: String, export: String, state: String, config: String? = nil) throws -> (
        status: Int32, log: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            "-c", "bash \"$0\" \"$1\" \"$2\" 2>&1", root.appendingPathComponent("Docs/nightly-retrain.sh").path, export,
            state
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["REVISIT_BIN"] = ToolProcess.binDirectory.path
        environment["REVISIT_TODAY"] = night
        environment["LIST_LENGTH"] = "3"
        if let config {
            environment["REVISIT_CONFIG"] = config  // the trainer's flags come from the file
        } else {
            environment["TRAIN_ARGS"] = "--model xgboost --horizon 1 --quiet"
        }
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let log = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: log, as: UTF8.self))
    }

    @Test func threeNightsWithAForeignModelAndABrokenExport() throws {
        let work = try ToolProcess.temporaryDirectory("nightly")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let synth = try ToolProcess.run(
            "synth", ["--out", work + "/erp", "--customers", "120", "--reps", "3", "--weeks", "20", "--no-xml"])
        #expect(synth.status == 0, "\(synth.stderr)")
        let export = work + "/export", state = work + "/state"
        try FileManager.default.createDirectory(atPath: export, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: work + "/erp/customers.csv", toPath: export + "/customers.csv")
        let lines = try String(contentsOfFile: work + "/erp/visits.csv", encoding: .utf8).split(separator: "\n")
        /// The full export of a night: every visit dated before it (the date is the 4th column).
        func writeExport(before night: String, keepingNewest share: Double = 1) throws {
            let rows = lines.dropFirst().filter {
                $0.split(separator: ",", omittingEmptySubsequences: false)[3] < night
            }
            let kept = rows.suffix(Int(Double(rows.count) * share))
            try ([lines[0]] + kept).joined(separator: "\n").appending("\n").write(
                toFile: export + "/visits.csv", atomically: true, encoding: .utf8)
        }

        // Last night's model is another kind (the operator switched models): no warm start, a fresh training.
        try writeExport(before: "2018-07-02")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let imported = try ToolProcess.run(
            "importer",
            [export + "/visits.csv", "--customers", export + "/customers.csv", "--out", work + "/first", "--quiet"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let recency = try ToolProcess.run(
            "trainer", [work + "/first", "--out", state + "/model.safetensors", "--model", "recency", "--quiet"])
        #expect(recency.status == 0, "\(recency.stderr)")
        let first = try Self.night("2018-07-02", export: export, state: state)
        #expect(first.status == 0, "\(first.log)")
        #expect(
            first.log.contains("cannot warm-start tonight's training") && first.log.contains("training from scratch"),
            "\(first.log)")
        #expect(first.log.contains("nightly 2018-07-02: done"), "\(first.log)")
        #expect(
            try String(contentsOfFile: state + "/lists/latest.csv", encoding: .utf8).hasPrefix(
                "customer_id,rep_id,as_of"))
        #expect(FileManager.default.fileExists(atPath: state + "/scores/2018-07-02.csv"))

        // A broken export (the oldest 40% of the visits gone): yesterday's dataset and model stay, lists are still published.
        let modelBefore = try Data(contentsOf: URL(fileURLWithPath: state + "/model.safetensors"))
        try writeExport(before: "2018-07-03", keepingNewest: 0.6)
        let second = try Self.night("2018-07-03", export: export, state: state)
        #expect(second.status == 0, "\(second.log)")
        #expect(
            second.log.contains("DRIFT history_lost") && second.log.contains("keeping yesterday's dataset and model"),
            "\(second.log)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: state + "/data") == "data-2018-07-02")
        #expect(try Data(contentsOf: URL(fileURLWithPath: state + "/model.safetensors")) == modelBefore)
        #expect(FileManager.default.fileExists(atPath: state + "/lists/2018-07-03.csv"))
        // The first night's one-day window closed with 07-02: audited, with the list's length.
        #expect(second.log.contains("history: \(state)/history.csv: 1 list added"), "\(second.log)")

        // The export is whole again: the new dataset is taken, both earlier nights are in the history.
        try writeExport(before: "2018-07-04")
        // The third night reads the tools' flags from a config file instead of TRAIN_ARGS.
        let config = work + "/revisit.toml"
        try """
        [importer]
        [trainer]
        model = "xgboost"
        horizon = 1
        quiet = true
        [scorer]
        [evaluator.drift]
        [evaluator.audit]
        bootstrap = 50
        [evaluator.trend]
        window = 7
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let third = try Self.night("2018-07-04", export: export, state: state, config: config)
        #expect(third.status == 0, "\(third.log)")
        #expect(!third.log.contains("DRIFT"), "\(third.log)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: state + "/data") == "data-2018-07-04")
        // The dataset the broken night left for inspection, and older ones, are gone; yesterday's is kept.
        let datasets = try FileManager.default.contentsOfDirectory(atPath: state).filter { $0.hasPrefix("data-") }
            .sorted()
        #expect(datasets == ["data-2018-07-02", "data-2018-07-04"], "\(datasets)")
        let history = try String(contentsOfFile: state + "/history.csv", encoding: .utf8).split(separator: "\n")
        #expect(
            history.count == 3 && history[1].contains(",2018-07-02,") && history[2].contains(",2018-07-03,"),
            "\(history)")
        // Listed: 3 per rep; candidates: every customer with history (the scores, not the list).
        let fields = history[1].split(separator: ",")
        #expect(Int(fields[4]) == 9 && Int(fields[3])! > 9, "\(history[1])")
        #expect(third.log.contains("nights; latest list 2018-07-03"), "\(third.log)")
        #expect(FileManager.default.fileExists(atPath: state + "/reports/trend/trend.svg"))
        // Audited scores are removed; the open ones stay for a later night.
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/scores") == ["2018-07-04.csv"])
        // Trained as the config file says (a one-day horizon, recorded in the scores).
        let tonight = try String(contentsOfFile: state + "/scores/2018-07-04.csv", encoding: .utf8).split(
            separator: "\n")
        #expect(
            tonight.count > 1 && tonight[1].contains(",xgboost-") && tonight[1].contains(",1,2018-07-04,"),
            "\(tonight.prefix(2))")
    }
}
