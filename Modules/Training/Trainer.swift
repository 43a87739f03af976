import Foundation
import Layers
import Losses
import Models
import Optimizers
import Tensors

/// Everything that decides a training run's result. Saved in the model file, so a model says
/// how it was made; the same settings, data and seed give the same bytes, on any thread count.
public struct TrainingSettings: Codable, Sendable, Equatable {
    public var architecture: Architecture = .cnnLSTM
    public var objective: Objective = .study
    /// Upper bound on epochs; early stopping usually ends sooner.
    public var epochs = 20
    public var batchSize = 64
    /// Adam's step size (β1 0.9, β2 0.999, ε 1e-8, bias-corrected: BRIEF §1).
    public var learningRate: Float = 0.001
    /// Stop after this many epochs without a better validation score; the best epoch's weights are kept.
    public var patience = 3
    /// What "better" means for early stopping and the weights kept.
    public var monitor: Monitor = .loss
    /// Global gradient-norm clip (nil: none).
    public var gradientClip: Float?
    public var seed: UInt64 = 1
    /// The hazard head's bins and horizon, for architectures that carry one
    /// (`Architecture.hasHazardHead`); nil for the classifiers. Such a network is trained on the
    /// discrete-time hazard likelihood, so `objective` does not apply to it.
    public var timing: HazardReadout?
    enum CodingKeys: String, CodingKey {
        case architecture, objective, epochs, batchSize, learningRate, patience, monitor, gradientClip, seed, timing
    }

    public init() {}

    /// The validation figure early stopping watches.
    public enum Monitor: String, Codable, Sendable, CaseIterable {
        /// The validation loss, lower is better (Keras's default `val_loss`; the study's setting).
        case loss
        /// The validation ROC-AUC, higher is better: what a ranked call list cares about. An
        /// epoch whose AUC is undefined (a one-class validation split) is not an improvement.
        case rocAUC = "roc_auc"
        /// The validation average precision, higher is better: the quality of the top of the
        /// list, where a call list's customers are.
        case averagePrecision = "average_precision"
    }

    /// A message naming the first setting that cannot work, or nil.
    public var problem: String? {
        if epochs < 1 { return "epochs must be at least 1, got \(epochs)" }
        if epochs > 100_000 { return "epochs must be at most 100000, got \(epochs)" }
        if !(1...1_000_000).contains(batchSize) { return "batch size must be in 1...1000000, got \(batchSize)" }
        if !(learningRate > 0 && learningRate.isFinite) {
            return "learning rate must be a positive finite number, got \(learningRate)"
        }
        if !(1...100_000).contains(patience) { return "patience must be in 1...100000, got \(patience)" }
        if let clip = gradientClip, !(clip > 0 && clip.isFinite) {
            return "gradient clip must be a positive finite number, got \(clip)"
        }
        // A hazard head's bins are set by its contender from the label horizon (nil until then).
        if let timing, let problem = timing.problem { return "the timing head: \(problem)" }
        if case .focal(let alpha, let gamma) = objective, !(0...1).contains(alpha) || !(gamma >= 0 && gamma.isFinite) {
            return "focal loss needs 0 ≤ alpha ≤ 1 and gamma ≥ 0, got alpha \(alpha), gamma \(gamma)"
        }
        if case .crossEntropy(let weight) = objective, !(weight > 0 && weight.isFinite) {
            return "positive class weight must be a positive finite number, got \(weight)"
        }
        return nil
    }
}

