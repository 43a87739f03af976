import Losses
import Models
import Tensors

/// The loss a model is trained with (BRIEF §1: focal loss, α = 0.25, γ = 2, by default).
///
/// The same choice applies to every model: a model with two-class logits (the CNN-LSTMs) gets
/// the two-class softmax form of the focal loss or weighted softmax cross-entropy; a model with
/// one logit (the recurrent stacks, the MLP, logistic regression) gets the binary-logit focal
/// loss or binary cross-entropy. Both forms of each loss are the same function of P(order).
public enum Objective: Codable, Sendable, Equatable {
    /// Focal loss; `alpha` weights the positive class (see `FocalLoss`).
    case focal(alpha: Float, gamma: Float)
    /// Cross-entropy with a weight on positive examples (1 = unweighted).
    case crossEntropy(positiveWeight: Float)

    public static let study = Objective.focal(alpha: 0.25, gamma: 2)

    /// The mean loss over the batch, and dL/dlogits written into `gradient`.
    public func loss(logits: Tensor, labels: Tensor, form: OutputForm, gradient: inout Tensor) -> Float {
        switch (self, form) {
        case (.focal(let alpha, let gamma), .twoClassLogits):
            return FocalLoss(alpha: alpha, gamma: gamma, form: .twoClassSoftmax)(
                logits: logits, labels: labels, gradient: &gradient)
        case (.focal(let alpha, let gamma), .positiveLogit):
            return FocalLoss(alpha: alpha, gamma: gamma, form: .binaryLogit)(
                logits: logits, labels: labels, gradient: &gradient)
        case (.crossEntropy(let weight), .positiveLogit):
            return BinaryCrossEntropy(classWeights: ClassWeights(negative: 1, positive: weight))(
                logits: logits, labels: labels, gradient: &gradient)
        case (.crossEntropy(let weight), .twoClassLogits):
            // σ(z₁ − z₀) is the order probability, so BCE on the logit difference is the
            // two-class cross-entropy, with the per-example weight convention of BCE (÷ N).
            let n = labels.count
            var difference = Tensor.zeros([n])
            logits.withUnsafeBufferPointer { z in
                difference.withUnsafeMutableBufferPointer { d in
                    for row in 0..<n { d[row] = z[row * 2 + 1] - z[row * 2] }
                }
            }
            var differenceGradient = Tensor.zeros([n])
            let value = BinaryCrossEntropy(classWeights: ClassWeights(negative: 1, positive: weight))(
                logits: difference, labels: labels, gradient: &differenceGradient)
            gradient.prepare(rows: n, columns: 2)
            differenceGradient.withUnsafeBufferPointer { g in
                gradient.withUnsafeMutableBufferPointer { out in
                    for row in 0..<n { out[row * 2] = -g[row]; out[row * 2 + 1] = g[row] }
                }
            }
            return value
        case (_, .hazardLogits):
            preconditionFailure("Objective: a hazard head trains on DiscreteHazardLoss, not on \(summary)")
        }
    }

    /// A short description for logs and model metadata (`focal(alpha=0.25,gamma=2)`).
    public var summary: String {
        switch self {
        case .focal(let alpha, let gamma): return "focal(alpha=\(alpha),gamma=\(gamma))"
        case .crossEntropy(let weight): return "cross_entropy(positive_weight=\(weight))"
        }
    }
}
