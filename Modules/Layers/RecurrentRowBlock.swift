import Foundation
import Tensors

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
