import ArgumentParser
import Calibration
import CommandLineChoices
import CommandLineSupport
import Dataset
import Features
import Formats
import Foundation
import Models
import Synchronization
import Tensors
import Training
import Workflow

#if canImport(Glibc)
    import Glibc
#endif

/// `trainer`: dataset directory → model file. All logic is in `Workflow.TrainingJob`; this
/// file maps flags to options, reports progress and turns failures into exit codes.
@main
struct TrainerCommand: ParsableCommand {
    static func main() { runTool(TrainerCommand.self, name: "trainer") }

    static let configuration = CommandConfiguration(
        commandName: "trainer",
        abstract: "Train a model on a dataset directory and write a PyTorch-loadable model file.",
        discussion: """
            Builds weekly as-of examples (label: an order within the horizon), holds out the latest \
            as-of dates for validation and early stopping, fits the feature pipeline on the training \
            part only, trains, and writes the model (safetensors: weights under PyTorch's names, the \
            pipeline and settings in the metadata). A checkpoint (OUT.checkpoint) is written after \
            every epoch; SIGINT/SIGTERM stop after the current batch and keep it; --resume continues. \
            Exit codes: 0 trained, 1 bad usage, 2 bad input (dataset, model, checkpoint), 4 cannot write, \
            130 interrupted (checkpoint kept). Reference: Docs/CLI.md.

            Examples:
              trainer data/ --out model.safetensors
              trainer data/ --out xgb.safetensors --model xgboost --train-until 2020-01-06
              trainer data/ --out model.safetensors --init-from model.safetensors --epochs 4 --patience 2   (the nightly retrain)
            """, version: RevisitVersion.current)

    @Argument(help: "Dataset directory written by `importer`.")
    var dataset: String

    @Option(name: .shortAndLong, help: "Model file to write (atomically).")
    var out: String

    @Option(
        help: ArgumentHelp(
            "The contender to train (default \(Contenders.defaultModel): the CNN-LSTM with BG/NBD beside it; cnn_lstm is the study's model alone).",
            discussion: Contenders.helpList))
    var model: ContenderName = .defaultModel
    @Option(
        help:
            "Calibration of the scores on the validation split. Default: platt for learned scores, none for bgnbd and the heuristics."
    )
    var calibration: ProbabilityCalibration.Method?

    @Option(parsing: .unconditional, help: "Window length L: the last L visits before each as-of date.")
    var sequenceLength = 10
    @Option(parsing: .unconditional, help: "Label horizon H in days: an order in [t, t + H).")
    var horizon = 28
    @Option(help: "As-of grid: weekly (Mondays) or visit-dates (the study's per-visit formulation).")
    var grid: TrainingJob.GridKind = .weekly
    @Flag(help: "Drop customers with fewer than L visits (the study's rule) instead of left-padding with a mask.")
    var dropShort = false
    @Option(
        help: "Static features: integer (the study's, default for the CNN-LSTMs) or one-hot (default for the others).")
    var staticEncoding: StaticEncoding?
    @Option(
        help:
            "Inputs: time-aware (default: each step also carries the days to the as-of date, the statics the window summary) or study (the paper's exact seven-feature inputs)."
    )
    var features: FeatureSet = .timeAware
    @Option(
        help:
            "Min–max scaling of the measured inputs: zero-one ([0, 1], the CNN-LSTM study's, default) or minus-one-one ([−1, 1], MATLAB mapminmax's, the RNN study's). One-hot columns stay 0/1."
    )
    var scaling: ScalingRange = .zeroOne

    @Flag(
        name: .customLong("no-notes"),
        help:
            "Ignore the dataset's text columns (visit notes); by default their TF-IDF n-grams that are significant for an order become inputs (Docs/Features.md, \"Visit notes\")."
    )
    var noNotes = false

    @Option(help: "Loss: focal (α, γ below) or bce (binary cross-entropy, --positive-weight).")
    var loss: LossChoice = .focal
    @Option(parsing: .unconditional, help: "Focal loss α (weight of the positive class).")
    var alpha: Float = 0.25
    @Option(parsing: .unconditional, help: "Focal loss γ (focusing exponent).")
    var gamma: Float = 2
    @Option(parsing: .unconditional, help: "Weight of positive examples for --loss bce.")
    var positiveWeight: Float = 1

    @Option(parsing: .unconditional, help: "Maximum epochs.")
    var epochs = 20
    @Option(parsing: .unconditional, help: "Batch size.")
    var batchSize = 64
    @Option(parsing: .unconditional, help: "Adam learning rate.")
    var learningRate: Float = 0.001
    @Option(parsing: .unconditional, help: "Early stopping: epochs without a better validation score before stopping.")
    var patience = 3
    @Option(
        help:
            "Early stopping watches: loss (the validation loss, the study's and the default), roc_auc or average_precision (the ranking of the validation split)."
    )
    var monitor: TrainingSettings.Monitor = .loss
    @Option(parsing: .unconditional, help: "Latest as-of dates held out for validation.")
    var validationDates = 8
    @Option(parsing: .unconditional, help: "Clip the gradient's global norm to this value.")
    var clip: Float?
    @Option(parsing: .unconditional, help: "Seed of every random stream.")
    var seed: UInt64 = 1
    @OptionGroup var parallelism: ThreadOptions
    @OptionGroup var configuration: ConfigOption

