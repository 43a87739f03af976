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

/// A multi-layer LSTM, batch-first, exactly PyTorch's `nn.LSTM(batch_first=True)`.
public typealias LSTM = RecurrentNetwork<LSTMCell>
/// A multi-layer GRU, batch-first, exactly PyTorch's `nn.GRU(batch_first=True)`.
public typealias GRU = RecurrentNetwork<GRUCell>
/// A multi-layer tanh RNN, batch-first, exactly PyTorch's `nn.RNN(batch_first=True)`.
public typealias TanhRNN = RecurrentNetwork<TanhRNNCell>

/// A multi-layer, unidirectional, batch-first recurrent network of ``RecurrentCell``s, with
/// PyTorch's parameters, so weights map one to one onto a PyTorch `state_dict`:
/// `weight_ih_lℓ [G·H, I_ℓ]`, `weight_hh_lℓ [G·H, H]`, `bias_ih_lℓ [G·H]`, `bias_hh_lℓ [G·H]`,
/// rows in the cell's gate order. Initialisation (PyTorch's default): every parameter
/// `~ U(−1/√H, 1/√H)`.
///
/// **Masking.** An optional mask `[N, T]` (1 = a real step, 0 = padding) supports left-padded
/// sequences: at a masked step the state is carried over unchanged, so a sequence left-padded
/// with k steps gives exactly the result of the unpadded sequence; masked steps receive no
/// gradient (input gradient 0, nothing added to the weight gradients). The output at a
/// left-padded step is the zero state.
///
/// **Row blocks.** Sequences never interact inside a recurrent network, so a batch is cut into
/// ``blockCount(rows:)`` contiguous row blocks of at least ``minimumBlockRows`` rows, each run
/// through every layer and step by its own ``RecurrentRowBlock`` (own buffers, shared weights),
/// concurrently through ``BlockParallelism`` with OpenBLAS single-threaded inside. No thread waits
/// for another between time steps; the only joins are the end of forward and of backward,
/// where the blocks' weight gradients are summed (block 0 accumulates into the parameter
/// store, the others into private buffers added afterwards, in block order). The partition
/// depends on the row count alone, never on the thread count, so results are identical
/// whatever `--threads` says.
///
/// **Layout.** Batch-first at the interface; inside a row block, feature-major
/// (``RecurrentRowBlock``): the input projections of all steps are one product, each step adds
/// one recurrent product `W_hh · H₋₁`, and backward forms `dW_ih`, `dW_hh` and the input gradient
/// with one product each over all steps. After the first call at a batch size, forward and
/// backward allocate nothing.
public struct RecurrentNetwork<Cell: RecurrentCell> {
    public let inputSize: Int
    public let hiddenSize: Int
    public let layerCount: Int
    public let inputWeights: [ParameterHandle]  // weight_ih_lℓ [G·H, I_ℓ]
    public let recurrentWeights: [ParameterHandle]  // weight_hh_lℓ [G·H, H]
    public let inputBiases: [ParameterHandle]  // bias_ih_lℓ [G·H]
    public let recurrentBiases: [ParameterHandle]  // bias_hh_lℓ [G·H]

    /// The fewest rows a block gets. Smaller blocks run their products slower: `W_hh · H₋₁` with
    /// H = 128 reached 172, 199 and 220 GFLOP/s at 16, 32 and 64 rows on one thread (OpenBLAS
    /// SkylakeX kernels, Docs/PERFORMANCE.md), and `W_hh` is repacked for every product.
    public static var minimumBlockRows: Int { 32 }
    /// The most blocks a batch is cut into.
    public static var maximumBlocks: Int { 8 }
    /// Blocks for a batch of `rows` sequences: ⌊rows / 32⌋, between 1 and 8.
    public static func blockCount(rows: Int) -> Int { Swift.max(1, Swift.min(rows / minimumBlockRows, maximumBlocks)) }

