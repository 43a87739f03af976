import Calibration
import Features
import Formats
import Foundation
import Layers
import Models
import Tensors
import Training

/// Revisit's deep-learning models (Modules/Models): the study's CNN-LSTM and its relatives,
/// trained by `TrainingRun` with early stopping on the time-ordered validation split. The model
/// file carries their weights under PyTorch's names (``NeuralModel``).
public struct NeuralContender: Contender {
    public let architecture: Architecture

    public init(architecture: Architecture) { self.architecture = architecture }

    public var name: String { architecture.rawValue }
    public var kind: ContenderKind { .neural }
    public var usesFeaturePipeline: Bool { true }
    /// Only the CNN-LSTM has a static branch: the sequence-only models read the sequences, the
    /// MLP and logistic regression the aggregates.
    public var readsStatics: Bool { [.cnnLSTM, .cnnLSTMTiming].contains(architecture) }
    /// Platt scaling for the classifiers; none for a hazard head, whose P(order within H) is its
    /// own timing distribution read at H (level-refitted on the validation weeks), so that the
    /// score and the timing agree.
    public var defaultCalibration: ProbabilityCalibration.Method { architecture.hasHazardHead ? .none : .platt }

    public var summary: String {
        switch architecture {
        case .cnnLSTM: return "the study's CNN-LSTM with its static branch, the default"
        case .cnnLSTMSequenceOnly: return "the CNN+LSTM without the static branch"
        case .lstm: return "the related work's 2-layer LSTM"
        case .gru: return "the same stack with GRU layers"
        case .rnn: return "the same stack with tanh RNN layers"
        case .mlp: return "an MLP on the aggregate features"
        case .logisticRegression: return "logistic regression on the aggregate features"
        case .cnnLSTMTiming:
            return
                "the CNN-LSTM with a discrete-time hazard head over weekly bins: P(order within H) and when, with expected and median days"
        }
    }

    /// The study's integer coding for the CNN-LSTMs' static branch, one-hot for the others.
    public var defaultStaticEncoding: StaticEncoding {
        [.cnnLSTM, .cnnLSTMSequenceOnly, .cnnLSTMTiming].contains(architecture) ? .integer : .oneHot
    }

