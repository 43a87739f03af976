import CVectorMath
import Foundation
import Tensors

/// The update of one recurrent cell type for one sequence row, as a forward/backward pair. The
/// shared machinery (layers, time steps, masks, products, backpropagation through time) is
/// ``RecurrentNetwork``; a cell only says what happens inside one step.
///
/// Per step and row the network hands the cell the input projection `xp = x·W_ihᵀ + b_ih` and
/// the recurrent projection `rp = h₋₁·W_hhᵀ + b_hh` (each `G·H` values, G = ``gateCount``),
/// kept apart because a GRU multiplies only the recurrent part of its candidate by the reset gate.
public protocol RecurrentCell {
    /// Gate blocks per hidden unit, in PyTorch's order (LSTM 4: i, f, g, o; GRU 3: r, z, n; RNN 1).
    static var gateCount: Int { get }
    /// Whether the cell carries a second state besides h (the LSTM's c).
    static var hasCellState: Bool { get }
    /// Values saved per row for backward, in units of H.
    static var savedBlocks: Int { get }

    /// Computes `h` (and `c`) for one row and saves what backward needs.
    static func forward(
        hidden h: Int, inputProjection xp: UnsafePointer<Float>, recurrentProjection rp: UnsafePointer<Float>,
        previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        hidden hOut: UnsafeMutablePointer<Float>, cell cOut: UnsafeMutablePointer<Float>?, saved: UnsafeMutablePointer<Float>)

    /// Given `dh` (the total gradient reaching this step's h) and `dc` (the cell-state gradient
    /// from the next step, replaced by the one for the previous step), writes the gradients of
    /// both projections and the part of dL/dh₋₁ that does not pass through `W_hh`.
    static func backward(
        hidden h: Int, hiddenGradient dh: UnsafePointer<Float>, cellGradient dc: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>, previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        inputProjectionGradient dxp: UnsafeMutablePointer<Float>, recurrentProjectionGradient drp: UnsafeMutablePointer<Float>,
        directPreviousHiddenGradient dhPrevious: UnsafeMutablePointer<Float>)
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

    @inline(__always)
    public static func forward(
        hidden h: Int, inputProjection xp: UnsafePointer<Float>, recurrentProjection rp: UnsafePointer<Float>,
        previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        hidden hOut: UnsafeMutablePointer<Float>, cell cOut: UnsafeMutablePointer<Float>?, saved: UnsafeMutablePointer<Float>
    ) {
        // The vectorised C loop (CVectorMath): one libm call per gate element was half of a
        // CNN-LSTM training step.
        revisit_lstm_forward_row(h, xp, rp, cPrevious!, hOut, cOut!, saved)
    }

