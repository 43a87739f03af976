import AssociationRules
import BGNBD
import Calibration
import Dataset
import Features
import Formats
import Foundation
import GradientBoosting
import Metrics
import Models
import Tensors
import Training

/// The trainer's work, from a dataset directory to a model file: the nightly job of BRIEF §1
/// ("retrain on everything up to yesterday"), as a function the `trainer` tool and the
/// backtest both call, for any contender of the registry (``Contenders``).
///
/// Steps: index the visits (`VisitHistory`); cut weekly as-of examples whose label window
/// closes by the cut-off T (`--train-until`, default the day after the last record); split by
/// time — the latest `validationDates` as-of dates validate, and training keeps only examples
/// whose label window closes by the first validation date, so no training label overlaps a
/// validation as-of date; optionally add shift-augmented copies to the training part; fit the
/// feature pipeline on the training part only; fit the contender (neural models with early
/// stopping on the validation split); calibrate its scores on the validation split; write the
/// model file with the pipeline, calibration, settings, validation metrics before and after
/// calibration, and the dataset manifest's SHA-256.
public enum TrainingJob {
    /// Everything the trainer's flags decide.
    public struct Options: Sendable, Equatable {
        /// The contender to fit (``Contenders``): ``Contenders/defaultModel`` unless named.
        public var model = Contenders.defaultModel
        /// The neural models' settings (`architecture` is set from `model`).
        public var training = TrainingSettings()
        /// Epochs of a warm-started neural fit (the backtest's later folds); nil: `training.epochs`.
        public var warmEpochs: Int?
        public var boosting = GradientBoostedTrees.Settings()
        public var bgnbd = BGNBD.FitSettings()
        public var tree = DecisionTree.Settings()
        public var rules = ClassAssociationRules.Settings()
        public var examples = ExampleSettings()
        /// Weekly Mondays (default) or every visit date (the study's per-visit formulation).
        public var grid: GridKind = .weekly
        /// nil: the contender's default (integer coding for the CNN-LSTMs, one-hot for the others).
        public var staticEncoding: StaticEncoding?
        /// The time-aware inputs (default) or the study's exact seven-feature inputs.
        public var featureSet: FeatureSet = .timeAware
        /// The interval the pipeline scales measured columns to: [0, 1] (default) or [−1, 1].
        public var scaling: ScalingRange = .zeroOne
        /// Whether the pipeline reads the dataset's text columns (visit notes) when it has some.
        public var notes = true
        /// How scores are calibrated on the validation split; nil: the contender's default.
        public var calibration: ProbabilityCalibration.Method?
        /// T: only examples whose label window closes by T train; nil = day after the last record.
        public var trainUntil: Day?
        /// Train on these partitions of a partitioned dataset only (a uniform sample of its
        /// customers; the model file records it as `dataset_sample`). nil: the whole dataset.
        public var samplePartitions: PartitionSelection?
        /// The latest as-of dates held out for validation, early stopping and calibration.
        public var validationDates = 8
        /// Who the training and validation examples are at each as-of date: every customer with
        /// an earlier visit (the call-list population, default), or the customers visited that
        /// week (the study's evaluation set: a backtest scoring those trains on those).
        public var trainingCandidates: CandidateSet = .withHistory
        public var shift: ShiftAugmentation?
        /// Only as-of dates in the last N weeks before the cut-off (a rolling training window; nil: all history).
        public var trainingWeeks: Int?
        public init() {}

        /// The contender `model` names (nil when unknown).
        public var contender: (any Contender)? { Contenders.named(model) }

        public var encoding: StaticEncoding {
            staticEncoding ?? contender?.defaultStaticEncoding ?? .oneHot
        }

        public var calibrationMethod: ProbabilityCalibration.Method {
            calibration ?? contender?.defaultCalibration ?? .none
        }

