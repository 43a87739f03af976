import Dataset
import Features
import Formats
import Foundation
import Metrics
import Models
import Tensors
import Training

/// The trainer's work, from a dataset directory to a model file: the nightly job of BRIEF §1
/// ("retrain on everything up to yesterday"), as a function the `trainer` tool and the
/// backtest both call.
///
/// Steps: index the visits (`VisitHistory`); cut weekly as-of examples whose label window
/// closes by the cut-off T (`--train-until`, default the day after the last record); split by
/// time — the latest `validationWeeks` as-of dates validate, and training keeps only examples
/// whose label window closes by the first validation date, so no training label overlaps a
/// validation as-of date; optionally add shift-augmented copies to the training part; fit the
/// feature pipeline on the training part only; train with early stopping; write the model file
/// with the pipeline, settings, history, validation metrics and the dataset manifest's SHA-256.
public enum TrainingJob {
    /// Everything the trainer's flags decide.
    public struct Options: Sendable, Equatable {
        public var training = TrainingSettings()
        public var examples = ExampleSettings()
        /// Weekly Mondays (default) or every visit date (the study's per-visit formulation).
        public var grid: GridKind = .weekly
        /// nil: integer coding for the CNN-LSTMs (the study's), one-hot for the others.
        public var staticEncoding: StaticEncoding?
        /// T: only examples whose label window closes by T train; nil = day after the last record.
        public var trainUntil: Day?
        /// The latest as-of dates held out for validation and early stopping.
        public var validationDates = 8
        public var shift: ShiftAugmentation?
        /// Only as-of dates in the last N weeks before the cut-off (a rolling training window; nil: all history).
        public var trainingWeeks: Int?
        public init() {}

        public var encoding: StaticEncoding {
            staticEncoding ?? ([.cnnLSTM, .cnnLSTMSequenceOnly].contains(training.architecture) ? .integer : .oneHot)
        }
    }

    public enum GridKind: String, Sendable, Codable, CaseIterable {
        case weekly
        case visitDates = "visit-dates"
    }

    /// What a finished (or interrupted) run reports.
    public struct Summary: Sendable {
        public var trainingExamples: Int
        public var validationExamples: Int
        public var trainingPositiveRate: Double
        public var counts: ExampleCounts
        public var trainUntil: Day
        public var validationFrom: Day
        public var history: [EpochReport]
        public var validation: [String: Double?]
        public var completed: Bool
        public var modelID: String?
    }

    /// Failures the caller reports as data errors (exit code 2), with the reason.
    public struct JobError: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The examples a run trains and validates on, and the fitted pipeline.
    public struct PreparedData {
        public var pipeline: FeaturePipeline
        public var train: ModelExamples
        public var validation: ModelExamples
        public var counts: ExampleCounts
        public var trainUntil: Day
        public var validationFrom: Day
    }

    /// Builds the training and validation tensors for `history` under `options`;
    /// `earliestAsOf` drops examples cut before that date (a rolling training window).
    public static func prepare(history: VisitHistory, options: Options, earliestAsOf: Day? = nil) throws -> PreparedData {
        guard let last = history.days.max() else { throw JobError("the dataset has no visits") }
        let trainUntil = options.trainUntil ?? Day(ordinal: last + 1)
        let builder = ExampleBuilder(history: history, settings: options.examples)
        let grid: AsOfGrid
        switch options.grid {
        case .weekly: grid = .weekly(covering: history)
        case .visitDates: grid = .visitDates(from: Day(ordinal: history.days.min()! + 1), through: trainUntil)
        }
        var all = builder.build(grid: grid, candidates: .withHistory, trainingCutoff: trainUntil)
        if let earliestAsOf { all.examples = all.examples.filter { $0.asOf >= earliestAsOf.ordinal } }
        let dates = Array(Set(all.examples.map(\.asOf))).sorted()
        guard dates.count > options.validationDates else {
            throw JobError("only \(dates.count) as-of dates have a label window closing by \(trainUntil) (horizon \(options.examples.horizonDays) days); "
                + "need more than the \(options.validationDates) validation dates: use more data, a later --train-until, or fewer --validation-dates")
        }
        let validationFrom = dates[dates.count - options.validationDates]
        let horizon = Int32(options.examples.horizonDays)
        var trainSet = all, validationSet = all
        trainSet.examples = all.examples.filter { $0.asOf + horizon <= validationFrom }
        validationSet.examples = all.examples.filter { $0.asOf >= validationFrom }
        if let shift = options.shift {
            var random = SeededRandom(seed: options.training.seed, stream: 3)
            trainSet = trainSet.shiftAugmented(history: history, options: shift, random: &random)
        }
        guard !trainSet.examples.isEmpty else {
            throw JobError("no training examples end their label window before the validation period starts (\(Day(ordinal: validationFrom))); use more data or fewer --validation-dates")
        }
        let pipeline = FeaturePipeline.fit(training: trainSet, history: history, encoding: options.encoding)
        let encoder = try pipeline.encoder(for: history)
        return PreparedData(
            pipeline: pipeline, train: modelExamples(encoder.tensors(for: trainSet)),
            validation: modelExamples(encoder.tensors(for: validationSet)), counts: all.counts, trainUntil: trainUntil,
            validationFrom: Day(ordinal: validationFrom))
    }