    // N = batch, T = steps, H = hidden size, G = gates.
    private var batch = 0, steps = 0
    private var blocks: [RecurrentRowBlock<Cell>] = []
    private var blockRows: [Range<Int>] = []
    private var blocksPrepared = false
    private var returnedSequences = false
    /// Blocks 1… accumulate their weight gradients here, [blocks − 1, P_net] in the order of
    /// ``gradientOffsets``, and the sum joins the parameter store after backward.
    private var blockGradients = Tensor.zeros([0])
    /// Per layer, the offsets of dW_ih, dW_hh, db_ih, db_hh within one block's gradients.
    private let gradientOffsets: [(inputWeights: Int, recurrentWeights: Int, inputBias: Int, recurrentBias: Int)]
    private let gradientsPerBlock: Int

    /// Declares `name.weight_ih_lℓ`, `name.weight_hh_lℓ`, `name.bias_ih_lℓ`, `name.bias_hh_lℓ`.
    public init(_ name: String, inputSize: Int, hiddenSize: Int, layerCount: Int = 1, layout: inout ParameterLayout) {
        precondition(inputSize > 0 && hiddenSize > 0 && layerCount > 0, "\(Cell.self) network: sizes must be positive")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        let rows = Cell.gateCount * hiddenSize
        var ih: [ParameterHandle] = [], hh: [ParameterHandle] = [], bih: [ParameterHandle] = [],
            bhh: [ParameterHandle] = []
        var offsets: [(Int, Int, Int, Int)] = [], total = 0
        for layer in 0..<layerCount {
            let width = layer == 0 ? inputSize : hiddenSize
            ih.append(layout.declare("\(name).weight_ih_l\(layer)", shape: [rows, width]))
            hh.append(layout.declare("\(name).weight_hh_l\(layer)", shape: [rows, hiddenSize]))
            bih.append(layout.declare("\(name).bias_ih_l\(layer)", shape: [rows]))
            bhh.append(layout.declare("\(name).bias_hh_l\(layer)", shape: [rows]))
            offsets.append(
                (
                    total, total + rows * width, total + rows * (width + hiddenSize),
                    total + rows * (width + hiddenSize + 1)
                ))
            total += rows * (width + hiddenSize + 2)
        }
        inputWeights = ih
        recurrentWeights = hh
        inputBiases = bih
        recurrentBiases = bhh
        gradientOffsets = offsets
        gradientsPerBlock = total
    }

    /// PyTorch's default initialisation, in declaration order.
    public func initialize(_ parameters: ParameterStore, using random: inout SeededRandom) {
        let bound = 1 / Float(hiddenSize).squareRoot()
        for layer in 0..<layerCount {
            for handle in [inputWeights[layer], recurrentWeights[layer], inputBiases[layer], recurrentBiases[layer]] {
                parameters.initializeUniform(handle, bound: bound, using: &random)
            }
        }
    }

    /// Runs the network over `x [N, T, I]`.
    ///
    /// - Parameters:
    ///   - mask: `[N, T]`, 1 for real steps and 0 for padding; nil when every step is real.
    ///   - returnSequences: true writes every step's top-layer `h_t` (`[N, T, H]`), false only
    ///     the last one (`[N, H]`).
    ///
    /// Forward always keeps what backward reads: a pass that keeps nothing (PyTorch's
    /// `no_grad`) scored the CNN-LSTM no faster within the benchmark's noise (Docs/PERFORMANCE.md).
    public mutating func forward(
        _ x: Tensor, mask: Tensor? = nil, returnSequences: Bool, _ parameters: ParameterStore, into output: inout Tensor
    ) {
        precondition(
            x.rank == 3 && x.shape[2] == inputSize,
            "\(Cell.self) network: input shape \(x.shape) is not [N, T, \(inputSize)]")
        let n = x.shape[0], t = x.shape[1], h = hiddenSize, i = inputSize
        if let mask {
            precondition(
                mask.rank == 2 && mask.shape[0] == n && mask.shape[1] == t,
                "\(Cell.self) network: mask shape \(mask.shape) is not [\(n), \(t)]")
        }
        prepareBlocks(batch: n, steps: t)
        returnedSequences = returnSequences
        if returnSequences {
            output.prepare(depth: n, rows: t, columns: h)
        } else {
            output.prepare(rows: n, columns: h)
        }
        let weights = RecurrentWeights(network: self, parameters: parameters)
        x.withUnsafeBufferPointer { xs in
            output.withUnsafeMutableBufferPointer { out in
                withOptionalPointer(mask) { maskPointer in
                    blocks.withUnsafeMutableBufferPointer { blocks in
                        let pass = BlockPass(
                            blocks: blocks.baseAddress!, rows: blockRows, weights: weights, steps: t, inputSize: i,
                            hiddenSize: h)
                        let job = ForwardJob(
                            pass: pass, x: xs.baseAddress!, mask: maskPointer, output: out.baseAddress!,
                            returnSequences: returnSequences)
                        withUnsafePointer(to: job) { BlockParallelism.forEach(blocks.count, ForwardTask(job: $0)) }
                    }
                }
            }
        }
    }

