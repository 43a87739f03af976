import ArgumentParser
import Backtest
import Calibration
import CommandLineChoices
import CommandLineSupport
import Dataset
import Evaluation
import Features
import Formats
import Foundation
import Models
import Tensors
import Training
import Workflow

extension EvaluatorCommand {
    /// `evaluator backtest`: the study's rolling weekly backtest from the command line. The
    /// logic is Modules/Backtest (folds, training, baselines) and Modules/Evaluation (report).
    struct BacktestCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backtest",
            abstract: "Run the rolling weekly backtest for models and baselines on a dataset and write a report.",
            discussion: """
                For each fold (a Monday t, then every week): every model is trained on labels closing by t \
                (warm-started from the previous fold), the fold's candidates (by default the customers the reps \
                visited in [t, t+7), as the study did) are scored at t, each rep's top K form the list, and its \
                precision against orders in [t, t+H) is compared with the reps' own success rate that week. \
                Writes report.json, report.md and the SVG charts into --out and prints the per-week table.

                Examples:
                  evaluator backtest --dataset data/ --out report/
                  evaluator backtest --dataset data/ --out report/ --models cnn_lstm,xgboost,bgnbd,recency --folds 8 --list top:100
                  evaluator backtest --dataset data/ --out report/ --ground-truth export/ground_truth.csv --candidates with-history
                """)

        @Option(help: "Dataset directory written by `importer`.")
        var dataset: String
        @Option(
            help: ArgumentHelp(
                "Comma-separated contenders, each once, in report order.", discussion: Contenders.helpList),
            transform: { ContenderNames(try ContenderNames.parse($0)) })
        var models = ContenderNames(Backtest.Settings.defaultContenders)
        @Option(help: "First fold's Monday (YYYY-MM-DD). Default: the latest folds whose outcome windows are complete.")
        var firstFold: String?
        @Option(help: "Instead of --first-fold and --folds: the fold dates, comma-separated Mondays (YYYY-MM-DD).")
        var foldDates: String?
        @Option(
            help:
                "Calibration of each fold's scores on its validation split. Default: each contender's (platt for learned scores)."
        )
        var calibration: ProbabilityCalibration.Method?
        @Option(parsing: .unconditional, help: "Number of weekly folds.")
        var folds = 4
        @Option(
            help:
                "Candidates: visited-in-week (the study's) or with-history (every customer with an earlier visit). Default: visited-in-week for a visit log, with-history for a transaction log (whose week's buyers would all be positive)."
        )
        var candidates: CandidateChoice?
        @Option(parsing: .unconditional, help: "K: each rep's top K candidates form the list (with --list per-rep).")
        var topPerRep = 3
        @Option(
            help:
                "The list: per-rep (each rep's top K), top:N (the N best overall), share:F (the best share F of the candidates) or threshold:P (every candidate with P(order) ≥ P). Default: per-rep for a visit log, share:0.1 for a transaction log (no reps)."
        )
        var list: String?
        @Option(parsing: .unconditional, help: "Days between fold starts.")
        var stepDays = 7
        @Option(parsing: .unconditional, help: "Outcome window T2 in days (the label horizon H).")
        var horizon = 28
        @Option(
            parsing: .unconditional,
            help:
                "Training examples only from the last N weeks before each fold (0, the default: all history, as the trainer and the nightly job)."
        )
        var trainingWeeks = 0
        @Option(
            parsing: .unconditional,
            help: "Epochs of the first fold's training (later folds warm-start with --warm-epochs).")
        var epochs = 3
        @Option(
            parsing: .unconditional,
            help:
                "Epochs of each later fold, warm-started from the previous fold's weights (0: train every fold from scratch with --epochs)."
        )
        var warmEpochs = 1
        @Option(help: "Inputs of the models: time-aware (default) or study (the paper's exact seven-feature inputs).")
        var features: FeatureSet = .timeAware
        @Option(
            help:
                "Min–max scaling of the models' measured inputs: zero-one (default) or minus-one-one ([−1, 1], mapminmax's)."
        )
        var scaling: ScalingRange = .zeroOne

        @Flag(
            name: .customLong("no-notes"),
            help: "Ignore the dataset's text columns (visit notes): the backtest row without them.")
        var noNotes = false
        @Option(
            help:
                "Early stopping of the neural models watches: loss (default), roc_auc or average_precision on each fold's validation split."
        )
        var monitor: TrainingSettings.Monitor = .loss
        @Option(
            help:
                "Training examples: the same candidates as the folds score (default: same), or with-history (every customer with an earlier visit at every as-of date)."
        )
        var trainOn: TrainingPopulation = .same
        @Option(parsing: .unconditional, help: "Batch size for the models.")
        var batchSize = 64
        @Option(parsing: .unconditional, help: "Seed of every random stream (training and bootstrap).")
        var seed: UInt64 = 1
        @OptionGroup var parallelism: ThreadOptions
        @OptionGroup var configuration: ConfigOption
        @Option(help: "A synth ground_truth.csv: the report shows the ceiling (p_order on the same rows).")
        var groundTruth: String?
        @Option(parsing: .unconditional, help: "Bootstrap resamples for the confidence intervals.")
        var bootstrap = 1000
        @Option(help: "Output directory for the report.")
        var out: String
        @Flag(help: "No progress lines on stderr.")
        var quiet = false
        @Flag(
            help:
                "Print the results as one JSON object on stdout (per model: each fold and the averages; notes; the report's path) instead of the per-week lines."
        )
        var json = false

        func explicitFoldDates() throws -> [Day]? {
            guard let foldDates else { return nil }
            let parts = foldDates.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let days = parts.map { Day(iso: $0) }
            guard !days.isEmpty, days.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--fold-dates must be dates YYYY-MM-DD separated by commas")
            }
            let sorted = days.map { $0! }
            guard zip(sorted, sorted.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw ValidationError("--fold-dates must be increasing")
            }
            return sorted
        }

        func listRule(transactions: Bool = false) throws -> ListRule {
            try ListRule.parse(self.list ?? (transactions ? "share:0.1" : "per-rep"), topPerRep: topPerRep)
        }

        func validate() throws {
            _ = try listRule()
            _ = try explicitFoldDates()
            if foldDates != nil && firstFold != nil {
                throw ValidationError("--fold-dates and --first-fold exclude each other")
            }
            guard (1...3_660).contains(stepDays) else {
                throw ValidationError("--step-days must be in 1...3660, not \(stepDays)")
            }
            guard folds <= 10_000, topPerRep <= 1_000_000, horizon <= FeaturePipeline.maximumHorizonDays,
                epochs <= 100_000,
                warmEpochs <= 100_000, trainingWeeks <= 5_200, batchSize <= 1_000_000, bootstrap <= 100_000
            else {
                throw ValidationError(
                    "--folds ≤ 10000, --top-per-rep ≤ 1000000, --horizon ≤ \(FeaturePipeline.maximumHorizonDays), --epochs ≤ 100000, --batch-size ≤ 1000000, --bootstrap ≤ 100000"
                )
            }
            if let firstFold, Day(iso: firstFold) == nil {
                throw ValidationError("--first-fold must be a date YYYY-MM-DD")
            }
            guard folds >= 1, topPerRep >= 1, horizon >= 1, epochs >= 1, warmEpochs >= 0, trainingWeeks >= 0,
                batchSize >= 1, bootstrap >= 1
            else {
                throw ValidationError(
                    "--folds, --top-per-rep, --horizon, --epochs, --batch-size, --bootstrap must be at least 1")
            }
        }

        func run() throws {
            BLASKernelSelection.reexecuteWithFastestKernelsIfNeeded()
            parallelism.apply()
            // Fold, contender, epoch and time left redrawn on a terminal; the per-fit lines either way.
            let display = StatusLine(quiet: quiet)
            defer { display.finish() }
            let log: (String) -> Void = { display.line($0) }
            let data: Dataset
            var inputs: [InputFile] = []
            var truth: [GroundTruthRow]? = nil
            do {
                data = try Dataset.load(directory: dataset)
                inputs = try InputFile.dataset(directory: dataset)
                if let groundTruth {
                    truth = try GroundTruthFile.read(path: groundTruth)
                    inputs.append(try InputFile.read(role: "ground-truth", path: groundTruth))
                }
            } catch let error as EvaluationError {
                throw EvaluatorFailure.badInput(error.description)
            } catch let error as DatasetError {
                throw EvaluatorFailure.badInput(error.description)
            }
            guard let last = data.visits.map(\.date).max() else {
                throw EvaluatorFailure.badInput("\(dataset): the dataset has no visits")
            }
            let dataEnd = last.advanced(by: 1)
            let first: Day
            if let firstFold {
                first = Day(iso: firstFold)!
            } else {
                // The latest Monday whose outcome window [t, t + H) closes by the end of the data, minus the folds before it.
                let lastStart = dataEnd.advanced(by: -horizon).mondayOnOrBefore
                first = lastStart.advanced(by: -stepDays * (folds - 1))
            }
            var settings = Backtest.Settings(firstFold: first)
            settings.folds = folds
            let transactions = data.manifest.kind == .transactions
            settings.candidates = (candidates ?? (transactions ? .withHistory : .visitedInWeek)).candidates
            settings.list = try listRule(transactions: transactions)
            settings.training.trainingCandidates = trainOn == .withHistory ? .withHistory : settings.candidates
            settings.stepDays = stepDays
            settings.contenders = models.names
            settings.training.examples = ExampleSettings(horizonDays: horizon)
            settings.training.featureSet = features
            settings.training.scaling = scaling
            settings.training.notes = !noNotes
            settings.training.training.monitor = monitor
            settings.training.training.epochs = epochs
            settings.training.training.batchSize = batchSize
            settings.training.training.seed = seed
            settings.training.validationDates = 4
            settings.training.trainingWeeks = trainingWeeks == 0 ? nil : trainingWeeks
            settings.training.calibration = calibration
            if let dates = try explicitFoldDates() { settings.foldDates = dates }
            settings.warmStart = warmEpochs > 0
            settings.warmEpochs = max(warmEpochs, 1)
            let backtest = Backtest(settings: settings, history: VisitHistory(dataset: data))
            log(
                "backtest: \(backtest.foldStarts.count) folds from \(backtest.foldStarts.first!.iso), contenders \(settings.contenders.joined(separator: ", "))"
            )
            let results: [Backtest.Fold]
            do {
                results = try backtest.run(
                    progress: log, status: { progress in display.status("backtest: " + progress.line) })
            } catch {
                throw EvaluatorFailure.badInput("\(dataset): \(error)")
            }
            let evaluation = EvaluationSettings(
                horizonDays: horizon, topPerRep: topPerRep, bootstrapResamples: bootstrap, seed: seed)
            let report = backtest.report(folds: results, evaluation: evaluation, groundTruth: truth, inputs: inputs)
            do {
                // Every fold's scores, as a scores file an auditor can re-judge with `evaluator audit`
                // (rank_in_rep encodes the list: its rows are those with rank_in_rep ≤ the report's K).
                try ReportWriter.write(
                    report, to: out,
                    extra: [
                        (
                            "scores.csv",
                            ScoresFile.encode(
                                rows: Backtest.scoreRows(
                                    results, list: settings.list, horizon: settings.training.examples.horizonDays
                                ).rows)
                        )
                    ],
                    waiting: log)
            } catch {
                throw EvaluatorFailure.reportNotWritten(out, error)
            }
            if json {
                print(
                    WeeklyComparison.summary(
                        report, command: "backtest", reportPath: (out as NSString).appendingPathComponent("report.json")
                    ).text)
                return
            }
            for line in WeeklyComparison.lines(report.allResults, comparison: report.settings.comparison) {
                print(line)
            }
            for note in report.notes { print("note: \(note)") }
            print(
                "report: \((out as NSString).appendingPathComponent("report.md")) (and report.json, scores.csv, *.svg)")
        }
    }
}
