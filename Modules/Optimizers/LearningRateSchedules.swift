import Foundation

/// Learning-rate schedules, stepped once per epoch, with PyTorch's semantics.
public enum LearningRateSchedule: Sendable, Equatable {
    /// The base rate throughout.
    case constant
    /// `η · γ^⌊epoch / stepSize⌋` (PyTorch `StepLR`).
    case step(stepSize: Int, gamma: Float)
    /// `η_min + (η − η_min)·(1 + cos(π·epoch/T))/2` (PyTorch `CosineAnnealingLR`'s closed form;
    /// Loshchilov & Hutter, "SGDR", https://arxiv.org/abs/1608.03983).
    case cosine(period: Int, minimum: Float)

    /// The rate for `epoch` (0 for the first) given the base rate.
    public func learningRate(epoch: Int, base: Float) -> Float {
        switch self {
        case .constant:
            return base
        case .step(let stepSize, let gamma):
            precondition(stepSize > 0, "LearningRateSchedule.step: step size must be positive")
            return base * Float(Foundation.pow(Double(gamma), Double(epoch / stepSize)))
        case .cosine(let period, let minimum):
            precondition(period > 0, "LearningRateSchedule.cosine: period must be positive")
            let phase = Double.pi * Double(epoch) / Double(period)
            return Float(Double(minimum) + (Double(base) - Double(minimum)) * (1 + Foundation.cos(phase)) / 2)
        }
    }
}

/// Lowers the learning rate when a monitored metric (the validation loss) stops improving:
/// PyTorch's `ReduceLROnPlateau` in `min` mode with a relative threshold.
///
/// After each epoch call ``step(metric:)``. A metric counts as an improvement when it is below
/// `best · (1 − threshold)`. After more than `patience` epochs without one, the rate is
/// multiplied by `factor` (not below `minimum`), and `cooldown` epochs pass before counting again.
public struct ReduceOnPlateau: Sendable, Equatable {
    public let factor: Float
    public let patience: Int
    public let threshold: Float
    public let cooldown: Int
    public let minimum: Float
    public private(set) var learningRate: Float
    public private(set) var best = Float.infinity
    private var badEpochs = 0
    private var cooldownLeft = 0

    public init(
        learningRate: Float, factor: Float = 0.1, patience: Int = 10, threshold: Float = 1e-4,
        cooldown: Int = 0, minimum: Float = 0
    ) {
        precondition(factor > 0 && factor < 1, "ReduceOnPlateau: factor must be in (0, 1), got \(factor)")
        self.learningRate = learningRate
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.minimum = minimum
    }

    /// Records an epoch's metric and returns the learning rate for the next epoch.
    @discardableResult
    public mutating func step(metric: Float) -> Float {
        if metric < best * (1 - threshold) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            badEpochs = 0
        }
        if badEpochs > patience {
            let reduced = Swift.max(learningRate * factor, minimum)
            // PyTorch skips reductions smaller than its eps (1e-8).
            if learningRate - reduced > 1e-8 { learningRate = reduced }
            cooldownLeft = cooldown
            badEpochs = 0
        }
        return learningRate
    }
}
