import Layers
import Tensors

/// One batch as every model sees it. B = batch, T = steps (the window length L), F = sequence
/// features (the seven derived features), S = static features, A = aggregate features.
/// A model reads the parts it needs: the recurrent models `sequence` and `mask`, the CNN-LSTM
/// also `statics`, the MLP and logistic regression `aggregates`.
public struct ModelInput {
    public var sequence: Tensor  // [B, T, F]
    public var mask: Tensor?  // [B, T], 1 = real visit, 0 = left padding
    public var statics: Tensor  // [B, S]
    public var aggregates: Tensor  // [B, A]

    public init(sequence: Tensor, mask: Tensor?, statics: Tensor, aggregates: Tensor) {
        self.sequence = sequence
        self.mask = mask
        self.statics = statics
        self.aggregates = aggregates
    }

    public var batchSize: Int { sequence.shape.first ?? aggregates.shape.first ?? 0 }
}

/// The models Revisit offers (BRIEF §1), by the name the trainer's `--model` flag and the
/// model file's metadata use.
public enum Architecture: String, Codable, Sendable, CaseIterable {
    /// The study's CNN-LSTM with its static branch (the reference architecture, the default).
    case cnnLSTM = "cnn_lstm"
    /// The CNN+LSTM without the static branch.
    case cnnLSTMSequenceOnly = "cnn_lstm_seq"
    /// The related work's 2-layer LSTM (128, 64, dropout 0.2).
    case lstm = "lstm"
    /// The same stack with GRU layers.
    case gru = "gru"
    /// The same stack with plain tanh RNN layers.
    case rnn = "rnn"
    /// The MLP on aggregate features.
    case mlp = "mlp"
    /// Logistic regression on aggregate features.
    case logisticRegression = "logreg"
    /// The CNN-LSTM with a discrete-time hazard head over weekly bins (``TimingCNNLSTM``):
    /// P(order within H) and when.
    case cnnLSTMTiming = "cnn_lstm_timing"

    /// Whether the network's outputs are per-bin hazards (it needs a ``HazardReadout``).
    public var hasHazardHead: Bool { self == .cnnLSTMTiming }
}

/// What a model's logits are.
public enum OutputForm: String, Codable, Sendable {
    /// `[B, 2]`: softmax over {no order, order}; the focal loss's two-class form, or softmax
    /// cross-entropy, trains it.
    case twoClassLogits
    /// `[B, 1]`: σ(logit) = P(order); binary cross-entropy or the binary focal loss trains it.
    case positiveLogit
    /// `[B, K]`: σ(z_k) = the hazard of timing bin k; the discrete-time hazard likelihood
    /// (`DiscreteHazardLoss`) trains it, whatever the objective (``HazardReadout`` gives P(order)).
    case hazardLogits
}

/// The input sizes a model is built for; they come from the feature pipeline.
public struct ModelShape: Codable, Sendable, Equatable {
    public var steps: Int
    public var sequenceFeatures: Int
    public var staticFeatures: Int
    public var aggregateFeatures: Int

    public init(steps: Int, sequenceFeatures: Int, staticFeatures: Int, aggregateFeatures: Int) {
        self.steps = steps
        self.sequenceFeatures = sequenceFeatures
        self.staticFeatures = staticFeatures
        self.aggregateFeatures = aggregateFeatures
    }

    /// "10 steps × 19 sequence columns, 50 static, 24 aggregate", for messages.
    public var summary: String {
        "\(steps) steps × \(sequenceFeatures) sequence columns, \(staticFeatures) static, \(aggregateFeatures) aggregate"
    }

    /// Largest extents a shape read from a file may have: far beyond any real pipeline, small
    /// enough that building the model cannot exhaust memory.
    public static let maximumSteps = 1000
    public static let maximumFeatures = 100_000

    /// Why a shape (from a file: untrusted) cannot be built, or nil.
    public var problem: String? {
        guard (1...Self.maximumSteps).contains(steps) else {
            return "steps \(steps) is outside 1...\(Self.maximumSteps)"
        }
        for (name, value) in [
            ("sequence", sequenceFeatures), ("static", staticFeatures), ("aggregate", aggregateFeatures)
        ]
        where !(0...Self.maximumFeatures).contains(value) {
            return "\(name) feature count \(value) is outside 0...\(Self.maximumFeatures)"
        }
        return nil
    }
}

