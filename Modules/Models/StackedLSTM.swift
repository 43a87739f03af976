import Layers
import Tensors

/// The related work's plain 2-layer LSTM, exactly as `../shared/bench/torch_reference.py`'s
/// `PlainLSTM` (a Keras-style stack):
/// ```
/// x [B, T, 7] → l1: LSTM(7→128), every step → Dropout(0.2) → l2: LSTM(128→64), last step
///             → Dropout(0.2) → fc: Linear(64→1) → logit [B, 1];  P(order) = σ(logit)
/// ```
/// Trained with binary cross-entropy on the logit (`BinaryCrossEntropy`, the stable form of
/// PyTorch's sigmoid + BCE). Parameter names `l1.*`, `l2.*`, `fc.*` as in PyTorch; 119,873
/// parameters at the default sizes. Dropout draws from the `SeededRandom` passed to `forward`.
public struct StackedLSTM {
    public struct Configuration: Sendable, Equatable {
        public var sequenceFeatures = 7
        public var firstHidden = 128
        public var secondHidden = 64
        public var dropout: Float = 0.2
        public init() {}
    }

    public let configuration: Configuration
    var first: LSTM, second: LSTM, dense: Linear
    var firstDropout: Dropout, secondDropout: Dropout
    private var firstOutput = Tensor.zeros([0]), firstDropped = Tensor.zeros([0])    // [B, T, H1]
    private var secondOutput = Tensor.zeros([0]), secondDropped = Tensor.zeros([0])  // [B, H2]
    private var secondDroppedGradient = Tensor.zeros([0]), secondOutputGradient = Tensor.zeros([0])
    private var firstDroppedGradient = Tensor.zeros([0]), firstOutputGradient = Tensor.zeros([0])
    private var inputGradient = Tensor.zeros([0])

    public init(_ configuration: Configuration = Configuration(), layout: inout ParameterLayout) {
        self.configuration = configuration
        first = LSTM("l1", inputSize: configuration.sequenceFeatures, hiddenSize: configuration.firstHidden, layout: &layout)
        second = LSTM("l2", inputSize: configuration.firstHidden, hiddenSize: configuration.secondHidden, layout: &layout)
        dense = Linear("fc", inputFeatures: configuration.secondHidden, outputFeatures: 1, layout: &layout)
        firstDropout = Dropout(rate: configuration.dropout)
        secondDropout = Dropout(rate: configuration.dropout)
    }

    /// PyTorch's default initialisation (same distributions, Revisit's draws).
    public func initialize(_ parameters: ParameterStore, using random: inout SeededRandom) {
        first.initialize(parameters, using: &random)
        second.initialize(parameters, using: &random)
        dense.initialize(parameters, using: &random)
    }

    /// Logits `[B, 1]` for `sequence [B, T, F]`; `mask [B, T]` marks real steps (left padding).
    public mutating func forward(
        sequence: Tensor, mask: Tensor? = nil, mode: Mode, random: inout SeededRandom, _ parameters: ParameterStore,
        into logits: inout Tensor
    ) {
        first.forward(sequence, mask: mask, returnSequences: true, parameters, into: &firstOutput)
        firstDropout.forward(firstOutput, mode: mode, random: &random, into: &firstDropped)
        second.forward(firstDropped, mask: mask, returnSequences: false, parameters, into: &secondOutput)
        secondDropout.forward(secondOutput, mode: mode, random: &random, into: &secondDropped)
        dense.forward(secondDropped, parameters, into: &logits)
    }

    /// Backpropagates `dL/dlogits [B, 1]`, accumulating every parameter gradient.
    public mutating func backward(_ logitsGradient: Tensor, _ parameters: ParameterStore) {
        dense.backward(logitsGradient, parameters, inputGradient: &secondDroppedGradient)
        secondDropout.backward(secondDroppedGradient, inputGradient: &secondOutputGradient)
        second.backward(secondOutputGradient, parameters, inputGradient: &firstDroppedGradient)
        firstDropout.backward(firstDroppedGradient, inputGradient: &firstOutputGradient)
        first.backward(firstOutputGradient, parameters, inputGradient: &inputGradient)
    }
}
