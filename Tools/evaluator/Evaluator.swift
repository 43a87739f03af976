import ArgumentParser
import CommandLineSupport
import Dataset
import Evaluation
import Formats
import Foundation
import Monitoring
#if canImport(Glibc)
    import Glibc
#endif

/// `evaluator`: judges scores against outcomes and writes a report (JSON, Markdown, SVG).
/// Subcommands: `audit` (a scores file against a dataset), `backtest` (the rolling weekly backtest),
/// `trend` (the audited lists night by night) and `drift` (tonight's import against yesterday's). The logic lives in Modules/Evaluation;
/// this file parses arguments and maps errors to exit codes (Docs/CLI.md).
@main
struct EvaluatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluator",
        abstract: "Evaluate call-list scores against what customers actually ordered.",
        discussion: """
            Exit codes: 0 ok; 1 usage error; 2 bad input (a missing or malformed file, another format version; \
            the message names FILE:LINE); 4 the report cannot be written; 5 attention (drift past a threshold, \
            a trend warning with --fail-on-warning). Docs/CLI.md, Docs/Evaluation.md.

            Examples:
              evaluator audit --scores lists.csv --dataset data/ --top-per-rep 20 --out report/
              evaluator backtest --dataset data/ --out report/
              evaluator trend --history history.csv --out trend/
              evaluator drift --baseline data/ --candidate data.new/
            """, version: RevisitVersion.current,
        subcommands: [Audit.self, BacktestCommand.self, TrendCommand.self, DriftCommand.self])

    /// Maps errors to the documented exit codes shared by every tool (CommandLineSupport).
    static func main() { runTool(EvaluatorCommand.self, name: "evaluator") }
}

/// The evaluator's failures: bad input (exit 2) and an unwritable report (exit 4).
enum EvaluatorFailure {
    static func badInput(_ message: String) -> ToolFailure { ToolFailure(.badInput, message) }
    static func cannotWrite(_ message: String) -> ToolFailure { ToolFailure(.cannotWrite, message) }
    /// The report directory `out` could not be written (exit 4): the system's reason, one line.
    static func reportNotWritten(_ out: String, _ error: any Error) -> ToolFailure {
        let reason =
            (error as? AtomicWriteError)?.reason ?? (error as? FileLockError)?.reason ?? oneLineDescription(error)
        return cannotWrite("\(out): cannot write the report: \(reason)")
    }
}