    /// What the row blocks of one pass share: the blocks, their rows, the weights and the sizes.
    private struct BlockPass {
        let blocks: UnsafeMutablePointer<RecurrentRowBlock<Cell>>
        let rows: [Range<Int>]
        let weights: RecurrentWeights
        let steps: Int, inputSize: Int, hiddenSize: Int

        /// Where block `b`'s first sequence starts in a batch-first buffer of `width` values per sequence.
        func offset(_ b: Int, width: Int) -> Int { rows[b].lowerBound * width }
    }

    /// One forward pass; block `b` writes only its rows of `output`.
    private struct ForwardJob {
        let pass: BlockPass
        // x [N, T, I], mask [N, T], output [N, (T,) H]
        let x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>
        let returnSequences: Bool
    }

    private struct ForwardTask: BlockTask {
        let job: UnsafePointer<ForwardJob>
        func run(block b: Int) {
            let j = job.pointee, p = j.pass, t = p.steps, h = p.hiddenSize
            p.blocks[b].forward(
                x: j.x + p.offset(b, width: t * p.inputSize), mask: j.mask.map { $0 + p.offset(b, width: t) },
                weights: p.weights,
                output: j.output + p.offset(b, width: j.returnSequences ? t * h : h), returnSequences: j.returnSequences
            )
        }
    }

    /// Backpropagation through time. `outputGradient` has the forward output's shape
    /// (`[N, T, H]` or `[N, H]`). Accumulates every parameter gradient and writes `dx [N, T, I]`.
    public mutating func backward(
        _ outputGradient: Tensor, _ parameters: ParameterStore, inputGradient dx: inout Tensor
    ) {
        let n = batch, t = steps, h = hiddenSize, i = inputSize
        precondition(blocksPrepared, "\(Cell.self) network: backward needs a forward pass first")
        precondition(
            outputGradient.count == (returnedSequences ? n * t * h : n * h),
            "\(Cell.self) network: output gradient shape \(outputGradient.shape) does not match the forward output")
        dx.prepare(depth: n, rows: t, columns: i)
        let weights = RecurrentWeights(network: self, parameters: parameters)
        let perBlock = gradientsPerBlock
        blockGradients.withUnsafeMutableBufferPointer { privateGradients in
            outputGradient.withUnsafeBufferPointer { dy in
                dx.withUnsafeMutableBufferPointer { dxs in
                    blocks.withUnsafeMutableBufferPointer { blocks in
                        let pass = BlockPass(
                            blocks: blocks.baseAddress!, rows: blockRows, weights: weights, steps: t, inputSize: i,
                            hiddenSize: h)
                        let job = BackwardJob(
                            pass: pass, outputGradient: dy.baseAddress!, inputGradient: dxs.baseAddress!,
                            privateGradients: privateGradients.baseAddress, gradientsPerBlock: perBlock,
                            gradientOffsets: gradientOffsets, returnedSequences: returnedSequences)
                        withUnsafePointer(to: job) { BlockParallelism.forEach(blocks.count, BackwardTask(job: $0)) }
                    }
                }
            }
            // Blocks 1…: add their weight gradients to the store, in block order.
            for b in 1..<Swift.max(blocks.count, 1) {
                let own = privateGradients.baseAddress! + (b - 1) * perBlock
                func add(_ handle: ParameterHandle, _ offset: Int) {
                    let target = parameters.gradients(handle), source = own + offset
                    for k in 0..<handle.count { target[k] += source[k] }
                }
                for layer in 0..<layerCount {
                    let o = gradientOffsets[layer]
                    add(inputWeights[layer], o.inputWeights)
                    add(recurrentWeights[layer], o.recurrentWeights)
                    add(inputBiases[layer], o.inputBias)
                    add(recurrentBiases[layer], o.recurrentBias)
                }
            }
        }
    }

