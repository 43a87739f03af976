import ArgumentParser
import CommandLineSupport
import Dataset
import Evaluation
import Formats
import Foundation
import Monitoring

/// Writes `files` into `directory` (created if missing), each atomically.
func writeOutputs(_ files: [(name: String, text: String)], to directory: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in files {
            try AtomicFile.write(Data(file.text.utf8), to: (directory as NSString).appendingPathComponent(file.name))
        }
    } catch {
        throw EvaluatorFailure.cannotWrite(
            "\(directory): cannot write: \((error as? AtomicWriteError)?.reason ?? oneLineDescription(error))")
    }
}

extension EvaluatorCommand {
    struct TrendCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trend",
            abstract: "Draw the audited lists night by night and warn when their precision drops.",
            discussion: """
                Reads the history that evaluator audit --history appends to and writes trend.md and trend.svg into --out: \
                list precision, the reps' rate and a random list of the same candidates by list date. Warns (stdout, \
                "warning: …") when the latest night's precision fell well below the nights before it or below the reps' \
                rate (each by a one-sided binomial test), or when the last nights were no better than a random list. \
                Docs/Nightly.md.

                Example:
                  evaluator audit --scores lists/2020-02-03.csv --dataset data --top-per-rep 20 --out reports/2020-02-03 \\
                    --history history.csv
                  evaluator trend --history history.csv --out reports/trend
                """)

        @Option(help: "The audit history CSV (evaluator audit --history).")
        var history: String
        @Option(help: "Output directory for trend.md and trend.svg.")
        var out: String
        @Option(parsing: .unconditional, help: "Previous nights pooled as a night's baseline.")
        var window = 14
        @Option(
            parsing: .unconditional,
            help:
                "Relative drop below the baseline that warns (0.25: below 75% of it), when chance does not explain it.")
        var drop = 0.25
        @Option(
            parsing: .unconditional, help: "One-sided binomial p-value below which a drop is not put down to chance.")
        var significance = 0.01
        @Flag(help: "Exit 5 when the latest night has a warning (for a job that pages someone).")
        var failOnWarning = false
        @OptionGroup var configuration: ConfigOption

        func validate() throws {
            guard (1...365).contains(window) else {
                throw ValidationError("--window must be in 1...365 nights, got \(window)")
            }
            guard drop > 0, drop < 1 else {
                throw ValidationError("--drop must be between 0 and 1 (exclusive), got \(drop)")
            }
            guard significance > 0, significance < 1 else {
                throw ValidationError("--significance must be between 0 and 1 (exclusive), got \(significance)")
            }
        }

        func run() throws {
            let read: AuditHistory
            do {
                read = try AuditHistory.read(path: history)
            } catch let error as EvaluationError {
                throw EvaluatorFailure.badInput(error.description)
            }
            var settings = Trend.Settings()
            settings.window = window
            settings.minimumNights = min(settings.minimumNights, window)
            settings.relativeDrop = drop
            settings.significance = significance
            let trend = Trend(read, settings: settings)
            try writeOutputs(
                [("trend.md", trend.markdown(historyPath: history)), ("trend.svg", trend.chart().render())], to: out)
            if let last = trend.nights.last {
                let precision = last.listPrecision.map { String(format: "%.2f%%", $0 * 100) } ?? "undefined"
                print(
                    "\(trend.nights.count) nights; latest list \(last.asOf.iso): precision \(precision) (\(last.listedOrdered) of \(last.listed) listed ordered)"
                )
            } else {
                print("no audited list in \(history) yet")
            }
            for warning in trend.latestWarnings { print("warning: \(warning.message)") }
            print("trend: \((out as NSString).appendingPathComponent("trend.md")) (and trend.svg)")
            if failOnWarning && !trend.latestWarnings.isEmpty {
                throw ToolFailure(
                    .attention,
                    "the latest list (\(trend.nights.last!.asOf.iso)) has \(trend.latestWarnings.count) warning(s); see \(out)/trend.md"
                )
            }
        }
    }

    struct DriftCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drift",
            abstract: "Compare tonight's import with yesterday's dataset before retraining on it.",
            discussion: """
                Checks what an ERP change or a partial export moves: visits of yesterday missing or rewritten, customer \
                profiles lost, new visits per day against the same weekdays, their order share, new codes, the reject rate; \
                reps appearing or vanishing as a note. Prints one line per check and writes drift.md into --out. Exit 5 when \
                a check is past its threshold: the nightly job then keeps yesterday's dataset and model. Docs/Nightly.md.

                Example:
                  evaluator drift --baseline state/data --candidate state/data.next --out state/reports/drift
                """)

        @Option(help: "Yesterday's dataset directory.")
        var baseline: String
        @Option(help: "Tonight's dataset directory (the new import).")
        var candidate: String
        @Option(help: "Output directory for drift.md (optional).")
        var out: String?
        @Option(parsing: .unconditional, help: "Largest share of yesterday's visits that may be missing tonight.")
        var maxHistoryLoss = 0.005
        @Option(
            parsing: .unconditional,
            help: "Largest share of yesterday's visits whose date, customer, rep or result may change.")
        var maxHistoryChange = 0.05
        @Option(parsing: .unconditional, help: "Largest share of customer profiles that may vanish.")
        var maxCustomerLoss = 0.01
        @Option(
            parsing: .unconditional, help: "New visits per day may be this many times the usual (or 1/this) at most.")
        var maxVolumeRatio = 5.0
        @Option(parsing: .unconditional, help: "Largest relative change of the order share of the new visits.")
        var maxOrderShareChange = 0.5
        @Option(
            parsing: .unconditional, help: "Largest share of new visits carrying a value yesterday's dataset never had."
        )
        var maxNewValueShare = 0.2
        @Option(parsing: .unconditional, help: "Largest increase of the import's reject rate (0.02: two points).")
        var maxRejectRateIncrease = 0.02
        @OptionGroup var configuration: ConfigOption

        func validate() throws {
            for (name, value) in [
                ("--max-history-loss", maxHistoryLoss), ("--max-history-change", maxHistoryChange),
                ("--max-customer-loss", maxCustomerLoss), ("--max-new-value-share", maxNewValueShare),
                ("--max-reject-rate-increase", maxRejectRateIncrease)
            ] {
                guard (0...1).contains(value) else {
                    throw ValidationError("\(name) must be a share in 0...1, got \(value)")
                }
            }
            guard maxVolumeRatio >= 1, maxVolumeRatio.isFinite else {
                throw ValidationError("--max-volume-ratio must be at least 1, got \(maxVolumeRatio)")
            }
            guard maxOrderShareChange > 0, maxOrderShareChange.isFinite else {
                throw ValidationError("--max-order-share-change must be above 0, got \(maxOrderShareChange)")
            }
        }

        func run() throws {
            let before: Dataset, after: Dataset
            do {
                before = try Dataset.load(directory: baseline)
                after = try Dataset.load(directory: candidate)
            } catch let error as DatasetError {
                throw EvaluatorFailure.badInput(error.description)
            }
            var thresholds = DatasetDrift.Thresholds()
            thresholds.maxHistoryLoss = maxHistoryLoss
            thresholds.maxHistoryChange = maxHistoryChange
            thresholds.maxCustomerLoss = maxCustomerLoss
            thresholds.maxVolumeRatio = maxVolumeRatio
            thresholds.maxOrderShareChange = maxOrderShareChange
            thresholds.maxNewValueShare = maxNewValueShare
            thresholds.maxRejectRateIncrease = maxRejectRateIncrease
            let drift = DatasetDrift(baseline: before, candidate: after, thresholds: thresholds)
            for finding in drift.findings { print(finding.description) }
            if let out {
                try writeOutputs(
                    [("drift.md", drift.markdown(baselinePath: baseline, candidatePath: candidate))], to: out)
            }
            if drift.exceedsThreshold {
                let failed = drift.findings.filter(\.exceedsThreshold).map(\.check).joined(separator: ", ")
                throw ToolFailure(
                    .attention,
                    "\(candidate): past a drift threshold (\(failed)): keep yesterday's dataset and model, "
                        + "look at the export, and rerun with a larger --max-… if the change is real")
            }
        }
    }
}
