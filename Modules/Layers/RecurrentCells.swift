import CVectorMath
import Foundation
import Tensors

/// The update of one recurrent cell type for one time step of a block of sequences, as a
/// forward/backward pair. The shared machinery (layers, time steps, masks, products,
/// backpropagation through time) is ``RecurrentNetwork``; a cell only says what happens inside
/// one step.
///
/// Everything a cell sees is **feature-major**: a `[features × N]` matrix for the block's N
/// sequences, row r at `base + r·stride` (``RecurrentStep``), so its loops run over the
/// sequences and vectorise, and the recurrent product is `W_hh · H₋₁` with the weights on the
/// product's long side (measured 15–30% faster than `H₋₁ · W_hhᵀ` in OpenBLAS at these shapes,
/// Docs/PERFORMANCE.md).
///
/// Per step the network hands the cell the input projection `xp = W_ih·x + b_ih` and the
/// recurrent projection `rp = W_hh·h₋₁ + b_hh` (each `G·H` rows, G = ``gateCount``). Cells whose
/// projections enter only as their sum (``projectionsEnterAsSum``: LSTM, tanh RNN) get that sum
/// as one pre-activation instead; the GRU gets them apart, because it multiplies only the
/// recurrent part of its candidate by the reset gate.
public protocol RecurrentCell {
    /// Gate blocks per hidden unit, in PyTorch's order (LSTM 4: i, f, g, o; GRU 3: r, z, n; RNN 1).
    static var gateCount: Int { get }
    /// Whether the cell carries a second state besides h (the LSTM's c).
    static var hasCellState: Bool { get }
    /// Values saved per sequence for backward, in units of H.
    static var savedBlocks: Int { get }
    /// True when the two projections enter the cell only through `xp + rp`. The network then
    /// keeps one pre-activation per step (b_hh added to the input projection once, each step's
    /// recurrent product accumulated into it in place), and backward forms one pre-activation
    /// gradient, which is the gradient of both projections.
    static var projectionsEnterAsSum: Bool { get }

    /// Computes `h` (and `c`) of one step and saves what backward needs; masked sequences keep
    /// their state and save zeros.
    static func forward(_ step: RecurrentStep)

    /// Writes the projection gradients of one step (the pre-activation's when summed) from
    /// `dh = dy + dhNext`, and leaves in `hiddenGradient` the part of dL/dh₋₁ that does not pass
    /// through `W_hh` (the network adds `W_hhᵀ · drp` to it). Masked sequences pass `dh` on
    /// whole and get zero projection gradients.
    static func backward(_ step: RecurrentStep)
}

/// The pointers of one time step of one row block, feature-major (`[features × N]`, row r at
/// `base + r·stride`). Forward reads the projections and the previous state and writes the new
/// state and `saved`; backward reads `outputGradient`, `saved` and the previous state and writes
/// the projection gradients, `hiddenGradient` and `cellGradient`. Unused pointers are nil.
public struct RecurrentStep {
    /// H and N.
    public var hidden: Int, rows: Int
    /// `[G·H × N]`: the input projection, or the pre-activation when summed.
    public var projection: UnsafePointer<Float>?
    public var projectionStride = 0
    /// `[G·H × N]`, stride N: the recurrent projection (cells with separate projections).
    public var recurrentProjection: UnsafePointer<Float>?
    /// `[H × N]` each, sharing `stateStride`: h₋₁, c₋₁, h, c.
    public var previousHidden: UnsafePointer<Float>?, previousCell: UnsafePointer<Float>?
    public var hiddenOut: UnsafeMutablePointer<Float>?, cellOut: UnsafeMutablePointer<Float>?
    public var stateStride = 0
    /// `[S·H × N]`: what forward saves for backward.
    public var saved: UnsafeMutablePointer<Float>?
    public var savedStride = 0
    /// `[N]`: 1 for a real step, 0 for padding (all ones without padding).
    public var mask: UnsafePointer<Float>?
    /// Backward: dL/dh from the layer above `[H × N]` (`outputGradientStride`); dL/dh and dL/dc
    /// flowing between steps `[H × N]`, stride N.
    public var outputGradient: UnsafePointer<Float>?
    public var outputGradientStride = 0
    public var hiddenGradient: UnsafeMutablePointer<Float>?, cellGradient: UnsafeMutablePointer<Float>?
    /// Backward: `[G·H × N]` each, sharing `gradientStride`.
    public var projectionGradient: UnsafeMutablePointer<Float>?,
        recurrentProjectionGradient: UnsafeMutablePointer<Float>?
    public var gradientStride = 0

