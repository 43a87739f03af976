import Foundation
import Tensors
import Testing

/// Central finite differences of `loss` with respect to each of `count` Float32 values at
/// `values`: `(L(v + h) − L(v − h)) / 2h`, each value perturbed in place and restored.
///
/// `loss` re-runs the forward pass and returns the scalar loss accumulated in Double, so the
/// only Float32 rounding in the difference is the forward pass's own.
public func finiteDifferenceGradient(
    of values: UnsafeMutablePointer<Float>, count: Int, step: Float, loss: () -> Double
) -> [Double] {
    var gradient = [Double](repeating: 0, count: count)
    for i in 0..<count {
        let original = values[i]
        values[i] = original + step
        let plus = loss()
        values[i] = original - step
        let minus = loss()
        values[i] = original
        // The actual perturbation (Float rounding of original ± step), not the nominal step.
        gradient[i] = (plus - minus) / (Double(original + step) - Double(original - step))
    }
    return gradient
}

/// Central finite differences of `loss` with respect to each element of `input`; `loss` is
/// called with a copy of `input` in which one element is perturbed.
public func finiteDifferenceGradient(ofInput input: Tensor, step: Float, loss: (Tensor) -> Double) -> [Double] {
    var probe = input
    var gradient = [Double](repeating: 0, count: input.count)
    for i in 0..<input.count {
        let original = input.withUnsafeBufferPointer { $0[i] }
        probe.withUnsafeMutableBufferPointer { $0[i] = original + step }
        let plus = loss(probe)
        probe.withUnsafeMutableBufferPointer { $0[i] = original - step }
        let minus = loss(probe)
        probe.withUnsafeMutableBufferPointer { $0[i] = original }
        gradient[i] = (plus - minus) / (Double(original + step) - Double(original - step))
    }
    return gradient
}

/// The largest relative error between analytic and numeric gradients, each element measured
/// as `|a − n| / max(|a|, |n|, floor)`; `floor` keeps elements whose true gradient is near zero
/// from dominating through rounding noise.
public func maximumRelativeError(analytic: [Float], numeric: [Double], floor: Double) -> (error: Double, index: Int) {
    precondition(analytic.count == numeric.count, "gradient lengths differ: \(analytic.count) vs \(numeric.count)")
    var worst = (error: 0.0, index: -1)
    for i in analytic.indices {
        let a = Double(analytic[i]), n = numeric[i]
        let error = abs(a - n) / Swift.max(abs(a), abs(n), floor)
        if error > worst.error || worst.index < 0 { worst = (error, i) }
    }
    return worst
}

/// The tensors of a reference fixture under `Fixtures/` (a safetensors file).
public func loadReference(_ relativePath: String) throws -> TensorFile {
    try TensorFile.read(from: fixturePath(relativePath))
}

/// Expects `actual` to agree with a reference tensor: shapes first, then every element within
/// `relative · max|reference|` (a normwise bound: see the callers for why it is the right one).
public func expectAgreement(
    _ actual: Tensor, _ reference: Tensor?, relative: Float, _ comment: Comment,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let reference else {
        Issue.record("reference tensor missing: \(comment)", sourceLocation: sourceLocation)
        return
    }
    let scale = reference.scalars.map(abs).max() ?? 0
    expectClose(
        actual, reference, absolute: relative * Swift.max(scale, 1e-30), comment, sourceLocation: sourceLocation)
}
