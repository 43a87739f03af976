import CVectorMath
import Tensors

/// Activation layers as forward/backward pairs. Each backward uses what its forward produced:
/// ReLU and the others read the *output* (ReLU's mask is `y > 0`, σ' = y(1 − y), tanh' = 1 − y²),
/// so nothing else needs saving.
public enum Activation: Sendable {
    case relu, tanh, sigmoid

    var function: UnaryFunction {
        switch self {
        case .relu: .relu
        case .tanh: .tanh
        case .sigmoid: .sigmoid
        }
    }

    /// `y = f(x)`, elementwise.
    public func forward(_ x: Tensor, into y: inout Tensor) {
        Tensor.apply(function, to: x, into: &y)
    }

    /// `dx = dy ⊙ f'(x)`, from the forward output `y`.
    public func backward(_ dy: Tensor, output y: Tensor, inputGradient dx: inout Tensor) {
        precondition(
            dy.shape == y.shape, "Activation.backward: gradient shape \(dy.shape) differs from output shape \(y.shape)")
        dx.prepare(shape: y.shape)
        dy.withUnsafeBufferPointer { g in
            y.withUnsafeBufferPointer { out in
                dx.withUnsafeMutableBufferPointer { d in
                    let kind: Int32
                    switch self {
                    case .relu: kind = 0
                    case .tanh: kind = 1
                    case .sigmoid: kind = 2
                    }
                    guard let gradient = g.baseAddress, let output = out.baseAddress, let input = d.baseAddress else {
                        return
                    }
                    revisit_activation_backward(kind, g.count, gradient, output, input)
                }
            }
        }
    }
}

/// Softmax over the last axis of `[N, C]`, stable (max subtracted).
public enum Softmax {
    public static func forward(_ logits: Tensor, into probabilities: inout Tensor) {
        precondition(logits.rank == 2, "Softmax.forward: needs [N, C], got \(logits.shape)")
        let n = logits.shape[0], c = logits.shape[1]
        probabilities.prepare(rows: n, columns: c)
        logits.withUnsafeBufferPointer { z in
            probabilities.withUnsafeMutableBufferPointer { p in
                for row in 0..<n {
                    let zr = z.baseAddress! + row * c, pr = p.baseAddress! + row * c
                    var largest = zr[0]
                    for j in 1..<c { largest = Swift.max(largest, zr[j]) }
                    var sum: Float = 0
                    for j in 0..<c { pr[j] = UnaryFunction.exp(zr[j] - largest); sum += pr[j] }
                    for j in 0..<c { pr[j] /= sum }
                }
            }
        }
    }
}
