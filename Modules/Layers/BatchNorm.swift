import Tensors

/// Batch normalisation over the channels of channels-last data (PyTorch's `nn.BatchNorm1d`
/// applied to `[N, C, T]`, here on `[N, T, C]`, or on `[N, C]`).
///
/// Training mode normalises with the batch statistics over every position but the channel axis
/// (M = N·T values per channel) and updates the running statistics; inference mode uses the
/// running statistics:
/// ```
/// x̂ = (x − μ) / √(σ² + ε),   y = γ·x̂ + β                  (σ² biased, over the batch)
/// running_mean ← (1 − m)·running_mean + m·μ
/// running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)     (unbiased, as PyTorch)
/// ```
/// m = 0.1 (PyTorch's `momentum`), ε = 1e-5. Backward in training mode:
/// `dx = γ/(M·√(σ²+ε)) · (M·dy − Σdy − x̂·Σ(dy·x̂))`, `dγ += Σ dy·x̂`, `dβ += Σ dy`.
///
/// Parameters `weight` (γ, initialised to 1) and `bias` (β, 0); buffers `running_mean` (0) and
/// `running_var` (1), under PyTorch's names. PyTorch's `num_batches_tracked` counter is
/// ``batchesTracked`` here (it only matters when `momentum=None`).
///
/// Paper: S. Ioffe, C. Szegedy, "Batch Normalization", ICML 2015, https://arxiv.org/abs/1502.03167
public struct BatchNorm {
    public let channels: Int
    public let momentum: Float
    public let epsilon: Float
    public let weight: ParameterHandle
    public let bias: ParameterHandle
    public let runningMean: BufferHandle
    public let runningVariance: BufferHandle
    /// Training-mode forward passes so far (PyTorch's `num_batches_tracked`).
    public private(set) var batchesTracked = 0

    private var normalized = Tensor.zeros([0, 0])  // x̂ [M, C] saved for backward
    private var inverseDeviation = [Float]()  // 1/√(σ² + ε) per channel
    private var sums = [Double](), products = [Double]()  // per-channel scratch
    /// Per-channel scratch of backward `[3, C]`: γ/σ, mean dy and mean dy·x̂ (as Float, the
    /// values the per-element formula uses).
    private var channelFactors = [Float]()
    private var lastMode = Mode.training

    public init(
        _ name: String, channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, layout: inout ParameterLayout
    ) {
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        weight = layout.declare("\(name).weight", shape: [channels])
        bias = layout.declare("\(name).bias", shape: [channels])
        runningMean = layout.declareBuffer("\(name).running_mean", shape: [channels])
        runningVariance = layout.declareBuffer("\(name).running_var", shape: [channels])
        inverseDeviation = [Float](repeating: 0, count: channels)
        sums = [Double](repeating: 0, count: channels)
        products = [Double](repeating: 0, count: channels)
        channelFactors = [Float](repeating: 0, count: 3 * channels)
    }

    /// γ = 1, β = 0, running mean 0, running variance 1 (PyTorch's initial state).
    public func initialize(_ parameters: ParameterStore) {
        parameters.fill(weight, with: 1)
        parameters.fill(bias, with: 0)
        parameters.buffer(runningMean).update(repeating: 0, count: channels)
        parameters.buffer(runningVariance).update(repeating: 1, count: channels)
    }

