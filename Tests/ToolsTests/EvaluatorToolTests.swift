import Dataset
import Evaluation
import Foundation
import TestSupport
import Testing

/// End-to-end checks of `evaluator`, run as a separate process like a user would.
@Suite("evaluator tool")
struct EvaluatorToolTests {
    static func run(_ arguments: [String], stdin: String? = nil) throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        try ToolProcess.run("evaluator", arguments, stdin: stdin.map { Data($0.utf8) })
    }

    static func directory(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("evaluator-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Four customers, two reps; data from 2024-01-01 to 2024-02-04 (as in EvaluationTests' hand-made case).
    /// As of 2024-01-01 (window to 2024-01-28): C1 ordered on 01-04, C2 on 01-11, C3 not (02-04 is
    /// outside), C4 not. Reps' week [01-01, 01-08): visits on 01-02, 01-03, 01-04, 01-06 — 1 order of 4, 25%.
    static func writeDataset(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
        visit_id,customer_id,rep_id,visit_date,method,target,purpose,result,order
        V1,C1,R1,2024-01-04,phone,active,follow_up,order,1
        V2,C2,R1,2024-01-11,phone,active,follow_up,order,1
        V3,C3,R2,2024-01-03,phone,active,follow_up,no_answer,0
        V4,C3,R2,2024-02-04,phone,active,follow_up,order,1
        V5,C4,R2,2024-01-02,phone,active,follow_up,no_demand,0
        V6,C4,R2,2024-01-06,phone,active,follow_up,no_demand,0

        """.write(toFile: directory + "/visits.csv", atomically: true, encoding: .utf8)
        try
            "customer_id,customer_type,industry,tag\nC1,trader,consumer,key\nC2,trader,consumer,key\nC3,trader,consumer,key\nC4,trader,consumer,key\n"
            .write(toFile: directory + "/customers.csv", atomically: true, encoding: .utf8)
        let manifest = DatasetManifest(
            kind: .visits, visitCounts: .init(read: 6, accepted: 6), customerCounts: .init(read: 4, accepted: 4),
            firstDate: Day(iso: "2024-01-02"), lastDate: Day(iso: "2024-02-04"), customerCount: 4, repCount: 2)
        try DatasetFiles.writeManifest(manifest, to: directory)
    }

    /// Top 1 per rep as of 2024-01-01: R1 lists C1 (ordered), R2 lists C4 (did not) → 50%; reps 25% → lift +100%.
    /// The 2024-01-22 rows' window runs to 02-19, past the data: excluded.
    static let scores = """
        customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version
        C1,R1,2024-01-01,0.8,1,2,m1,1
        C2,R1,2024-01-01,0.3,2,4,m1,1
        C4,R2,2024-01-01,0.9,1,1,m1,1
        C3,R2,2024-01-01,0.4,2,3,m1,1
        C1,R1,2024-01-22,0.5,1,1,m1,1
        C3,R2,2024-01-22,0.5,1,2,m1,1

        """

    /// A transaction log has no reps: the backtest compares the list with a random list of the
    /// same candidates (their base rate), picks every customer with history as the candidates,
    /// and writes the scores beside the report.
    @Test func aTransactionLogBacktestIsComparedWithARandomList() throws {
        let root = Self.directory("transactions")
        var csv = "customer_id,order_date,quantity,amount\n"
        var state: UInt64 = 7
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let start = Day(iso: "2023-01-02")!
        for c in 0..<60 {
            let cycle = 10 + Int(next() % 50)
            var day = Int(next() % UInt64(cycle))
            while day < 300 {
                csv += "K\(c),\(start.advanced(by: day).iso),\(1 + next() % 3),\(10 + next() % 90).50\n"
                day += cycle / 2 + Int(next() % UInt64(cycle))
            }
        }
        try csv.write(toFile: root + "/orders.csv", atomically: true, encoding: .utf8)
        let mapping = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Fixtures/mappings/transactions.json").path
        let imported = try ToolProcess.run(
            "importer", [root + "/orders.csv", "--mapping", mapping, "--out", root + "/data", "--quiet"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let result = try Self.run([
            "backtest", "--dataset", root + "/data", "--out", root + "/report", "--folds", "2",
            "--models", "bgnbd,recency", "--bootstrap", "20"
        ])
        #expect(result.status == 0, "\(result.stderr)")
        // Progress on a pipe: plain lines (no redrawn status line), each fit with where the run is and the time left once known.
        let fits = result.stderr.split(separator: "\n").filter { $0.hasPrefix("backtest: week of") }
        #expect(fits.count == 4 && !result.stderr.contains("\r"), "\(result.stderr)")
        #expect(
            fits[0].contains("fold 1/2, contender 1/2)") && fits[2].contains("fold 2/2, contender 1/2, about "),
            "\(fits)")
        let averages = result.stdout.split(separator: "\n").filter { $0.hasPrefix("average") }
        #expect(
            averages.count == 2 && averages.allSatisfy { $0.contains(" · random ") && !$0.contains("reps") },
            "\(result.stdout)")
        let markdown = try String(contentsOfFile: root + "/report/report.md", encoding: .utf8)
        #expect(markdown.contains("random list (base rate)") && !markdown.contains("comparison with the reps"))
        let scores = try String(contentsOfFile: root + "/report/scores.csv", encoding: .utf8)
        #expect(scores.hasPrefix("customer_id,rep_id,as_of,probability") && scores.contains(",bgnbd,"))
        // The audit of the backtest's own scores gives the backtest's list figures.
        let audit = try Self.run([
            "audit", "--scores", root + "/report/scores.csv", "--dataset", root + "/data", "--out", root + "/audit",
            "--top-per-rep",
            String(
                try EvaluationReport.decode(
                    json: [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/report/report.json")))
                ).settings.topPerRep), "--bootstrap", "20"
        ])
        #expect(audit.status == 0, "\(audit.stderr)")
        #expect(audit.stdout.split(separator: "\n").filter { $0.hasPrefix("average") } == averages)

        // `revisit-bench quality` sets the report beside a reference file of the same folds.
        let report = try EvaluationReport.decode(
            json: [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/report/report.json"))))
        let folds = report.models[0].weeks.map { "\"\($0.asOf.iso)\"" }.joined(separator: ",")
        try """
        {"folds_evaluated": [\(folds)], "summary": {"bgnbd": {"mean_auc": 0.5, "mean_ap": 0.2, "mean_brier": 0.3},
         "lightgbm": {"mean_auc": 0.99, "mean_ap": 0.99, "mean_brier": 0.01}}}
        """.write(toFile: root + "/reference.json", atomically: true, encoding: .utf8)
        let quality = try ToolProcess.run(
            "revisit-bench",
            ["quality", "--report", root + "/report/report.json", "--reference", root + "/reference.json"])
        #expect(quality.status == 0, "\(quality.stderr)")
        #expect(
            quality.stdout.contains("| Revisit | bgnbd | 2 |")
                && quality.stdout.contains("| reference | lightgbm | 2 | 0.9900 |"), "\(quality.stdout)")
        #expect(!quality.stdout.contains("warning: the folds differ"), "\(quality.stdout)")
    }

    @Test func auditsAScoresFileAndWritesTheReport() throws {
        let work = Self.directory("audit")
        try Self.writeDataset(to: work + "/data")
        try Self.scores.write(toFile: work + "/scores.csv", atomically: true, encoding: .utf8)
        let arguments = [
            "audit", "--scores", work + "/scores.csv", "--dataset", work + "/data", "--top-per-rep", "1", "--bootstrap",
            "100",
            "--out", work + "/report"
        ]
        let result = try Self.run(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("2024-01-01 · m1 50.00% · reps 25.00% · lift +100.0%"), "\(result.stdout)")
        #expect(result.stdout.contains("note: 2 of 6 score rows excluded"), "\(result.stdout)")
        #expect(result.stdout.contains("report: \(work)/report/report.md"), "\(result.stdout)")
        #expect(result.stderr.contains("evaluator: 6 score rows read"), "no progress on stderr: \(result.stderr)")
        for name in ["report.json", "report.md", "weekly_precision.svg", "roc.svg", "pr.svg", "reliability.svg"] {
            #expect(FileManager.default.fileExists(atPath: "\(work)/report/\(name)"), "\(name) missing")
        }
        let json =
            try JSONSerialization.jsonObject(
                with: try Data(contentsOf: URL(fileURLWithPath: work + "/report/report.json"))) as! [String: Any]
        let counts = json["counts"] as! [String: Any]
        #expect(counts["excluded_incomplete_window"] as? Int == 2 && counts["evaluated_rows"] as? Int == 4)
        let inputs = json["inputs"] as! [[String: Any]]
        #expect(inputs.map { $0["role"] as? String } == ["scores", "dataset", "dataset", "dataset"])

        // The same scores on stdin give the same report but for the recorded path of the scores.
        let piped = try Self.run(
            [
                "audit", "--scores", "-", "--dataset", work + "/data", "--top-per-rep", "1", "--bootstrap", "100",
                "--out", work + "/piped", "--quiet"
            ],
            stdin: Self.scores)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stderr.isEmpty, "--quiet still printed: \(piped.stderr)")
        for name in ["weekly_precision.svg", "roc.svg", "pr.svg", "reliability.svg"] {
            #expect(
                FileManager.default.contents(atPath: "\(work)/report/\(name)")
                    == FileManager.default.contents(atPath: "\(work)/piped/\(name)"),
                "\(name) differs between a file and stdin")
        }
        // A rerun replaces the report with the same bytes.
        #expect(try Self.run(arguments).status == 0)
        let again = try Self.run(arguments + ["--out", work + "/again"])
        #expect(again.status == 0)
        for name in ["report.json", "report.md"] {
            let first = try String(contentsOfFile: "\(work)/report/\(name)", encoding: .utf8)
            let second = try String(contentsOfFile: "\(work)/again/\(name)", encoding: .utf8)
            #expect(
                first == second.replacingOccurrences(of: "\(work)/again", with: "\(work)/report"), "\(name) differs")
        }
    }

    @Test func reportsBadInputWithFileLineAndExitCode() throws {
        let work = Self.directory("errors")
        try Self.writeDataset(to: work + "/data")
        let bad = Self.scores.replacingOccurrences(of: "C2,R1,2024-01-01,0.3,", with: "C2,R1,2024-01-01,1.3,")
        try bad.write(toFile: work + "/bad.csv", atomically: true, encoding: .utf8)
        let result = try Self.run([
            "audit", "--scores", work + "/bad.csv", "--dataset", work + "/data", "--out", work + "/r"
        ])
        #expect(result.status == 2)
        #expect(
            result.stderr.contains("evaluator: \(work)/bad.csv:3: probability '1.3' is not a number in [0, 1]"),
            "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work + "/r/report.json"), "a failed run left a report")

        let stdin = try Self.run(
            ["audit", "--scores", "-", "--dataset", work + "/data", "--out", work + "/r"],
            stdin:
                "customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version\nC1,R1,2024-01-01,0.5,1,1,m,4\n"
        )
        #expect(stdin.status == 2)
        #expect(
            stdin.stderr.contains("evaluator: -:2: scores format_version '4'; this build reads versions 1, 2 and 3"),
            "\(stdin.stderr)")

        let missing = try Self.run([
            "audit", "--scores", work + "/nope.csv", "--dataset", work + "/data", "--out", work + "/r"
        ])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("evaluator: \(work)/nope.csv: cannot read the file"), "\(missing.stderr)")

        try Self.scores.write(toFile: work + "/scores.csv", atomically: true, encoding: .utf8)
        let noDataset = try Self.run([
            "audit", "--scores", work + "/scores.csv", "--dataset", work + "/nodata", "--out", work + "/r"
        ])
        #expect(noDataset.status == 2)
        #expect(noDataset.stderr.contains("evaluator: \(work)/nodata/manifest.json: not found"), "\(noDataset.stderr)")

        let usage = try Self.run([
            "audit", "--scores", work + "/scores.csv", "--dataset", work + "/data", "--out", work + "/r", "--horizon",
            "0"
        ])
        #expect(usage.status == 1)
        #expect(usage.stderr.contains("--horizon must be at least 1 day"), "\(usage.stderr)")

        // The report directory cannot be created under a regular file.
        let blocked = try Self.run([
            "audit", "--scores", work + "/scores.csv", "--dataset", work + "/data", "--out", work + "/scores.csv/r"
        ])
        #expect(blocked.status == 4)
        #expect(
            blocked.stderr.contains("evaluator: \(work)/scores.csv/r: cannot write the report"), "\(blocked.stderr)")
    }

    @Test func helpListsTheAuditSubcommandAndItsFlags() throws {
        let top = try Self.run(["--help"])
        #expect(top.status == 0 && top.stdout.contains("audit"), "\(top.stdout)")
        #expect(top.stdout.contains("2 bad input"), "exit codes not documented in --help: \(top.stdout)")
        let audit = try Self.run(["audit", "--help"])
        for flag in [
            "--scores", "--dataset", "--ground-truth", "--horizon", "--top-per-rep", "--bootstrap", "--seed", "--out"
        ] {
            #expect(audit.stdout.contains(flag), "audit --help does not mention \(flag)")
        }
    }
}

/// The nightly job's monitoring from the command line: audit --history, trend, drift.
@Suite("evaluator monitoring")
struct EvaluatorMonitoringToolTests {
    /// The 2024-01-22 list's window runs to 02-18, past the data's last visit (02-04): excluded
    /// unless the job says the export covers that far (`--observed-through`). Both lists then go
    /// into the history, and a second audit of the same night replaces its row.
    @Test func auditAppendsToTheHistoryThatTrendDraws() throws {
        let work = EvaluatorToolTests.directory("history")
        try EvaluatorToolTests.writeDataset(to: work + "/data")
        try EvaluatorToolTests.scores.write(toFile: work + "/scores.csv", atomically: true, encoding: .utf8)
        let history = work + "/history.csv"
        func audit(_ extra: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try EvaluatorToolTests.run(
                [
                    "audit", "--scores", work + "/scores.csv", "--dataset", work + "/data", "--top-per-rep", "1",
                    "--bootstrap", "20", "--out", work + "/report", "--history", history, "--quiet"
                ] + extra)
        }
        let first = try audit([])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("history: \(history): 1 list added, 1 nights in all"), "\(first.stdout)")
        let covered = try audit(["--observed-through", "2024-02-19"])
        #expect(covered.status == 0, "\(covered.stderr)")
        #expect(covered.stdout.contains("2 lists added, 2 nights in all"), "\(covered.stdout)")
        let lines = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 && lines[0].hasPrefix("format_version,as_of,model"), "\(lines)")
        #expect(lines[1].contains(",2024-01-01,m1,") && lines[2].contains(",2024-01-22,m1,"), "\(lines)")

        let badDate = try audit(["--observed-through", "2024-02-30"])
        #expect(
            badDate.status == 1 && badDate.stderr.contains("--observed-through must be a YYYY-MM-DD date"),
            "\(badDate.stderr)")

        let trend = try EvaluatorToolTests.run(["trend", "--history", history, "--out", work + "/trend"])
        #expect(trend.status == 0, "\(trend.stderr)")
        #expect(trend.stdout.contains("2 nights; latest list 2024-01-22"), "\(trend.stdout)")
        for name in ["trend.md", "trend.svg"] {
            #expect(FileManager.default.fileExists(atPath: "\(work)/trend/\(name)"), "\(name) missing")
        }
        // A history from elsewhere is untrusted: a wrong version is refused with file and line.
        try
            "format_version,as_of,model,candidates,listed,listed_ordered,list_precision,reps_rate,random_rate\n9,2024-01-01,m1,4,2,1,0.5,0.25,0.5\n"
            .write(toFile: work + "/future.csv", atomically: true, encoding: .utf8)
        let future = try EvaluatorToolTests.run(["trend", "--history", work + "/future.csv", "--out", work + "/trend2"])
        #expect(future.status == 2 && future.stderr.contains("future.csv:2"), "\(future.stderr)")
    }

    /// A full export that lost half of yesterday's visits is past the drift threshold: exit 5, and
    /// the same dataset against itself passes.
    @Test func driftExitsFiveWhenTonightsExportLostHistory() throws {
        let work = EvaluatorToolTests.directory("drift")
        try EvaluatorToolTests.writeDataset(to: work + "/before")
        let same = try EvaluatorToolTests.run([
            "drift", "--baseline", work + "/before", "--candidate", work + "/before", "--out", work + "/same"
        ])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.contains("ok history_lost") && !same.stdout.contains("DRIFT"), "\(same.stdout)")
        #expect(FileManager.default.fileExists(atPath: work + "/same/drift.md"))

        try FileManager.default.createDirectory(atPath: work + "/after", withIntermediateDirectories: true)
        try """
        visit_id,customer_id,rep_id,visit_date,method,target,purpose,result,order
        V4,C3,R2,2024-02-04,phone,active,follow_up,order,1
        V5,C4,R2,2024-01-02,phone,active,follow_up,no_demand,0
        V6,C4,R2,2024-01-06,phone,active,follow_up,no_demand,0

        """.write(toFile: work + "/after/visits.csv", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: work + "/before/customers.csv", toPath: work + "/after/customers.csv")
        try DatasetFiles.writeManifest(
            DatasetManifest(
                kind: .visits, visitCounts: .init(read: 3, accepted: 3), customerCounts: .init(read: 4, accepted: 4),
                firstDate: Day(iso: "2024-01-02"), lastDate: Day(iso: "2024-02-04"), customerCount: 4, repCount: 1),
            to: work + "/after")
        let lost = try EvaluatorToolTests.run(["drift", "--baseline", work + "/before", "--candidate", work + "/after"])
        #expect(lost.status == 5, "\(lost.stdout)\n\(lost.stderr)")
        #expect(lost.stdout.contains("DRIFT history_lost"), "\(lost.stdout)")
        #expect(lost.stderr.contains("past a drift threshold (history_lost"), "\(lost.stderr)")
        // A threshold the operator raised lets the same change through.
        let allowed = try EvaluatorToolTests.run([
            "drift", "--baseline", work + "/before", "--candidate", work + "/after",
            "--max-history-loss", "0.6"
        ])
        #expect(allowed.status == 0, "\(allowed.stdout)\n\(allowed.stderr)")
    }
}
