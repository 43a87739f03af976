import Layers
import Tensors

/// The multilayer perceptron on aggregate features (BRIEF §1's "MLP on aggregate features"):
/// ```
/// x [B, A] → fc1: Linear(A→64) → ReLU → Dropout(0.2) → fc2: Linear(64→32) → ReLU → out: Linear(32→1)
///          → logit [B, 1];  P(order) = σ(logit)
/// ```
/// The aggregates (visit and order counts over trailing windows, recency, gaps, the one-hot
/// profile) come from the Features module. Trained with binary cross-entropy on the logit.
/// The PyTorch equivalent (same names, so a `state_dict` loads one to one) is in
/// `Fixtures/models/generate_related_models_reference.py`.
public struct MultilayerPerceptron {
    public struct Configuration: Sendable, Equatable, Codable {
        public var inputFeatures = 16
        public var hidden = [64, 32]
        public var dropout: Float = 0.2
        public init() {}
    }

    public let configuration: Configuration
    var chain: Sequential

    public init(_ configuration: Configuration = Configuration(), layout: inout ParameterLayout) {
        precondition(!configuration.hidden.isEmpty, "MultilayerPerceptron: needs at least one hidden layer")
        self.configuration = configuration
        var stages: [Sequential.Stage] = []
        var width = configuration.inputFeatures
        for (index, hidden) in configuration.hidden.enumerated() {
            stages.append(
                .linear(Linear("fc\(index + 1)", inputFeatures: width, outputFeatures: hidden, layout: &layout)))
            stages.append(.activation(.relu))
            // Dropout after the first hidden layer only, as in the common Keras recipe.
            if index == 0 && configuration.dropout > 0 { stages.append(.dropout(Dropout(rate: configuration.dropout))) }
            width = hidden
        }
        stages.append(.linear(Linear("out", inputFeatures: width, outputFeatures: 1, layout: &layout)))
        chain = Sequential(stages)
    }

    public func initialize(_ parameters: ParameterStore, using random: inout SeededRandom) {
        chain.initialize(parameters, using: &random)
    }

    /// Logits `[B, 1]` for `features [B, A]`.
    public mutating func forward(
        features: Tensor, mode: Mode, random: inout SeededRandom, _ parameters: ParameterStore,
        into logits: inout Tensor
    ) {
        precondition(
            features.rank == 2 && features.shape[1] == configuration.inputFeatures,
            "MultilayerPerceptron.forward: features shape \(features.shape) is not [B, \(configuration.inputFeatures)]")
        chain.forward(features, mode: mode, random: &random, parameters, into: &logits)
    }

    /// Backpropagates `dL/dlogits [B, 1]`, accumulating every parameter gradient.
    public mutating func backward(_ logitsGradient: Tensor, _ parameters: ParameterStore) {
        chain.backward(logitsGradient, parameters)
    }
}

/// Logistic regression on aggregate features, the classic baseline:
/// `logit = x · wᵀ + b` with `w [1, A]`, `b [1]` (parameter names `linear.weight`,
/// `linear.bias`), `P(order) = σ(logit)`, trained with binary cross-entropy (L2 regularisation
/// through AdamW's decoupled weight decay or SGD's weight decay, if wanted).
public struct LogisticRegression {
    public struct Configuration: Sendable, Equatable, Codable {
        public var inputFeatures = 16
        public init() {}
    }

    public let configuration: Configuration
    var linear: Linear

    public init(_ configuration: Configuration = Configuration(), layout: inout ParameterLayout) {
        self.configuration = configuration
        linear = Linear("linear", inputFeatures: configuration.inputFeatures, outputFeatures: 1, layout: &layout)
    }

    /// PyTorch's `nn.Linear` default initialisation (`U(−1/√A, 1/√A)`).
    public func initialize(_ parameters: ParameterStore, using random: inout SeededRandom) {
        linear.initialize(parameters, using: &random)
    }

    /// Logits `[B, 1]` for `features [B, A]`.
    public mutating func forward(features: Tensor, _ parameters: ParameterStore, into logits: inout Tensor) {
        precondition(
            features.rank == 2 && features.shape[1] == configuration.inputFeatures,
            "LogisticRegression.forward: features shape \(features.shape) is not [B, \(configuration.inputFeatures)]")
        linear.forward(features, parameters, into: &logits)
    }

    /// Accumulates `dw`, `db` from `dL/dlogits [B, 1]`.
    public mutating func backward(_ logitsGradient: Tensor, _ parameters: ParameterStore) {
        linear.accumulateParameterGradients(logitsGradient, parameters)
    }
}

extension MultilayerPerceptron: Classifier {
    public var architecture: Architecture { .mlp }
    public var outputForm: OutputForm { .positiveLogit }

    public mutating func forward(
        _ input: ModelInput, mode: Mode, random: inout SeededRandom, _ parameters: ParameterStore,
        into logits: inout Tensor
    ) {
        forward(features: input.aggregates, mode: mode, random: &random, parameters, into: &logits)
    }
}

extension LogisticRegression: Classifier {
    public var architecture: Architecture { .logisticRegression }
    public var outputForm: OutputForm { .positiveLogit }

    public mutating func forward(
        _ input: ModelInput, mode: Mode, random: inout SeededRandom, _ parameters: ParameterStore,
        into logits: inout Tensor
    ) {
        forward(features: input.aggregates, parameters, into: &logits)
    }
}