    @inline(__always)
    public static func backward(
        hidden h: Int, hiddenGradient dh: UnsafePointer<Float>, cellGradient dc: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>, previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        inputProjectionGradient dxp: UnsafeMutablePointer<Float>, recurrentProjectionGradient drp: UnsafeMutablePointer<Float>,
        directPreviousHiddenGradient dhPrevious: UnsafeMutablePointer<Float>
    ) {
        let dcNext = dc!, cp = cPrevious!
        for j in 0..<h {
            let i = saved[j], f = saved[h + j], g = saved[2 * h + j], o = saved[3 * h + j], cellActivation = saved[4 * h + j]
            let dcell = dcNext[j] + dh[j] * o * (1 - cellActivation * cellActivation)
            let di = dcell * g * i * (1 - i)
            let df = dcell * cp[j] * f * (1 - f)
            let dg = dcell * i * (1 - g * g)
            let dO = dh[j] * cellActivation * o * (1 - o)
            dxp[j] = di; dxp[h + j] = df; dxp[2 * h + j] = dg; dxp[3 * h + j] = dO
            drp[j] = di; drp[h + j] = df; drp[2 * h + j] = dg; drp[3 * h + j] = dO
            dcNext[j] = dcell * f
            dhPrevious[j] = 0
        }
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

    @inline(__always)
    public static func forward(
        hidden h: Int, inputProjection xp: UnsafePointer<Float>, recurrentProjection rp: UnsafePointer<Float>,
        previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        hidden hOut: UnsafeMutablePointer<Float>, cell cOut: UnsafeMutablePointer<Float>?, saved: UnsafeMutablePointer<Float>
    ) {
        revisit_gru_forward_row(h, xp, rp, hPrevious, hOut, saved)
    }

    @inline(__always)
    public static func backward(
        hidden h: Int, hiddenGradient dh: UnsafePointer<Float>, cellGradient dc: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>, previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        inputProjectionGradient dxp: UnsafeMutablePointer<Float>, recurrentProjectionGradient drp: UnsafeMutablePointer<Float>,
        directPreviousHiddenGradient dhPrevious: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<h {
            let r = saved[j], z = saved[h + j], n = saved[2 * h + j], recurrentCandidate = saved[3 * h + j]
            let dn = dh[j] * (1 - z) * (1 - n * n)          // through tanh
            let dz = dh[j] * (hPrevious[j] - n) * z * (1 - z)
            let dr = dn * recurrentCandidate * r * (1 - r)
            dxp[j] = dr; dxp[h + j] = dz; dxp[2 * h + j] = dn
            drp[j] = dr; drp[h + j] = dz; drp[2 * h + j] = dn * r
            dhPrevious[j] = dh[j] * z
        }
    }
}

/// The Elman network with tanh (PyTorch's `nn.RNN`, `nonlinearity='tanh'`): `h = tanh(xp + rp)`.
public enum TanhRNNCell: RecurrentCell {
    public static let gateCount = 1
    public static let hasCellState = false
    public static let savedBlocks = 1  // h

    @inline(__always)
    public static func forward(
        hidden h: Int, inputProjection xp: UnsafePointer<Float>, recurrentProjection rp: UnsafePointer<Float>,
        previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        hidden hOut: UnsafeMutablePointer<Float>, cell cOut: UnsafeMutablePointer<Float>?, saved: UnsafeMutablePointer<Float>
    ) {
        revisit_tanh_rnn_forward_row(h, xp, rp, hOut, saved)
    }

