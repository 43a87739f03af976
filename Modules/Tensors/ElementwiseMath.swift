import Foundation

/// The elementwise functions the layers need. Each is available as a method returning a new
/// tensor (`x.tanh()`), in place (`x.apply(.tanh)`), and into a caller-owned buffer
/// (`Tensor.apply(.tanh, to: x, into: &y)`).
public enum UnaryFunction: Sendable {
    /// eˣ.
    case exp
    /// Natural logarithm; `-inf` at 0 and NaN below, as `Foundation.log`.
    case log
    /// Hyperbolic tangent.
    case tanh
    /// Logistic sigmoid 1 / (1 + e⁻ˣ), evaluated without overflow for large |x|.
    case sigmoid
    /// max(x, 0).
    case relu
    /// √x; NaN below 0.
    case sqrt

    /// The function's value at `x` (for loops over raw buffers in other modules).
    @inlinable
    public func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .tanh: return Foundation.tanh(x)
        case .sigmoid:
            // For x < 0, e^x / (1 + e^x) avoids e^(-x) overflowing to inf.
            if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
            let e = Foundation.exp(x)
            return e / (1 + e)
        case .relu: return x > 0 ? x : 0
        case .sqrt: return x.squareRoot()
        }
    }
}

extension Tensor {
    /// Writes `function(source)` into `result`, elementwise. `result` may be `source`'s own
    /// variable only through ``apply(_:)``.
    public static func apply(_ function: UnaryFunction, to source: Tensor, into result: inout Tensor) {
        result.prepare(shape: source.shape)
        let input = source.buffer.base, out = result.buffer.base
        for i in 0..<source.count { out[i] = function(input[i]) }
    }

    /// Applies `function` to every element in place.
    public mutating func apply(_ function: UnaryFunction) {
        makeUnique()
        let values = buffer.base
        for i in 0..<count { values[i] = function(values[i]) }
    }

    /// A new tensor with `function` applied to every element.
    public func applying(_ function: UnaryFunction) -> Tensor {
        var result = Tensor(uninitializedShape: shape)
        Tensor.apply(function, to: self, into: &result)
        return result
    }

    public func exp() -> Tensor { applying(.exp) }
    public func log() -> Tensor { applying(.log) }
    public func tanh() -> Tensor { applying(.tanh) }
    public func sigmoid() -> Tensor { applying(.sigmoid) }
    public func relu() -> Tensor { applying(.relu) }
    public func sqrt() -> Tensor { applying(.sqrt) }

    /// Every element limited to `[lower, upper]`; NaN stays NaN.
    public func clamped(to range: ClosedRange<Float>) -> Tensor {
        var result = self
        result.clamp(to: range)
        return result
    }

    /// Limits every element to `[lower, upper]` in place; NaN stays NaN.
    public mutating func clamp(to range: ClosedRange<Float>) {
        makeUnique()
        let values = buffer.base, lower = range.lowerBound, upper = range.upperBound
        for i in 0..<count {
            let x = values[i]
            values[i] = x < lower ? lower : (x > upper ? upper : x)
        }
    }
}