    /// The model-facing part of the Features module's tensors.
    public static func modelExamples(_ tensors: ExampleTensors) -> ModelExamples {
        ModelExamples(sequence: tensors.sequence, mask: tensors.mask, statics: tensors.statics, aggregates: tensors.aggregates,
                      labels: tensors.labels)
    }

    /// ROC-AUC of probabilities against 0/1 labels (nil when undefined).
    public static func rocAUC(_ probabilities: [Float], _ labels: [Float]) -> Double? {
        BinaryPredictions(scores: probabilities, labels: labels.map { Int($0) }).rocAUC().value
    }

    /// Validation metrics of the current weights.
    public static func validationMetrics(run: TrainingRun, validation: ModelExamples) -> [String: Double?] {
        let (loss, probabilities) = run.evaluate(validation)
        let predictions = BinaryPredictions(scores: probabilities, labels: validation.labels.scalars.map { Int($0) })
        return [
            "loss": loss, "roc_auc": predictions.rocAUC().value, "average_precision": predictions.averagePrecision().value,
            "brier": predictions.brierScore().value, "log_loss": predictions.logLoss().value,
            "positive_rate": predictions.baseRate.value, "examples": Double(validation.count),
        ]
    }

    /// Trains and writes the model file at `output` (atomically). A checkpoint goes to
    /// `output + ".checkpoint"` after every epoch; `resume` continues from it. When
    /// `shouldStop` turns true the run ends after the current batch, the checkpoint of the last
    /// completed epoch stays, and no model file is written (`completed` false).
    public static func run(
        datasetDirectory: String, options: Options, output: String, initFrom: String? = nil, resume: Bool = false,
        log: (String) -> Void = { _ in }, progress: (BatchProgress) -> Void = { _ in }, epochFinished: (EpochReport) -> Void = { _ in },
        shouldStop: @escaping () -> Bool = { false }
    ) throws -> Summary {
        let dataset = try Dataset.load(directory: datasetDirectory)
        let manifestBytes = try Data(contentsOf: URL(fileURLWithPath: datasetDirectory + "/" + Dataset.manifestFile))
        let history = VisitHistory(dataset: dataset)
        let earliest = options.trainingWeeks.map { weeks in
            (options.trainUntil ?? Day(ordinal: (history.days.max() ?? 0) + 1)).advanced(by: -7 * weeks - options.examples.horizonDays)
        }
        let data = try prepare(history: history, options: options, earliestAsOf: earliest)
        log("trainer: \(data.train.count) training examples (\(String(format: "%.1f", data.train.positiveRate * 100))% positive), "
            + "\(data.validation.count) validation examples from \(data.validationFrom); labels close by \(data.trainUntil)")
        var settings = options.training
        let validationLabels = Set(data.validation.labels.scalars)
        if settings.monitor == .rocAUC, validationLabels.count < 2 {
            settings.monitor = .loss
            log("trainer: the validation split has one class only, so its ROC-AUC is undefined: early stopping watches the validation loss")
        }
        let run = TrainingRun(settings: settings, shape: data.train.shape, validationScore: rocAUC)
        let checkpointPath = output + ".checkpoint"
        if resume {
            guard FileManager.default.fileExists(atPath: checkpointPath) else {
                throw JobError("\(checkpointPath): no checkpoint to resume from; run without --resume")
            }
            try run.restore(TensorFile.read(from: checkpointPath), source: checkpointPath)
            log("trainer: resumed after epoch \(run.history.count) from \(checkpointPath)")
        } else if let initFrom {
            let warm = try ModelFile.read(from: initFrom)
            guard warm.architecture == options.training.architecture, warm.shape == data.train.shape else {
                throw JobError("\(initFrom): a \(warm.architecture.rawValue) model for inputs \(warm.shape) cannot warm-start a \(options.training.architecture.rawValue) model for \(data.train.shape)")
            }
            try run.loadWeights(warm.tensors)
            log("trainer: warm start from \(initFrom)")
        }
        let completed = try run.fit(
            train: data.train, validation: data.validation, progress: progress, epochFinished: epochFinished,
            checkpoint: { try $0.checkpoint().write(to: checkpointPath) }, shouldStop: shouldStop)
        var summary = Summary(
            trainingExamples: data.train.count, validationExamples: data.validation.count, trainingPositiveRate: data.train.positiveRate,
            counts: data.counts, trainUntil: data.trainUntil, validationFrom: data.validationFrom, history: run.history,
            validation: [:], completed: completed, modelID: nil)
        guard completed else { return summary }
        let validation = validationMetrics(run: run, validation: data.validation)
        let model = ModelFile(
            run: run, pipeline: String(decoding: try data.pipeline.jsonBytes(), as: UTF8.self), validation: validation,
            datasetSHA256: SHA256.hex(manifestBytes), trainUntil: data.trainUntil.iso)
        try model.write(to: output)
        try? FileManager.default.removeItem(atPath: checkpointPath)
        summary.validation = validation
        summary.modelID = model.modelID
        return summary
    }
}