    /// One backward pass; block `b` writes only its rows of `dx`, and its weight gradients
    /// into the store (block 0) or its private buffer (the others).
    private struct BackwardJob {
        let pass: BlockPass
        let outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>  // [N, (T,) H], [N, T, I]
        let privateGradients: UnsafeMutablePointer<Float>?  // [blocks − 1, P_net]
        let gradientsPerBlock: Int
        let gradientOffsets: [(inputWeights: Int, recurrentWeights: Int, inputBias: Int, recurrentBias: Int)]
        let returnedSequences: Bool
    }

    private struct BackwardTask: BlockTask {
        let job: UnsafePointer<BackwardJob>
        func run(block b: Int) {
            let j = job.pointee, p = j.pass, t = p.steps, h = p.hiddenSize
            let own = b == 0 ? nil : j.privateGradients! + (b - 1) * j.gradientsPerBlock
            p.blocks[b].backward(
                outputGradient: j.outputGradient + p.offset(b, width: j.returnedSequences ? t * h : h),
                weights: p.weights,
                gradients: { layer in
                    guard let own else { return p.weights.gradients(layer, accumulate: true) }
                    let o = j.gradientOffsets[layer]
                    return RecurrentWeights.Gradients(
                        inputWeights: own + o.inputWeights, recurrentWeights: own + o.recurrentWeights,
                        inputBias: own + o.inputBias, recurrentBias: own + o.recurrentBias,
                        accumulate: false)
                },
                inputGradient: j.inputGradient + p.offset(b, width: t * p.inputSize))
        }
    }

    /// Cuts a batch of `n` rows into blocks and sizes their buffers (no allocation when the
    /// sizes are unchanged).
    private mutating func prepareBlocks(batch n: Int, steps t: Int) {
        // A stored flag, not `blocks.isEmpty`: in debug builds the generic collection call
        // instantiates a witness table the first time it runs, which is an allocation.
        if n == batch && t == steps && blocksPrepared { return }
        blocksPrepared = true
        batch = n
        steps = t
        let count = Self.blockCount(rows: n)
        blockRows = (0..<count).map { (n * $0 / count)..<(n * ($0 + 1) / count) }
        blocks = blockRows.map { RecurrentRowBlock(rows: $0.count, steps: t, network: self) }
        blockGradients = Tensor.zeros([Swift.max(count - 1, 0) * gradientsPerBlock])
    }
}

/// Runs `body` with a pointer to `tensor`'s values, or nil.
private func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body(UnsafePointer($0.baseAddress!)) }
}

/// A recurrent network's weights as raw pointers, read by every row block.
struct RecurrentWeights: @unchecked Sendable {
    /// Where one layer's weight gradients go; `accumulate` false overwrites (a block's private
    /// buffer), true adds (the parameter store).
    struct Gradients {
        let inputWeights: UnsafeMutablePointer<Float>, recurrentWeights: UnsafeMutablePointer<Float>
        let inputBias: UnsafeMutablePointer<Float>, recurrentBias: UnsafeMutablePointer<Float>
        let accumulate: Bool
    }

    let parameters: ParameterStore
    let inputWeights: [ParameterHandle], recurrentWeights: [ParameterHandle]
    let inputBiases: [ParameterHandle], recurrentBiases: [ParameterHandle]

    init<Cell>(network: RecurrentNetwork<Cell>, parameters: ParameterStore) {
        self.parameters = parameters
        inputWeights = network.inputWeights
        recurrentWeights = network.recurrentWeights
        inputBiases = network.inputBiases
        recurrentBiases = network.recurrentBiases
    }

    func inputWeight(_ layer: Int) -> UnsafePointer<Float> { UnsafePointer(parameters.values(inputWeights[layer])) }
    func recurrentWeight(_ layer: Int) -> UnsafePointer<Float> {
        UnsafePointer(parameters.values(recurrentWeights[layer]))
    }
    func inputBias(_ layer: Int) -> UnsafePointer<Float> { UnsafePointer(parameters.values(inputBiases[layer])) }
    func recurrentBias(_ layer: Int) -> UnsafePointer<Float> {
        UnsafePointer(parameters.values(recurrentBiases[layer]))
    }

