import CVectorMath
import Foundation
import Tensors

/// The update of one recurrent cell type for one sequence row, as a forward/backward pair. The
/// shared machinery (layers, time steps, masks, products, backpropagation through time) is
/// ``RecurrentNetwork``; a cell only says what happens inside one step.
///
/// Per step and row the network hands the cell the input projection `xp = x·W_ihᵀ + b_ih` and
/// the recurrent projection `rp = h₋₁·W_hhᵀ + b_hh` (each `G·H` values, G = ``gateCount``).
/// Cells whose projections enter only as their sum (``projectionsEnterAsSum``: LSTM, tanh RNN)
/// get that sum as one pre-activation buffer instead; the GRU gets them apart, because it
/// multiplies only the recurrent part of its candidate by the reset gate.
public protocol RecurrentCell {
    /// Gate blocks per hidden unit, in PyTorch's order (LSTM 4: i, f, g, o; GRU 3: r, z, n; RNN 1).
    static var gateCount: Int { get }
    /// Whether the cell carries a second state besides h (the LSTM's c).
    static var hasCellState: Bool { get }
    /// Values saved per row for backward, in units of H.
    static var savedBlocks: Int { get }
    /// True when the two projections enter the cell only through `xp + rp` and h₋₁ reaches the
    /// cell only through `rp`. The network then keeps one pre-activation buffer per step (b_hh
    /// added to the input projection once, each step's recurrent product accumulated into it
    /// in place), and backward forms one pre-activation gradient, which is the gradient of
    /// both projections; there is no direct path from h to h₋₁.
    static var projectionsEnterAsSum: Bool { get }

    /// Computes `h` (and `c`) for one row and saves what backward needs. `xp` is the
    /// pre-activation `xp + rp` and `rp` nil when ``projectionsEnterAsSum``.
    static func forward(
        hidden h: Int, inputProjection xp: UnsafePointer<Float>, recurrentProjection rp: UnsafePointer<Float>?,
        previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        hidden hOut: UnsafeMutablePointer<Float>, cell cOut: UnsafeMutablePointer<Float>?, saved: UnsafeMutablePointer<Float>)

    /// Given `dy + dhNext` (the gradient reaching this step's h from the layer above and from
    /// the next step) and `dc` (the cell-state gradient from the next step, replaced by the one
    /// for the previous step), writes the gradient of the input projection (of the
    /// pre-activation when ``projectionsEnterAsSum``), and otherwise also the recurrent
    /// projection's and the part of dL/dh₋₁ that does not pass through `W_hh` (nil pointers
    /// when summed).
    static func backward(
        hidden h: Int, outputGradient dy: UnsafePointer<Float>, nextHiddenGradient dhNext: UnsafePointer<Float>,
        cellGradient dc: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>, previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        inputProjectionGradient dxp: UnsafeMutablePointer<Float>, recurrentProjectionGradient drp: UnsafeMutablePointer<Float>?,
        directPreviousHiddenGradient dhPrevious: UnsafeMutablePointer<Float>?)
}

/// Long short-term memory (Hochreiter & Schmidhuber, Neural Computation 9(8), 1997), PyTorch's
/// `nn.LSTM` formulation, gate order i, f, g, o:
/// ```
/// [i; f; g; o] = xp + rp,   i, f, o = σ(·),  g = tanh(·)
/// c = f ⊙ c₋₁ + i ⊙ g,      h = o ⊙ tanh(c)
/// ```
public enum LSTMCell: RecurrentCell {
    public static let gateCount = 4
    public static let hasCellState = true
    public static let savedBlocks = 5  // i, f, g, o, tanh(c)
    public static let projectionsEnterAsSum = true

    @inline(__always)
    public static func forward(
        hidden h: Int, inputProjection xp: UnsafePointer<Float>, recurrentProjection rp: UnsafePointer<Float>?,
        previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        hidden hOut: UnsafeMutablePointer<Float>, cell cOut: UnsafeMutablePointer<Float>?, saved: UnsafeMutablePointer<Float>
    ) {
        // The vectorised C loops (CVectorMath): one libm call per gate element was half of a
        // CNN-LSTM training step.
        revisit_lstm_forward_row(h, xp, cPrevious!, hOut, cOut!, saved)
    }

