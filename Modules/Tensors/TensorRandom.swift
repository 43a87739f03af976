// SeededRandom lives in the Random module, which needs nothing else (Metrics, Evaluation and
// Synth use it without tensors); every module that imports Tensors sees it as before.
@_exported import Random

extension Tensor {
    /// Elements drawn uniformly from `range` (see ``SeededRandom/uniform(in:)``), row-major order.
    public static func uniform(_ shape: [Int], in range: Range<Float>, using random: inout SeededRandom) -> Tensor {
        let tensor = Tensor(uninitializedShape: shape)
        for i in 0..<tensor.count { tensor.buffer.base[i] = random.uniform(in: range) }
        return tensor
    }

    /// Elements drawn from a normal distribution, row-major order.
    public static func normal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, using random: inout SeededRandom
    ) -> Tensor {
        let tensor = Tensor(uninitializedShape: shape)
        for i in 0..<tensor.count {
            tensor.buffer.base[i] = random.normal(mean: mean, standardDeviation: standardDeviation)
        }
        return tensor
    }

    /// Elements that are 1 with probability `probability` and 0 otherwise, row-major order.
    public static func bernoulli(_ shape: [Int], probability: Double, using random: inout SeededRandom) -> Tensor {
        let tensor = Tensor(uninitializedShape: shape)
        for i in 0..<tensor.count { tensor.buffer.base[i] = random.bernoulli(probability: probability) ? 1 : 0 }
        return tensor
    }
}
