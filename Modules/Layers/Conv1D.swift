import Tensors

/// A 1-D convolution over time for channels-last sequences (PyTorch's `nn.Conv1d` with
/// stride 1, applied to `x.transpose(1, 2)`).
///
/// ```
/// y[n, t, o] = b[o] + Σ_c Σ_j W[o, c, j] · x[n, t + j − p_left, c]      (x = 0 outside 0..<T)
/// ```
/// Shapes: input `[N, T, C]`, output `[N, T_out, O]`; `weight [O, C, K]` and `bias [O]`, PyTorch's
/// layout. Padding: `.same` keeps `T_out = T` with PyTorch's split (`p_left = ⌊(K−1)/2⌋`, the rest
/// on the right: 0 left and 1 right for K = 2); `.valid` has no padding (`T_out = T − K + 1`).
///
/// Computed as one matrix product over an im2col matrix `[N·T_out, C·K]` (column `c·K + j`, so
/// the weight is used as stored, `[O, C·K]`). Backward: `dW += dYᵀ · cols`, `db += Σ dY`,
/// `dcols = dY · W`, folded back into `dx` (col2im).
///
/// Initialisation (PyTorch's default): `W, b ~ U(−1/√(C·K), 1/√(C·K))`.
public struct Conv1D {
    public enum Padding: Sendable { case same, valid }

    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let padding: Padding
    public let weight: ParameterHandle
    public let bias: ParameterHandle

    private var columns = Tensor.zeros([0, 0])  // [N·T_out, C·K] saved for backward
    private var columnGradient = Tensor.zeros([0, 0])  // [N·T_out, C·K] backward scratch
    private var batch = 0, steps = 0

    public init(
        _ name: String, inputChannels: Int, outputChannels: Int, kernelSize: Int, padding: Padding,
        layout: inout ParameterLayout
    ) {
        precondition(kernelSize >= 1, "Conv1D: kernel size must be positive")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.padding = padding
        weight = layout.declare("\(name).weight", shape: [outputChannels, inputChannels, kernelSize])
        bias = layout.declare("\(name).bias", shape: [outputChannels])
    }

    public func initialize(_ parameters: ParameterStore, using random: inout SeededRandom) {
        let bound = 1 / Float(inputChannels * kernelSize).squareRoot()
        parameters.initializeUniform(weight, bound: bound, using: &random)
        parameters.initializeUniform(bias, bound: bound, using: &random)
    }

    /// Padding on the left, and the output length, for `steps` input steps.
    public func geometry(steps: Int) -> (left: Int, outputSteps: Int) {
        switch padding {
        case .same: return ((kernelSize - 1) / 2, steps)
        case .valid: return (0, Swift.max(steps - kernelSize + 1, 0))
        }
    }

    public mutating func forward(_ x: Tensor, _ parameters: ParameterStore, into y: inout Tensor) {
        precondition(
            x.rank == 3 && x.shape[2] == inputChannels,
            "Conv1D.forward: input shape \(x.shape) is not [N, T, \(inputChannels)]")
        let n = x.shape[0], t = x.shape[1], c = inputChannels, k = kernelSize, o = outputChannels
        let (left, tOut) = geometry(steps: t)
        batch = n
        steps = t
        let width = c * k
        columns.prepare(rows: n * tOut, columns: width)
        x.withUnsafeBufferPointer { input in
            columns.withUnsafeMutableBufferPointer { cols in
                for sample in 0..<n {
                    for step in 0..<tOut {
                        let row = cols.baseAddress! + (sample * tOut + step) * width
                        for j in 0..<k {
                            let source = step + j - left
                            let inside = source >= 0 && source < t
                            let from = input.baseAddress! + (sample * t + (inside ? source : 0)) * c
                            for channel in 0..<c { row[channel * k + j] = inside ? from[channel] : 0 }
                        }
                    }
                }
            }
        }
        y.prepare(depth: n, rows: tOut, columns: o)
        columns.withUnsafeBufferPointer { cols in
            y.withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(
                    transposeA: false, transposeB: true, m: n * tOut, n: o, k: width, alpha: 1,
                    a: cols.baseAddress!, lda: width, b: parameters.values(weight), ldb: width,
                    beta: 0, c: out.baseAddress!, ldc: o)
                let b = parameters.values(bias)
                for row in 0..<(n * tOut) {
                    let r = out.baseAddress! + row * o
                    for channel in 0..<o { r[channel] += b[channel] }
                }
            }
        }
    }

    /// Accumulates `dW += dYᵀ · cols` and `db += Σ dY` only: for a first layer, whose input
    /// needs no gradient.
    public func accumulateParameterGradients(_ dy: Tensor, _ parameters: ParameterStore) {
        let n = batch, t = steps, c = inputChannels, k = kernelSize, o = outputChannels
        let tOut = geometry(steps: t).outputSteps
        let width = c * k
        precondition(
            dy.count == n * tOut * o, "Conv1D.backward: gradient shape \(dy.shape) is not [\(n), \(tOut), \(o)]")
        dy.withUnsafeBufferPointer { gradient in
            columns.withUnsafeBufferPointer { cols in
                BLAS.sgemm(
                    transposeA: true, transposeB: false, m: o, n: width, k: n * tOut, alpha: 1,
                    a: gradient.baseAddress!, lda: o, b: cols.baseAddress!, ldb: width,
                    beta: 1, c: parameters.gradients(weight), ldc: width)
            }
            let db = parameters.gradients(bias)
            for row in 0..<(n * tOut) {
                let r = gradient.baseAddress! + row * o
                for channel in 0..<o { db[channel] += r[channel] }
            }
        }
    }

    /// Accumulates `dW`, `db` and writes `dx [N, T, C]`.
    public mutating func backward(_ dy: Tensor, _ parameters: ParameterStore, inputGradient dx: inout Tensor) {
        accumulateParameterGradients(dy, parameters)
        let n = batch, t = steps, c = inputChannels, k = kernelSize, o = outputChannels
        let (left, tOut) = geometry(steps: t)
        let width = c * k
        columnGradient.prepare(rows: n * tOut, columns: width)
        dy.withUnsafeBufferPointer { gradient in
            columnGradient.withUnsafeMutableBufferPointer { dcols in
                BLAS.sgemm(
                    transposeA: false, transposeB: false, m: n * tOut, n: width, k: o, alpha: 1,
                    a: gradient.baseAddress!, lda: o, b: parameters.values(weight), ldb: width,
                    beta: 0, c: dcols.baseAddress!, ldc: width)
            }
        }
        dx.prepare(depth: n, rows: t, columns: c)
        columnGradient.withUnsafeBufferPointer { dcols in
            dx.withUnsafeMutableBufferPointer { out in
                out.baseAddress!.update(repeating: 0, count: n * t * c)
                for sample in 0..<n {
                    for step in 0..<tOut {
                        let row = dcols.baseAddress! + (sample * tOut + step) * width
                        for j in 0..<k {
                            let target = step + j - left
                            guard target >= 0 && target < t else { continue }
                            let to = out.baseAddress! + (sample * t + target) * c
                            for channel in 0..<c { to[channel] += row[channel * k + j] }
                        }
                    }
                }
            }
        }
    }
}