    func gradients(_ layer: Int, accumulate: Bool) -> Gradients {
        Gradients(
            inputWeights: parameters.gradients(inputWeights[layer]),
            recurrentWeights: parameters.gradients(recurrentWeights[layer]),
            inputBias: parameters.gradients(inputBiases[layer]),
            recurrentBias: parameters.gradients(recurrentBiases[layer]),
            accumulate: accumulate)
    }
}

/// One contiguous block of a batch's rows, run through every layer and step of a
/// ``RecurrentNetwork`` with its own buffers: llm.c's explicit forward/backward pair, where
/// forward saves exactly what backward reads.
///
/// Shapes: N = the block's rows, T = steps, L = T·N, H = hidden size, G = gates, S = saved
/// blocks, I_ℓ = layer ℓ's input width (the network's input size for ℓ = 0, H above).
/// Everything is **feature-major**, column `t·N + s` for step t of sequence s: a layer's
/// states are `[H × (T+1)·N]` (h_0 … h_T, so step t's previous state is column block t and its
/// new state block t + 1, and the layer above reads blocks 1 … T as its input `[H × L]`).
struct RecurrentRowBlock<Cell: RecurrentCell> {
    let rows: Int, steps: Int, inputSize: Int, hiddenSize: Int, layerCount: Int

    private var input: Tensor  // [I × L] layer-0 input
    private var stepMask: [Float]  // [L]: 1 = real step, 0 = padding
    private var stepMaskIsAllOnes = true
    private var hiddens: [Tensor]  // per layer [H × (T+1)·N]: h_0 … h_T
    private var cells: [Tensor]  // per layer [H × (T+1)·N] (cells with a cell state)
    private var saved: [Tensor]  // per layer [S·H × L]
    private var projections: Tensor  // [G·H × L] input projections (pre-activations when summed)
    private var recurrentProjection: Tensor  // [G·H × N] (cells with separate projections)

    private var projectionGradient: Tensor  // [G·H × L] dL/d(input projection) = dL/d(pre-activation) when summed
    private var recurrentProjectionGradient: Tensor  // [G·H × L] (separate projections only)
    private var hiddenGradient: Tensor  // [H × N] dL/dh flowing to the previous step
    private var cellGradient: Tensor  // [H × N] dL/dc flowing to the previous step
    private var outputGradients: [Tensor]  // ping-pong [H × L]: dL/d(a layer's outputs h_1 … h_T)
    private var inputGradient: Tensor  // [I × L]
    private var returnedSequences = false

    init(rows n: Int, steps t: Int, network: RecurrentNetwork<Cell>) {
        rows = n
        steps = t
        inputSize = network.inputSize
        hiddenSize = network.hiddenSize
        layerCount = network.layerCount
        let h = hiddenSize, width = Cell.gateCount * h, separate = !Cell.projectionsEnterAsSum, l = t * n
        input = Tensor.zeros([inputSize, l])
        stepMask = [Float](repeating: 1, count: l)
        hiddens = (0..<layerCount).map { _ in Tensor.zeros([h, (t + 1) * n]) }
        cells = (0..<(Cell.hasCellState ? layerCount : 0)).map { _ in Tensor.zeros([h, (t + 1) * n]) }
        saved = (0..<layerCount).map { _ in Tensor.zeros([Cell.savedBlocks * h, l]) }
        projections = Tensor.zeros([width, l])
        recurrentProjection = Tensor.zeros([width, separate ? n : 0])
        projectionGradient = Tensor.zeros([width, l])
        recurrentProjectionGradient = Tensor.zeros([width, separate ? l : 0])
        hiddenGradient = Tensor.zeros([h, n])
        cellGradient = Tensor.zeros([h, n])
        outputGradients = [Tensor.zeros([h, l]), Tensor.zeros([h, l])]
        inputGradient = Tensor.zeros([inputSize, l])
    }