    /// Normalises `x` (`[..., C]`) into `y` (same shape).
    public mutating func forward(_ x: Tensor, mode: Mode, _ parameters: ParameterStore, into y: inout Tensor) {
        precondition(
            x.rank >= 2 && x.shape[x.rank - 1] == channels,
            "BatchNorm.forward: input shape \(x.shape) does not end in \(channels) channels")
        let c = channels, m = x.count / c
        lastMode = mode
        y.prepare(shape: x.shape)
        normalized.prepare(rows: m, columns: c)
        let gamma = parameters.values(weight), beta = parameters.values(bias)
        let meanBuffer = parameters.buffer(runningMean), varianceBuffer = parameters.buffer(runningVariance)
        x.withUnsafeBufferPointer { input in
            if mode == .training {
                precondition(
                    m > 1, "BatchNorm.forward: training needs more than one value per channel, got input \(x.shape)")
                for j in 0..<c { sums[j] = 0; products[j] = 0 }
                for row in 0..<m {
                    let r = input.baseAddress! + row * c
                    for j in 0..<c { sums[j] += Double(r[j]) }
                }
                for j in 0..<c { sums[j] /= Double(m) }  // now the means
                for row in 0..<m {
                    let r = input.baseAddress! + row * c
                    for j in 0..<c {
                        let d = Double(r[j]) - sums[j]
                        products[j] += d * d
                    }
                }
                for j in 0..<c {
                    let variance = products[j] / Double(m)
                    inverseDeviation[j] = Float(1 / (variance + Double(epsilon)).squareRoot())
                    meanBuffer[j] = (1 - momentum) * meanBuffer[j] + momentum * Float(sums[j])
                    varianceBuffer[j] =
                        (1 - momentum) * varianceBuffer[j] + momentum * Float(variance * Double(m) / Double(m - 1))
                }
                batchesTracked += 1
            } else {
                for j in 0..<c {
                    sums[j] = Double(meanBuffer[j])
                    inverseDeviation[j] = 1 / (varianceBuffer[j] + epsilon).squareRoot()
                }
            }
            normalized.withUnsafeMutableBufferPointer { xhat in
                y.withUnsafeMutableBufferPointer { out in
                    for row in 0..<m {
                        let r = input.baseAddress! + row * c, h = xhat.baseAddress! + row * c,
                            o = out.baseAddress! + row * c
                        for j in 0..<c {
                            h[j] = (r[j] - Float(sums[j])) * inverseDeviation[j]
                            o[j] = gamma[j] * h[j] + beta[j]
                        }
                    }
                }
            }
        }
    }

    /// Accumulates `dγ`, `dβ` and writes `dx` (shape of `dy`), for the mode of the last forward.
    public mutating func backward(_ dy: Tensor, _ parameters: ParameterStore, inputGradient dx: inout Tensor) {
        let c = channels, m = dy.count / c
        precondition(
            dy.count == normalized.count,
            "BatchNorm.backward: gradient shape \(dy.shape) does not match the forward input")
        let gamma = parameters.values(weight)
        let dGamma = parameters.gradients(weight), dBeta = parameters.gradients(bias)
        dx.prepare(shape: dy.shape)
        for j in 0..<c { sums[j] = 0; products[j] = 0 }
        dy.withUnsafeBufferPointer { gradient in
            normalized.withUnsafeBufferPointer { xhat in
                for row in 0..<m {
                    let g = gradient.baseAddress! + row * c, h = xhat.baseAddress! + row * c
                    for j in 0..<c {
                        sums[j] += Double(g[j])  // Σ dy
                        products[j] += Double(g[j] * h[j])  // Σ dy·x̂
                    }
                }
                for j in 0..<c {
                    dBeta[j] += Float(sums[j])
                    dGamma[j] += Float(products[j])
                }
                // The per-channel factors once, then one branch-free pass over the rows (the same
                // arithmetic per element as before, so the same bits).
                let training = lastMode == .training
                channelFactors.withUnsafeMutableBufferPointer { factors in
                    let scale = factors.baseAddress!, meanGradient = scale + c, meanProduct = scale + 2 * c
                    for j in 0..<c {
                        scale[j] = gamma[j] * inverseDeviation[j]
                        meanGradient[j] = training ? Float(sums[j] / Double(m)) : 0
                        meanProduct[j] = training ? Float(products[j] / Double(m)) : 0
                    }
                    dx.withUnsafeMutableBufferPointer { out in
                        for row in 0..<m {
                            let g = gradient.baseAddress! + row * c, h = xhat.baseAddress! + row * c,
                                o = out.baseAddress! + row * c
                            if training {
                                for j in 0..<c { o[j] = scale[j] * (g[j] - meanGradient[j] - h[j] * meanProduct[j]) }
                            } else {
                                for j in 0..<c { o[j] = scale[j] * g[j] }
                            }
                        }
                    }
                }
            }
        }
    }
}
