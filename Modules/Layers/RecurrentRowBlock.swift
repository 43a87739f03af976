import CVectorMath
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
/// Every buffer lives in the block's ``ScratchArena``, planned once in `init`, so forward and
/// backward take plain pointers (valid by construction, see the arena's discipline) and
/// allocate nothing. A block is a class because the network hands each one to its own worker
/// thread; no two threads ever touch one block.
///
/// Shapes: N = the block's rows, T = steps, L = T·N, H = hidden size, G = gates, S = saved
/// blocks, I_ℓ = layer ℓ's input width (the network's input size for ℓ = 0, H above).
/// Everything is **feature-major**, column `t·N + s` for step t of sequence s: a layer's
/// states are `[H × (T+1)·N]` (h_0 … h_T, so step t's previous state is column block t and its
/// new state block t + 1, and the layer above reads blocks 1 … T as its input `[H × L]`).
final class RecurrentRowBlock<Cell: RecurrentCell> {
    let rows: Int, steps: Int, inputSize: Int, hiddenSize: Int, layerCount: Int

    private let arena: ScratchArena
    private let input: ScratchBuffer  // [I × L] layer-0 input
    private let stepMask: ScratchBuffer  // [L]: 1 = real step, 0 = padding
    private var stepMaskIsAllOnes = true
    private let hiddens: [ScratchBuffer]  // per layer [H × (T+1)·N]: h_0 … h_T
    private let cells: [ScratchBuffer]  // per layer [H × (T+1)·N] (cells with a cell state)
    private let saved: [ScratchBuffer]  // per layer [S·H × L]
    private let projections: ScratchBuffer  // [G·H × L] input projections (pre-activations when summed)
    private let recurrentProjection: ScratchBuffer  // [G·H × N] (cells with separate projections)

    /// [G·H × L] dL/d(input projection), which is dL/d(pre-activation) when summed.
    private let projectionGradient: ScratchBuffer
    private let recurrentProjectionGradient: ScratchBuffer  // [G·H × L] (separate projections only)
    private let hiddenGradient: ScratchBuffer  // [H × N] dL/dh flowing to the previous step
    private let cellGradient: ScratchBuffer  // [H × N] dL/dc flowing to the previous step
    private let outputGradients: [ScratchBuffer]  // ping-pong [H × L]: dL/d(a layer's outputs h_1 … h_T)
    private let inputGradient: ScratchBuffer  // [I × L]
    /// [P_net] this block's own weight gradients (``RecurrentNetwork/gradientOffsets`` order),
    /// empty for a block that accumulates into the parameter store.
    private let ownGradients: ScratchBuffer
    private var returnedSequences = false

    /// A block of `n` rows and `t` steps; `ownGradients` values of private weight gradients
    /// (0 for the block that writes straight into the parameter store).
    init(rows n: Int, steps t: Int, network: RecurrentNetwork<Cell>, ownGradients: Int) {
        rows = n
        steps = t
        inputSize = network.inputSize
        hiddenSize = network.hiddenSize
        layerCount = network.layerCount
        let h = hiddenSize, width = Cell.gateCount * h, separate = !Cell.projectionsEnterAsSum, l = t * n
        var layout = ScratchLayout()
        input = layout.reserve(inputSize * l)
        stepMask = layout.reserve(l)
        hiddens = (0..<layerCount).map { _ in layout.reserve(h * (t + 1) * n) }
        cells = (0..<(Cell.hasCellState ? layerCount : 0)).map { _ in layout.reserve(h * (t + 1) * n) }
        saved = (0..<layerCount).map { _ in layout.reserve(Cell.savedBlocks * h * l) }
        projections = layout.reserve(width * l)
        recurrentProjection = layout.reserve(separate ? width * n : 0)
        projectionGradient = layout.reserve(width * l)
        recurrentProjectionGradient = layout.reserve(separate ? width * l : 0)
        hiddenGradient = layout.reserve(h * n)
        cellGradient = layout.reserve(h * n)
        outputGradients = [layout.reserve(h * l), layout.reserve(h * l)]
        inputGradient = layout.reserve(inputSize * l)
        self.ownGradients = layout.reserve(ownGradients)
        arena = ScratchArena(layout)
        arena[stepMask].update(repeating: 1, count: l)
    }