        /// The first option that cannot work, or nil.
        public var problem: String? {
            guard let contender else {
                return "unknown model '\(model)'; choose one of \(Contenders.trainableNames.joined(separator: ", "))"
            }
            if let problem = training.problem { return problem }
            if let problem = boosting.problem { return problem }
            if let warmEpochs, !(1...100_000).contains(warmEpochs) {
                return "warm epochs must be in 1...100000, got \(warmEpochs)"
            }
            if !(1...FeaturePipeline.maximumSequenceLength).contains(examples.sequenceLength) {
                return
                    "sequence length must be in 1...\(FeaturePipeline.maximumSequenceLength), got \(examples.sequenceLength)"
            }
            if !(1...FeaturePipeline.maximumHorizonDays).contains(examples.horizonDays) {
                return "horizon must be in 1...\(FeaturePipeline.maximumHorizonDays) days, got \(examples.horizonDays)"
            }
            if !(1...520).contains(validationDates) {
                return "validation dates must be in 1...520, got \(validationDates)"
            }
            if let weeks = trainingWeeks, !(1...5_200).contains(weeks) {
                return "training weeks must be in 1...5200, got \(weeks)"
            }
            if !(bgnbd.penalizer >= 0) { return "the BG/NBD penalizer must be ≥ 0, got \(bgnbd.penalizer)" }
            if let problem = rules.problem { return problem }
            if contender.kind == .heuristic, let calibration, calibration != .none {
                return "\(model) is a ranking rule, not a probability: it cannot be calibrated (drop --calibration)"
            }
            if !contender.usesFeaturePipeline, let calibration, calibration != .none {
                return
                    "\(model) scores from the visit history with no validation split: it cannot be calibrated (drop --calibration)"
            }
            return nil
        }

        /// The rolling window's first as-of date for a cut-off `trainUntil`.
        public func earliestAsOf(trainUntil: Day) -> Day? {
            trainingWeeks.map { trainUntil.advanced(by: -7 * $0 - examples.horizonDays) }
        }
    }

    public enum GridKind: String, Sendable, Codable, CaseIterable {
        case weekly
        case visitDates = "visit-dates"
    }

    /// What a finished (or interrupted) run reports.
    public struct Summary: Sendable {
        public var model: String
        public var trainingRows: Int
        public var validationExamples: Int
        public var trainingPositiveRate: Double?
        public var counts: ExampleCounts?
        public var trainUntil: Day
        public var validationFrom: Day?
        public var history: [EpochReport]
        public var validation: [String: Double?]
        public var calibration: ProbabilityCalibration
        public var notes: [String]
        public var completed: Bool
        public var modelID: String?
        /// After an interrupted run: the completed epochs the checkpoint `OUT.checkpoint` holds,
        /// or `nil` when there is none to resume (stopped before the first epoch ended).
        public var checkpointEpochs: Int?
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
        /// The examples themselves (for contenders that read targets or score from them).
        public var trainSet: ExampleSet
        public var validationSet: ExampleSet
        public var counts: ExampleCounts
        public var trainUntil: Day
        public var validationFrom: Day

        /// A warning when the validation split outnumbers the training split: early stopping
        /// and calibration then rest on more rows than the model learns from.
        public func splitWarning(validationDates: Int) -> String? {
            guard validation.count > train.count else { return nil }
            return "\(validation.count) validation examples outnumber the \(train.count) training examples: "
                + "give more history (--training-weeks, a later --train-until) or fewer --validation-dates (now \(validationDates))"
        }

        /// The trainer's line about the examples: counts, positive share, split and cut-off.
        public var description: String {
            "\(train.count) training examples (\(String(format: "%.1f", train.positiveRate * 100))% positive), "
                + "\(validation.count) validation examples from \(validationFrom); labels close by \(trainUntil)"
        }
    }

    /// The time split of ``prepare(history:options:)`` without tensors: training examples (with
    /// any shift-augmented copies) and validation examples, for contenders that read the
    /// history directly.
    public struct ExampleSplit {
        public var train: ExampleSet
        public var validation: ExampleSet
        public var counts: ExampleCounts
        public var trainUntil: Day
        public var validationFrom: Day
    }

    /// Cuts and splits the examples as ``prepare(history:options:)`` does.
    public static func splitExamples(history: VisitHistory, options: Options) throws -> ExampleSplit {
        guard let last = history.days.max() else { throw JobError("the dataset has no visits") }
        let trainUntil = options.trainUntil ?? Day(ordinal: last + 1)
        let builder = ExampleBuilder(history: history, settings: options.examples)
        let grid: AsOfGrid
        switch options.grid {
        case .weekly: grid = .weekly(covering: history)
        case .visitDates: grid = .visitDates(from: Day(ordinal: history.days.min()! + 1), through: trainUntil)
        }
        var all = builder.build(grid: grid, candidates: options.trainingCandidates, trainingCutoff: trainUntil)
        if let earliestAsOf = options.earliestAsOf(trainUntil: trainUntil) {
            all.examples = all.examples.filter { $0.asOf >= earliestAsOf.ordinal }
        }
        let dates = Array(Set(all.examples.map(\.asOf))).sorted()
        let horizon = Int32(options.examples.horizonDays)
        guard dates.count > options.validationDates, dates[0] + horizon <= dates[dates.count - options.validationDates]
        else {
            throw JobError(tooFewDatesAdvice(dates: dates, options: options, trainUntil: trainUntil))
        }
        let validationFrom = dates[dates.count - options.validationDates]
        var trainSet = all, validationSet = all
        trainSet.examples = all.examples.filter { $0.asOf + horizon <= validationFrom }
        validationSet.examples = all.examples.filter { $0.asOf >= validationFrom }
        if let shift = options.shift {
            var random = SeededRandom(seed: options.training.seed, stream: 3)
            trainSet = trainSet.shiftAugmented(history: history, options: shift, random: &random)
        }
        guard !trainSet.examples.isEmpty else {
            throw JobError(tooFewDatesAdvice(dates: dates, options: options, trainUntil: trainUntil))
        }
        return ExampleSplit(
            train: trainSet, validation: validationSet, counts: all.counts, trainUntil: trainUntil,
            validationFrom: Day(ordinal: validationFrom))
    }