/// One finished epoch.
public struct EpochReport: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainingLoss: Double
    public var validationLoss: Double
    /// ROC-AUC on the validation split (nil when undefined: one class only).
    public var validationAUC: Double?
    /// Average precision on the validation split (nil when undefined or not computed).
    public var validationAveragePrecision: Double?
    public var batches: Int
    /// Wall time of the epoch. Not part of the encoded form: model files and checkpoints must
    /// not depend on how fast the machine was (byte-identical reruns).
    public var seconds: Double
    /// Whether this epoch set a new best validation score (`TrainingSettings.monitor`; its weights are kept).
    public var improved: Bool

    enum CodingKeys: String, CodingKey {
        case epoch, trainingLoss = "training_loss", validationLoss = "validation_loss", validationAUC =
            "validation_auc", batches, improved
        case validationAveragePrecision = "validation_average_precision"
    }

    public init(
        epoch: Int, trainingLoss: Double, validationLoss: Double, validationAUC: Double?,
        validationAveragePrecision: Double? = nil,
        batches: Int, seconds: Double, improved: Bool
    ) {
        self.epoch = epoch
        self.trainingLoss = trainingLoss
        self.validationLoss = validationLoss
        self.validationAUC = validationAUC
        self.validationAveragePrecision = validationAveragePrecision
        self.batches = batches
        self.seconds = seconds
        self.improved = improved
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        trainingLoss = try c.decode(Double.self, forKey: .trainingLoss)
        validationLoss = try c.decode(Double.self, forKey: .validationLoss)
        validationAUC = try c.decodeIfPresent(Double.self, forKey: .validationAUC)
        validationAveragePrecision = try c.decodeIfPresent(Double.self, forKey: .validationAveragePrecision)
        batches = try c.decode(Int.self, forKey: .batches)
        improved = try c.decode(Bool.self, forKey: .improved)
        seconds = 0
    }
}

/// Progress inside an epoch, for progress bars.
public struct BatchProgress: Sendable {
    public var epoch: Int
    public var batch: Int
    public var batches: Int
    public var runningLoss: Double
}

/// A model, its parameters and its optimizer, trained by explicit epochs over ``ModelExamples``.
///
/// The loop is llm.c's: zero the gradient arena, forward, loss, backward (accumulating into
/// the arena), optional global-norm clip, one Adam step over the flat arena. Randomness comes
/// from streams of `settings.seed` — 0 for initialisation, `1000 + e` for epoch e's shuffle,
/// `2000 + e` for its dropout masks — so an epoch's draws do not depend on what happened
/// before it, and a run resumed from a checkpoint at an epoch boundary continues exactly as an
/// uninterrupted run would.
public final class TrainingRun {
    public let settings: TrainingSettings
    public let shape: ModelShape
    public private(set) var model: any Classifier
    public let parameters: ParameterStore
    public private(set) var optimizer: Adam
    /// Completed epochs, with their validation results.
    public private(set) var history: [EpochReport] = []
    /// Optimizer steps taken (PyTorch's BatchNorm `num_batches_tracked`).
    public var steps: Int { optimizer.step }
    private var bestValues: [Float]?
    private var bestBuffers: [Float]?
    /// The best monitored score so far, as "higher is better" (−loss for `.loss`).
    private var bestScore = -Double.infinity
    private var epochsWithoutImprovement = 0
    /// Scores the validation split: ROC-AUC from (probabilities, labels), nil when undefined.
    private let validationScore: ([Float], [Float]) -> Double?
    /// Average precision from (probabilities, labels), nil when undefined (needed by the
    /// `.averagePrecision` monitor).
    private let averagePrecision: (([Float], [Float]) -> Double?)?

    public init(
        settings: TrainingSettings, shape: ModelShape, validationScore: @escaping ([Float], [Float]) -> Double?,
        averagePrecision: (([Float], [Float]) -> Double?)? = nil
    ) {
        precondition(settings.problem == nil, "TrainingRun: \(settings.problem!)")
        precondition(
            settings.monitor != .averagePrecision || averagePrecision != nil,
            "TrainingRun: monitoring average precision needs its function")
        self.settings = settings
        self.shape = shape
        self.validationScore = validationScore
        self.averagePrecision = averagePrecision
        var layout = ParameterLayout()
        model = makeClassifier(settings.architecture, shape: shape, timing: settings.timing, layout: &layout)
        parameters = ParameterStore(layout: layout)
        var random = SeededRandom(seed: settings.seed, stream: 0)
        model.initialize(parameters, using: &random)
        optimizer = Adam(
            parameterCount: parameters.count, configuration: AdamConfiguration(learningRate: settings.learningRate))
    }

