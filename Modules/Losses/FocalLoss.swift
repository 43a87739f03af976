import Foundation
import Tensors

/// Focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017,
/// https://arxiv.org/abs/1708.02002): cross-entropy scaled down on well-classified examples so
/// that training concentrates on the rare, hard ones (orders are rare).
///
/// With p the predicted probability of the positive class ("order") and a label y ∈ {0, 1}:
/// ```
/// p_t = p       if y = 1,   1 − p     if y = 0
/// α_t = α       if y = 1,   1 − α     if y = 0        ← α weights the POSITIVE class
/// FL  = −α_t · (1 − p_t)^γ · log p_t
/// ```
/// α = 0.25 and γ = 2 are the study's settings (and the paper's). Frameworks disagree on α:
/// torchvision's `sigmoid_focal_loss` uses it as here; some Keras implementations weight the
/// negative class with α instead. Here α always multiplies positives. γ = 0 and α = 0.5 give
/// half the ordinary cross-entropy.
///
/// Two input forms, both reduced by `mean` over N examples or `sum`:
/// - ``Form/binaryLogit``: one logit z per example, p = σ(z); log p_t is evaluated as
///   `−softplus(∓z)`, so it never overflows and needs no clamp.
/// - ``Form/twoClassSoftmax``: two logits per example (no order, order), p = softmax(z)₁ =
///   σ(z₁ − z₀), then clamped to [ε, 1 − ε] with ε = 1e-7 before the formula, exactly as the
///   study's PyTorch reference (`../shared/bench/torch_reference.py`) computes it on softmax
///   outputs. Where the clamp is active the gradient is 0 (as `torch.clamp`'s).
///
/// Gradient, with s = +1 for y = 1 and −1 for y = 0 (so ∂p_t/∂p = s):
/// ```
/// ∂FL/∂p_t = α_t · [ γ(1 − p_t)^(γ−1) · log p_t − (1 − p_t)^γ / p_t ]
/// ∂p/∂z = p(1 − p)  (binary logit);   ∂p/∂z₁ = −∂p/∂z₀ = p(1 − p)  (two-class softmax)
/// ```
/// (for the binary-logit form the product is simplified to avoid dividing by a tiny p_t).
public struct FocalLoss: Sendable {
    public enum Form: String, Sendable {
        case binaryLogit
        case twoClassSoftmax
    }

    public var alpha: Float
    public var gamma: Float
    public var form: Form
    public var reduction: Reduction
    /// The probability clamp of the two-class form.
    public static let epsilon: Float = 1e-7

    public init(alpha: Float = 0.25, gamma: Float = 2, form: Form = .twoClassSoftmax, reduction: Reduction = .mean) {
        precondition(
            alpha >= 0 && alpha <= 1 && gamma >= 0,
            "FocalLoss: needs 0 ≤ α ≤ 1 and γ ≥ 0, got α = \(alpha), γ = \(gamma)")
        self.alpha = alpha
        self.gamma = gamma
        self.form = form
        self.reduction = reduction
    }

    /// The loss, and its gradient with respect to `logits` written into `gradient`.
    ///
    /// Shapes: `.binaryLogit` takes `logits [N]` or `[N, 1]`; `.twoClassSoftmax` takes `[N, 2]`
    /// (column 1 = order). `labels [N]` holds 0 or 1.
    public func callAsFunction(logits: Tensor, labels: Tensor, gradient: inout Tensor) -> Float {
        let n = labels.count
        switch form {
        case .binaryLogit:
            precondition(
                labels.rank == 1 && logits.count == n
                    && (logits.rank == 1 || (logits.rank == 2 && logits.shape[1] == 1)),
                "FocalLoss(binaryLogit): logits \(logits.shape) and labels \(labels.shape) must be [N] (or [N, 1]) and [N]"
            )
        case .twoClassSoftmax:
            precondition(
                labels.rank == 1 && logits.rank == 2 && logits.shape[0] == n && logits.shape[1] == 2,
                "FocalLoss(twoClassSoftmax): logits \(logits.shape) must be [N, 2] for labels \(labels.shape)")
        }
        gradient.prepare(shape: logits.shape)
        let scale = reduction == .mean ? 1 / Double(Swift.max(n, 1)) : 1
        var total = 0.0
        logits.withUnsafeBufferPointer { z in
            labels.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { dz in
                    for i in 0..<n {
                        let positive = y[i] >= 0.5
                        let alphaT = Double(positive ? alpha : 1 - alpha)
                        let g = Double(gamma)
                        switch form {
                        case .binaryLogit:
                            let logit = Double(z[i])
                            let signed = positive ? logit : -logit  // p_t = σ(signed)
                            let logPt = -softplus(-signed)
                            let pt = Foundation.exp(logPt)
                            let oneMinus = 1 - pt  // = σ(−signed)
                            total += -alphaT * Foundation.pow(oneMinus, g) * logPt
                            // d/dsigned of −α(1−p)^γ log p, with dp/dsigned = p(1−p):
                            //   α(1−p)^γ · [γ p log p − (1 − p)]
                            let dSigned = alphaT * Foundation.pow(oneMinus, g) * (g * pt * logPt - oneMinus)
                            dz[i] = Float(scale * (positive ? dSigned : -dSigned))
                        case .twoClassSoftmax:
                            let difference = Double(z[2 * i + 1]) - Double(z[2 * i])
                            let p = 1 / (1 + Foundation.exp(-difference))
                            let clamped = Swift.min(
                                Swift.max(p, Double(FocalLoss.epsilon)), 1 - Double(FocalLoss.epsilon))
                            let pt = positive ? clamped : 1 - clamped
                            let oneMinus = 1 - pt
                            let logPt = Foundation.log(pt)
                            total += -alphaT * Foundation.pow(oneMinus, g) * logPt
                            var dp = 0.0
                            if p >= Double(FocalLoss.epsilon) && p <= 1 - Double(FocalLoss.epsilon) {
                                let gammaTerm = g == 0 ? 0 : g * Foundation.pow(oneMinus, g - 1) * logPt
                                let dPt = alphaT * (gammaTerm - Foundation.pow(oneMinus, g) / pt)
                                dp = (positive ? dPt : -dPt) * p * (1 - p)
                            }
                            dz[2 * i + 1] = Float(scale * dp)
                            dz[2 * i] = Float(-scale * dp)
                        }
                    }
                }
            }
        }
        return Float(total * scale)
    }

    /// log(1 + eˣ) without overflow.
    @inline(__always)
    private func softplus(_ x: Double) -> Double { Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-abs(x))) }
}