    @inline(__always)
    public static func backward(
        hidden h: Int, hiddenGradient dh: UnsafePointer<Float>, cellGradient dc: UnsafeMutablePointer<Float>?,
        saved: UnsafePointer<Float>, previousHidden hPrevious: UnsafePointer<Float>, previousCell cPrevious: UnsafePointer<Float>?,
        inputProjectionGradient dxp: UnsafeMutablePointer<Float>, recurrentProjectionGradient drp: UnsafeMutablePointer<Float>,
        directPreviousHiddenGradient dhPrevious: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<h {
            let gradient = dh[j] * (1 - saved[j] * saved[j])
            dxp[j] = gradient
            drp[j] = gradient
            dhPrevious[j] = 0
        }
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
/// **Layout.** Internally time-major (`[T, N, ·]`), so each step's N rows are contiguous: the
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

    // N = batch, T = steps, H = hidden size, G = gates, S = saved blocks.
    private var batch = 0, steps = 0
    private var input = Tensor.zeros([0])                  // [T, N, I] layer-0 input, time-major
    private var stepMask: [Float] = []                     // [T, N]; empty when unmasked
    private var hiddens: [Tensor] = []                     // per layer [T + 1, N, H]: h_0 … h_T
    private var cells: [Tensor] = []                       // per layer [T + 1, N, H] (cells with a cell state)
    private var saved: [Tensor] = []                       // per layer [T, N, S·H]
    private var inputProjection = Tensor.zeros([0])        // [T, N, G·H] scratch
    private var recurrentProjection = Tensor.zeros([0])    // [N, G·H] scratch
    private var returnedSequences = false

    private var inputProjectionGradient = Tensor.zeros([0])      // [T, N, G·H]
    private var recurrentProjectionGradient = Tensor.zeros([0])  // [T, N, G·H]
    private var hiddenGradient = Tensor.zeros([0])               // [N, H] dL/dh flowing to the previous step
    private var cellGradient = Tensor.zeros([0])                 // [N, H] dL/dc flowing to the previous step
    private var totalHiddenGradient = Tensor.zeros([0])          // [N, H] dL/dh at this step
    private var directGradient = Tensor.zeros([0])               // [N, H] dL/dh₋₁ not through W_hh
    private var outputGradients = [Tensor.zeros([0]), Tensor.zeros([0])]  // ping-pong [T, N, H]
    private var inputGradient = Tensor.zeros([0])                // [T, N, I]

    /// Declares `name.weight_ih_lℓ`, `name.weight_hh_lℓ`, `name.bias_ih_lℓ`, `name.bias_hh_lℓ`.
    public init(_ name: String, inputSize: Int, hiddenSize: Int, layerCount: Int = 1, layout: inout ParameterLayout) {
        precondition(inputSize > 0 && hiddenSize > 0 && layerCount > 0, "\(Cell.self) network: sizes must be positive")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        let rows = Cell.gateCount * hiddenSize
        var ih: [ParameterHandle] = [], hh: [ParameterHandle] = [], bih: [ParameterHandle] = [], bhh: [ParameterHandle] = []
        for layer in 0..<layerCount {
            ih.append(layout.declare("\(name).weight_ih_l\(layer)", shape: [rows, layer == 0 ? inputSize : hiddenSize]))
            hh.append(layout.declare("\(name).weight_hh_l\(layer)", shape: [rows, hiddenSize]))
            bih.append(layout.declare("\(name).bias_ih_l\(layer)", shape: [rows]))
            bhh.append(layout.declare("\(name).bias_hh_l\(layer)", shape: [rows]))
        }
        inputWeights = ih
        recurrentWeights = hh
        inputBiases = bih
        recurrentBiases = bhh
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
    public mutating func forward(
        _ x: Tensor, mask: Tensor? = nil, returnSequences: Bool, _ parameters: ParameterStore, into output: inout Tensor
    ) {
        precondition(x.rank == 3 && x.shape[2] == inputSize, "\(Cell.self) network: input shape \(x.shape) is not [N, T, \(inputSize)]")
        let n = x.shape[0], t = x.shape[1], h = hiddenSize
        if let mask {
            precondition(mask.rank == 2 && mask.shape[0] == n && mask.shape[1] == t,
                         "\(Cell.self) network: mask shape \(mask.shape) is not [\(n), \(t)]")
        }
        prepareBuffers(batch: n, steps: t)
        returnedSequences = returnSequences
        Self.swapLeadingAxes(x, rows: n, columns: t, width: inputSize, into: &input)
        if let mask {
            if stepMask.count != n * t { stepMask = [Float](repeating: 1, count: n * t) }
            mask.withUnsafeBufferPointer { m in
                for sample in 0..<n { for step in 0..<t { stepMask[step * n + sample] = m[sample * t + step] } }
            }
        } else if !stepMask.isEmpty {
            stepMask = []
        }
        for layer in 0..<layerCount { forwardLayer(layer, parameters) }

        let top = hiddens[layerCount - 1]
        top.withUnsafeBufferPointer { hs in
            if returnSequences {
                output.prepare(depth: n, rows: t, columns: h)
                output.withUnsafeMutableBufferPointer { out in
                    for step in 0..<t {
                        for sample in 0..<n {
                            (out.baseAddress! + (sample * t + step) * h).update(from: hs.baseAddress! + ((step + 1) * n + sample) * h, count: h)
                        }
                    }
                }
            } else {
                output.prepare(rows: n, columns: h)
                output.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: hs.baseAddress! + t * n * h, count: n * h) }
            }
        }
    }

    /// The input of `layer`, time-major `[T, N, I_ℓ]`: the network input or the layer below's h_1 … h_T.
    private func layerInput(_ layer: Int) -> (pointer: UnsafePointer<Float>, width: Int) {
        if layer == 0 { return (input.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }, inputSize) }
        return (hiddens[layer - 1].withUnsafeBufferPointer { UnsafePointer($0.baseAddress! + batch * hiddenSize) }, hiddenSize)
    }