    /// Whether early stopping has ended training (or the epoch budget is spent).
    public var isFinished: Bool { history.count >= settings.epochs || epochsWithoutImprovement >= settings.patience }

    /// Copies parameter and buffer values from another model file's tensors (warm start).
    public func loadWeights(_ tensors: [String: Tensor]) throws {
        let wanted = Dictionary(
            uniqueKeysWithValues: parameters.allNames.compactMap { name in tensors[name].map { (name, $0) } })
        try parameters.load(wanted)
    }

    /// Runs one epoch over `train` then scores `validation`. Returns nil, leaving the state of
    /// the last completed epoch's *checkpoint* to the caller, when `shouldStop` turns true
    /// between batches (the partial epoch's updates are not recorded in `history`).
    public func runEpoch(
        train: ModelExamples, validation: ModelExamples, progress: (BatchProgress) -> Void = { _ in },
        shouldStop: () -> Bool = { false }
    ) -> EpochReport? {
        precondition(train.count > 0 && validation.count > 0, "TrainingRun: needs training and validation examples")
        let epoch = history.count + 1
        let clock = ContinuousClock(), began = clock.now
        var shuffle = SeededRandom(seed: settings.seed, stream: 1000 + UInt64(epoch))
        var dropout = SeededRandom(seed: settings.seed, stream: 2000 + UInt64(epoch))
        let order = shuffle.permutation(count: train.count)
        let batches = (train.count + settings.batchSize - 1) / settings.batchSize
        var batch = ExampleBatch()
        var logits = Tensor.zeros([0]), gradient = Tensor.zeros([0])
        var lossSum = 0.0, seen = 0
        for index in 0..<batches {
            if shouldStop() { return nil }
            let rows = order[(index * settings.batchSize)..<min(train.count, (index + 1) * settings.batchSize)]
            batch.gather(from: train, rows: rows)
            parameters.zeroGradients()
            model.forward(batch.input, mode: .training, random: &dropout, parameters, into: &logits)
            let loss = lossValue(logits: logits, batch: batch, gradient: &gradient)
            model.backward(gradient, parameters)
            if let clip = settings.gradientClip {
                _ = clipGradientNorm(parameters.gradients, count: parameters.count, maximumNorm: clip)
            }
            optimizer.update(values: parameters.values, gradients: parameters.gradients)
            lossSum += Double(loss) * Double(rows.count)
            seen += rows.count
            progress(
                BatchProgress(
                    epoch: epoch, batch: index + 1, batches: batches, runningLoss: lossSum / Double(max(seen, 1))))
        }
        let (validationLoss, probabilities) = evaluate(validation)
        let auc = validationScore(probabilities, validation.labels.scalars)
        let precision = averagePrecision?(probabilities, validation.labels.scalars)
        let score: Double
        switch settings.monitor {
        case .loss: score = -validationLoss
        case .rocAUC: score = auc ?? -.infinity
        case .averagePrecision: score = precision ?? -.infinity
        }
        let improved = score > bestScore
        if improved {
            bestScore = score
            epochsWithoutImprovement = 0
            bestValues = Array(UnsafeBufferPointer(start: parameters.values, count: parameters.count))
            bestBuffers = Array(UnsafeBufferPointer(start: parameters.buffers, count: parameters.layout.bufferCount))
        } else {
            epochsWithoutImprovement += 1
        }
        let report = EpochReport(
            epoch: epoch, trainingLoss: lossSum / Double(max(seen, 1)), validationLoss: validationLoss,
            validationAUC: auc,
            validationAveragePrecision: precision, batches: batches, seconds: (clock.now - began) / .seconds(1),
            improved: improved)
        history.append(report)
        return report
    }