/// The common face of every model, so that the trainer, the scorer and the backtest drive
/// any of them the same way: an explicit forward/backward pair over a ``ModelInput``, with the
/// parameters in a ``ParameterStore`` built from the layout the model declared.
public protocol Classifier {
    var architecture: Architecture { get }
    var outputForm: OutputForm { get }
    /// PyTorch's default initialisation of every layer (Revisit's seeded draws).
    func initialize(_ parameters: ParameterStore, using random: inout SeededRandom)
    /// Logits (see ``outputForm``). `random` feeds dropout in training mode.
    mutating func forward(
        _ input: ModelInput, mode: Mode, random: inout SeededRandom, _ parameters: ParameterStore,
        into logits: inout Tensor)
    /// Backpropagates `dL/dlogits` through the last forward pass, accumulating every parameter gradient.
    mutating func backward(_ logitsGradient: Tensor, _ parameters: ParameterStore)
    /// P(order) per row, `[B]`, from this model's logits (a requirement, so that a hazard head
    /// reads its bins through its own ``HazardReadout``).
    func positiveProbabilities(_ logits: Tensor, into probabilities: inout [Float])
}

extension Classifier {
    /// P(order) per row, `[B]`, from logits of this model's ``outputForm``.
    public func positiveProbabilities(_ logits: Tensor, into probabilities: inout [Float]) {
        let b = logits.shape[0]
        if probabilities.count != b { probabilities = [Float](repeating: 0, count: b) }
        logits.withUnsafeBufferPointer { z in
            switch outputForm {
            case .twoClassLogits:
                // softmax(z)[1] = σ(z₁ − z₀), computed stably.
                for row in 0..<b { probabilities[row] = UnaryFunction.sigmoid(z[row * 2 + 1] - z[row * 2]) }
            case .positiveLogit:
                for row in 0..<b { probabilities[row] = UnaryFunction.sigmoid(z[row]) }
            case .hazardLogits:
                preconditionFailure("a hazard head reads its logits through its HazardReadout (TimingCNNLSTM)")
            }
        }
    }
}

/// Builds `architecture` at the default sizes of BRIEF §1 for inputs of `shape`, declaring its
/// parameters in `layout` under the PyTorch reference's names. A hazard head's bins come from
/// `timing` (required for those architectures, ignored by the others).
public func makeClassifier(
    _ architecture: Architecture, shape: ModelShape, timing: HazardReadout? = nil, layout: inout ParameterLayout
) -> any Classifier {
    switch architecture {
    case .cnnLSTMTiming:
        guard let timing else {
            preconditionFailure("makeClassifier: \(architecture.rawValue) needs its timing bins (a HazardReadout)")
        }
        var configuration = CNNLSTM.Configuration()
        configuration.steps = shape.steps
        configuration.sequenceFeatures = shape.sequenceFeatures
        configuration.staticFeatures = shape.staticFeatures
        return TimingCNNLSTM(configuration, readout: timing, layout: &layout)
    case .cnnLSTM, .cnnLSTMSequenceOnly:
        var configuration = CNNLSTM.Configuration()
        configuration.steps = shape.steps
        configuration.sequenceFeatures = shape.sequenceFeatures
        configuration.staticFeatures = shape.staticFeatures
        configuration.staticBranch = architecture == .cnnLSTM
        return CNNLSTM(configuration, layout: &layout)
    case .lstm:
        return StackedLSTM(stackConfiguration(shape), layout: &layout)
    case .gru:
        return StackedGRU(stackConfiguration(shape), layout: &layout)
    case .rnn:
        return StackedRNN(stackConfiguration(shape), layout: &layout)
    case .mlp:
        var configuration = MultilayerPerceptron.Configuration()
        configuration.inputFeatures = shape.aggregateFeatures
        return MultilayerPerceptron(configuration, layout: &layout)
    case .logisticRegression:
        var configuration = LogisticRegression.Configuration()
        configuration.inputFeatures = shape.aggregateFeatures
        return LogisticRegression(configuration, layout: &layout)
    }
}

private func stackConfiguration(_ shape: ModelShape) -> RecurrentStackConfiguration {
    var configuration = RecurrentStackConfiguration()
    configuration.sequenceFeatures = shape.sequenceFeatures
    return configuration
}