    private mutating func forwardLayer(_ layer: Int, _ parameters: ParameterStore) {
        let n = batch, t = steps, h = hiddenSize, width = Cell.gateCount * hiddenSize, savedWidth = Cell.savedBlocks * hiddenSize
        let (x, xWidth) = layerInput(layer)
        let masked = !stepMask.isEmpty, mask = stepMask
        let wih = parameters.values(inputWeights[layer]), whh = parameters.values(recurrentWeights[layer])
        let bih = parameters.values(inputBiases[layer]), bhh = parameters.values(recurrentBiases[layer])
        let hasCell = Cell.hasCellState
        inputProjection.withUnsafeMutableBufferPointer { xpBuffer in
          recurrentProjection.withUnsafeMutableBufferPointer { rpBuffer in
            hiddens[layer].withUnsafeMutableBufferPointer { hiddenBuffer in
              cells[hasCell ? layer : 0].withUnsafeMutableBufferPointer { cellBuffer in
                saved[layer].withUnsafeMutableBufferPointer { savedBuffer in
                    let xp = xpBuffer.baseAddress!, rp = rpBuffer.baseAddress!, hs = hiddenBuffer.baseAddress!
                    let cs = cellBuffer.baseAddress!, keep = savedBuffer.baseAddress!
                    // Input projections of every step at once: XP[T·N, G·H] = X[T·N, I] · W_ihᵀ + b_ih.
                    BLAS.sgemm(transposeA: false, transposeB: true, m: t * n, n: width, k: xWidth, alpha: 1,
                               a: x, lda: xWidth, b: wih, ldb: xWidth, beta: 0, c: xp, ldc: width)
                    for row in 0..<(t * n) {
                        let r = xp + row * width
                        for j in 0..<width { r[j] += bih[j] }
                    }
                    hs.update(repeating: 0, count: n * h)                // h_0
                    if hasCell { cs.update(repeating: 0, count: n * h) }  // c_0
                    for step in 0..<t {
                        let hPrevious = hs + step * n * h, hCurrent = hs + (step + 1) * n * h
                        // RP = h_{t−1} · W_hhᵀ + b_hh
                        for sample in 0..<n { (rp + sample * width).update(from: bhh, count: width) }
                        BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: width, k: h, alpha: 1,
                                   a: hPrevious, lda: h, b: whh, ldb: h, beta: 1, c: rp, ldc: width)
                        for sample in 0..<n {
                            let row = step * n + sample
                            let cPrevious: UnsafeMutablePointer<Float>? = hasCell ? cs + step * n * h + sample * h : nil
                            let cCurrent: UnsafeMutablePointer<Float>? = hasCell ? cs + (step + 1) * n * h + sample * h : nil
                            if masked && mask[row] == 0 {
                                (hCurrent + sample * h).update(from: hPrevious + sample * h, count: h)
                                if hasCell { cCurrent!.update(from: cPrevious!, count: h) }
                                (keep + row * savedWidth).update(repeating: 0, count: savedWidth)
                                continue
                            }
                            Cell.forward(hidden: h, inputProjection: xp + row * width, recurrentProjection: rp + sample * width,
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

    /// Backpropagation through time. `outputGradient` has the forward output's shape
    /// (`[N, T, H]` or `[N, H]`). Accumulates every parameter gradient and writes `dx [N, T, I]`.
    public mutating func backward(_ outputGradient: Tensor, _ parameters: ParameterStore, inputGradient dx: inout Tensor) {
        let n = batch, t = steps, h = hiddenSize
        precondition(outputGradient.count == (returnedSequences ? n * t * h : n * h),
                     "\(Cell.self) network: output gradient shape \(outputGradient.shape) does not match the forward output")
        outputGradients[0].prepare(depth: t, rows: n, columns: h)
        outputGradients[0].withUnsafeMutableBufferPointer { top in
            outputGradient.withUnsafeBufferPointer { dy in
                if returnedSequences {
                    for step in 0..<t {
                        for sample in 0..<n {
                            (top.baseAddress! + (step * n + sample) * h).update(from: dy.baseAddress! + (sample * t + step) * h, count: h)
                        }
                    }
                } else {
                    top.baseAddress!.update(repeating: 0, count: (t - 1) * n * h)
                    (top.baseAddress! + (t - 1) * n * h).update(from: dy.baseAddress!, count: n * h)
                }
            }
        }
        var current = 0
        for layer in stride(from: layerCount - 1, through: 0, by: -1) {
            backwardLayer(layer, outputGradientIndex: current, parameters)
            current = 1 - current
        }
        Self.swapLeadingAxes(inputGradient, rows: t, columns: n, width: inputSize, into: &dx)
    }

    private mutating func backwardLayer(_ layer: Int, outputGradientIndex index: Int, _ parameters: ParameterStore) {
        let n = batch, t = steps, h = hiddenSize, width = Cell.gateCount * hiddenSize, savedWidth = Cell.savedBlocks * hiddenSize
        let (x, xWidth) = layerInput(layer)
        let masked = !stepMask.isEmpty, mask = stepMask
        let hasCell = Cell.hasCellState
        let whh = parameters.values(recurrentWeights[layer]), wih = parameters.values(inputWeights[layer])
        hiddenGradient.fill(with: 0)
        cellGradient.fill(with: 0)
        let dyTensor = outputGradients[index]
        dyTensor.withUnsafeBufferPointer { dyBuffer in
          hiddens[layer].withUnsafeBufferPointer { hiddenBuffer in
            cells[hasCell ? layer : 0].withUnsafeBufferPointer { cellBuffer in
              saved[layer].withUnsafeBufferPointer { savedBuffer in
                inputProjectionGradient.withUnsafeMutableBufferPointer { dxpBuffer in
                  recurrentProjectionGradient.withUnsafeMutableBufferPointer { drpBuffer in
                    hiddenGradient.withUnsafeMutableBufferPointer { dhBuffer in
                      cellGradient.withUnsafeMutableBufferPointer { dcBuffer in
                        totalHiddenGradient.withUnsafeMutableBufferPointer { totalBuffer in
                          directGradient.withUnsafeMutableBufferPointer { directBuffer in
                            let dy = dyBuffer.baseAddress!, hs = hiddenBuffer.baseAddress!, cs = cellBuffer.baseAddress!
                            let keep = savedBuffer.baseAddress!, dxp = dxpBuffer.baseAddress!, drp = drpBuffer.baseAddress!
                            let dhNext = dhBuffer.baseAddress!, dcNext = dcBuffer.baseAddress!
                            let total = totalBuffer.baseAddress!, direct = directBuffer.baseAddress!
                            for step in stride(from: t - 1, through: 0, by: -1) {
                                for sample in 0..<n {
                                    let row = step * n + sample
                                    let dhRow = total + sample * h
                                    for j in 0..<h { dhRow[j] = dy[row * h + j] + dhNext[sample * h + j] }
                                    if masked && mask[row] == 0 {
                                        // State carried over: dL/dh passes to h₋₁ unchanged, dL/dc stays.
                                        (direct + sample * h).update(from: dhRow, count: h)
                                        (dxp + row * width).update(repeating: 0, count: width)
                                        (drp + row * width).update(repeating: 0, count: width)
                                        continue
                                    }
                                    Cell.backward(
                                        hidden: h, hiddenGradient: dhRow, cellGradient: hasCell ? dcNext + sample * h : nil,
                                        saved: keep + row * savedWidth, previousHidden: hs + step * n * h + sample * h,
                                        previousCell: hasCell ? cs + step * n * h + sample * h : nil,
                                        inputProjectionGradient: dxp + row * width, recurrentProjectionGradient: drp + row * width,
                                        directPreviousHiddenGradient: direct + sample * h)
                                }
                                // dL/dh₋₁ = dRP_t · W_hh + the direct part.
                                BLAS.sgemm(transposeA: false, transposeB: false, m: n, n: h, k: width, alpha: 1,
                                           a: drp + step * n * width, lda: width, b: whh, ldb: h, beta: 0, c: dhNext, ldc: h)
                                for i in 0..<(n * h) { dhNext[i] += direct[i] }
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
        let dxpAll: UnsafePointer<Float> = inputProjectionGradient.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }
        let drpAll: UnsafePointer<Float> = recurrentProjectionGradient.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }
        let previousHiddens: UnsafePointer<Float> = hiddens[layer].withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }  // h_0 … h_{T−1}
        // dW_hh += dRPᵀ · H₋₁,  dW_ih += dXPᵀ · X   (rows are the T·N (step, sample) pairs)
        BLAS.sgemm(transposeA: true, transposeB: false, m: width, n: h, k: t * n, alpha: 1,
                   a: drpAll, lda: width, b: previousHiddens, ldb: h, beta: 1, c: parameters.gradients(recurrentWeights[layer]), ldc: h)
        BLAS.sgemm(transposeA: true, transposeB: false, m: width, n: xWidth, k: t * n, alpha: 1,
                   a: dxpAll, lda: width, b: x, ldb: xWidth, beta: 1, c: parameters.gradients(inputWeights[layer]), ldc: xWidth)
        let dbih = parameters.gradients(inputBiases[layer]), dbhh = parameters.gradients(recurrentBiases[layer])
        for row in 0..<(t * n) {
            for j in 0..<width {
                dbih[j] += dxpAll[row * width + j]
                dbhh[j] += drpAll[row * width + j]
            }
        }
        // dL/d(layer input) = dXP · W_ih, time-major.
        if layer == 0 {
            inputGradient.withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(transposeA: false, transposeB: false, m: t * n, n: xWidth, k: width, alpha: 1,
                           a: dxpAll, lda: width, b: wih, ldb: xWidth, beta: 0, c: out.baseAddress!, ldc: xWidth)
            }
        } else {
            outputGradients[1 - index].prepare(depth: t, rows: n, columns: h)
            outputGradients[1 - index].withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(transposeA: false, transposeB: false, m: t * n, n: h, k: width, alpha: 1,
                           a: dxpAll, lda: width, b: wih, ldb: h, beta: 0, c: out.baseAddress!, ldc: h)
            }
        }
    }

    /// Sizes every saved and scratch buffer for `n` sequences of `t` steps (no allocation when
    /// the sizes are unchanged).
    private mutating func prepareBuffers(batch n: Int, steps t: Int) {
        if n == batch && t == steps && hiddens.count == layerCount { return }
        let h = hiddenSize, width = Cell.gateCount * hiddenSize
        batch = n
        steps = t
        hiddens = (0..<layerCount).map { _ in Tensor.zeros([t + 1, n, h]) }
        cells = (0..<(Cell.hasCellState ? layerCount : 1)).map { _ in Tensor.zeros([Cell.hasCellState ? t + 1 : 1, n, h]) }
        saved = (0..<layerCount).map { _ in Tensor.zeros([t, n, Cell.savedBlocks * h]) }
        inputProjection = Tensor.zeros([t, n, width])
        recurrentProjection = Tensor.zeros([n, width])
        inputProjectionGradient = Tensor.zeros([t, n, width])
        recurrentProjectionGradient = Tensor.zeros([t, n, width])
        hiddenGradient = Tensor.zeros([n, h])
        cellGradient = Tensor.zeros([n, h])
        totalHiddenGradient = Tensor.zeros([n, h])
        directGradient = Tensor.zeros([n, h])
        inputGradient = Tensor.zeros([t, n, inputSize])
    }

    /// `out[b, a, :] = source[a, b, :]` for `source [rows, columns, width]`: batch-first ↔ time-major.
    static func swapLeadingAxes(_ source: Tensor, rows: Int, columns: Int, width: Int, into out: inout Tensor) {
        out.prepare(depth: columns, rows: rows, columns: width)
        source.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for a in 0..<rows {
                    for b in 0..<columns {
                        (o.baseAddress! + (b * rows + a) * width).update(from: s.baseAddress! + (a * columns + b) * width, count: width)
                    }
                }
            }
        }
    }
}
