import Foundation
import Tensors

/// Binary cross-entropy on logits (PyTorch's `BCEWithLogitsLoss`), numerically stable.
///
/// For a logit z and a label y ∈ [0, 1] (hard or soft):
/// ```
/// ℓ(z, y) = −w_y · [ y·log σ(z) + (1 − y)·log(1 − σ(z)) ]
///         = w_y · [ max(z, 0) − z·y + log(1 + e^(−|z|)) ]      (the form evaluated: no overflow)
/// ∂ℓ/∂z   = w_y · (σ(z) − y)
/// ```
/// with `w_y` from ``ClassWeights``. `mean` divides by the number of examples N, as PyTorch
/// does for its per-element `weight`.
///
/// Shapes: `logits [N]` or `[N, 1]`, `labels [N]`; the gradient has the shape of `logits`.
public struct BinaryCrossEntropy: Sendable {
    public var classWeights: ClassWeights
    public var reduction: Reduction

    public init(classWeights: ClassWeights = .none, reduction: Reduction = .mean) {
        self.classWeights = classWeights
        self.reduction = reduction
    }

    /// The loss, and its gradient with respect to `logits` written into `gradient`.
    public func callAsFunction(logits: Tensor, labels: Tensor, gradient: inout Tensor) -> Float {
        let n = labels.count
        precondition(labels.rank == 1 && logits.count == n && (logits.rank == 1 || (logits.rank == 2 && logits.shape[1] == 1)),
                     "BinaryCrossEntropy: logits \(logits.shape) and labels \(labels.shape) must be [N] (or [N, 1]) and [N]")
        gradient.prepare(shape: logits.shape)
        let scale: Float = reduction == .mean ? 1 / Float(Swift.max(n, 1)) : 1
        var total = 0.0
        logits.withUnsafeBufferPointer { z in
            labels.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { dz in
                    for i in 0..<n {
                        let w = classWeights.weight(forLabel: y[i])
                        let loss = Swift.max(z[i], 0) - z[i] * y[i] + Foundation.log1p(Foundation.exp(-abs(z[i])))
                        total += Double(w) * Double(loss)
                        dz[i] = scale * w * (UnaryFunction.sigmoid(z[i]) - y[i])
                    }
                }
            }
        }
        return Float(reduction == .mean ? total / Double(Swift.max(n, 1)) : total)
    }
}
