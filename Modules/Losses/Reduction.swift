/// How per-example losses combine into the scalar that is minimised.
public enum Reduction: String, Sendable, CaseIterable {
    /// The average: `Σ wₙ·ℓₙ / Σ wₙ` for losses whose PyTorch counterpart normalises by the
    /// weights (``SoftmaxCrossEntropy``), `Σ wₙ·ℓₙ / N` for the others. Each loss says which.
    case mean
    /// `Σ wₙ·ℓₙ`.
    case sum
}

/// Per-class weights for a binary problem: each example's loss is multiplied by the weight of
/// its target class (`negative` for label 0, `positive` for label 1; a soft label y mixes them
/// as `y·positive + (1 − y)·negative`). Counteracts class imbalance: orders are rare.
public struct ClassWeights: Sendable, Equatable {
    public var negative: Float
    public var positive: Float

    public init(negative: Float = 1, positive: Float = 1) {
        self.negative = negative
        self.positive = positive
    }

    /// No reweighting.
    public static let none = ClassWeights()

    @inline(__always)
    func weight(forLabel y: Float) -> Float { y * positive + (1 - y) * negative }
}
