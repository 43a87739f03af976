import Layers
import Tensors

/// The related work's plain two-layer recurrent classifier (a Keras-style stack), generic over
/// the recurrent cell: ``StackedLSTM`` is exactly `../shared/bench/torch_reference.py`'s
/// `PlainLSTM`; ``StackedGRU`` and ``StackedRNN`` are the same stack with `nn.GRU` and
/// `nn.RNN` (tanh) layers, the study's GRU and plain-RNN comparisons.
/// ```
/// x [B, T, F] → l1: Cell(F→128), every step → Dropout(0.2) → l2: Cell(128→64), last step
///             → Dropout(0.2) → fc: Linear(64→1) → logit [B, 1];  P(order) = σ(logit)
/// ```
/// Trained with binary cross-entropy on the logit (`BinaryCrossEntropy`, the stable form of
/// PyTorch's sigmoid + BCE). Parameter names `l1.*`, `l2.*`, `fc.*` as in PyTorch; 119,873
/// parameters for the LSTM at the default sizes. Dropout draws from the `SeededRandom` passed
/// to `forward`.
///
/// `mask [B, T]` (1 = real visit) reaches both recurrent layers: a left-padded history keeps
/// the state at zero through the padding and gives exactly the unpadded result.
public struct StackedRecurrent<Cell: RecurrentCell> {
    public typealias Configuration = RecurrentStackConfiguration

    public let configuration: Configuration
    var first: RecurrentNetwork<Cell>, second: RecurrentNetwork<Cell>, dense: Linear
    var firstDropout: Dropout, secondDropout: Dropout
    private var firstOutput = Tensor.zeros([0]), firstDropped = Tensor.zeros([0])  // [B, T, H1]
    private var secondOutput = Tensor.zeros([0]), secondDropped = Tensor.zeros([0])  // [B, H2]
    private var secondDroppedGradient = Tensor.zeros([0]), secondOutputGradient = Tensor.zeros([0])
    private var firstDroppedGradient = Tensor.zeros([0]), firstOutputGradient = Tensor.zeros([0])
    private var inputGradient = Tensor.zeros([0])

    public init(_ configuration: Configuration = Configuration(), layout: inout ParameterLayout) {
        self.configuration = configuration
        first = RecurrentNetwork<Cell>(
            "l1", inputSize: configuration.sequenceFeatures, hiddenSize: configuration.firstHidden, layout: &layout)
        second = RecurrentNetwork<Cell>(
            "l2", inputSize: configuration.firstHidden, hiddenSize: configuration.secondHidden, layout: &layout)
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

/// The sizes of a ``StackedRecurrent`` (the same for every cell type).
public struct RecurrentStackConfiguration: Sendable, Equatable, Codable {
    public var sequenceFeatures = 7
    public var firstHidden = 128
    public var secondHidden = 64
    public var dropout: Float = 0.2
    public init() {}
}

/// `PlainLSTM` of torch_reference.py: LSTM(128) → Dropout → LSTM(64) → Dropout → Linear(1).
public typealias StackedLSTM = StackedRecurrent<LSTMCell>
/// The same stack with GRU layers (PyTorch's `nn.GRU`, `b_hn` inside the reset product).
public typealias StackedGRU = StackedRecurrent<GRUCell>
/// The same stack with plain tanh RNN layers (PyTorch's `nn.RNN`, `nonlinearity='tanh'`).
public typealias StackedRNN = StackedRecurrent<TanhRNNCell>

/// The architecture a stack of this cell is: a property of the cell, so that a new cell names
/// its architecture where it is declared rather than in a chain of type comparisons.
public protocol StackedCell: RecurrentCell {
    static var stackedArchitecture: Architecture { get }
}

extension LSTMCell: StackedCell { public static var stackedArchitecture: Architecture { .lstm } }
extension GRUCell: StackedCell { public static var stackedArchitecture: Architecture { .gru } }
extension TanhRNNCell: StackedCell { public static var stackedArchitecture: Architecture { .rnn } }

extension StackedRecurrent: Classifier where Cell: StackedCell {
    public var architecture: Architecture { Cell.stackedArchitecture }
    public var outputForm: OutputForm { .positiveLogit }

    public mutating func forward(
        _ input: ModelInput, mode: Mode, random: inout SeededRandom, _ parameters: ParameterStore,
        into logits: inout Tensor
    ) {
        forward(sequence: input.sequence, mask: input.mask, mode: mode, random: &random, parameters, into: &logits)
    }
}