    /// Values of private weight gradients this block keeps (0 for block 0).
    var ownGradientCount: Int { ownGradients.count }

    /// Takes `other`'s values (buffers, saved state, mask) into this block, made with the same
    /// sizes: a copied network's blocks, before it runs (``RecurrentNetwork``).
    func copyState(from other: RecurrentRowBlock) {
        arena.copyValues(from: other.arena)
        stepMaskIsAllOnes = other.stepMaskIsAllOnes
        returnedSequences = other.returnedSequences
    }

    /// This block's private weight gradients `[P_net]`, read by the network after backward.
    var privateGradients: UnsafePointer<Float> { UnsafePointer(arena[ownGradients]) }

    /// Runs every layer over this block's rows: `x [N, T, I]` and `mask [N, T]` batch-first,
    /// `output` `[N, T, H]` or `[N, H]`.
    func forward(
        x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, weights: RecurrentWeights,
        output: UnsafeMutablePointer<Float>, returnSequences: Bool
    ) {
        let n = rows, t = steps, h = hiddenSize, l = t * n, i = inputSize, stateStride = (t + 1) * n
        returnedSequences = returnSequences
        let xs = arena[input]
        // Per step, x[:, step, :] ([N × I], row stride T·I) transposed into xs[:, step·N …]
        // ([I × N], row stride L): tiled in C (this was 7% of a 2-layer LSTM's inference as a
        // checked scalar loop).
        for step in 0..<t {
            revisit_transpose(n, i, x + step * i, t * i, xs + step * n, l)
        }
        // The cells always read a mask (all ones without one), so that their loops vectorise.
        let realSteps = arena[stepMask]
        if let mask {
            for sample in 0..<n { for step in 0..<t { realSteps[step * n + sample] = mask[sample * t + step] } }
            stepMaskIsAllOnes = false
        } else if !stepMaskIsAllOnes {
            realSteps.update(repeating: 1, count: l)
            stepMaskIsAllOnes = true
        }
        for layer in 0..<layerCount { forwardLayer(layer, weights) }
        // h_{step+1} ([H × N], row stride (T+1)·N) transposed into output[:, step, :] ([N × H],
        // row stride T·H, or H for the last step alone).
        let hs = UnsafePointer(arena[hiddens[layerCount - 1]])
        if returnSequences {
            for step in 0..<t {
                revisit_transpose(h, n, hs + (step + 1) * n, stateStride, output + step * h, t * h)
            }
        } else {
            revisit_transpose(h, n, hs + t * n, stateStride, output, h)
        }
    }

    /// The input of `layer`, `[I_ℓ × L]` with its row stride: the block's input, or the layer
    /// below's h_1 … h_T.
    private func layerInput(_ layer: Int) -> (pointer: UnsafePointer<Float>, width: Int, stride: Int) {
        if layer == 0 { return (UnsafePointer(arena[input]), inputSize, steps * rows) }
        return (UnsafePointer(arena[hiddens[layer - 1]] + rows), hiddenSize, (steps + 1) * rows)
    }

