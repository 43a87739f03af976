import Foundation
import Tensors

/// A fully connected layer: `y = x · Wᵀ + b` (PyTorch's `nn.Linear`, Keras's `Dense`).
///
/// Shapes: input `[..., I]` (any leading axes, treated as `R` rows), output `[..., O]`;
/// `weight [O, I]`, `bias [O]`, exactly PyTorch's layout, so a `state_dict` maps one to one.
///
/// Backward, given `dy [R, O]`: `dW += dyᵀ · x`, `db += Σ_rows dy`, `dx = dy · W`. The forward
/// pass copies its input into a buffer of its own for the weight gradient: keeping a reference
/// instead would leave the caller's buffer shared, so the caller's next forward pass into that
/// buffer would have to allocate a new one (R·I floats per step, small next to the product).
///
/// Initialisation (PyTorch's default): `W, b ~ U(−1/√I, 1/√I)`.
public struct Linear {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let weight: ParameterHandle
    public let bias: ParameterHandle?

    /// The input of the last forward pass, as `[R, I]` (a copy, saved for backward), and the
    /// shape it had.
    private var savedInput = Tensor.zeros([0, 0])
    private var savedInputShape: [Int] = []

    /// Declares `name.weight` and `name.bias` (unless `bias` is false) in `layout`.
    public init(
        _ name: String, inputFeatures: Int, outputFeatures: Int, bias: Bool = true, layout: inout ParameterLayout
    ) {
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        weight = layout.declare("\(name).weight", shape: [outputFeatures, inputFeatures])
        self.bias = bias ? layout.declare("\(name).bias", shape: [outputFeatures]) : nil
    }

    /// PyTorch's default initialisation.
    public func initialize(_ parameters: ParameterStore, using random: inout SeededRandom) {
        let bound = 1 / Float(inputFeatures).squareRoot()
        parameters.initializeUniform(weight, bound: bound, using: &random)
        if let bias { parameters.initializeUniform(bias, bound: bound, using: &random) }
    }

    /// `y = x · Wᵀ + b`. `x` is `[..., I]`; `y` becomes `[..., O]`.
    public mutating func forward(_ x: Tensor, _ parameters: ParameterStore, into y: inout Tensor) {
        precondition(
            x.rank >= 1 && x.shape[x.rank - 1] == inputFeatures,
            "Linear.forward: input shape \(x.shape) does not end in \(inputFeatures) features")
        let rows = x.count / Swift.max(inputFeatures, 1)
        if !Tensor.sameShape(savedInputShape, x.shape) { savedInputShape = x.shape }
        savedInput.prepare(rows: rows, columns: inputFeatures)
        x.withUnsafeBufferPointer { source in
            savedInput.withUnsafeMutableBufferPointer {
                $0.baseAddress!.update(from: source.baseAddress!, count: source.count)
            }
        }
        y.prepare(rows: rows, columns: outputFeatures)
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                BLAS.sgemm(
                    transposeA: false, transposeB: true, m: rows, n: outputFeatures, k: inputFeatures, alpha: 1,
                    a: input.baseAddress!, lda: inputFeatures, b: parameters.values(weight), ldb: inputFeatures,
                    beta: 0, c: output.baseAddress!, ldc: outputFeatures)
                if let bias {
                    let b = parameters.values(bias)
                    for r in 0..<rows {
                        let row = output.baseAddress! + r * outputFeatures
                        for j in 0..<outputFeatures { row[j] += b[j] }
                    }
                }
            }
        }
        if x.rank != 2 { y = y.reshaped(Array(x.shape.dropLast()) + [outputFeatures]) }
    }

    /// Accumulates `dW` and `db` and writes `dx` (shape of the forward input).
    public func backward(_ dy: Tensor, _ parameters: ParameterStore, inputGradient dx: inout Tensor) {
        accumulateParameterGradients(dy, parameters)
        let rows = savedInput.count / Swift.max(inputFeatures, 1)
        dx.prepare(rows: rows, columns: inputFeatures)
        dy.withUnsafeBufferPointer { gradient in
            dx.withUnsafeMutableBufferPointer { out in
                BLAS.sgemm(
                    transposeA: false, transposeB: false, m: rows, n: inputFeatures, k: outputFeatures, alpha: 1,
                    a: gradient.baseAddress!, lda: outputFeatures, b: parameters.values(weight), ldb: inputFeatures,
                    beta: 0, c: out.baseAddress!, ldc: inputFeatures)
            }
        }
        if savedInputShape.count != 2 { dx = dx.reshaped(savedInputShape) }
    }

    /// Accumulates `dW += dyᵀ · x` and `db += Σ dy` only: for a first layer whose input needs
    /// no gradient.
    public func accumulateParameterGradients(_ dy: Tensor, _ parameters: ParameterStore) {
        let rows = savedInput.count / Swift.max(inputFeatures, 1)
        precondition(
            dy.count == rows * outputFeatures,
            "Linear.backward: output gradient shape \(dy.shape) does not match the forward output [\(rows), \(outputFeatures)]"
        )
        dy.withUnsafeBufferPointer { gradient in
            savedInput.withUnsafeBufferPointer { input in
                BLAS.sgemm(
                    transposeA: true, transposeB: false, m: outputFeatures, n: inputFeatures, k: rows, alpha: 1,
                    a: gradient.baseAddress!, lda: outputFeatures, b: input.baseAddress!, ldb: inputFeatures,
                    beta: 1, c: parameters.gradients(weight), ldc: inputFeatures)
            }
            if let bias {
                let db = parameters.gradients(bias)
                for r in 0..<rows {
                    let row = gradient.baseAddress! + r * outputFeatures
                    for j in 0..<outputFeatures { db[j] += row[j] }
                }
            }
        }
    }
}
