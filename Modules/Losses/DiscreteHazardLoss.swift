import Foundation
import Tensors

/// The censoring-aware negative log-likelihood of a discrete-time hazard model (Singer &
/// Willett 1993; Tutz & Schmid 2016, ch. 3; in neural form Gensheimer & Narasimhan 2019,
/// "A scalable discrete-time survival model for neural networks", https://doi.org/10.7717/peerj.6257).
///
/// Each example has K bins; the network gives one logit z_k per bin, the hazard
/// h_k = σ(z_k) = P(event in bin k | none before). An example contributes the bins it was at
/// risk in and seen whole (a_k = 1): every bin before its event, labelled y_k = 0, and the
/// event's bin, y_k = 1; a censored example only its silent bins. Its likelihood
/// Π_k h_k^(y_k) (1 − h_k)^(1 − y_k) over those bins is exactly P(no event before, event in
/// bin k) or P(no event through the bins seen), so the loss is binary cross-entropy masked by
/// a_k:
/// ```
/// ℓ(z, y, a) = Σ_k a_k · [ max(z_k, 0) − z_k·y_k + log(1 + e^(−|z_k|)) ]
/// ∂ℓ/∂z_k    = a_k · (σ(z_k) − y_k)
/// ```
/// `mean` divides by the number of examples N (not by the at-risk count): the loss is the mean
/// log-likelihood per customer, PyTorch's `binary_cross_entropy_with_logits(z, y, weight=a,
/// reduction="sum") / N`.
///
/// Shapes: `logits`, `events`, `atRisk` all `[N, K]`; the gradient `[N, K]`, 0 where a_k = 0.
public struct DiscreteHazardLoss: Sendable {
    public var reduction: Reduction

    public init(reduction: Reduction = .mean) { self.reduction = reduction }

    /// The loss, and its gradient with respect to `logits` written into `gradient`.
    public func callAsFunction(logits: Tensor, events: Tensor, atRisk: Tensor, gradient: inout Tensor) -> Float {
        precondition(
            logits.rank == 2 && events.shape == logits.shape && atRisk.shape == logits.shape,
            "DiscreteHazardLoss: logits \(logits.shape), events \(events.shape) and at-risk mask \(atRisk.shape) must all be [N, K]"
        )
        let n = logits.shape[0], count = logits.count
        gradient.prepare(shape: logits.shape)
        let scale: Float = reduction == .mean ? 1 / Float(Swift.max(n, 1)) : 1
        var total = 0.0
        logits.withUnsafeBufferPointer { z in
            events.withUnsafeBufferPointer { y in
                atRisk.withUnsafeBufferPointer { a in
                    gradient.withUnsafeMutableBufferPointer { dz in
                        for i in 0..<count {
                            guard a[i] != 0 else { dz[i] = 0; continue }
                            let element = logisticLoss(logit: z[i], label: y[i])
                            total += Double(a[i]) * Double(element.loss)
                            dz[i] = scale * a[i] * element.gradient
                        }
                    }
                }
            }
        }
        return Float(reduction == .mean ? total / Double(Swift.max(n, 1)) : total)
    }
}