    /// Makes the current weights (a warm start's) the best so far, scored on `validation`, so
    /// that an epoch must beat them to be kept: repeated warm-started retraining (every fold of
    /// a backtest, every night) then cannot drift into overfitting unnoticed, because an epoch
    /// that does not improve the new validation split is discarded and the warm weights stay.
    public func acceptCurrentWeightsAsBaseline(validation: ModelExamples) {
        let (loss, probabilities) = evaluate(validation)
        let score: Double
        switch settings.monitor {
        case .loss: score = -loss
        case .rocAUC: score = validationScore(probabilities, validation.labels.scalars) ?? -.infinity
        case .averagePrecision: score = averagePrecision?(probabilities, validation.labels.scalars) ?? -.infinity
        }
        bestScore = score.isNaN ? -.infinity : score
        bestValues = Array(UnsafeBufferPointer(start: parameters.values, count: parameters.count))
        bestBuffers = Array(UnsafeBufferPointer(start: parameters.buffers, count: parameters.layout.bufferCount))
        epochsWithoutImprovement = 0
    }

    /// The batch's mean loss and dL/dlogits: the objective's for a classifier, the
    /// censoring-aware hazard likelihood for a hazard head (whose examples carry their bins).
    private func lossValue(logits: Tensor, batch: ExampleBatch, gradient: inout Tensor) -> Float {
        guard model.outputForm == .hazardLogits else {
            return settings.objective.loss(
                logits: logits, labels: batch.labels, form: model.outputForm, gradient: &gradient)
        }
        guard let events = batch.hazardEvents, let atRisk = batch.hazardAtRisk else {
            preconditionFailure(
                "TrainingRun: a hazard head trains on examples with timing targets (ModelExamples.withTiming)")
        }
        return DiscreteHazardLoss()(logits: logits, events: events, atRisk: atRisk, gradient: &gradient)
    }

    /// Mean validation loss and P(order) per row, in inference mode, in batches of 1024.
    public func evaluate(_ examples: ModelExamples) -> (loss: Double, probabilities: [Float]) {
        var probabilities = [Float](repeating: 0, count: examples.count)
        var batch = ExampleBatch(), logits = Tensor.zeros([0]), gradient = Tensor.zeros([0]), part: [Float] = []
        var unused = SeededRandom(seed: 0)  // inference mode draws nothing
        var lossSum = 0.0
        var start = 0
        while start < examples.count {
            let end = min(examples.count, start + 1024)
            batch.gather(from: examples, rows: Array(start..<end)[...])
            model.forward(batch.input, mode: .inference, random: &unused, parameters, into: &logits)
            lossSum += Double(lossValue(logits: logits, batch: batch, gradient: &gradient)) * Double(end - start)
            model.positiveProbabilities(logits, into: &part)
            probabilities.replaceSubrange(start..<end, with: part)
            start = end
        }
        return (examples.count == 0 ? .nan : lossSum / Double(examples.count), probabilities)
    }

    /// Trains until early stopping or the epoch budget, then restores the best epoch's weights.
    /// `checkpoint` runs after every completed epoch. Returns false when `shouldStop` ended it early.
    @discardableResult
    public func fit(
        train: ModelExamples, validation: ModelExamples, progress: (BatchProgress) -> Void = { _ in },
        epochFinished: (EpochReport) -> Void = { _ in }, checkpoint: (TrainingRun) throws -> Void = { _ in },
        shouldStop: () -> Bool = { false }
    ) throws -> Bool {
        while !isFinished {
            guard
                let report = runEpoch(train: train, validation: validation, progress: progress, shouldStop: shouldStop)
            else {
                return false
            }
            epochFinished(report)
            try checkpoint(self)
        }
        restoreBest()
        return true
    }

    /// Puts the best epoch's weights (by `settings.monitor`) back into the parameters.
    public func restoreBest() {
        guard let bestValues, let bestBuffers else { return }
        bestValues.withUnsafeBufferPointer { parameters.values.update(from: $0.baseAddress!, count: $0.count) }
        if !bestBuffers.isEmpty {
            bestBuffers.withUnsafeBufferPointer { parameters.buffers.update(from: $0.baseAddress!, count: $0.count) }
        }
    }

