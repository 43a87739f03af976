import Foundation
import Tensors

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
/// with k steps gives the result of the unpadded sequence (bit for bit where the matrix
/// products sum each column in an order independent of the column count, as OpenBLAS and
/// oneDNN's AVX-512 kernels do; within a few ulps under oneDNN's AVX2 kernels); masked steps receive no
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
    /// The row blocks and their arenas. Blocks are classes (each runs on its own thread), so a
    /// copy of the network shares them until one of the copies runs: forward and backward take
    /// their own first when they are shared (``ownBlocks()``), which keeps the network a value
    /// type (``ShardedInference`` runs copies of a model on several threads at once).
    private final class RowBlocks {
        let blocks: [RecurrentRowBlock<Cell>]
        init(_ blocks: [RecurrentRowBlock<Cell>]) { self.blocks = blocks }
    }
    private var rowBlocks = RowBlocks([])
    private var blocks: [RecurrentRowBlock<Cell>] { rowBlocks.blocks }
    private var blockRows: [Range<Int>] = []
    private var blocksPrepared = false
    private var returnedSequences = false

    /// Where one layer's dW_ih, dW_hh, db_ih and db_hh sit within a block's private weight
    /// gradients `[P_net]` (blocks 1… accumulate there; the sum joins the parameter store after
    /// backward).
    struct GradientOffsets {
        let inputWeights: Int, recurrentWeights: Int, inputBias: Int, recurrentBias: Int
    }
    /// Per layer.
    private let gradientOffsets: [GradientOffsets]
    /// P_net: every weight gradient of the network.
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
        var offsets: [GradientOffsets] = [], total = 0
        for layer in 0..<layerCount {
            let width = layer == 0 ? inputSize : hiddenSize
            ih.append(layout.declare("\(name).weight_ih_l\(layer)", shape: [rows, width]))
            hh.append(layout.declare("\(name).weight_hh_l\(layer)", shape: [rows, hiddenSize]))
            bih.append(layout.declare("\(name).bias_ih_l\(layer)", shape: [rows]))
            bhh.append(layout.declare("\(name).bias_hh_l\(layer)", shape: [rows]))
            offsets.append(
                GradientOffsets(
                    inputWeights: total, recurrentWeights: total + rows * width,
                    inputBias: total + rows * (width + hiddenSize),
                    recurrentBias: total + rows * (width + hiddenSize + 1)
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
        ownBlocks()
        returnedSequences = returnSequences
        if returnSequences {
            output.prepare(depth: n, rows: t, columns: h)
        } else {
            output.prepare(rows: n, columns: h)
        }
        let weights = RecurrentWeights(network: self, parameters: parameters)
        let pass = BlockPass(blocks: blocks, rows: blockRows, weights: weights, steps: t, inputSize: i, hiddenSize: h)
        // The interface's tensors are the only pointers taken through closures (their
        // copy-on-write storage can move); everything inside a block lives in its arena.
        x.withUnsafeBufferPointer { xs in
            output.withUnsafeMutableBufferPointer { out in
                withOptionalPointer(mask) { maskPointer in
                    let job = ForwardJob(
                        pass: pass, x: xs.baseAddress!, mask: maskPointer, output: out.baseAddress!,
                        returnSequences: returnSequences)
                    withUnsafePointer(to: job) { BlockParallelism.forEach(pass.blocks.count, ForwardTask(job: $0)) }
                }
            }
        }
    }

    /// What the row blocks of one pass share: the blocks, their rows, the weights and the sizes.
    private struct BlockPass {
        let blocks: [RecurrentRowBlock<Cell>]
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
        ownBlocks()
        let weights = RecurrentWeights(network: self, parameters: parameters)
        let pass = BlockPass(blocks: blocks, rows: blockRows, weights: weights, steps: t, inputSize: i, hiddenSize: h)
        outputGradient.withUnsafeBufferPointer { dy in
            dx.withUnsafeMutableBufferPointer { dxs in
                let job = BackwardJob(
                    pass: pass, outputGradient: dy.baseAddress!, inputGradient: dxs.baseAddress!,
                    gradientOffsets: gradientOffsets, returnedSequences: returnedSequences)
                withUnsafePointer(to: job) { BlockParallelism.forEach(pass.blocks.count, BackwardTask(job: $0)) }
            }
        }
        // Blocks 1…: add their weight gradients to the store, in block order.
        for b in 1..<Swift.max(blocks.count, 1) {
            let own = blocks[b].privateGradients
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

    /// One backward pass; block `b` writes only its rows of `dx`, and its weight gradients
    /// into the store (block 0) or its private buffer (the others).
    private struct BackwardJob {
        let pass: BlockPass
        let outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>  // [N, (T,) H], [N, T, I]
        let gradientOffsets: [GradientOffsets]
        let returnedSequences: Bool
    }

    private struct BackwardTask: BlockTask {
        let job: UnsafePointer<BackwardJob>
        func run(block b: Int) {
            let j = job.pointee, p = j.pass, t = p.steps, h = p.hiddenSize
            p.blocks[b].backward(
                outputGradient: j.outputGradient + p.offset(b, width: j.returnedSequences ? t * h : h),
                weights: p.weights, gradientOffsets: j.gradientOffsets,
                inputGradient: j.inputGradient + p.offset(b, width: t * p.inputSize))
        }
    }

    /// Gives this network blocks of its own when a copy shares them, with their values (the
    /// saved state a backward after the copy reads). Nothing happens in the steady state.
    private mutating func ownBlocks() {
        guard !isKnownUniquelyReferenced(&rowBlocks) else { return }
        rowBlocks = RowBlocks(
            rowBlocks.blocks.map { shared in
                let own = RecurrentRowBlock(
                    rows: shared.rows, steps: shared.steps, network: self, ownGradients: shared.ownGradientCount)
                own.copyState(from: shared)
                return own
            })
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
        rowBlocks = RowBlocks(
            blockRows.indices.map { b in
                RecurrentRowBlock(
                    rows: blockRows[b].count, steps: t, network: self, ownGradients: b == 0 ? 0 : gradientsPerBlock)
            })
    }
}

/// Runs `body` with a pointer to `tensor`'s values, or nil.
private func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body(UnsafePointer($0.baseAddress!)) }
}