    @Option(
        help:
            "Only examples whose label window closes by this date (YYYY-MM-DD) train. Default: the day after the last record."
    )
    var trainUntil: String?
    @Option(
        parsing: .unconditional,
        help: "Train only on as-of dates of the last N weeks (whose labels close by the cut-off); default: all history."
    )
    var trainingWeeks: Int?
    @Option(
        help:
            "With a partitioned dataset: train on these partitions only, e.g. 0-3 (a uniform sample of the customers; the model file records it). Docs/ScaleOut.md."
    )
    var samplePartitions: String?
    @Option(help: "Warm start from this model file (same model and inputs), as the nightly retrain does.")
    var initFrom: String?
    @Flag(help: "Continue from OUT.checkpoint, left by an interrupted run with the same flags.")
    var resume = false
    @Option(
        parsing: .unconditional,
        help: "Shift augmentation: add copies with up to this many recent orders removed (0: off).")
    var shift = 0

    @Flag(help: "Progress as JSON lines on stderr (one per epoch, and a summary).")
    var logJSON = false
    @Flag(help: "No progress on stderr.")
    var quiet = false

    init() {}

    func options() throws -> TrainingJob.Options {
        var options = TrainingJob.Options()
        let contender = Contenders.named(model.name)!
        options.model = contender.name
        if let neural = contender as? NeuralContender { options.training.architecture = neural.architecture }
        options.calibration = calibration
        switch loss {
        case .focal: options.training.objective = .focal(alpha: alpha, gamma: gamma)
        case .bce: options.training.objective = .crossEntropy(positiveWeight: positiveWeight)
        }
        options.training.epochs = epochs
        options.training.batchSize = batchSize
        options.training.learningRate = learningRate
        options.training.patience = patience
        options.training.monitor = monitor
        options.training.gradientClip = clip
        options.training.seed = seed
        if let problem = options.training.problem { throw ValidationError(problem) }
        guard (1...FeaturePipeline.maximumSequenceLength).contains(sequenceLength),
            (1...FeaturePipeline.maximumHorizonDays).contains(horizon)
        else {
            throw ValidationError(
                "--sequence-length must be in 1...\(FeaturePipeline.maximumSequenceLength) and --horizon in 1...\(FeaturePipeline.maximumHorizonDays)"
            )
        }
        options.examples = ExampleSettings(
            sequenceLength: sequenceLength, horizonDays: horizon,
            padding: dropShort ? .dropShort : .leftPadWithMask)
        options.grid = grid
        if let staticEncoding { options.staticEncoding = staticEncoding }
        options.scaling = scaling
        options.notes = !noNotes
        options.featureSet = features
        if let trainUntil {
            guard let day = Day(iso: trainUntil) else {
                throw ValidationError("--train-until must be a date YYYY-MM-DD; got '\(trainUntil)'")
            }
            options.trainUntil = day
        }
        if let samplePartitions {
            guard let selection = PartitionSelection(parsing: samplePartitions) else {
                throw ValidationError(
                    "--sample-partitions must be partition numbers and ranges such as 0-3,7; got '\(samplePartitions)'")
            }
            options.samplePartitions = selection
        }
        guard validationDates >= 1 else { throw ValidationError("--validation-dates must be at least 1") }
        options.validationDates = validationDates
        if let trainingWeeks {
            guard trainingWeeks >= 1 else { throw ValidationError("--training-weeks must be at least 1") }
            options.trainingWeeks = trainingWeeks
        }
        guard (0...1_000).contains(shift) else { throw ValidationError("--shift must be in 0...1000, not \(shift)") }
        if shift > 0 { options.shift = ShiftAugmentation(maxRemovedOrders: shift) }
        if let problem = options.problem { throw ValidationError(problem) }
        return options
    }

    func validate() throws {
        _ = try options()
        if resume && initFrom != nil { throw ValidationError("--resume and --init-from exclude each other") }
    }

