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
    public var readsStatics: Bool { architecture == .cnnLSTM }
    public var defaultCalibration: ProbabilityCalibration.Method { .platt }

    public var summary: String {
        switch architecture {
        case .cnnLSTM: return "the study's CNN-LSTM with its static branch, the default"
        case .cnnLSTMSequenceOnly: return "the CNN+LSTM without the static branch"
        case .lstm: return "the related work's 2-layer LSTM"
        case .gru: return "the same stack with GRU layers"
        case .rnn: return "the same stack with tanh RNN layers"
        case .mlp: return "an MLP on the aggregate features"
        case .logisticRegression: return "logistic regression on the aggregate features"
        }
    }

    /// The study's integer coding for the CNN-LSTMs' static branch, one-hot for the others.
    public var defaultStaticEncoding: StaticEncoding {
        [.cnnLSTM, .cnnLSTMSequenceOnly].contains(architecture) ? .integer : .oneHot
    }

    public func fit(_ job: FitJob) throws -> FitResult? {
        let data = try job.prepared()
        var settings = job.options.training
        settings.architecture = architecture
        // A warm start happens only when the previous model fits these inputs; only then does
        // the short warm-start budget apply (a fresh fit gets the full epochs).
        let warmModel = (job.warmStart as? FittedNeuralModel).flatMap {
            $0.model.architecture == architecture && $0.model.shape == data.train.shape ? $0 : nil
        }
        if warmModel != nil { settings.epochs = job.options.warmEpochs ?? settings.epochs }
        let validationLabels = Set(data.validation.labels.scalars)
        if settings.monitor != .loss, validationLabels.count < 2 {
            settings.monitor = .loss
            job.log("trainer: the validation split has one class only, so its ranking scores are undefined: early stopping watches the validation loss")
        }
        let run = TrainingRun(
            settings: settings, shape: data.train.shape, validationScore: TrainingJob.rocAUC, averagePrecision: TrainingJob.averagePrecision)
        // What the checkpoint was made from: resuming on another dataset or pipeline would
        // silently continue a different training run. Only a run that checkpoints needs it
        // (a backtest fold does not).
        let provenance = job.checkpointPath == nil ? [:] : [
            "dataset_sha256": job.history.dataset.manifestSHA256, "pipeline_sha256": SHA256.hex(try data.pipeline.jsonBytes()),
            "train_until": data.trainUntil.iso,
        ]
        if job.resume, let checkpointPath = job.checkpointPath {
            guard FileManager.default.fileExists(atPath: checkpointPath) else {
                throw TrainingJob.JobError("\(checkpointPath): no checkpoint to resume from; run without --resume")
            }
            let file = try TensorFile.read(from: checkpointPath)
            for (key, value) in provenance.sorted(by: { $0.key < $1.key }) where file.metadata[key] != value {
                let what = key == "dataset_sha256" ? "another dataset" : key == "pipeline_sha256" ? "another feature pipeline" : "another cut-off"
                throw TrainingError.checkpoint(
                    path: checkpointPath,
                    reason: "it was made from \(what) (\(key) \(file.metadata[key].map { String($0.prefix(16)) } ?? "missing"), this run \(value.prefix(16))); start afresh without --resume")
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
                run.acceptCurrentWeightsAsBaseline(validation: data.validation)
            } else {
                let previous = (warm as? FittedNeuralModel).map { "\($0.model.architecture.rawValue) for inputs \($0.model.shape.summary)" } ?? warm.name
                job.log("trainer: the previous model (\(previous)) cannot warm-start \(name) for inputs \(data.train.shape.summary): training from scratch")
            }
        }
        let completed = try run.fit(
            train: data.train, validation: data.validation, progress: job.progress, epochFinished: job.epochFinished,
            checkpoint: { run in
                guard let path = job.checkpointPath else { return }
                var file = try run.checkpoint()
                file.metadata.merge(provenance) { _, recorded in recorded }
                try file.write(to: path)
            },
            shouldStop: job.shouldStop)
        guard completed else { return nil }
        let (_, validationScores) = run.evaluate(data.validation)
        return FitResult(
            model: try FittedNeuralModel(NeuralModel(run: run)), validationScores: validationScores, trainingRows: data.train.count,
            iterations: run.history.count)
    }

    public func load(_ file: ModelFile, path: String) throws -> any FittedModel {
        let model = try NeuralModel.decode(file.contents, source: path)
        guard model.architecture == architecture else {
            throw ModelFile.ReadError(path: path, reason: "the file says model \(name) but holds a \(model.architecture.rawValue) network")
        }
        if let pipeline = file.pipeline {
            let expected = ModelShape(
                steps: pipeline.settings.sequenceLength, sequenceFeatures: pipeline.sequenceWidth, staticFeatures: pipeline.staticWidth,
                aggregateFeatures: pipeline.aggregateFeatures.count)
            guard expected == model.shape else {
                throw ModelFile.ReadError(path: path, reason: "its network expects inputs \(model.shape), its pipeline gives \(expected)")
            }
        }
        return try FittedNeuralModel(model)
    }
}

/// A trained network ready to score: the model instantiated once, its weights in one arena.
public final class FittedNeuralModel: FittedModel {
    public let model: NeuralModel
    private var network: any Classifier
    private let parameters: ParameterStore

    public var name: String { model.architecture.rawValue }
    public var epochs: [EpochReport] { model.history }

    init(_ model: NeuralModel) throws {
        self.model = model
        let (network, parameters) = try model.instantiate()
        self.network = network
        self.parameters = parameters
    }

    public func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
        guard !range.isEmpty else { return [] }
        let examples = input.modelExamples(range)
        guard examples.shape == model.shape else {
            throw TrainingJob.JobError("the model expects inputs \(model.shape), this dataset gives \(examples.shape)")
        }
        return predictProbabilities(model: &network, parameters: parameters, examples: examples)
    }

    public func contents() throws -> TensorFile { try model.fileEntries() }
}
