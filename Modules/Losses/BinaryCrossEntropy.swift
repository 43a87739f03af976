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
        precondition(
            labels.rank == 1 && logits.count == n && (logits.rank == 1 || (logits.rank == 2 && logits.shape[1] == 1)),
            "BinaryCrossEntropy: logits \(logits.shape) and labels \(labels.shape) must be [N] (or [N, 1]) and [N]")
        gradient.prepare(shape: logits.shape)
        let scale: Float = reduction == .mean ? 1 / Float(Swift.max(n, 1)) : 1
        var total = 0.0
        logits.withUnsafeBufferPointer { z in
            labels.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { dz in
                    for i in 0..<n {
                        let w = classWeights.weight(forLabel: y[i])
                        let element = logisticLoss(logit: z[i], label: y[i])
                        total += Double(w) * Double(element.loss)
                        dz[i] = scale * w * element.gradient
                    }
                }
            }
        }
        return Float(reduction == .mean ? total / Double(Swift.max(n, 1)) : total)
    }
}

/// One element of the binary cross-entropy on a logit z with label y, in the form that cannot
/// overflow, and its derivative: max(z, 0) − z·y + log(1 + e^(−|z|)), and σ(z) − y. Shared by
/// ``BinaryCrossEntropy`` and ``DiscreteHazardLoss`` (a hazard bin is a binary outcome).
@inline(__always)
func logisticLoss(logit z: Float, label y: Float) -> (loss: Float, gradient: Float) {
    (Swift.max(z, 0) - z * y + Foundation.log1p(Foundation.exp(-abs(z))), UnaryFunction.sigmoid(z) - y)
}