    /// Runs every layer over this block's rows: `x [N, T, I]` and `mask [N, T]` batch-first,
    /// `output` `[N, T, H]` or `[N, H]`.
    mutating func forward(
        x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, weights: RecurrentWeights,
        output: UnsafeMutablePointer<Float>, returnSequences: Bool
    ) {
        let n = rows, t = steps, h = hiddenSize, l = t * n, i = inputSize, stateStride = (t + 1) * n
        returnedSequences = returnSequences
        input.withUnsafeMutableBufferPointer { xs in
            let xs = xs.baseAddress!
            // Contiguous writes, one feature row at a time.
            for feature in 0..<i {
                for step in 0..<t {
                    for sample in 0..<n {
                        xs[feature * l + step * n + sample] = x[(sample * t + step) * i + feature]
                    }
                }
            }
        }
        // The cells always read a mask (all ones without one), so that their loops vectorise.
        if let mask {
            for sample in 0..<n { for step in 0..<t { stepMask[step * n + sample] = mask[sample * t + step] } }
            stepMaskIsAllOnes = false
        } else if !stepMaskIsAllOnes {
            stepMask.withUnsafeMutableBufferPointer { $0.update(repeating: 1) }
            stepMaskIsAllOnes = true
        }
        for layer in 0..<layerCount { forwardLayer(layer, weights) }
        hiddens[layerCount - 1].withUnsafeBufferPointer { hs in
            let hs = hs.baseAddress!
            for sample in 0..<n {
                for j in 0..<h {
                    if returnSequences {
                        for step in 0..<t {
                            output[(sample * t + step) * h + j] = hs[j * stateStride + (step + 1) * n + sample]
                        }
                    } else {
                        output[sample * h + j] = hs[j * stateStride + t * n + sample]
                    }
                }
            }
        }
    }