    private func forwardLayer(_ layer: Int, _ weights: RecurrentWeights) {
        let n = rows, t = steps, h = hiddenSize, l = t * n, width = Cell.gateCount * hiddenSize,
            stateStride = (t + 1) * n
        let (x, xWidth, xStride) = layerInput(layer)
        let summed = Cell.projectionsEnterAsSum
        let wih = weights.inputWeight(layer), whh = weights.recurrentWeight(layer)
        let bih = weights.inputBias(layer), bhh = weights.recurrentBias(layer)
        let xp = arena[projections], rp = arena[recurrentProjection], hs = arena[hiddens[layer]]
        let cs = Cell.hasCellState ? arena[cells[layer]] : nil
        let keep = arena[saved[layer]], mask = UnsafePointer(arena[stepMask])
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
            if let cs { (cs + j * stateStride).update(repeating: 0, count: n) }  // c_0
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
                    a: whh, lda: h, b: hPrevious, ldb: stateStride, beta: 1, c: xp + time * n, ldc: l)
            } else {
                // RP = b_hh + W_hh · h_{t−1}
                for r in 0..<width { (rp + r * n).update(repeating: bhh[r], count: n) }
                BLAS.sgemm(
                    transposeA: false, transposeB: false, m: width, n: n, k: h, alpha: 1,
                    a: whh, lda: h, b: hPrevious, ldb: stateStride, beta: 1, c: rp, ldc: n)
                step.recurrentProjection = UnsafePointer(rp)
            }
            step.projection = UnsafePointer(xp + time * n)
            step.previousHidden = UnsafePointer(hPrevious)
            step.hiddenOut = hs + (time + 1) * n
            if let cs {
                step.previousCell = UnsafePointer(cs + time * n)
                step.cellOut = cs + (time + 1) * n
            }
            step.saved = keep + time * n
            step.mask = mask + time * n
            Cell.forward(step)
        }
    }

    /// Backpropagation through time over this block's rows: `dy` has the forward output's
    /// layout (`[N, T, H]` or `[N, H]`) and `dx [N, T, I]` receives the input gradient. Weight
    /// gradients go to `storeGradients(ℓ)` (added) when the block has no private buffer, and
    /// overwrite ``privateGradients`` otherwise, at `gradientOffsets[ℓ]`.
    func backward(
        outputGradient dy: UnsafePointer<Float>, weights: RecurrentWeights,
        gradientOffsets: [RecurrentNetwork<Cell>.GradientOffsets],
        inputGradient dx: UnsafeMutablePointer<Float>
    ) {
        let n = rows, t = steps, h = hiddenSize, l = t * n, i = inputSize, sequences = returnedSequences
        let top = arena[outputGradients[0]]
        if !sequences { top.update(repeating: 0, count: h * l) }
        // dy[:, step, :] ([N × H]) transposed into top's column block `step` ([H × N], row
        // stride L); only the last step's without sequences.
        if sequences {
            for step in 0..<t { revisit_transpose(n, h, dy + step * h, t * h, top + step * n, l) }
        } else {
            revisit_transpose(n, h, dy, h, top + (t - 1) * n, l)
        }
        var current = 0
        for layer in stride(from: layerCount - 1, through: 0, by: -1) {
            let target: RecurrentWeights.Gradients
            if ownGradients.count == 0 {
                target = weights.gradients(layer, accumulate: true)
            } else {
                let own = arena[ownGradients], o = gradientOffsets[layer]
                target = RecurrentWeights.Gradients(
                    inputWeights: own + o.inputWeights, recurrentWeights: own + o.recurrentWeights,
                    inputBias: own + o.inputBias, recurrentBias: own + o.recurrentBias, accumulate: false)
            }
            backwardLayer(layer, outputGradientIndex: current, weights, target)
            current = 1 - current
        }
        // The gradient's column block `step` ([I × N], row stride L) into dx[:, step, :].
        let gradient = UnsafePointer(arena[inputGradient])
        for step in 0..<t { revisit_transpose(i, n, gradient + step * n, l, dx + step * i, t * i) }
    }

    private func backwardLayer(
        _ layer: Int, outputGradientIndex index: Int, _ weights: RecurrentWeights, _ target: RecurrentWeights.Gradients
    ) {
        let n = rows, t = steps, h = hiddenSize, l = t * n, width = Cell.gateCount * hiddenSize,
            stateStride = (t + 1) * n
        let (x, xWidth, xStride) = layerInput(layer)
        let summed = Cell.projectionsEnterAsSum
        let whh = weights.recurrentWeight(layer), wih = weights.inputWeight(layer)
        let dhNext = arena[hiddenGradient], dc = arena[cellGradient]
        dhNext.update(repeating: 0, count: h * n)
        dc.update(repeating: 0, count: h * n)
        let cellStates = Cell.hasCellState ? UnsafePointer(arena[cells[layer]]) : nil
        let dy = UnsafePointer(arena[outputGradients[index]]), hs = UnsafePointer(arena[hiddens[layer]])
        let keep = arena[saved[layer]], mask = UnsafePointer(arena[stepMask])
        let dxp = arena[projectionGradient], drp = arena[recurrentProjectionGradient]
        // The gradient reaching h₋₁ through W_hh: the pre-activation's when summed, the
        // recurrent projection's otherwise.
        let recurrentGradient = summed ? dxp : drp
        var step = RecurrentStep(hidden: h, rows: n)
        step.outputGradientStride = l
        step.hiddenGradient = dhNext
        if Cell.hasCellState { step.cellGradient = dc }
        step.savedStride = l
        step.stateStride = stateStride
        step.gradientStride = l
        for time in stride(from: t - 1, through: 0, by: -1) {
            step.outputGradient = dy + time * n
            step.saved = keep + time * n  // read only in backward
            step.previousHidden = hs + time * n
            if let cellStates { step.previousCell = cellStates + time * n }
            step.projectionGradient = dxp + time * n
            if !summed { step.recurrentProjectionGradient = drp + time * n }
            step.mask = mask + time * n
            Cell.backward(step)
            // dL/dh₋₁ = (what the cell left: direct path, carried) + W_hhᵀ · dRP_t.
            BLAS.sgemm(
                transposeA: true, transposeB: false, m: h, n: n, k: width, alpha: 1,
                a: whh, lda: h, b: recurrentGradient + time * n, ldb: l, beta: 1, c: dhNext, ldc: n)
        }
        let dxpAll = UnsafePointer(dxp), drpAll = UnsafePointer(recurrentGradient)
        // dW_hh (+)= dRP · H₋₁ᵀ,  dW_ih (+)= dXP · Xᵀ   (columns are the L (step, sequence) pairs;
        // H₋₁ is h_0 … h_{T−1})
        let beta: Float = target.accumulate ? 1 : 0
        BLAS.sgemm(
            transposeA: false, transposeB: true, m: width, n: h, k: l, alpha: 1,
            a: drpAll, lda: l, b: hs, ldb: stateStride, beta: beta, c: target.recurrentWeights, ldc: h)
        BLAS.sgemm(
            transposeA: false, transposeB: true, m: width, n: xWidth, k: l, alpha: 1,
            a: dxpAll, lda: l, b: x, ldb: xStride, beta: beta, c: target.inputWeights, ldc: xWidth)
        // Bias gradients: row sums over the L columns (both biases receive the pre-activation
        // gradient when summed), vectorised with a fixed summation order.
        let accumulate: Int32 = target.accumulate ? 1 : 0
        revisit_row_sums(width, l, dxpAll, l, target.inputBias, accumulate)
        revisit_row_sums(width, l, drpAll, l, target.recurrentBias, accumulate)
        // dL/d(layer input) = W_ihᵀ · dXP, feature-major: the block's input gradient for layer
        // 0, the other ping-pong buffer (the layer below's output gradient) above it.
        let out = layer == 0 ? arena[inputGradient] : arena[outputGradients[1 - index]]
        BLAS.sgemm(
            transposeA: true, transposeB: false, m: xWidth, n: l, k: width, alpha: 1,
            a: wih, lda: xWidth, b: dxpAll, ldb: l, beta: 0, c: out, ldc: l)
    }
}
