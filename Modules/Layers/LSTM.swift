import Foundation
import Tensors

/// A multi-layer long short-term memory network, batch-first, exactly as PyTorch's `nn.LSTM`
/// (`batch_first=True`, no projection, unidirectional), so its parameters map one to one onto
/// a PyTorch `state_dict`.
///
/// For each layer ℓ and time step t, with input `x_t` (the previous layer's `h_t` for ℓ > 0):
/// ```
/// [i; f; g; o] = x_t · W_ihᵀ + b_ih + h_{t−1} · W_hhᵀ + b_hh        (gate order i, f, g, o)
/// i = σ(i),  f = σ(f),  g = tanh(g),  o = σ(o)
/// c_t = f ⊙ c_{t−1} + i ⊙ g
/// h_t = o ⊙ tanh(c_t)                                               (h_0 = c_0 = 0)
/// ```
/// Parameters of layer ℓ: `weight_ih_lℓ [4H, I_ℓ]`, `weight_hh_lℓ [4H, H]`, `bias_ih_lℓ [4H]`,
/// `bias_hh_lℓ [4H]`, rows in gate order i, f, g, o. Initialisation (PyTorch's default): every
/// parameter `~ U(−1/√H, 1/√H)`.
///
/// **Masking.** An optional mask `[N, T]` (1 = a real step, 0 = padding) supports left-padded
/// sequences: at a masked step the state is carried over unchanged (`h_t = h_{t−1}`,
/// `c_t = c_{t−1}`), so a sequence left-padded with k steps gives exactly the result of running
/// the unpadded sequence, and masked steps receive no gradient (their input gradient is 0 and
/// they add nothing to the weight gradients). The output at a left-padded step is the zero state.
///
/// **Layout.** Internally time-major (`[T, N, ·]`): each step's `N` rows are contiguous, so the
/// input projections of all steps are one matrix product and each step adds one recurrent
/// product into them (β = 1). Backward runs backpropagation through time, collecting every
/// step's gate gradients, then forms `dW_ih`, `dW_hh` and the input gradient with one product each.
/// After the first call at a batch size, forward and backward allocate nothing.
///
/// Paper: S. Hochreiter, J. Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8), 1997.
/// Gate formulation as in https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html.
public struct LSTM {
    public let inputSize: Int
    public let hiddenSize: Int
    public let layerCount: Int
    public let inputWeights: [ParameterHandle]      // weight_ih_lℓ [4H, I_ℓ]
    public let recurrentWeights: [ParameterHandle]  // weight_hh_lℓ [4H, H]
    public let inputBiases: [ParameterHandle]       // bias_ih_lℓ [4H]
    public let recurrentBiases: [ParameterHandle]   // bias_hh_lℓ [4H]

    // Saved by forward for backward; N = batch, T = steps, H = hidden size.
    private var batch = 0, steps = 0
    private var input = Tensor.zeros([0])            // [T, N, I] layer-0 input, time-major
    private var stepMask: [Float] = []               // [T, N]; empty when unmasked
    private var gates: [Tensor] = []                 // per layer [T, N, 4H]: activated i, f, g, o
    private var cells: [Tensor] = []                 // per layer [T + 1, N, H]: c_0 … c_T
    private var hiddens: [Tensor] = []               // per layer [T + 1, N, H]: h_0 … h_T
    private var cellTanh: [Tensor] = []              // per layer [T, N, H]: tanh(c_t)
    private var returnedSequences = false

    // Backward scratch.
    private var gateGradients = Tensor.zeros([0])    // [T, N, 4H]
    private var hiddenGradient = Tensor.zeros([0])   // [N, H] dL/dh_t flowing to step t − 1
    private var cellGradient = Tensor.zeros([0])     // [N, H] dL/dc_t flowing to step t − 1
    private var carriedGradient = Tensor.zeros([0])  // [N, H] dL/dh at masked rows (passed through)
    private var outputGradients: [Tensor] = [Tensor.zeros([0]), Tensor.zeros([0])]  // ping-pong [T, N, H]
    private var inputGradient = Tensor.zeros([0])    // [T, N, I]