    public func fit(_ job: FitJob) throws -> FitResult? {
        let data = try job.prepared()
        var settings = job.options.training
        settings.architecture = architecture
        var train = data.train, validation = data.validation
        let bins = TimingBins(horizonDays: job.options.examples.horizonDays)
        if architecture.hasHazardHead {
            // Training targets censored at the first validation date (no training target sees
            // the validation weeks), validation targets at the cut-off T, as xgboost_timing's.
            settings.timing = HazardReadout(binEdges: bins.edges, horizonDays: job.options.examples.horizonDays)
            let trainTargets = bins.targetTensors(
                job.history.timingTargets(of: data.trainSet, censoredAt: data.validationFrom.ordinal))
            let validationTargets = bins.targetTensors(
                job.history.timingTargets(of: data.validationSet, censoredAt: data.trainUntil.ordinal))
            train = train.withTiming(events: trainTargets.events, atRisk: trainTargets.atRisk)
            validation = validation.withTiming(events: validationTargets.events, atRisk: validationTargets.atRisk)
            guard trainTargets.events.scalars.contains(1) else {
                throw TrainingJob.JobError(
                    "\(name): no training example has an order within \(bins.maximumDays) days before \(data.validationFrom.iso)"
                )
            }
        }
        // A warm start happens only when the previous model fits these inputs; only then does
        // the short warm-start budget apply (a fresh fit gets the full epochs).
        let warmModel = (job.warmStart as? FittedNeuralModel).flatMap {
            $0.model.architecture == architecture && $0.model.shape == data.train.shape
                && $0.model.settings.timing == settings.timing ? $0 : nil
        }
        if warmModel != nil { settings.epochs = job.options.warmEpochs ?? settings.epochs }
        let validationLabels = Set(data.validation.labels.scalars)
        if settings.monitor != .loss, validationLabels.count < 2 {
            settings.monitor = .loss
            job.log(
                "trainer: the validation split has one class only, so its ranking scores are undefined: early stopping watches the validation loss"
            )
        }
        let run = TrainingRun(
            settings: settings, shape: data.train.shape, validationScore: TrainingJob.rocAUC,
            averagePrecision: TrainingJob.averagePrecision)
        // What the checkpoint was made from: resuming on another dataset or pipeline would
        // silently continue a different training run. Only a run that checkpoints needs it
        // (a backtest fold does not).
        let provenance =
            job.checkpointPath == nil
            ? [:]
            : [
                "dataset_sha256": job.history.dataset.manifestSHA256,
                "pipeline_sha256": SHA256.hex(try data.pipeline.jsonBytes()),
                "train_until": data.trainUntil.iso
            ]
        if job.resume, let checkpointPath = job.checkpointPath {
            guard FileManager.default.fileExists(atPath: checkpointPath) else {
                throw TrainingJob.JobError("\(checkpointPath): no checkpoint to resume from; run without --resume")
            }
            let file = try TensorFile.read(from: checkpointPath)
            for (key, value) in provenance.sorted(by: { $0.key < $1.key }) where file.metadata[key] != value {
                let what =
                    key == "dataset_sha256"
                    ? "another dataset" : key == "pipeline_sha256" ? "another feature pipeline" : "another cut-off"
                throw TrainingError.checkpoint(
                    path: checkpointPath,
                    reason:
                        "it was made from \(what) (\(key) \(file.metadata[key].map { String($0.prefix(16)) } ?? "missing"), this run \(value.prefix(16))); start afresh without --resume"
                )
            }
            try run.restore(file, source: checkpointPath)
            job.log("trainer: resumed after epoch \(run.history.count) from \(checkpointPath)")
        } else if let warm = job.warmStart {
            // Inputs change between fits (a new categorical value, notes inputs that a fold keeps
            // and the next drops): then the old weights have nowhere to go, and the fit starts
            // afresh, saying so, rather than failing the night or the backtest.
            if let warmModel {
                try run.loadWeights(warmModel.model.tensors)
                // The warm weights are the baseline an epoch must beat on this run's validation split.
                run.acceptCurrentWeightsAsBaseline(validation: validation)
            } else {
                let previous =
                    (warm as? FittedNeuralModel).map {
                        "\($0.model.architecture.rawValue) for inputs \($0.model.shape.summary)"
                    } ?? warm.name
                job.log(
                    "trainer: the previous model (\(previous)) cannot warm-start \(name) for inputs \(data.train.shape.summary): training from scratch"
                )
            }
        }
        let completed = try run.fit(
            train: train, validation: validation, progress: job.progress, epochFinished: job.epochFinished,
            checkpoint: { run in
                guard let path = job.checkpointPath else { return }
                var file = try run.checkpoint()
                file.metadata.merge(provenance) { _, recorded in recorded }
                try file.write(to: path)
            },
            shouldStop: job.shouldStop)
        guard completed else { return nil }
        var (_, validationScores) = run.evaluate(validation)
        guard architecture.hasHazardHead else {
            return FitResult(
                model: try FittedNeuralModel(NeuralModel(run: run)), validationScores: validationScores,
                trainingRows: data.train.count,
                iterations: run.history.count)
        }
        // The hazard's level, refitted on the validation person-periods as xgboost_timing's.
        let hazards = predictHazards(
            model: run.model, parameters: run.parameters, examples: validation, bins: bins.count)
        let atRisk = validation.hazardAtRisk!.scalars, events = validation.hazardEvents!.scalars
        let periods = atRisk.indices.filter { atRisk[$0] == 1 }
        let exponent = GradientBoostingTimingContender.LevelCalibration.survivalExponent(
            hazards: periods.map { hazards[$0] }, labels: periods.map { events[$0] })
        let model = try FittedNeuralModel(NeuralModel(run: run), survivalExponent: exponent)
        validationScores = validationScores.map { model.leveled($0) }
        return FitResult(
            model: model, validationScores: validationScores, trainingRows: data.train.count,
            iterations: run.history.count,
            notes: [
                "\(name): trained on the discrete-time hazard likelihood over bins ending at "
                    + "\(bins.edges.map(String.init).joined(separator: ", ")) days (\(periods.count) validation person-periods; "
                    + "the --loss objective does not apply); level on the validation weeks: survival exponent "
                    + String(format: "%.3f", exponent)
            ])
    }