extension EvaluatorCommand {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audit a scores file against a dataset directory.",
            discussion: """
                Labels each score row (customer c, as-of t) with "c ordered in [t, t+H)" from the dataset's visits, \
                leaves out rows whose window runs past the data, and writes report.json, report.md and \
                weekly_precision.svg, roc.svg, pr.svg, reliability.svg into --out. Prints the per-week comparison \
                with the reps' own success rate on stdout. Same inputs and flags give the same bytes.

                Examples:
                  evaluator audit --scores lists.csv --dataset data/ --top-per-rep 20 --out report/
                  scorer --model model.safetensors --dataset data/ --as-of 2020-01-06 | evaluator audit --scores - --dataset data/ --out report/
                  evaluator audit --scores scores.csv --dataset data/ --observed-through 2020-02-09 --history history.csv --out report/
                """)

        @Option(help: "Scores CSV (format version 2 or 1), or - for stdin.")
        var scores: String
        @Option(help: "Dataset directory (manifest.json, visits.csv, customers.csv).")
        var dataset: String
        @Option(help: "Synth ground_truth.csv: also report p_order as a score on the same rows (the ceiling).")
        var groundTruth: String?
        @Option(
            parsing: .unconditional,
            help:
                "Label window H in days: did the customer order in [as-of, as-of + H)? Default: the window the scores file records (horizon_days), else 28; a different value is refused."
        )
        var horizon: Int?
        @Option(parsing: .unconditional, help: "List length K: each rep's top K by rank_in_rep is the call list.")
        var topPerRep = 10
        @Option(parsing: .unconditional, help: "Bootstrap resamples B for the confidence intervals.")
        var bootstrap = 1000
        @Option(parsing: .unconditional, help: "Seed of the bootstrap.")
        var seed: UInt64 = 1
        @Option(help: "Output directory (created if missing; files in it are replaced atomically).")
        var out: String
        @Option(
            help:
                "The last day the dataset's export covers (YYYY-MM-DD), when later than its last visit: windows ending by then count as closed (an export taken on Monday whose last visit was on Friday)."
        )
        var observedThrough: String?
        @Option(
            help:
                "Append each audited list's results to this history CSV (created if missing; a date already there is replaced), which evaluator trend draws."
        )
        var history: String?
        @Flag(help: "No progress lines on stderr.")
        var quiet = false
        @OptionGroup var configuration: ConfigOption
        @Flag(
            help:
                "Print the results as one JSON object on stdout (per model: each week and the averages; notes; the report's path) instead of the per-week lines."
        )
        var json = false

        func validate() throws {
            if let observedThrough, Day(iso: observedThrough) == nil {
                throw ValidationError("--observed-through must be a YYYY-MM-DD date, got '\(observedThrough)'")
            }
            if let horizon {
                guard horizon >= 1 else { throw ValidationError("--horizon must be at least 1 day, got \(horizon)") }
                guard horizon <= 3_660 else {
                    throw ValidationError("--horizon must be at most 3660 days, got \(horizon)")
                }
            }
            guard (1...1_000_000).contains(topPerRep) else {
                throw ValidationError("--top-per-rep must be in 1...1000000, got \(topPerRep)")
            }
            guard bootstrap >= 1 else { throw ValidationError("--bootstrap must be at least 1, got \(bootstrap)") }
            guard bootstrap <= 100_000 else {
                throw ValidationError("--bootstrap must be at most 100000, got \(bootstrap)")
            }
        }

        func progress(_ message: String) {
            if !quiet { FileHandle.standardError.write(Data("evaluator: \(message)\n".utf8)) }
        }

        func run() throws {
            let report: EvaluationReport
            do {
                let scoreBytes: [UInt8]
                if scores == "-" {
                    scoreBytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
                } else {
                    guard let data = FileManager.default.contents(atPath: scores) else {
                        throw EvaluationError.missingFile(path: scores)
                    }
                    scoreBytes = [UInt8](data)
                }
                let rows = try ScoresFile.decode(scoreBytes, path: scores)
                progress("\(rows.count) score rows read from \(scores)")
                let horizon = try Evaluation.Audit.horizon(for: rows, requested: self.horizon, path: scores)
                let settings = EvaluationSettings(
                    horizonDays: horizon, topPerRep: topPerRep, bootstrapResamples: bootstrap, seed: seed)
                let data = try Dataset.load(directory: dataset)
                progress("dataset \(dataset): \(data.visits.count) visits, \(data.customers.count) customers")
                var inputs = [InputFile(role: "scores", path: scores, contents: scoreBytes)]
                inputs += try InputFile.dataset(directory: dataset)
                var truth: [GroundTruthRow]? = nil
                if let groundTruth {
                    truth = try GroundTruthFile.read(path: groundTruth)
                    inputs.append(try InputFile.read(role: "ground-truth", path: groundTruth))
                    progress("\(truth!.count) ground-truth rows read from \(groundTruth)")
                }
                progress("evaluating (bootstrap B = \(bootstrap))")
                report = Evaluation.Audit.run(
                    scores: rows,
                    outcomes: Outcomes(
                        dataset: data, horizonDays: horizon, observedThrough: observedThrough.flatMap { Day(iso: $0) }),
                    groundTruth: truth,
                    settings: settings, inputs: inputs)
            } catch let error as EvaluationError {
                throw EvaluatorFailure.badInput(error.description)
            } catch let error as DatasetError {
                throw EvaluatorFailure.badInput(error.description)
            }
            do {
                try ReportWriter.write(report, to: out)
            } catch {
                throw EvaluatorFailure.reportNotWritten(out, error)
            }
            var historyAdded: Int? = nil
            if !json {
                for line in WeeklyComparison.lines(report.allResults, comparison: report.settings.comparison) {
                    print(line)
                }
                for note in report.notes { print("note: \(note)") }
                print("report: \((out as NSString).appendingPathComponent("report.md")) (and report.json, *.svg)")
            }
            if let history {
                let entries = AuditHistory.entries(of: report)
                do {
                    let written = try AuditHistory.append(entries, to: history, waiting: progress)
                    historyAdded = entries.count
                    if !json {
                        print(
                            "history: \(history): \(entries.count) list\(entries.count == 1 ? "" : "s") added, \(written.dates.count) nights in all"
                        )
                    }
                } catch let error as EvaluationError {
                    throw EvaluatorFailure.badInput(error.description)
                } catch {
                    throw EvaluatorFailure.cannotWrite(
                        "\(history): cannot append to the history: \(oneLineDescription(error))")
                }
                if entries.isEmpty && !json {
                    print("note: no list had a closed outcome window; nothing added to the history")
                }
            }
            if json {
                print(
                    WeeklyComparison.summary(
                        report, command: "audit", reportPath: (out as NSString).appendingPathComponent("report.json"),
                        extra: [("history_added", historyAdded.map { .int($0) } ?? .null)]
                    ).text)
            }
        }
    }
}
