import Foundation
import Tensors

/// Softmax cross-entropy over C classes (PyTorch's `CrossEntropyLoss` on logits).
///
/// For logits z ∈ ℝ^C and a target class k:
/// ```
/// ℓ(z, k) = −w_k · log softmax(z)_k = w_k · (logsumexp(z) − z_k)
/// ∂ℓ/∂z_j = w_k · (softmax(z)_j − [j = k])
/// ```
/// logsumexp subtracts max(z) first, so large logits do not overflow. With class weights,
/// `mean` divides by `Σₙ w_{kₙ}` (PyTorch's convention for this loss), so weights change the
/// balance between classes, not the loss scale.
///
/// Shapes: `logits [N, C]`, `targets` N class indices in `0..<C`; gradient `[N, C]`.
public struct SoftmaxCrossEntropy: Sendable {
    /// One weight per class, or empty for none.
    public var classWeights: [Float]
    public var reduction: Reduction

    public init(classWeights: [Float] = [], reduction: Reduction = .mean) {
        self.classWeights = classWeights
        self.reduction = reduction
    }

    public func callAsFunction(logits: Tensor, targets: [Int], gradient: inout Tensor) -> Float {
        precondition(
            logits.rank == 2 && logits.shape[0] == targets.count,
            "SoftmaxCrossEntropy: logits \(logits.shape) must be [N, C] with N = \(targets.count) targets")
        let n = logits.shape[0], c = logits.shape[1]
        precondition(
            classWeights.isEmpty || classWeights.count == c,
            "SoftmaxCrossEntropy: \(classWeights.count) class weights for \(c) classes")
        gradient.prepare(rows: n, columns: c)
        var total = 0.0, weightTotal = 0.0
        logits.withUnsafeBufferPointer { z in
            gradient.withUnsafeMutableBufferPointer { dz in
                for i in 0..<n {
                    let k = targets[i]
                    precondition(
                        k >= 0 && k < c, "SoftmaxCrossEntropy: target \(k) of example \(i) is not a class in 0..<\(c)")
                    let row = z.baseAddress! + i * c, out = dz.baseAddress! + i * c
                    var largest = row[0]
                    for j in 1..<c { largest = Swift.max(largest, row[j]) }
                    var sum = 0.0
                    for j in 0..<c {
                        let e = Foundation.exp(row[j] - largest)
                        out[j] = e
                        sum += Double(e)
                    }
                    let w = classWeights.isEmpty ? 1 : classWeights[k]
                    total += Double(w) * (Double(largest) + Foundation.log(sum) - Double(row[k]))
                    weightTotal += Double(w)
                    for j in 0..<c { out[j] = w * Float(Double(out[j]) / sum) }
                    out[k] -= w
                }
                if reduction == .mean && weightTotal > 0 {
                    let scale = Float(1 / weightTotal)
                    for i in 0..<(n * c) { dz[i] *= scale }
                }
            }
        }
        return Float(reduction == .mean ? (weightTotal > 0 ? total / weightTotal : 0) : total)
    }
}