    /// The input of `layer`, `[I_ℓ × L]` with its row stride: the block's input, or the layer
    /// below's h_1 … h_T.
    private func layerInput(_ layer: Int) -> (pointer: UnsafePointer<Float>, width: Int, stride: Int) {
        if layer == 0 {
            return (input.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }, inputSize, steps * rows)
        }
        return (
            hiddens[layer - 1].withUnsafeBufferPointer { UnsafePointer($0.baseAddress! + rows) }, hiddenSize,
            (steps + 1) * rows
        )
    }

    private mutating func forwardLayer(_ layer: Int, _ weights: RecurrentWeights) {
        let n = rows, t = steps, h = hiddenSize, l = t * n, width = Cell.gateCount * hiddenSize,
            stateStride = (t + 1) * n
        let (x, xWidth, xStride) = layerInput(layer)
        let summed = Cell.projectionsEnterAsSum, hasCell = Cell.hasCellState
        let wih = weights.inputWeight(layer), whh = weights.recurrentWeight(layer)
        let bih = weights.inputBias(layer), bhh = weights.recurrentBias(layer)
        let cellBuffer = hasCell ? cells[layer].withUnsafeMutableBufferPointer { $0.baseAddress } : nil
        stepMask.withUnsafeBufferPointer { maskBuffer in
            projections.withUnsafeMutableBufferPointer { xpBuffer in
                recurrentProjection.withUnsafeMutableBufferPointer { rpBuffer in
                    hiddens[layer].withUnsafeMutableBufferPointer { hiddenBuffer in
                        saved[layer].withUnsafeMutableBufferPointer { savedBuffer in
                            let xp = xpBuffer.baseAddress!, rp = rpBuffer.baseAddress, hs = hiddenBuffer.baseAddress!
                            let keep = savedBuffer.baseAddress!, mask = maskBuffer.baseAddress!
                            // Every step's input projection at once, biases first:
                            // XP[G·H × L] = b (+ b_hh when summed) + W_ih · X.
                            for r in 0..<width {
                                (xp + r * l).update(repeating: summed ? bih[r] + bhh[r] : bih[r], count: l)
                            }
                            BLAS.sgemm(
                                transposeA: false, transposeB: false, m: width, n: l, k: xWidth, alpha: 1,
                                a: wih, lda: xWidth, b: x, ldb: xStride, beta: 1, c: xp, ldc: l)
                            for j in 0..<h {
                                (hs + j * stateStride).update(repeating: 0, count: n)  // h_0
                                if let cs = cellBuffer { (cs + j * stateStride).update(repeating: 0, count: n) }  // c_0
                            }
                            var step = RecurrentStep(hidden: h, rows: n)
                            step.projectionStride = l
                            step.stateStride = stateStride
                            step.savedStride = l
                            for time in 0..<t {
                                let hPrevious = hs + time * n
                                if summed {
                                    // Pre-activation += W_hh · h_{t−1}, in place.
                                    BLAS.sgemm(
                                        transposeA: false, transposeB: false, m: width, n: n, k: h, alpha: 1,
                                        a: whh, lda: h, b: hPrevious, ldb: stateStride, beta: 1, c: xp + time * n,
                                        ldc: l)
                                } else {
                                    // RP = b_hh + W_hh · h_{t−1}
                                    for r in 0..<width { (rp! + r * n).update(repeating: bhh[r], count: n) }
                                    BLAS.sgemm(
                                        transposeA: false, transposeB: false, m: width, n: n, k: h, alpha: 1,
                                        a: whh, lda: h, b: hPrevious, ldb: stateStride, beta: 1, c: rp!, ldc: n)
                                    step.recurrentProjection = UnsafePointer(rp!)
                                }
                                step.projection = UnsafePointer(xp + time * n)
                                step.previousHidden = UnsafePointer(hPrevious)
                                step.hiddenOut = hs + (time + 1) * n
                                if let cellBuffer {
                                    step.previousCell = UnsafePointer(cellBuffer + time * n)
                                    step.cellOut = cellBuffer + (time + 1) * n
                                }
                                step.saved = keep + time * n
                                step.mask = mask + time * n
                                Cell.forward(step)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Backpropagation through time over this block's rows: `dy` has the forward output's
    /// layout (`[N, T, H]` or `[N, H]`), `gradients(ℓ)` says where layer ℓ's weight gradients
    /// go, and `dx [N, T, I]` receives the input gradient.
    mutating func backward(
        outputGradient dy: UnsafePointer<Float>, weights: RecurrentWeights,
        gradients: (Int) -> RecurrentWeights.Gradients,
        inputGradient dx: UnsafeMutablePointer<Float>
    ) {
        let n = rows, t = steps, h = hiddenSize, l = t * n, i = inputSize, sequences = returnedSequences
        outputGradients[0].withUnsafeMutableBufferPointer { top in
            let top = top.baseAddress!
            if !sequences { top.update(repeating: 0, count: h * l) }
            for sample in 0..<n {
                for j in 0..<h {
                    if sequences {
                        for step in 0..<t { top[j * l + step * n + sample] = dy[(sample * t + step) * h + j] }
                    } else {
                        top[j * l + (t - 1) * n + sample] = dy[sample * h + j]
                    }
                }
            }
        }
        var current = 0
        for layer in stride(from: layerCount - 1, through: 0, by: -1) {
            backwardLayer(layer, outputGradientIndex: current, weights, gradients(layer))
            current = 1 - current
        }
        inputGradient.withUnsafeBufferPointer { gradient in
            let gradient = gradient.baseAddress!
            for sample in 0..<n {
                for step in 0..<t {
                    for feature in 0..<i {
                        dx[(sample * t + step) * i + feature] = gradient[feature * l + step * n + sample]
                    }
                }
            }
        }
    }

    private mutating func backwardLayer(
        _ layer: Int, outputGradientIndex index: Int, _ weights: RecurrentWeights, _ target: RecurrentWeights.Gradients
    ) {
        let n = rows, t = steps, h = hiddenSize, l = t * n, width = Cell.gateCount * hiddenSize,
            stateStride = (t + 1) * n
        let (x, xWidth, xStride) = layerInput(layer)
        let summed = Cell.projectionsEnterAsSum, hasCell = Cell.hasCellState
        let whh = weights.recurrentWeight(layer), wih = weights.inputWeight(layer)
        hiddenGradient.fill(with: 0)
        cellGradient.fill(with: 0)
        let cellStates: UnsafePointer<Float>? =
            hasCell ? cells[layer].withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) } : nil
        stepMask.withUnsafeBufferPointer { maskBuffer in
            outputGradients[index].withUnsafeBufferPointer { dyBuffer in
                hiddens[layer].withUnsafeBufferPointer { hiddenBuffer in
                    saved[layer].withUnsafeBufferPointer { savedBuffer in
                        projectionGradient.withUnsafeMutableBufferPointer { dxpBuffer in
                            recurrentProjectionGradient.withUnsafeMutableBufferPointer { drpBuffer in
                                hiddenGradient.withUnsafeMutableBufferPointer { dhBuffer in
                                    cellGradient.withUnsafeMutableBufferPointer { dcBuffer in
                                        let dy = dyBuffer.baseAddress!, hs = hiddenBuffer.baseAddress!,
                                            keep = savedBuffer.baseAddress!
                                        let dxp = dxpBuffer.baseAddress!, drp = drpBuffer.baseAddress,
                                            dhNext = dhBuffer.baseAddress!
                                        let mask = maskBuffer.baseAddress!
                                        // The gradient reaching h₋₁ through W_hh: the pre-activation's when
                                        // summed, the recurrent projection's otherwise.
                                        let recurrentGradient = summed ? dxp : drp!
                                        var step = RecurrentStep(hidden: h, rows: n)
                                        step.outputGradientStride = l
                                        step.hiddenGradient = dhNext
                                        if hasCell { step.cellGradient = dcBuffer.baseAddress }
                                        step.savedStride = l
                                        step.stateStride = stateStride
                                        step.gradientStride = l
                                        for time in stride(from: t - 1, through: 0, by: -1) {
                                            step.outputGradient = dy + time * n
                                            // Read only in backward.
                                            step.saved = UnsafeMutablePointer(mutating: keep + time * n)
                                            step.previousHidden = UnsafePointer(hs + time * n)
                                            if let cellStates { step.previousCell = cellStates + time * n }
                                            step.projectionGradient = dxp + time * n
                                            if !summed { step.recurrentProjectionGradient = drp! + time * n }
                                            step.mask = mask + time * n
                                            Cell.backward(step)
                                            // dL/dh₋₁ = (what the cell left: direct path, carried) + W_hhᵀ · dRP_t.
                                            BLAS.sgemm(
                                                transposeA: true, transposeB: false, m: h, n: n, k: width, alpha: 1,
                                                a: whh, lda: h, b: recurrentGradient + time * n, ldb: l, beta: 1,
                                                c: dhNext, ldc: n)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let dxpAll: UnsafePointer<Float> = projectionGradient.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }
        let drpAll: UnsafePointer<Float> =
            summed
            ? dxpAll : recurrentProjectionGradient.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }
        let previousHiddens: UnsafePointer<Float> = hiddens[layer].withUnsafeBufferPointer {
            UnsafePointer($0.baseAddress!)
        }  // h_0 … h_{T−1}
        // dW_hh (+)= dRP · H₋₁ᵀ,  dW_ih (+)= dXP · Xᵀ   (columns are the L (step, sequence) pairs)
        let beta: Float = target.accumulate ? 1 : 0
        BLAS.sgemm(
            transposeA: false, transposeB: true, m: width, n: h, k: l, alpha: 1,
            a: drpAll, lda: l, b: previousHiddens, ldb: stateStride, beta: beta, c: target.recurrentWeights, ldc: h)
        BLAS.sgemm(
            transposeA: false, transposeB: true, m: width, n: xWidth, k: l, alpha: 1,
            a: dxpAll, lda: l, b: x, ldb: xStride, beta: beta, c: target.inputWeights, ldc: xWidth)
        // Bias gradients: row sums (both biases receive the pre-activation gradient when summed).
        let dbih = target.inputBias, dbhh = target.recurrentBias
        for r in 0..<width {
            var input: Float = 0, recurrent: Float = 0
            for column in 0..<l {
                input += dxpAll[r * l + column]
                recurrent += drpAll[r * l + column]
            }
            dbih[r] = target.accumulate ? dbih[r] + input : input
            dbhh[r] = target.accumulate ? dbhh[r] + recurrent : recurrent
        }
        // dL/d(layer input) = W_ihᵀ · dXP, feature-major.
        if layer == 0 {
            inputGradient.withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(
                    transposeA: true, transposeB: false, m: xWidth, n: l, k: width, alpha: 1,
                    a: wih, lda: xWidth, b: dxpAll, ldb: l, beta: 0, c: out.baseAddress!, ldc: l)
            }
        } else {
            outputGradients[1 - index].withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(
                    transposeA: true, transposeB: false, m: h, n: l, k: width, alpha: 1,
                    a: wih, lda: h, b: dxpAll, ldb: l, beta: 0, c: out.baseAddress!, ldc: l)
            }
        }
    }
}
