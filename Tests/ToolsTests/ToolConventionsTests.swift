import Foundation
import Formats
import Testing

/// What every tool shares with the command-line tools people know (Docs/CLI.md): a version,
/// examples in its help, one message prefix, typed choices, shell completions.
@Suite("tool conventions")
struct ToolConventionsTests {
    static let tools = ["importer", "trainer", "scorer", "evaluator", "synth"]

    @Test func everyToolHasAVersionAndExamplesInItsHelp() throws {
        for tool in Self.tools {
            let version = try ToolProcess.run(tool, ["--version"])
            #expect(
                version.status == 0
                    && version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == RevisitVersion.current,
                "\(tool): \(version)")
        }
        for command in [
            ["importer"], ["importer", "inspect"], ["trainer"], ["scorer"], ["synth"], ["evaluator"],
            ["evaluator", "audit"], ["evaluator", "backtest"], ["evaluator", "trend"], ["evaluator", "drift"]
        ] {
            let help = try ToolProcess.run(command[0], Array(command.dropFirst()) + ["--help"])
            #expect(help.status == 0, "\(command): \(help.stderr)")
            // An example line runs the command itself.
            let name = command.joined(separator: " ")
            #expect(
                help.stdout.contains("Example") && help.stdout.contains("  \(name) "), "\(name) --help has no example")
        }
    }

    @Test func usageErrorsAreOneLineUnderTheToolsPrefix() throws {
        let misspelt = try ToolProcess.run("evaluator", ["backtst", "--dataset", "d"])
        #expect(misspelt.status == 1)
        #expect(
            misspelt.stderr.hasPrefix("evaluator: unknown subcommand 'backtst'; did you mean 'backtest'?"),
            "\(misspelt.stderr)")
        let unknown = try ToolProcess.run("evaluator", ["frobnicate"])
        #expect(
            unknown.status == 1
                && unknown.stderr.hasPrefix("evaluator: unknown subcommand 'frobnicate'. Subcommands: audit, backtest"),
            "\(unknown.stderr)")
        // ArgumentParser's own "Error: " does not follow the tool's prefix.
        for (tool, arguments) in [
            ("trainer", ["data", "--out", "m", "--loss", "hinge"]),
            ("scorer", ["--model", "m", "--dataset", "d", "--candidates", "all"]),
            ("importer", ["--bogus"]), ("synth", ["--out", "x", "--weeks", "-3"])
        ] {
            let result = try ToolProcess.run(tool, arguments)
            #expect(result.status == 1, "\(tool): \(result)")
            #expect(
                result.stderr.hasPrefix("\(tool): ") && !result.stderr.contains("Error: "), "\(tool): \(result.stderr)")
        }
    }

    /// Typed choices: the parser refuses a value outside the set and lists the set; the model
    /// names come from the contender registry, so completions offer them too.
    @Test func choicesAreTypedAndCompleted() throws {
        let loss = try ToolProcess.run("trainer", ["data", "--out", "m", "--loss", "hinge"])
        #expect(
            loss.stderr.contains("'hinge' is invalid for '--loss <loss>'") && loss.stderr.contains("'focal' and 'bce'"),
            "\(loss.stderr)")
        let monitor = try ToolProcess.run("evaluator", ["backtest", "--dataset", "d", "--out", "o", "--monitor", "auc"])
        #expect(
            monitor.status == 1 && monitor.stderr.contains("'loss', 'roc_auc' or 'average_precision'"),
            "\(monitor.stderr)")
        let models = try ToolProcess.run(
            "evaluator", ["backtest", "--dataset", "d", "--out", "o", "--models", "xgboost,oracle"])
        #expect(models.status == 1 && models.stderr.contains("unknown contender 'oracle'"), "\(models.stderr)")
        let twice = try ToolProcess.run(
            "evaluator", ["backtest", "--dataset", "d", "--out", "o", "--models", "xgboost,xgboost"])
        #expect(twice.status == 1 && twice.stderr.contains("named twice"), "\(twice.stderr)")
        let help = try ToolProcess.run("trainer", ["--help"])
        let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(
            words.contains("(values: focal, bce; default: focal)") && words.contains("(values: integer, one-hot)"),
            "\(help.stdout)")
        for shell in ["bash", "zsh", "fish"] {
            let script = try ToolProcess.run("trainer", ["--generate-completion-script", shell])
            #expect(
                script.status == 0 && script.stdout.contains("xgboost_timing") && script.stdout.contains("calibration")
                    && script.stdout.contains("isotonic"), "\(shell)")
        }
    }

    /// `--json`: the summary a job runner reads, one JSON object with numbers as numbers.
    @Test func jsonSummaries() throws {
        let work = try ToolProcess.temporaryDirectory("json")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let imported = try ToolProcess.run(
            "importer",
            [
                root + "/Fixtures/erp/visits.csv", "--customers", root + "/Fixtures/erp/customers.csv",
                "--out", work + "/data", "--json", "--quiet"
            ])
        #expect(imported.status == 0, "\(imported.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(imported.stdout.utf8)) as! [String: Any]
        let visits = summary["visits"] as! [String: Any]
        #expect(
            summary["tool"] as? String == "importer" && visits["accepted"] as? Int == 60
                && summary["seconds"] is Double, "\(summary)")

        let trained = try ToolProcess.run(
            "trainer",
            [
                work + "/data", "--out", work + "/m.safetensors", "--model", "recency", "--train-until", "2018-08-01",
                "--log-json"
            ])
        #expect(trained.status == 0, "\(trained.stderr)")
        let event =
            try JSONSerialization.jsonObject(with: Data(trained.stderr.split(separator: "\n").last!.utf8))
            as! [String: Any]
        #expect(
            event["event"] as? String == "summary" && event["epochs"] is Int && event["training_rows"] is Int,
            "\(event)")

        let scored = try ToolProcess.run(
            "scorer",
            [
                "--model", work + "/m.safetensors", "--dataset", work + "/data", "--as-of", "2018-08-01",
                "--top-per-rep", "2", "--out", work + "/lists.csv", "--json"
            ])
        #expect(scored.status == 0, "\(scored.stderr)")
        let scoring = try JSONSerialization.jsonObject(with: Data(scored.stderr.utf8)) as! [String: Any]
        #expect(
            scoring["tool"] as? String == "scorer" && (scoring["rows"] as? Int ?? 0) > 0
                && scoring["as_of"] as? String == "2018-08-01", "\(scoring)")

        let audited = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", work + "/lists.csv", "--dataset", work + "/data", "--top-per-rep", "2",
                "--bootstrap", "10", "--out", work + "/report", "--json", "--quiet"
            ])
        #expect(audited.status == 0, "\(audited.stderr)")
        let audit = try JSONSerialization.jsonObject(with: Data(audited.stdout.utf8)) as! [String: Any]
        let models = try #require(audit["models"] as? [[String: Any]])
        let week = try #require((models.first?["weeks"] as? [[String: Any]])?.first)
        #expect(
            week["as_of"] as? String == "2018-08-01" && week["listed"] is Int
                && (week["list_precision"] is Double || week["list_precision"] is Int), "\(week)")
        #expect(audit["report"] as? String == work + "/report/report.json")
    }
}