    /// Declares `name.weight_ih_lℓ`, `name.weight_hh_lℓ`, `name.bias_ih_lℓ`, `name.bias_hh_lℓ`.
    public init(_ name: String, inputSize: Int, hiddenSize: Int, layerCount: Int = 1, layout: inout ParameterLayout) {
        precondition(inputSize > 0 && hiddenSize > 0 && layerCount > 0, "LSTM: sizes must be positive")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        var ih: [ParameterHandle] = [], hh: [ParameterHandle] = [], bih: [ParameterHandle] = [], bhh: [ParameterHandle] = []
        for layer in 0..<layerCount {
            let layerInput = layer == 0 ? inputSize : hiddenSize
            ih.append(layout.declare("\(name).weight_ih_l\(layer)", shape: [4 * hiddenSize, layerInput]))
            hh.append(layout.declare("\(name).weight_hh_l\(layer)", shape: [4 * hiddenSize, hiddenSize]))
            bih.append(layout.declare("\(name).bias_ih_l\(layer)", shape: [4 * hiddenSize]))
            bhh.append(layout.declare("\(name).bias_hh_l\(layer)", shape: [4 * hiddenSize]))
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
        precondition(
            x.rank == 3 && x.shape[2] == inputSize,
            "LSTM.forward: input shape \(x.shape) is not [N, T, \(inputSize)]")
        let n = x.shape[0], t = x.shape[1], h = hiddenSize
        if let mask {
            precondition(mask.rank == 2 && mask.shape[0] == n && mask.shape[1] == t,
                         "LSTM.forward: mask shape \(mask.shape) is not [\(n), \(t)]")
        }
        prepareBuffers(batch: n, steps: t)
        returnedSequences = returnSequences
        LSTM.swapLeadingAxes(x, rows: n, columns: t, width: inputSize, into: &input)
        if let mask {
            if stepMask.count != n * t { stepMask = [Float](repeating: 1, count: n * t) }
            mask.withUnsafeBufferPointer { m in
                for sample in 0..<n { for step in 0..<t { stepMask[step * n + sample] = m[sample * t + step] } }
            }
        } else if !stepMask.isEmpty {
            stepMask = []
        }

        for layer in 0..<layerCount {
            let layerInputSize = layer == 0 ? inputSize : h
            let layerInput: UnsafePointer<Float> = layer == 0
                ? input.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }
                : hiddens[layer - 1].withUnsafeBufferPointer { UnsafePointer($0.baseAddress! + n * h) }
            forwardLayer(layer, input: layerInput, inputSize: layerInputSize, parameters)
        }

        let top = hiddens[layerCount - 1]
        if returnSequences {
            output.prepare(depth: n, rows: t, columns: h)
            top.withUnsafeBufferPointer { hs in
                output.withUnsafeMutableBufferPointer { out in
                    for step in 0..<t {
                        for sample in 0..<n {
                            (out.baseAddress! + (sample * t + step) * h).update(from: hs.baseAddress! + ((step + 1) * n + sample) * h, count: h)
                        }
                    }
                }
            }
        } else {
            output.prepare(rows: n, columns: h)
            top.withUnsafeBufferPointer { hs in
                output.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: hs.baseAddress! + t * n * h, count: n * h) }
            }
        }
    }

    /// One layer over all steps; `layerInput` is `[T, N, I_ℓ]`, time-major.
    private mutating func forwardLayer(_ layer: Int, input layerInput: UnsafePointer<Float>, inputSize layerInputSize: Int, _ parameters: ParameterStore) {
        let n = batch, t = steps, h = hiddenSize, g4 = 4 * hiddenSize
        let masked = !stepMask.isEmpty
        let wih = parameters.values(inputWeights[layer]), whh = parameters.values(recurrentWeights[layer])
        let bih = parameters.values(inputBiases[layer]), bhh = parameters.values(recurrentBiases[layer])
        let mask = stepMask
        gates[layer].withUnsafeMutableBufferPointer { gateBuffer in
          cells[layer].withUnsafeMutableBufferPointer { cellBuffer in
            hiddens[layer].withUnsafeMutableBufferPointer { hiddenBuffer in
              cellTanh[layer].withUnsafeMutableBufferPointer { tanhBuffer in
                let z = gateBuffer.baseAddress!, c = cellBuffer.baseAddress!, hs = hiddenBuffer.baseAddress!, th = tanhBuffer.baseAddress!
                // Input projections of every step at once: Z[T·N, 4H] = X[T·N, I] · W_ihᵀ, plus both biases.
                BLAS.sgemm(transposeA: false, transposeB: true, m: t * n, n: g4, k: layerInputSize, alpha: 1,
                           a: layerInput, lda: layerInputSize, b: wih, ldb: layerInputSize, beta: 0, c: z, ldc: g4)
                for row in 0..<(t * n) {
                    let zr = z + row * g4
                    for j in 0..<g4 { zr[j] += bih[j] + bhh[j] }
                }
                c.update(repeating: 0, count: n * h)   // c_0
                hs.update(repeating: 0, count: n * h)  // h_0
                for step in 0..<t {
                    let zt = z + step * n * g4
                    let hPrevious = hs + step * n * h, hCurrent = hs + (step + 1) * n * h
                    let cPrevious = c + step * n * h, cCurrent = c + (step + 1) * n * h
                    // Z_t += h_{t−1} · W_hhᵀ
                    BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: g4, k: h, alpha: 1,
                               a: hPrevious, lda: h, b: whh, ldb: h, beta: 1, c: zt, ldc: g4)
                    for sample in 0..<n {
                        let zr = zt + sample * g4
                        let hp = hPrevious + sample * h, hc = hCurrent + sample * h
                        let cp = cPrevious + sample * h, cc = cCurrent + sample * h
                        let tr = th + (step * n + sample) * h
                        if masked && mask[step * n + sample] == 0 {
                            hc.update(from: hp, count: h)
                            cc.update(from: cp, count: h)
                            tr.update(repeating: 0, count: h)
                            zr.update(repeating: 0, count: g4)
                            continue
                        }
                        for j in 0..<h {
                            let i = UnaryFunction.sigmoid(zr[j])
                            let f = UnaryFunction.sigmoid(zr[h + j])
                            let g = UnaryFunction.tanh(zr[2 * h + j])
                            let o = UnaryFunction.sigmoid(zr[3 * h + j])
                            zr[j] = i; zr[h + j] = f; zr[2 * h + j] = g; zr[3 * h + j] = o
                            let cell = f * cp[j] + i * g
                            let cellActivation = UnaryFunction.tanh(cell)
                            cc[j] = cell
                            tr[j] = cellActivation
                            hc[j] = o * cellActivation
                        }
                    }
                }
              }
            }
          }
        }
    }

    /// Backpropagation through time. `outputGradient` has the forward output's shape
    /// (`[N, T, H]` or `[N, H]`). Accumulates every parameter gradient and writes
    /// `dx [N, T, I]`.
    public mutating func backward(_ outputGradient: Tensor, _ parameters: ParameterStore, inputGradient dx: inout Tensor) {
        let n = batch, t = steps, h = hiddenSize
        let expected = returnedSequences ? n * t * h : n * h
        precondition(outputGradient.count == expected,
                     "LSTM.backward: output gradient shape \(outputGradient.shape) does not match the forward output")
        // Top layer's dL/dh_t, time-major [T, N, H].
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
            let layerInputSize = layer == 0 ? inputSize : h
            backwardLayer(layer, outputGradientIndex: current, inputSize: layerInputSize, parameters)
            current = 1 - current
        }
        LSTM.swapLeadingAxes(inputGradient, rows: t, columns: n, width: inputSize, into: &dx)
    }

    /// One layer's BPTT. Reads dL/dh from `outputGradients[index]`; writes dL/d(layer input)
    /// into `outputGradients[1 − index]` (or `inputGradient` for layer 0).
    private mutating func backwardLayer(_ layer: Int, outputGradientIndex index: Int, inputSize layerInputSize: Int, _ parameters: ParameterStore) {
        let n = batch, t = steps, h = hiddenSize, g4 = 4 * hiddenSize
        let masked = !stepMask.isEmpty
        let mask = stepMask
        let whh = parameters.values(recurrentWeights[layer]), wih = parameters.values(inputWeights[layer])
        hiddenGradient.fill(with: 0)
        cellGradient.fill(with: 0)
        let dyTensor = outputGradients[index]
        dyTensor.withUnsafeBufferPointer { dyBuffer in
          gates[layer].withUnsafeBufferPointer { gateBuffer in
            cells[layer].withUnsafeBufferPointer { cellBuffer in
              cellTanh[layer].withUnsafeBufferPointer { tanhBuffer in
                gateGradients.withUnsafeMutableBufferPointer { dzBuffer in
                  hiddenGradient.withUnsafeMutableBufferPointer { dhBuffer in
                    cellGradient.withUnsafeMutableBufferPointer { dcBuffer in
                      carriedGradient.withUnsafeMutableBufferPointer { carryBuffer in
                        let dy = dyBuffer.baseAddress!, z = gateBuffer.baseAddress!, c = cellBuffer.baseAddress!
                        let th = tanhBuffer.baseAddress!, dz = dzBuffer.baseAddress!
                        let dhNext = dhBuffer.baseAddress!, dcNext = dcBuffer.baseAddress!, carry = carryBuffer.baseAddress!
                        for step in stride(from: t - 1, through: 0, by: -1) {
                            var anyMasked = false
                            for sample in 0..<n {
                                let row = step * n + sample
                                let dyr = dy + row * h, dhr = dhNext + sample * h, dcr = dcNext + sample * h
                                let dzr = dz + row * g4
                                if masked && mask[row] == 0 {
                                    // State carried over: dL/dh and dL/dc pass through unchanged.
                                    anyMasked = true
                                    let carried = carry + sample * h
                                    for j in 0..<h { carried[j] = dyr[j] + dhr[j] }
                                    dzr.update(repeating: 0, count: g4)
                                    continue
                                }
                                let zr = z + row * g4, tr = th + row * h
                                let cp = c + step * n * h + sample * h
                                for j in 0..<h {
                                    let i = zr[j], f = zr[h + j], g = zr[2 * h + j], o = zr[3 * h + j]
                                    let dh = dyr[j] + dhr[j]
                                    let cellActivation = tr[j]
                                    let dc = dcr[j] + dh * o * (1 - cellActivation * cellActivation)
                                    dzr[j] = dc * g * i * (1 - i)                    // d(pre-activation of i)
                                    dzr[h + j] = dc * cp[j] * f * (1 - f)            // f
                                    dzr[2 * h + j] = dc * i * (1 - g * g)            // g
                                    dzr[3 * h + j] = dh * cellActivation * o * (1 - o)  // o
                                    dcr[j] = dc * f                                  // dL/dc_{t−1}
                                }
                            }
                            // dL/dh_{t−1} = dZ_t · W_hh  ([N, 4H] · [4H, H]); masked rows pass through.
                            BLAS.sgemm(transposeA: false, transposeB: false, m: n, n: h, k: g4, alpha: 1,
                                       a: dz + step * n * g4, lda: g4, b: whh, ldb: h, beta: 0, c: dhNext, ldc: h)
                            if anyMasked {
                                for sample in 0..<n where mask[step * n + sample] == 0 {
                                    (dhNext + sample * h).update(from: carry + sample * h, count: h)
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
        // Parameter gradients over all steps at once; rows are (t, n) pairs.
        let dzAll: UnsafePointer<Float> = gateGradients.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }
        let previousHiddens: UnsafePointer<Float> = hiddens[layer].withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }  // h_0 … h_{T−1}
        let layerInput: UnsafePointer<Float> = layer == 0
            ? input.withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) }
            : hiddens[layer - 1].withUnsafeBufferPointer { UnsafePointer($0.baseAddress! + n * h) }
        // dW_hh += dZᵀ · H_prev   ([4H, T·N] · [T·N, H])
        BLAS.sgemm(transposeA: true, transposeB: false, m: g4, n: h, k: t * n, alpha: 1,
                   a: dzAll, lda: g4, b: previousHiddens, ldb: h, beta: 1, c: parameters.gradients(recurrentWeights[layer]), ldc: h)
        // dW_ih += dZᵀ · X   ([4H, T·N] · [T·N, I_ℓ])
        BLAS.sgemm(transposeA: true, transposeB: false, m: g4, n: layerInputSize, k: t * n, alpha: 1,
                   a: dzAll, lda: g4, b: layerInput, ldb: layerInputSize, beta: 1,
                   c: parameters.gradients(inputWeights[layer]), ldc: layerInputSize)
        // db_ih += Σ dZ, db_hh += Σ dZ (both biases enter the gates the same way).
        let dbih = parameters.gradients(inputBiases[layer]), dbhh = parameters.gradients(recurrentBiases[layer])
        for row in 0..<(t * n) {
            let dzr = dzAll + row * g4
            for j in 0..<g4 {
                dbih[j] += dzr[j]
                dbhh[j] += dzr[j]
            }
        }
        // dL/d(layer input) = dZ · W_ih   ([T·N, 4H] · [4H, I_ℓ]), time-major.
        if layer == 0 {
            inputGradient.withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(transposeA: false, transposeB: false, m: t * n, n: layerInputSize, k: g4, alpha: 1,
                           a: dzAll, lda: g4, b: wih, ldb: layerInputSize, beta: 0, c: out.baseAddress!, ldc: layerInputSize)
            }
        } else {
            outputGradients[1 - index].prepare(depth: t, rows: n, columns: h)
            outputGradients[1 - index].withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(transposeA: false, transposeB: false, m: t * n, n: h, k: g4, alpha: 1,
                           a: dzAll, lda: g4, b: wih, ldb: h, beta: 0, c: out.baseAddress!, ldc: h)
            }
        }
    }

    /// Sizes every saved and scratch buffer for a batch of `n` sequences of `t` steps (no
    /// allocation when the sizes are unchanged).
    private mutating func prepareBuffers(batch n: Int, steps t: Int) {
        let h = hiddenSize
        if n == batch && t == steps && gates.count == layerCount { return }
        batch = n
        steps = t
        gates = (0..<layerCount).map { _ in Tensor.zeros([t, n, 4 * h]) }
        cells = (0..<layerCount).map { _ in Tensor.zeros([t + 1, n, h]) }
        hiddens = (0..<layerCount).map { _ in Tensor.zeros([t + 1, n, h]) }
        cellTanh = (0..<layerCount).map { _ in Tensor.zeros([t, n, h]) }
        gateGradients = Tensor.zeros([t, n, 4 * h])
        hiddenGradient = Tensor.zeros([n, h])
        cellGradient = Tensor.zeros([n, h])
        carriedGradient = Tensor.zeros([n, h])
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