    public init(hidden: Int, rows: Int) {
        self.hidden = hidden
        self.rows = rows
    }
}

/// Long short-term memory (Hochreiter & Schmidhuber, Neural Computation 9(8), 1997), PyTorch's
/// `nn.LSTM` formulation, gate order i, f, g, o:
/// ```
/// [i; f; g; o] = xp + rp,   i, f, o = σ(·),  g = tanh(·)
/// c = f ⊙ c₋₁ + i ⊙ g,      h = o ⊙ tanh(c)
/// ```
/// The step loops are vectorised C (CVectorMath): one libm call per gate element was half of a
/// CNN-LSTM training step.
public enum LSTMCell: RecurrentCell {
    public static let gateCount = 4
    public static let hasCellState = true
    public static let savedBlocks = 5  // i, f, g, o, tanh(c)
    public static let projectionsEnterAsSum = true

    @inline(__always)
    public static func forward(_ s: RecurrentStep) {
        revisit_lstm_forward_step(
            s.hidden, s.rows, s.projection, s.projectionStride, s.previousHidden, s.previousCell,
            s.hiddenOut, s.cellOut, s.stateStride, s.saved, s.savedStride, s.mask)
    }

    @inline(__always)
    public static func backward(_ s: RecurrentStep) {
        revisit_lstm_backward_step(
            s.hidden, s.rows, s.outputGradient, s.outputGradientStride, s.hiddenGradient, s.cellGradient,
            s.saved, s.savedStride, s.previousCell, s.stateStride,
            s.projectionGradient, s.gradientStride, s.mask)
    }
}

/// Gated recurrent unit (Cho et al., https://arxiv.org/abs/1406.1078), PyTorch's `nn.GRU`
/// formulation, gate order r, z, n, with `b_hn` inside the reset product:
/// ```
/// r = σ(xp_r + rp_r),  z = σ(xp_z + rp_z),  n = tanh(xp_n + r ⊙ rp_n)      (rp_n = W_hn·h₋₁ + b_hn)
/// h = (1 − z) ⊙ n + z ⊙ h₋₁
/// ```
public enum GRUCell: RecurrentCell {
    public static let gateCount = 3
    public static let hasCellState = false
    public static let savedBlocks = 4  // r, z, n, rp_n
    public static let projectionsEnterAsSum = false

    @inline(__always)
    public static func forward(_ s: RecurrentStep) {
        revisit_gru_forward_step(
            s.hidden, s.rows, s.projection, s.projectionStride, s.recurrentProjection, s.previousHidden,
            s.hiddenOut, s.stateStride, s.saved, s.savedStride, s.mask)
    }

    @inline(__always)
    public static func backward(_ s: RecurrentStep) {
        revisit_gru_backward_step(
            s.hidden, s.rows, s.outputGradient, s.outputGradientStride, s.hiddenGradient,
            s.saved, s.savedStride, s.previousHidden, s.stateStride,
            s.projectionGradient, s.recurrentProjectionGradient, s.gradientStride, s.mask)
    }
}

/// The Elman network with tanh (PyTorch's `nn.RNN`, `nonlinearity='tanh'`): `h = tanh(xp + rp)`.
public enum TanhRNNCell: RecurrentCell {
    public static let gateCount = 1
    public static let hasCellState = false
    public static let savedBlocks = 1  // h
    public static let projectionsEnterAsSum = true

    @inline(__always)
    public static func forward(_ s: RecurrentStep) {
        revisit_tanh_rnn_forward_step(
            s.hidden, s.rows, s.projection, s.projectionStride, s.previousHidden,
            s.hiddenOut, s.stateStride, s.saved, s.savedStride, s.mask)
    }

    @inline(__always)
    public static func backward(_ s: RecurrentStep) {
        revisit_tanh_rnn_backward_step(
            s.hidden, s.rows, s.outputGradient, s.outputGradientStride, s.hiddenGradient,
            s.saved, s.savedStride, s.projectionGradient, s.gradientStride, s.mask)
    }
}
