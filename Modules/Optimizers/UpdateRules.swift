import Foundation

/// The per-parameter update rules, as pure functions of one parameter, its gradient and its
/// optimizer state (MLX's style). The optimizers apply them in one flat loop over the parameter
/// arena (llm.c's style), so there is no per-tensor bookkeeping and nothing to allocate.
public enum UpdateRule {
    /// One Adam step for one parameter (Kingma & Ba, "Adam: A Method for Stochastic
    /// Optimization", ICLR 2015, https://arxiv.org/abs/1412.6980), bias-corrected, as PyTorch's
    /// `torch.optim.Adam` / `AdamW` compute it:
    /// ```
    /// g ← g + λ·p                        (coupled L2 decay: Adam's weight_decay)
    /// p ← p · (1 − η·λ_w)                (decoupled decay: AdamW, Loshchilov & Hutter 2019)
    /// m ← β₁·m + (1 − β₁)·g
    /// v ← β₂·v + (1 − β₂)·g²
    /// p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
    /// ```
    /// - Parameters:
    ///   - biasCorrection1: `1 − β₁ᵗ`; `biasCorrection2Root`: `√(1 − β₂ᵗ)`, computed once per step.
    @inline(__always)
    public static func adam(
        parameter p: inout Float, gradient: Float, firstMoment m: inout Float, secondMoment v: inout Float,
        learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
        coupledDecay: Float, decoupledDecay: Float, biasCorrection1: Float, biasCorrection2Root: Float
    ) {
        let g = gradient + coupledDecay * p
        if decoupledDecay != 0 { p *= 1 - learningRate * decoupledDecay }
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        let denominator = v.squareRoot() / biasCorrection2Root + epsilon
        p -= (learningRate / biasCorrection1) * m / denominator
    }

    /// One SGD step with momentum for one parameter, as PyTorch's `torch.optim.SGD`
    /// (dampening 0):
    /// ```
    /// g ← g + λ·p
    /// b ← g                      on the first step,  b ← μ·b + g  afterwards
    /// p ← p − η·(g + μ·b)        with Nesterov,      p ← p − η·b  without
    /// ```
    @inline(__always)
    public static func sgd(
        parameter p: inout Float, gradient: Float, momentumBuffer b: inout Float,
        learningRate: Float, momentum: Float, weightDecay: Float, nesterov: Bool, firstStep: Bool
    ) {
        let g = gradient + weightDecay * p
        if momentum == 0 {
            p -= learningRate * g
            return
        }
        b = firstStep ? g : momentum * b + g
        p -= learningRate * (nesterov ? g + momentum * b : b)
    }
}