    /// Why `dates` (the as-of dates left after the cut-off and the rolling window) leave no
    /// training date, and which flag to change by how much: a training example's label window
    /// must close before the first of the `--validation-dates` latest dates, so the dates needed
    /// are the validation dates, plus those within one horizon before them, plus one.
    static func tooFewDatesAdvice(dates: [Int32], options: Options, trainUntil: Day) -> String {
        let horizon = Int32(options.examples.horizonDays), validation = options.validationDates
        // The most validation dates that still leave a training date: the latest v whose first
        // validation date is a horizon after the first date.
        let fewerValidation =
            dates.isEmpty
            ? 0 : (1..<max(1, dates.count)).reversed().first { dates[dates.count - $0] - dates[0] >= horizon } ?? 0
        let gapWeeks = (options.examples.horizonDays + 6) / 7
        var remedies: [String] = []
        if let weeks = options.trainingWeeks, options.grid == .weekly {
            remedies.append(
                "--training-weeks \(validation + gapWeeks + 1) or more (now \(weeks): \(validation) validation weeks, \(gapWeeks) weeks for the labels of the last training week to close before them, and at least one training week; several times that trains better)"
            )
        } else {
            remedies.append("more data or a later --train-until")
        }
        if fewerValidation >= 1 {
            remedies.append("--validation-dates \(fewerValidation) or fewer (now \(validation))")
        }
        return
            "only \(dates.count) as-of dates have a label window closing by \(trainUntil) (horizon \(horizon) days), and none is a horizon before "
            + "the \(validation) validation dates: no training example is left. Use "
            + remedies.joined(separator: ", or ")
    }

    /// Builds the training and validation tensors for `history` under `options`;
    /// With `options.trainingWeeks`, examples cut before the rolling window's first as-of date
    /// (``Options/earliestAsOf(trainUntil:)``) are dropped.
    public static func prepare(history: VisitHistory, options: Options) throws -> PreparedData {
        let split = try splitExamples(history: history, options: options)
        let trainSet = split.train, validationSet = split.validation
        let pipeline = FeaturePipeline.fit(
            training: trainSet, history: history, encoding: options.encoding, featureSet: options.featureSet,
            scaling: options.scaling, notes: options.notes)
        let encoder = try pipeline.encoder(for: history)
        return PreparedData(
            pipeline: pipeline, train: modelExamples(encoder.tensors(for: trainSet)),
            validation: modelExamples(encoder.tensors(for: validationSet)), trainSet: trainSet,
            validationSet: validationSet,
            counts: split.counts,
            trainUntil: split.trainUntil, validationFrom: split.validationFrom)
    }

    /// The model-facing part of the Features module's tensors.
    public static func modelExamples(_ tensors: ExampleTensors) -> ModelExamples {
        ModelExamples(
            sequence: tensors.sequence, mask: tensors.mask, statics: tensors.statics, aggregates: tensors.aggregates,
            labels: tensors.labels)
    }

    /// ROC-AUC of probabilities against 0/1 labels (nil when undefined).
    public static func rocAUC(_ probabilities: [Float], _ labels: [Float]) -> Double? {
        BinaryPredictions(scores: probabilities, labels: labels.map { Int($0) }).rocAUC().value
    }

    /// Average precision of probabilities against 0/1 labels (nil when undefined).
    public static func averagePrecision(_ probabilities: [Float], _ labels: [Float]) -> Double? {
        BinaryPredictions(scores: probabilities, labels: labels.map { Int($0) }).averagePrecision().value
    }