    public func load(_ file: ModelFile, path: String) throws -> any FittedModel {
        let model = try NeuralModel.decode(file.contents, source: path)
        guard model.architecture == architecture else {
            throw ModelFile.ReadError(
                path: path, reason: "the file says model \(name) but holds a \(model.architecture.rawValue) network")
        }
        if let pipeline = file.pipeline {
            let expected = ModelShape(
                steps: pipeline.settings.sequenceLength, sequenceFeatures: pipeline.sequenceWidth,
                staticFeatures: pipeline.staticWidth,
                aggregateFeatures: pipeline.aggregateFeatures.count)
            guard expected == model.shape else {
                throw ModelFile.ReadError(
                    path: path, reason: "its network expects inputs \(model.shape), its pipeline gives \(expected)")
            }
        }
        guard architecture.hasHazardHead else { return try FittedNeuralModel(model) }
        let text = file.contents.metadata[FittedNeuralModel.survivalExponentKey] ?? "1"
        guard let exponent = Double(text), exponent.isFinite, (1.0 / 64...64).contains(exponent) else {
            throw ModelFile.ReadError(
                path: path,
                reason:
                    "its level calibration (\(FittedNeuralModel.survivalExponentKey) '\(text.prefix(40))') is not a number in 1/64…64"
            )
        }
        return try FittedNeuralModel(model, survivalExponent: exponent)
    }
}

/// A trained network ready to score: the model instantiated once, its weights in one arena.
public final class FittedNeuralModel: FittedModel {
    public let model: NeuralModel
    private var network: any Classifier
    private let parameters: ParameterStore

    public var name: String { model.architecture.rawValue }
    public var epochs: [EpochReport] { model.history }
    /// A hazard head's level recalibration (S_k → S_k^s, as `xgboost_timing`'s; 1 = none).
    public let survivalExponent: Double
    /// The model file's metadata key holding ``survivalExponent`` (hazard heads only).
    static let survivalExponentKey = "timing_survival_exponent"

    init(_ model: NeuralModel, survivalExponent: Double = 1) throws {
        self.model = model
        let (network, parameters) = try model.instantiate()
        self.network = network
        self.parameters = parameters
        self.survivalExponent = survivalExponent
    }

    /// A hazard head's P(order within H) at its refitted level: 1 − (1 − p)^s.
    func leveled(_ p: Float) -> Float {
        Float(GradientBoostingTimingContender.LevelCalibration.leveled(Double(p), exponent: survivalExponent))
    }

    func examples(_ input: ScoringInput, range: Range<Int>) throws -> ModelExamples {
        let examples = input.modelExamples(range)
        guard examples.shape == model.shape else {
            throw TrainingJob.JobError("the model expects inputs \(model.shape), this dataset gives \(examples.shape)")
        }
        return examples
    }

    public func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
        guard !range.isEmpty else { return [] }
        let probabilities = predictProbabilities(
            model: &network, parameters: parameters, examples: try examples(input, range: range))
        return model.architecture.hasHazardHead ? probabilities.map(leveled) : probabilities
    }

    /// A hazard head's distribution of the time to the next order (nil for the classifiers).
    public func timing(_ input: ScoringInput, range: Range<Int>) throws -> [PurchaseTiming]? {
        guard let readout = model.settings.timing, model.architecture.hasHazardHead,
            let bins = TimingBins(edges: readout.binEdges)
        else {
            return nil
        }
        guard !range.isEmpty else { return [] }
        let hazards = predictHazards(
            model: network, parameters: parameters, examples: try examples(input, range: range), bins: bins.count)
        return GradientBoostingTimingContender.LevelCalibration.distributions(
            bins: bins, hazards: hazards, rows: range.count, exponent: survivalExponent)
    }

    public func contents() throws -> TensorFile {
        var file = try model.fileEntries()
        if model.architecture.hasHazardHead { file.metadata[Self.survivalExponentKey] = String(survivalExponent) }
        return file
    }
}
