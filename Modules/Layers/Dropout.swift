import Tensors

/// Inverted dropout (Srivastava et al., JMLR 15, 2014,
/// https://jmlr.org/papers/v15/srivastava14a.html), as PyTorch's `nn.Dropout`:
/// ```
/// training:  y = x ⊙ m / (1 − p),  m ~ Bernoulli(1 − p) per element     dx = dy ⊙ m / (1 − p)
/// inference: y = x                                                          dx = dy
/// ```
/// The mask comes from the `SeededRandom` the caller passes, so a training run is reproducible
/// from its seed; the scaled mask is saved for backward. No parameters.
public struct Dropout {
    /// The probability p of zeroing an element.
    public let rate: Float
    private var scaledMask = Tensor.zeros([0])  // m / (1 − p), shape of the last training input
    private var lastMode = Mode.inference

    public init(rate: Float) {
        precondition(rate >= 0 && rate < 1, "Dropout: rate must be in [0, 1), got \(rate)")
        self.rate = rate
    }

    public mutating func forward(_ x: Tensor, mode: Mode, random: inout SeededRandom, into y: inout Tensor) {
        lastMode = mode
        y.prepare(shape: x.shape)
        if mode == .inference || rate == 0 {
            x.withUnsafeBufferPointer { source in
                y.withUnsafeMutableBufferPointer {
                    $0.baseAddress!.update(from: source.baseAddress!, count: source.count)
                }
            }
            return
        }
        scaledMask.prepare(shape: x.shape)
        let keep = 1 - rate, scale = 1 / (1 - rate)
        x.withUnsafeBufferPointer { source in
            scaledMask.withUnsafeMutableBufferPointer { mask in
                y.withUnsafeMutableBufferPointer { out in
                    // The uniforms first, in bulk (the same draws as one `uniform()` per
                    // element), then a loop the compiler vectorises.
                    random.fillUniform(mask)
                    for i in 0..<source.count {
                        mask[i] = mask[i] < keep ? scale : 0
                        out[i] = source[i] * mask[i]
                    }
                }
            }
        }
    }

    public func backward(_ dy: Tensor, inputGradient dx: inout Tensor) {
        dx.prepare(shape: dy.shape)
        let training = lastMode == .training && rate > 0
        precondition(
            !training || dy.count == scaledMask.count,
            "Dropout.backward: gradient shape \(dy.shape) does not match the forward input")
        dy.withUnsafeBufferPointer { g in
            dx.withUnsafeMutableBufferPointer { out in
                if training {
                    scaledMask.withUnsafeBufferPointer { mask in for i in 0..<g.count { out[i] = g[i] * mask[i] } }
                } else {
                    out.baseAddress!.update(from: g.baseAddress!, count: g.count)
                }
            }
        }
    }
}