    func run() throws {
        BLASKernelSelection.reexecuteWithFastestKernelsIfNeeded()
        let options = try options()
        parallelism.apply()
        let (stop, signalSources) = StopRequest.installed()
        defer { signalSources.forEach { $0.cancel() } }
        let report = ProgressReporter(quiet: quiet, json: logJSON)
        let clock = ContinuousClock(), began = clock.now
        let summary: TrainingJob.Summary
        do {
            summary = try TrainingJob.run(
                datasetDirectory: dataset, options: options, output: out, initFrom: initFrom, resume: resume,
                log: report.line, progress: report.batch, epochFinished: report.epoch, shouldStop: stop.requested)
        } catch let error as AtomicWriteError {
            throw ToolFailure(.cannotWrite, error.description)
        } catch let error as FileLockError {
            throw ToolFailure(.cannotWrite, error.description)
        }
        report.finish()
        let seconds = (clock.now - began) / .seconds(1)
        guard summary.completed else {
            report.line(
                summary.checkpointEpochs.map {
                    "trainer: interrupted after epoch \($0); checkpoint kept at \(out).checkpoint (continue with --resume)"
                } ?? "trainer: interrupted before a checkpoint was written; no model written, nothing to resume")
            throw ExitCode(ToolExitCode.interrupted.rawValue)
        }
        for note in summary.notes { report.line("trainer: \(note)") }
        func figure(_ key: String) -> String {
            summary.validation[key].flatMap { $0 }.map { String(format: "%.4f", $0) } ?? "undefined"
        }
        let best = summary.history.filter(\.improved).last?.epoch ?? 0
        let epochs = summary.history.isEmpty ? "" : "\(summary.history.count) epochs (best \(best)), "
        let validation =
            summary.validation.isEmpty
            ? ""
            : "validation ROC-AUC \(figure("roc_auc")), average precision \(figure("average_precision")), "
                + "ECE \(figure("raw_ece")) → \(figure("ece")) (\(summary.calibration.method.rawValue)), "
        report.summary(
            "trainer: \(out) (\(summary.modelID ?? "")): \(options.model), \(epochs)\(validation)\(summary.trainingRows) training rows, "
                + String(format: "%.1f s", seconds),
            json: [
                ("model", .string(out)), ("model_id", .string(summary.modelID)), ("contender", .string(options.model)),
                ("epochs", .int(summary.history.count)), ("best_epoch", .int(best)),
                ("training_rows", .int(summary.trainingRows)),
                ("validation_examples", .int(summary.validationExamples)),
                ("validation_roc_auc", .number(summary.validation["roc_auc"].flatMap { $0 })),
                ("validation_average_precision", .number(summary.validation["average_precision"].flatMap { $0 })),
                ("validation_ece_raw", .number(summary.validation["raw_ece"].flatMap { $0 })),
                ("validation_ece", .number(summary.validation["ece"].flatMap { $0 })),
                ("calibration", .string(summary.calibration.method.rawValue)), ("seconds", .number(seconds))
            ])
    }

}

/// SIGINT/SIGTERM → a flag the training loop polls between batches. The signals are
/// ignored by default handling and delivered through a dispatch source instead, so nothing
/// runs in signal-handler context.
final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)

    /// The request and the signal sources that feed it (keep them alive while training).
    static func installed() -> (request: StopRequest, sources: [DispatchSourceSignal]) {
        let request = StopRequest()
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { request.flag.store(true, ordering: .relaxed) }
            source.resume()
            sources.append(source)
        }
        return (request, sources)
    }

    func requested() -> Bool { flag.load(ordering: .relaxed) }
}

/// Progress on stderr: a redrawn bar on a terminal, plain lines otherwise, JSON lines with --log-json.
final class ProgressReporter {
    let quiet: Bool, json: Bool
    let terminal = isatty(STDERR_FILENO) == 1
    private var lastDraw = ContinuousClock.now
    private var epochStarted = ContinuousClock.now

    init(quiet: Bool, json: Bool) {
        self.quiet = quiet
        self.json = json
    }

    func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    func line(_ text: String) {
        guard !quiet, !json else { return }
        if terminal { write("\r\u{1B}[K") }
        write(text + "\n")
    }

    func batch(_ progress: BatchProgress) {
        if progress.batch == 1 { epochStarted = .now }
        guard !quiet, !json, terminal else { return }
        let now = ContinuousClock.now
        guard now - lastDraw > .milliseconds(200) || progress.batch == progress.batches else { return }
        lastDraw = now
        let elapsed = (now - epochStarted) / .seconds(1)
        let eta = elapsed / Double(progress.batch) * Double(progress.batches - progress.batch)
        let width = 30, filled = width * progress.batch / max(progress.batches, 1)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        write(
            String(
                format: "\r\u{1B}[Kepoch %d %@ %d/%d loss %.4f eta %.0fs", progress.epoch, bar, progress.batch,
                progress.batches,
                progress.runningLoss, eta))
    }

    func epoch(_ report: EpochReport) {
        guard !quiet else { return }
        let auc = report.validationAUC.map { String(format: "%.4f", $0) } ?? "undefined"
        if json {
            write(
                JSONLine.object([
                    ("event", .string("epoch")), ("epoch", .int(report.epoch)),
                    ("training_loss", .number(report.trainingLoss)),
                    ("validation_loss", .number(report.validationLoss)),
                    ("validation_auc", .number(report.validationAUC)),
                    ("improved", .bool(report.improved)), ("seconds", .number(report.seconds))
                ]).text + "\n")
        } else {
            line(
                String(
                    format: "epoch %d: training loss %.5f, validation loss %.5f, validation ROC-AUC %@%@ (%.1f s)",
                    report.epoch,
                    report.trainingLoss, report.validationLoss, auc, report.improved ? " *" : "", report.seconds))
        }
    }

    func finish() { if terminal && !quiet && !json { write("\r\u{1B}[K") } }

    func summary(_ text: String, json fields: [(String, JSONLine)]) {
        if json {
            write(JSONLine.object([("event", .string("summary"))] + fields).text + "\n")
        } else if !quiet {
            write(text + "\n")
        }
    }
}