    /// Validation metrics of scores against labels, under `prefix` (`raw_` before calibration).
    public static func validationMetrics(scores: [Float], labels: [Float], prefix: String = "") -> [String: Double?] {
        let predictions = BinaryPredictions(scores: scores, labels: labels.map { Int($0) })
        return [
            prefix + "roc_auc": predictions.rocAUC().value,
            prefix + "average_precision": predictions.averagePrecision().value,
            prefix + "brier": predictions.brierScore().value, prefix + "log_loss": predictions.logLoss().value,
            prefix + "ece": predictions.reliabilityDiagram(binCount: 10)?.expectedCalibrationError.value
        ]
    }

    /// A fitted and calibrated contender with everything its model file records.
    public struct Fitted {
        public var model: any FittedModel
        public var calibration: ProbabilityCalibration
        public var validation: [String: Double?]
        public var pipeline: FeaturePipeline?
        public var result: FitResult
        /// Calibrated scores for `input.set.examples[range]`.
        public func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
            calibration.apply(to: try model.scores(input, range: range))
        }
    }

    /// Fits the contender `job.options.model` and calibrates it on the validation split.
    /// Returns nil when interrupted.
    public static func fit(_ job: FitJob) throws -> Fitted? {
        if job.options.notes, let contender = job.options.contender, !contender.readsStatics {
            // Notes inputs go to the statics, which this model never reads.
            var options = job.options
            options.notes = false
            return try fitOnce(job.with(options: options))
        }
        guard let fitted = try fitOnce(job) else { return nil }
        guard job.options.notes, fitted.pipeline?.notes != nil else { return fitted }
        // Notes inputs stay only where the validation weeks say they help (issue 17: notes that
        // carry no signal must not make the model worse). The same contender is fitted again
        // without them, and the lower calibrated validation log loss wins.
        var options = job.options
        options.notes = false
        guard let plain = try fitOnce(job.with(options: options, secondFit: true)) else { return nil }
        func loss(_ fitted: Fitted) -> Double { (fitted.validation["log_loss"] ?? nil) ?? .infinity }
        let keep = loss(fitted) < loss(plain)
        job.log(
            String(
                format: "trainer: %@: validation log loss %.5f with the notes' %d n-grams, %.5f without: %@",
                job.options.model,
                loss(fitted), fitted.pipeline?.notes?.model.width ?? 0, loss(plain),
                keep ? "notes kept" : "notes dropped"))
        return keep ? fitted : plain
    }

    /// One fit with the options as given (``fit(_:)`` may call it twice, with and without notes).
    static func fitOnce(_ job: FitJob) throws -> Fitted? {
        if let problem = job.options.problem { throw JobError(problem) }
        let contender = job.options.contender!
        guard let result = try contender.fit(job) else { return nil }
        let prepared = job.preparedIfBuilt
        var calibration = ProbabilityCalibration.none
        var validation: [String: Double?] = [:]
        if let prepared {
            let labels = prepared.validation.labels.scalars
            let raw: [Float]
            if let computed = result.validationScores {
                raw = computed
            } else {
                let input = ScoringInput(
                    history: job.history, set: prepared.validationSet,
                    encoder: try prepared.pipeline.encoder(for: job.history))
                raw = try result.model.scores(input, range: 0..<prepared.validationSet.count)
            }
            let method = job.options.calibrationMethod
            calibration = ProbabilityCalibration.fit(
                method, scores: raw.map(Double.init), labels: labels.map { $0 == 1 })
            if method != .none && calibration == .none {
                job.log("trainer: the validation split has one class only: the scores are left uncalibrated")
            }
            let calibrated = calibration.apply(to: raw)
            validation = validationMetrics(scores: raw, labels: labels, prefix: "raw_")
            validation.merge(validationMetrics(scores: calibrated, labels: labels)) { $1 }
            validation["examples"] = Double(labels.count)
            validation["positive_rate"] = labels.isEmpty ? nil : Double(labels.reduce(0, +)) / Double(labels.count)
        }
        return Fitted(
            model: result.model, calibration: calibration, validation: validation, pipeline: prepared?.pipeline,
            result: result)
    }

    /// The model file of a fitted contender.
    public static func modelFile(_ fitted: Fitted, options: Options, trainUntil: Day, datasetSHA256: String) throws
        -> ModelFile
    {
        ModelFile(
            model: fitted.model.name, examples: options.examples, pipeline: fitted.pipeline,
            calibration: fitted.calibration,
            validation: fitted.validation, datasetSHA256: datasetSHA256, trainUntil: trainUntil.iso,
            contents: try fitted.model.contents())
    }

    /// Trains and writes the model file at `output` (atomically). A neural model writes a
    /// checkpoint to `output + ".checkpoint"` after every epoch; `resume` continues from it.
    /// When `shouldStop` turns true the run ends after the current batch (or boosting round),
    /// the checkpoint of the last completed epoch stays, and no model file is written
    /// (`completed` false).
    public static func run(
        datasetDirectory: String, options: Options, output: String, initFrom: String? = nil, resume: Bool = false,
        log: @escaping (String) -> Void = { _ in }, progress: @escaping (BatchProgress) -> Void = { _ in },
        epochFinished: @escaping (EpochReport) -> Void = { _ in }, shouldStop: @escaping () -> Bool = { false }
    ) throws -> Summary {
        if let problem = options.problem { throw JobError(problem) }
        // One trainer per model file: two would overwrite each other's checkpoint.
        let lock = try FileLock.exclusive(for: output, wait: false)
        defer { withExtendedLifetime(lock) {} }
        for target in [output, output + ".checkpoint"] {
            for note in AtomicDirectory.recoverLeftovers(of: target) { log("trainer: \(note)") }
        }
        // Find an unwritable --out now, not after the first epoch.
        try AtomicFile.checkWritable(output)
        let dataset: Dataset
        var sample: String?
        if let selection = options.samplePartitions {
            guard Dataset.isPartitioned(directory: datasetDirectory) else {
                throw JobError(
                    "\(datasetDirectory): --sample-partitions needs a partitioned dataset (`importer partition`); this one is flat"
                )
            }
            let top = try Dataset.readPartitionedManifest(directory: datasetDirectory)
            let partitions = top.manifest.partitioning
            dataset = try Dataset.loadPartitioned(directory: datasetDirectory, manifest: top, selection: selection) {
                log("trainer: \($0)")
            }
            sample =
                "partitions \(selection) of \(partitions.count) (\(partitions.hash)): \(dataset.manifest.customerCount) customers, \(dataset.visits.count) visits"
            log("trainer: training on a sample: \(sample!)")
        } else {
            dataset = try Dataset.load(directory: datasetDirectory) { log("trainer: \($0)") }
        }
        let history = VisitHistory(dataset: dataset)
        var warm: (any FittedModel)? = nil
        if let initFrom, !resume {
            let file = try ModelFile.read(from: initFrom)
            guard file.model == options.model else {
                throw JobError("\(initFrom): a \(file.model) model cannot warm-start a \(options.model) model")
            }
            warm = try Contenders.load(file, path: initFrom)
            log("trainer: warm start from \(initFrom)")
        }
        var epochsThisRun = 0
        var options = options
        // Notes inputs go to the statics; a model that never reads them is fitted without (so
        // the pipeline it records, and the log line below, say what it uses).
        if let contender = options.contender, !contender.readsStatics { options.notes = false }
        let job = FitJob(
            history: history, options: options, warmStart: warm, checkpointPath: output + ".checkpoint", resume: resume,
            log: log, progress: progress,
            epochFinished: {
                epochsThisRun += 1; epochFinished($0)
            }, shouldStop: shouldStop)
        if options.contender!.usesFeaturePipeline {
            let prepared = try job.prepared()
            log("trainer: \(prepared.description)")
            if let warning = prepared.splitWarning(validationDates: options.validationDates) {
                log("trainer: warning: \(warning)")
            }
        }
        let fitted = try fit(job)
        let prepared = job.preparedIfBuilt
        var summary = Summary(
            model: options.model, trainingRows: fitted?.result.trainingRows ?? prepared?.train.count ?? 0,
            validationExamples: prepared?.validation.count ?? 0, trainingPositiveRate: prepared?.train.positiveRate,
            counts: prepared?.counts, trainUntil: job.trainUntil, validationFrom: prepared?.validationFrom,
            history: fitted?.model.epochs ?? [],
            validation: [:], calibration: .none,
            notes: fitted?.result.notes ?? [], completed: fitted != nil, modelID: nil)
        guard let fitted else {
            // Only a checkpoint this run wrote or resumed from counts: an older one left beside
            // a fresh run is not what --resume would continue.
            if epochsThisRun > 0 || resume, let file = try? TensorFile.read(from: output + ".checkpoint"),
                let history = try? JSONDecoder().decode(
                    [EpochReport].self, from: Data((file.metadata["history"] ?? "").utf8))
            {
                summary.checkpointEpochs = history.count
            }
            return summary
        }
        var model = try modelFile(
            fitted, options: options, trainUntil: job.trainUntil, datasetSHA256: dataset.manifestSHA256)
        model.datasetSample = sample
        try model.write(to: output)
        try? FileManager.default.removeItem(atPath: output + ".checkpoint")
        summary.validation = fitted.validation
        summary.calibration = fitted.calibration
        summary.modelID = model.modelID
        return summary
    }
}