    @inline(__always)
    public static func backward(
        hidden h: Int, outputGradient dy: UnsafePointer<Float>, nextHiddenGradient dhNext: UnsafePointer<Float>,
        cellGradient dc: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>, previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        inputProjectionGradient dxp: UnsafeMutablePointer<Float>, recurrentProjectionGradient drp: UnsafeMutablePointer<Float>?,
        directPreviousHiddenGradient dhPrevious: UnsafeMutablePointer<Float>?
    ) {
        revisit_lstm_backward_row(h, dy, dhNext, dc!, saved, cPrevious!, dxp)
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
    public static func forward(
        hidden h: Int, inputProjection xp: UnsafePointer<Float>, recurrentProjection rp: UnsafePointer<Float>?,
        previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        hidden hOut: UnsafeMutablePointer<Float>, cell cOut: UnsafeMutablePointer<Float>?, saved: UnsafeMutablePointer<Float>
    ) {
        revisit_gru_forward_row(h, xp, rp!, hPrevious, hOut, saved)
    }

    @inline(__always)
    public static func backward(
        hidden h: Int, outputGradient dy: UnsafePointer<Float>, nextHiddenGradient dhNext: UnsafePointer<Float>,
        cellGradient dc: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>, previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        inputProjectionGradient dxp: UnsafeMutablePointer<Float>, recurrentProjectionGradient drp: UnsafeMutablePointer<Float>?,
        directPreviousHiddenGradient dhPrevious: UnsafeMutablePointer<Float>?
    ) {
        let drp = drp!, dhPrevious = dhPrevious!
        for j in 0..<h {
            let r = saved[j], z = saved[h + j], n = saved[2 * h + j], recurrentCandidate = saved[3 * h + j]
            let dh = dy[j] + dhNext[j]
            let dn = dh * (1 - z) * (1 - n * n)          // through tanh
            let dz = dh * (hPrevious[j] - n) * z * (1 - z)
            let dr = dn * recurrentCandidate * r * (1 - r)
            dxp[j] = dr; dxp[h + j] = dz; dxp[2 * h + j] = dn
            drp[j] = dr; drp[h + j] = dz; drp[2 * h + j] = dn * r
            dhPrevious[j] = dh * z
        }
    }
}

/// The Elman network with tanh (PyTorch's `nn.RNN`, `nonlinearity='tanh'`): `h = tanh(xp + rp)`.
public enum TanhRNNCell: RecurrentCell {
    public static let gateCount = 1
    public static let hasCellState = false
    public static let savedBlocks = 1  // h
    public static let projectionsEnterAsSum = true

    @inline(__always)
    public static func forward(
        hidden h: Int, inputProjection xp: UnsafePointer<Float>, recurrentProjection rp: UnsafePointer<Float>?,
        previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        hidden hOut: UnsafeMutablePointer<Float>, cell cOut: UnsafeMutablePointer<Float>?, saved: UnsafeMutablePointer<Float>
    ) {
        revisit_tanh_rnn_forward_row(h, xp, hOut, saved)
    }