    /// The best epoch's report (nil before the first epoch).
    public var bestEpoch: EpochReport? { history.filter(\.improved).last }

    // MARK: Checkpoints

    /// The whole training state as a tensor file: parameters, buffers, Adam's moments and step,
    /// the best weights so far, and the history (as metadata JSON).
    public func checkpoint() throws -> TensorFile {
        var file = TensorFile()
        for (name, tensor) in parameters.stateDictionary() { file.tensors["model.\(name)"] = tensor }
        let (optimizerTensors, optimizerIntegers) = optimizer.state()
        for (name, tensor) in optimizerTensors { file.tensors["optimizer.\(name)"] = tensor }
        for (name, tensor) in optimizerIntegers { file.integerTensors["optimizer.\(name)"] = tensor }
        if let bestValues, let bestBuffers {
            file.tensors["best.values"] = Tensor(bestValues)
            file.tensors["best.buffers"] = Tensor(bestBuffers)
        }
        file.metadata["format"] = "revisit-checkpoint"
        file.metadata["format_version"] = "1"
        file.metadata["settings"] = try TensorFile.metadataJSON(settings)
        file.metadata["shape"] = try TensorFile.metadataJSON(shape)
        file.metadata["history"] = try TensorFile.metadataJSON(history)
        file.metadata["best_score"] = String(bestScore)
        file.metadata["epochs_without_improvement"] = String(epochsWithoutImprovement)
        return file
    }

    /// Restores a ``checkpoint()`` into this run, which must have the same settings and shape.
    public func restore(_ file: TensorFile, source: String) throws {
        func fail(_ reason: String) -> TrainingError { TrainingError.checkpoint(path: source, reason: reason) }
        guard file.metadata["format"] == "revisit-checkpoint", file.metadata["format_version"] == "1" else {
            throw fail(
                "not a Revisit checkpoint of format version 1 (found \(file.metadata["format"] ?? "no format") \(file.metadata["format_version"] ?? ""))"
            )
        }
        let decoder = JSONDecoder()
        guard let settingsText = file.metadata["settings"],
            let saved = try? decoder.decode(TrainingSettings.self, from: Data(settingsText.utf8)),
            saved == settings
        else {
            throw fail(
                "it was made with other training settings; resume with the same flags, or start afresh without --resume"
            )
        }
        guard let shapeText = file.metadata["shape"],
            let savedShape = try? decoder.decode(ModelShape.self, from: Data(shapeText.utf8)),
            savedShape == shape
        else {
            throw fail("it was made for other input shapes (another feature pipeline); start afresh without --resume")
        }
        var state: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where name.hasPrefix("model.") { state[String(name.dropFirst(6))] = tensor }
        try parameters.load(state)
        var optimizerFile = TensorFile()
        for (name, tensor) in file.tensors where name.hasPrefix("optimizer.") {
            optimizerFile.tensors[String(name.dropFirst(10))] = tensor
        }
        for (name, tensor) in file.integerTensors where name.hasPrefix("optimizer.") {
            optimizerFile.integerTensors[String(name.dropFirst(10))] = tensor
        }
        try optimizer.restore(from: optimizerFile)
        bestValues = file.tensors["best.values"]?.scalars
        bestBuffers = file.tensors["best.buffers"]?.scalars
        history = (try? decoder.decode([EpochReport].self, from: Data((file.metadata["history"] ?? "[]").utf8))) ?? []
        bestScore = Double(file.metadata["best_score"] ?? "-inf") ?? -.infinity
        epochsWithoutImprovement = Int(file.metadata["epochs_without_improvement"] ?? "0") ?? 0
    }
}

/// A training-state error, naming the file.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case checkpoint(path: String, reason: String)
    case modelFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .checkpoint(let path, let reason): return "\(path): cannot resume: \(reason)"
        case .modelFile(let path, let reason): return "\(path): \(reason)"
        }
    }
}