    @inline(__always)
    public static func backward(
        hidden h: Int, outputGradient dy: UnsafePointer<Float>, nextHiddenGradient dhNext: UnsafePointer<Float>,
        cellGradient dc: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>, previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        inputProjectionGradient dxp: UnsafeMutablePointer<Float>, recurrentProjectionGradient drp: UnsafeMutablePointer<Float>?,
        directPreviousHiddenGradient dhPrevious: UnsafeMutablePointer<Float>?
    ) {
        for j in 0..<h { dxp[j] = (dy[j] + dhNext[j]) * (1 - saved[j] * saved[j]) }
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
/// **Layout.** Internally time-major (`[T, N, ·]`), so each step's rows are contiguous: the
/// input projections of all steps are one product, each step adds one recurrent product, and
/// backward forms `dW_ih`, `dW_hh` and the input gradient with one product each over all steps.
/// After the first call at a batch size, forward and backward allocate nothing.
public struct RecurrentNetwork<Cell: RecurrentCell> {
    public let inputSize: Int
    public let hiddenSize: Int
    public let layerCount: Int
    public let inputWeights: [ParameterHandle]      // weight_ih_lℓ [G·H, I_ℓ]
    public let recurrentWeights: [ParameterHandle]  // weight_hh_lℓ [G·H, H]
    public let inputBiases: [ParameterHandle]       // bias_ih_lℓ [G·H]
    public let recurrentBiases: [ParameterHandle]   // bias_hh_lℓ [G·H]

    /// The fewest rows a block gets: below about 32 rows a product's packing of `W_hh` costs
    /// more than the block's arithmetic gains.
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
        var ih: [ParameterHandle] = [], hh: [ParameterHandle] = [], bih: [ParameterHandle] = [], bhh: [ParameterHandle] = []
        var offsets: [(Int, Int, Int, Int)] = [], total = 0
        for layer in 0..<layerCount {
            let width = layer == 0 ? inputSize : hiddenSize
            ih.append(layout.declare("\(name).weight_ih_l\(layer)", shape: [rows, width]))
            hh.append(layout.declare("\(name).weight_hh_l\(layer)", shape: [rows, hiddenSize]))
            bih.append(layout.declare("\(name).bias_ih_l\(layer)", shape: [rows]))
            bhh.append(layout.declare("\(name).bias_hh_l\(layer)", shape: [rows]))
            offsets.append((total, total + rows * width, total + rows * (width + hiddenSize), total + rows * (width + hiddenSize + 1)))
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
        precondition(x.rank == 3 && x.shape[2] == inputSize, "\(Cell.self) network: input shape \(x.shape) is not [N, T, \(inputSize)]")
        let n = x.shape[0], t = x.shape[1], h = hiddenSize, i = inputSize
        if let mask {
            precondition(mask.rank == 2 && mask.shape[0] == n && mask.shape[1] == t,
                         "\(Cell.self) network: mask shape \(mask.shape) is not [\(n), \(t)]")
        }
        prepareBlocks(batch: n, steps: t)
        returnedSequences = returnSequences
        if returnSequences { output.prepare(depth: n, rows: t, columns: h) } else { output.prepare(rows: n, columns: h) }
        let weights = RecurrentWeights(network: self, parameters: parameters)
        x.withUnsafeBufferPointer { xs in
            output.withUnsafeMutableBufferPointer { out in
                withOptionalPointer(mask) { maskPointer in
                    blocks.withUnsafeMutableBufferPointer { blocks in
                        let job = ForwardJob(
                            blocks: blocks.baseAddress!, rows: blockRows, x: xs.baseAddress!, mask: maskPointer, output: out.baseAddress!,
                            weights: weights, returnSequences: returnSequences, steps: t, inputSize: i, hiddenSize: h)
                        withUnsafePointer(to: job) { BlockParallelism.forEach(blocks.count, ForwardTask(job: $0)) }
                    }
                }
            }
        }
    }

    /// What every row block of one forward pass reads; block `b` writes only its rows.
    private struct ForwardJob {
        let blocks: UnsafeMutablePointer<RecurrentRowBlock<Cell>>
        let rows: [Range<Int>]
        let x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>  // [N, T, I], [N, T], [N, (T,) H]
        let weights: RecurrentWeights
        let returnSequences: Bool
        let steps: Int, inputSize: Int, hiddenSize: Int
    }

    private struct ForwardTask: BlockTask {
        let job: UnsafePointer<ForwardJob>
        func run(block b: Int) {
            let j = job.pointee, first = j.rows[b].lowerBound, t = j.steps
            j.blocks[b].forward(
                x: j.x + first * t * j.inputSize, mask: j.mask.map { $0 + first * t }, weights: j.weights,
                output: j.output + first * (j.returnSequences ? t * j.hiddenSize : j.hiddenSize), returnSequences: j.returnSequences)
        }
    }

    /// Backpropagation through time. `outputGradient` has the forward output's shape
    /// (`[N, T, H]` or `[N, H]`). Accumulates every parameter gradient and writes `dx [N, T, I]`.
    public mutating func backward(_ outputGradient: Tensor, _ parameters: ParameterStore, inputGradient dx: inout Tensor) {
        let n = batch, t = steps, h = hiddenSize, i = inputSize
        precondition(blocksPrepared, "\(Cell.self) network: backward needs a forward pass first")
        precondition(outputGradient.count == (returnedSequences ? n * t * h : n * h),
                     "\(Cell.self) network: output gradient shape \(outputGradient.shape) does not match the forward output")
        dx.prepare(depth: n, rows: t, columns: i)
        let weights = RecurrentWeights(network: self, parameters: parameters)
        let perBlock = gradientsPerBlock
        blockGradients.withUnsafeMutableBufferPointer { privateGradients in
            outputGradient.withUnsafeBufferPointer { dy in
                dx.withUnsafeMutableBufferPointer { dxs in
                    blocks.withUnsafeMutableBufferPointer { blocks in
                        let job = BackwardJob(
                            blocks: blocks.baseAddress!, rows: blockRows, outputGradient: dy.baseAddress!, inputGradient: dxs.baseAddress!,
                            weights: weights, privateGradients: privateGradients.baseAddress, gradientsPerBlock: perBlock,
                            gradientOffsets: gradientOffsets, returnedSequences: returnedSequences, steps: t, inputSize: i, hiddenSize: h)
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

    /// What every row block of one backward pass reads; block `b` writes only its rows of `dx`,
    /// and its weight gradients into the store (block 0) or its private buffer (the others).
    private struct BackwardJob {
        let blocks: UnsafeMutablePointer<RecurrentRowBlock<Cell>>
        let rows: [Range<Int>]
        let outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>  // [N, (T,) H], [N, T, I]
        let weights: RecurrentWeights
        let privateGradients: UnsafeMutablePointer<Float>?  // [blocks − 1, P_net]
        let gradientsPerBlock: Int
        let gradientOffsets: [(inputWeights: Int, recurrentWeights: Int, inputBias: Int, recurrentBias: Int)]
        let returnedSequences: Bool
        let steps: Int, inputSize: Int, hiddenSize: Int
    }

    private struct BackwardTask: BlockTask {
        let job: UnsafePointer<BackwardJob>
        func run(block b: Int) {
            let j = job.pointee, first = j.rows[b].lowerBound, t = j.steps
            let own = b == 0 ? nil : j.privateGradients! + (b - 1) * j.gradientsPerBlock
            j.blocks[b].backward(
                outputGradient: j.outputGradient + first * (j.returnedSequences ? t * j.hiddenSize : j.hiddenSize), weights: j.weights,
                gradients: { layer in
                    guard let own else { return j.weights.gradients(layer, accumulate: true) }
                    let o = j.gradientOffsets[layer]
                    return RecurrentWeights.Gradients(inputWeights: own + o.inputWeights, recurrentWeights: own + o.recurrentWeights,
                                                      inputBias: own + o.inputBias, recurrentBias: own + o.recurrentBias,
                                                      accumulate: false)
                },
                inputGradient: j.inputGradient + first * t * j.inputSize)
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
    func recurrentWeight(_ layer: Int) -> UnsafePointer<Float> { UnsafePointer(parameters.values(recurrentWeights[layer])) }
    func inputBias(_ layer: Int) -> UnsafePointer<Float> { UnsafePointer(parameters.values(inputBiases[layer])) }
    func recurrentBias(_ layer: Int) -> UnsafePointer<Float> { UnsafePointer(parameters.values(recurrentBiases[layer])) }

    func gradients(_ layer: Int, accumulate: Bool) -> Gradients {
        Gradients(inputWeights: parameters.gradients(inputWeights[layer]), recurrentWeights: parameters.gradients(recurrentWeights[layer]),
                  inputBias: parameters.gradients(inputBiases[layer]), recurrentBias: parameters.gradients(recurrentBiases[layer]),
                  accumulate: accumulate)
    }
}

/// One contiguous block of a batch's rows, run through every layer and step of a
/// ``RecurrentNetwork`` with its own buffers: llm.c's explicit forward/backward pair, where
/// forward saves exactly what backward reads.
///
/// Shapes: N = the block's rows, T = steps, H = hidden size, G = gates, S = saved blocks,
/// I_ℓ = layer ℓ's input width (the network's input size for ℓ = 0, H above).
struct RecurrentRowBlock<Cell: RecurrentCell> {
    let rows: Int, steps: Int, inputSize: Int, hiddenSize: Int, layerCount: Int

    private var input: Tensor                      // [T, N, I] layer-0 input, time-major
    private var stepMask: [Float] = []             // [T, N]; empty when unmasked
    private var hiddens: [Tensor]                  // per layer [T + 1, N, H]: h_0 … h_T
    private var cells: [Tensor]                    // per layer [T + 1, N, H] (cells with a cell state)
    private var saved: [Tensor]                    // per layer [T, N, S·H]
    private var projections: Tensor                // [T, N, G·H] input projections (pre-activations when summed)
    private var recurrentProjection: Tensor        // [N, G·H] (cells with separate projections)

    private var projectionGradient: Tensor         // [T, N, G·H] dL/d(input projection) = dL/d(pre-activation) when summed
    private var recurrentProjectionGradient: Tensor  // [T, N, G·H] (separate projections only)
    private var hiddenGradient: Tensor             // [N, H] dL/dh flowing to the previous step
    private var cellGradient: Tensor               // [N, H] dL/dc flowing to the previous step
    private var directGradient: Tensor             // [N, H] dL/dh₋₁ not through W_hh (separate projections only)
    private var outputGradients: [Tensor]          // ping-pong [T, N, H]: dL/d(this layer's outputs)
    private var inputGradient: Tensor              // [T, N, I]
    private var returnedSequences = false

    init(rows n: Int, steps t: Int, network: RecurrentNetwork<Cell>) {
        rows = n
        steps = t
        inputSize = network.inputSize
        hiddenSize = network.hiddenSize
        layerCount = network.layerCount
        let h = hiddenSize, width = Cell.gateCount * h, separate = !Cell.projectionsEnterAsSum
        input = Tensor.zeros([t, n, inputSize])
        hiddens = (0..<layerCount).map { _ in Tensor.zeros([t + 1, n, h]) }
        cells = (0..<(Cell.hasCellState ? layerCount : 1)).map { _ in Tensor.zeros([Cell.hasCellState ? t + 1 : 1, n, h]) }
        saved = (0..<layerCount).map { _ in Tensor.zeros([t, n, Cell.savedBlocks * h]) }
        projections = Tensor.zeros([t, n, width])
        recurrentProjection = Tensor.zeros([separate ? n : 0, width])
        projectionGradient = Tensor.zeros([t, n, width])
        recurrentProjectionGradient = Tensor.zeros([separate ? t : 0, n, width])
        hiddenGradient = Tensor.zeros([n, h])
        cellGradient = Tensor.zeros([n, h])
        directGradient = Tensor.zeros([separate ? n : 0, h])
        outputGradients = [Tensor.zeros([t, n, h]), Tensor.zeros([t, n, h])]
        inputGradient = Tensor.zeros([t, n, inputSize])
    }

    /// Runs every layer over this block's rows: `x [N, T, I]` and `mask [N, T]` batch-first,
    /// `output` `[N, T, H]` or `[N, H]`.
    mutating func forward(
        x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, weights: RecurrentWeights,
        output: UnsafeMutablePointer<Float>, returnSequences: Bool
    ) {
        let n = rows, t = steps, h = hiddenSize
        returnedSequences = returnSequences
        input.withUnsafeMutableBufferPointer { swapLeadingAxes(x, rows: n, columns: t, width: inputSize, into: $0.baseAddress!) }
        if let mask {
            if stepMask.count != n * t { stepMask = [Float](repeating: 1, count: n * t) }
            for sample in 0..<n { for step in 0..<t { stepMask[step * n + sample] = mask[sample * t + step] } }
        } else if !stepMask.isEmpty {
            stepMask = []
        }
        for layer in 0..<layerCount { forwardLayer(layer, weights) }
        hiddens[layerCount - 1].withUnsafeBufferPointer { hs in
            if returnSequences {
                swapLeadingAxes(hs.baseAddress! + n * h, rows: t, columns: n, width: h, into: output)
            } else {
                output.update(from: hs.baseAddress! + t * n * h, count: n * h)
            }
        }
    }

    /// The input of `layer`, time-major `[T, N, I_ℓ]`: the block's input or the layer below's h_1 … h_T.
    private func layerInput(_ layer: Int) -> (pointer: UnsafePointer<Float>, width: Int) {
        if layer == 0 { return (input.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }, inputSize) }
        return (hiddens[layer - 1].withUnsafeBufferPointer { UnsafePointer($0.baseAddress! + rows * hiddenSize) }, hiddenSize)
    }

    private mutating func forwardLayer(_ layer: Int, _ weights: RecurrentWeights) {
        let n = rows, t = steps, h = hiddenSize, width = Cell.gateCount * hiddenSize, savedWidth = Cell.savedBlocks * hiddenSize
        let (x, xWidth) = layerInput(layer)
        let masked = !stepMask.isEmpty, summed = Cell.projectionsEnterAsSum, hasCell = Cell.hasCellState
        let wih = weights.inputWeight(layer), whh = weights.recurrentWeight(layer)
        let bih = weights.inputBias(layer), bhh = weights.recurrentBias(layer)
        stepMask.withUnsafeBufferPointer { maskBuffer in
          projections.withUnsafeMutableBufferPointer { xpBuffer in
            recurrentProjection.withUnsafeMutableBufferPointer { rpBuffer in
              hiddens[layer].withUnsafeMutableBufferPointer { hiddenBuffer in
                cells[hasCell ? layer : 0].withUnsafeMutableBufferPointer { cellBuffer in
                  saved[layer].withUnsafeMutableBufferPointer { savedBuffer in
                    let xp = xpBuffer.baseAddress!, rp = rpBuffer.baseAddress, hs = hiddenBuffer.baseAddress!
                    let cs = cellBuffer.baseAddress!, keep = savedBuffer.baseAddress!, mask = maskBuffer.baseAddress
                    // Every step's input projection at once, biases first:
                    // XP[T·N, G·H] = b (+ b_hh when summed) + X[T·N, I] · W_ihᵀ.
                    for j in 0..<width { xp[j] = summed ? bih[j] + bhh[j] : bih[j] }
                    for row in stride(from: 1, to: t * n, by: 1) { (xp + row * width).update(from: xp, count: width) }
                    BLAS.sgemm(transposeA: false, transposeB: true, m: t * n, n: width, k: xWidth, alpha: 1,
                               a: x, lda: xWidth, b: wih, ldb: xWidth, beta: 1, c: xp, ldc: width)
                    hs.update(repeating: 0, count: n * h)                // h_0
                    if hasCell { cs.update(repeating: 0, count: n * h) }  // c_0
                    for step in 0..<t {
                        let hPrevious = hs + step * n * h, hCurrent = hs + (step + 1) * n * h
                        let stepProjection = xp + step * n * width
                        if summed {
                            // Pre-activation += h_{t−1} · W_hhᵀ, in place.
                            BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: width, k: h, alpha: 1,
                                       a: hPrevious, lda: h, b: whh, ldb: h, beta: 1, c: stepProjection, ldc: width)
                        } else {
                            // RP = b_hh + h_{t−1} · W_hhᵀ
                            for sample in 0..<n { (rp! + sample * width).update(from: bhh, count: width) }
                            BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: width, k: h, alpha: 1,
                                       a: hPrevious, lda: h, b: whh, ldb: h, beta: 1, c: rp!, ldc: width)
                        }
                        for sample in 0..<n {
                            let row = step * n + sample
                            let cPrevious: UnsafeMutablePointer<Float>? = hasCell ? cs + step * n * h + sample * h : nil
                            let cCurrent: UnsafeMutablePointer<Float>? = hasCell ? cs + (step + 1) * n * h + sample * h : nil
                            if masked && mask![row] == 0 {
                                (hCurrent + sample * h).update(from: hPrevious + sample * h, count: h)
                                if hasCell { cCurrent!.update(from: cPrevious!, count: h) }
                                (keep + row * savedWidth).update(repeating: 0, count: savedWidth)
                                continue
                            }
                            Cell.forward(hidden: h, inputProjection: stepProjection + sample * width,
                                         recurrentProjection: summed ? nil : UnsafePointer(rp! + sample * width),
                                         previousHidden: hPrevious + sample * h, previousCell: cPrevious,
                                         hidden: hCurrent + sample * h, cell: cCurrent, saved: keep + row * savedWidth)
                        }
                    }
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
        outputGradient dy: UnsafePointer<Float>, weights: RecurrentWeights, gradients: (Int) -> RecurrentWeights.Gradients,
        inputGradient dx: UnsafeMutablePointer<Float>
    ) {
        let n = rows, t = steps, h = hiddenSize, sequences = returnedSequences
        outputGradients[0].withUnsafeMutableBufferPointer { top in
            let top = top.baseAddress!
            if sequences {
                swapLeadingAxes(dy, rows: n, columns: t, width: h, into: top)
            } else {
                top.update(repeating: 0, count: (t - 1) * n * h)
                (top + (t - 1) * n * h).update(from: dy, count: n * h)
            }
        }
        var current = 0
        for layer in stride(from: layerCount - 1, through: 0, by: -1) {
            backwardLayer(layer, outputGradientIndex: current, weights, gradients(layer))
            current = 1 - current
        }
        inputGradient.withUnsafeBufferPointer { swapLeadingAxes($0.baseAddress!, rows: t, columns: n, width: inputSize, into: dx) }
    }

    private mutating func backwardLayer(
        _ layer: Int, outputGradientIndex index: Int, _ weights: RecurrentWeights, _ target: RecurrentWeights.Gradients
    ) {
        let n = rows, t = steps, h = hiddenSize, width = Cell.gateCount * hiddenSize, savedWidth = Cell.savedBlocks * hiddenSize
        let (x, xWidth) = layerInput(layer)
        let masked = !stepMask.isEmpty, summed = Cell.projectionsEnterAsSum, hasCell = Cell.hasCellState
        let whh = weights.recurrentWeight(layer), wih = weights.inputWeight(layer)
        hiddenGradient.fill(with: 0)
        cellGradient.fill(with: 0)
        stepMask.withUnsafeBufferPointer { maskBuffer in
          outputGradients[index].withUnsafeBufferPointer { dyBuffer in
            hiddens[layer].withUnsafeBufferPointer { hiddenBuffer in
              cells[hasCell ? layer : 0].withUnsafeBufferPointer { cellBuffer in
                saved[layer].withUnsafeBufferPointer { savedBuffer in
                  projectionGradient.withUnsafeMutableBufferPointer { dxpBuffer in
                    recurrentProjectionGradient.withUnsafeMutableBufferPointer { drpBuffer in
                      hiddenGradient.withUnsafeMutableBufferPointer { dhBuffer in
                        cellGradient.withUnsafeMutableBufferPointer { dcBuffer in
                          directGradient.withUnsafeMutableBufferPointer { directBuffer in
                            let dy = dyBuffer.baseAddress!, hs = hiddenBuffer.baseAddress!, cs = cellBuffer.baseAddress!
                            let keep = savedBuffer.baseAddress!, dxp = dxpBuffer.baseAddress!, drp = drpBuffer.baseAddress
                            let dhNext = dhBuffer.baseAddress!, dcNext = dcBuffer.baseAddress!
                            let direct = directBuffer.baseAddress, mask = maskBuffer.baseAddress
                            // The gradient reaching h_t through W_hh: the pre-activation's
                            // when summed, the recurrent projection's otherwise.
                            let recurrentGradient = summed ? dxp : drp!
                            for step in stride(from: t - 1, through: 0, by: -1) {
                                for sample in 0..<n {
                                    let row = step * n + sample
                                    if masked && mask![row] == 0 {
                                        // State carried over: dL/dh passes to h₋₁ unchanged, dL/dc stays.
                                        (dxp + row * width).update(repeating: 0, count: width)
                                        if !summed { (drp! + row * width).update(repeating: 0, count: width) }
                                        let carried = summed ? dhNext + sample * h : direct! + sample * h
                                        for j in 0..<h { carried[j] = dy[row * h + j] + dhNext[sample * h + j] }
                                        continue
                                    }
                                    Cell.backward(
                                        hidden: h, outputGradient: dy + row * h, nextHiddenGradient: dhNext + sample * h,
                                        cellGradient: hasCell ? dcNext + sample * h : nil,
                                        saved: keep + row * savedWidth, previousHidden: hs + step * n * h + sample * h,
                                        previousCell: hasCell ? cs + step * n * h + sample * h : nil,
                                        inputProjectionGradient: dxp + row * width,
                                        recurrentProjectionGradient: summed ? nil : drp! + row * width,
                                        directPreviousHiddenGradient: summed ? nil : direct! + sample * h)
                                }
                                // dL/dh₋₁ = dRP_t · W_hh (+ the direct part). Masked rows have a
                                // zero dRP row, so with a mask the product is added to what they carry.
                                let beta: Float = summed && masked ? 1 : 0
                                if summed && masked {
                                    for sample in 0..<n where mask![step * n + sample] != 0 {
                                        (dhNext + sample * h).update(repeating: 0, count: h)
                                    }
                                }
                                BLAS.sgemm(transposeA: false, transposeB: false, m: n, n: h, k: width, alpha: 1,
                                           a: recurrentGradient + step * n * width, lda: width, b: whh, ldb: h,
                                           beta: beta, c: dhNext, ldc: h)
                                if !summed { for k in 0..<(n * h) { dhNext[k] += direct![k] } }
                            }
                          }
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
        let drpAll: UnsafePointer<Float> = summed
            ? dxpAll : recurrentProjectionGradient.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }
        let previousHiddens: UnsafePointer<Float> = hiddens[layer].withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }  // h_0 … h_{T−1}
        // dW_hh (+)= dRPᵀ · H₋₁,  dW_ih (+)= dXPᵀ · X   (rows are the T·N (step, sample) pairs)
        let beta: Float = target.accumulate ? 1 : 0
        BLAS.sgemm(transposeA: true, transposeB: false, m: width, n: h, k: t * n, alpha: 1,
                   a: drpAll, lda: width, b: previousHiddens, ldb: h, beta: beta, c: target.recurrentWeights, ldc: h)
        BLAS.sgemm(transposeA: true, transposeB: false, m: width, n: xWidth, k: t * n, alpha: 1,
                   a: dxpAll, lda: width, b: x, ldb: xWidth, beta: beta, c: target.inputWeights, ldc: xWidth)
        let dbih = target.inputBias, dbhh = target.recurrentBias
        if !target.accumulate {
            dbih.update(repeating: 0, count: width)
            dbhh.update(repeating: 0, count: width)
        }
        if summed {
            // Both biases receive the pre-activation gradient.
            for row in 0..<(t * n) {
                for j in 0..<width {
                    let g = dxpAll[row * width + j]
                    dbih[j] += g
                    dbhh[j] += g
                }
            }
        } else {
            for row in 0..<(t * n) {
                for j in 0..<width {
                    dbih[j] += dxpAll[row * width + j]
                    dbhh[j] += drpAll[row * width + j]
                }
            }
        }
        // dL/d(layer input) = dXP · W_ih, time-major.
        if layer == 0 {
            inputGradient.withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(transposeA: false, transposeB: false, m: t * n, n: xWidth, k: width, alpha: 1,
                           a: dxpAll, lda: width, b: wih, ldb: xWidth, beta: 0, c: out.baseAddress!, ldc: xWidth)
            }
        } else {
            outputGradients[1 - index].withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(transposeA: false, transposeB: false, m: t * n, n: h, k: width, alpha: 1,
                           a: dxpAll, lda: width, b: wih, ldb: h, beta: 0, c: out.baseAddress!, ldc: h)
            }
        }
    }
}

/// `out[b, a, :] = source[a, b, :]` for `source [rows, columns, width]`: batch-first ↔ time-major.
private func swapLeadingAxes(
    _ source: UnsafePointer<Float>, rows: Int, columns: Int, width: Int, into out: UnsafeMutablePointer<Float>
) {
    for a in 0..<rows {
        for b in 0..<columns {
            (out + (b * rows + a) * width).update(from: source + (a * columns + b) * width, count: width)
        }
    }
}
