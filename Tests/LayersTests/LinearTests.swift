import Layers
import Tensors
import TestSupport
import Testing

@Suite("Linear")
struct LinearTests {
    /// Float32 against a float64 PyTorch reference: products of ≤ 5 terms of magnitude ~1 are off
    /// by a few ulps of the largest value, far inside 1e-5 of it.
    static let tolerance: Float = 1e-5

    @Test func matchesPyTorch() throws {
        let reference = try loadReference("layers/layer_reference.safetensors").tensors
        var layout = ParameterLayout()
        var linear = Linear("linear", inputFeatures: 5, outputFeatures: 3, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        try parameters.load(["linear.weight": reference["linear.weight"]!, "linear.bias": reference["linear.bias"]!])
        var y = Tensor.zeros([])
        linear.forward(reference["linear.input"]!, parameters, into: &y)
        expectAgreement(y, reference["linear.output"], relative: Self.tolerance, "output")
        var dx = Tensor.zeros([])
        linear.backward(reference["linear.upstream"]!, parameters, inputGradient: &dx)
        expectAgreement(dx, reference["linear.grad.input"], relative: Self.tolerance, "input gradient")
        expectAgreement(
            parameters.gradient(named: "linear.weight")!, reference["linear.grad.weight"], relative: Self.tolerance,
            "dW")
        expectAgreement(
            parameters.gradient(named: "linear.bias")!, reference["linear.grad.bias"], relative: Self.tolerance, "db")
    }

    @Test func gradientsMatchFiniteDifferences() {
        var random = SeededRandom(seed: 31)
        var layout = ParameterLayout()
        var linear = Linear("fc", inputFeatures: 4, outputFeatures: 3, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        linear.initialize(parameters, using: &random)
        let x = Tensor.uniform([2, 3, 4], in: -1..<1, using: &random)  // leading axes [2, 3]
        let upstream = Tensor.uniform([2, 3, 3], in: -1..<1, using: &random)
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        linear.forward(x, parameters, into: &y)
        #expect(y.shape == [2, 3, 3])
        linear.backward(upstream, parameters, inputGradient: &dx)
        #expect(dx.shape == x.shape)

        func loss(_ input: Tensor) -> Double {
            var scratch = linear, output = Tensor.zeros([])
            scratch.forward(input, parameters, into: &output)
            return zip(output.scalars, upstream.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        // The loss is linear in every parameter, so central differences are exact up to the
        // Float32 rounding of the forward pass: ~1e-7·|L| / h = 1e-5 relative; bound 1e-3.
        let numeric = finiteDifferenceGradient(of: parameters.values, count: parameters.count, step: 1e-2) { loss(x) }
        let analytic = Array(UnsafeBufferPointer(start: parameters.gradients, count: parameters.count))
        let worst = maximumRelativeError(analytic: analytic, numeric: numeric, floor: 1e-2)
        #expect(worst.error < 1e-3, "parameter \(worst.index): relative error \(worst.error)")
        let numericInput = finiteDifferenceGradient(ofInput: x, step: 1e-2, loss: loss)
        let inputError = maximumRelativeError(analytic: dx.scalars, numeric: numericInput, floor: 1e-2)
        #expect(inputError.error < 1e-3, "input \(inputError.index): relative error \(inputError.error)")
    }

    @Test func initialisationFollowsPyTorch() {
        var random = SeededRandom(seed: 1)
        var layout = ParameterLayout()
        let linear = Linear("fc", inputFeatures: 16, outputFeatures: 8, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        linear.initialize(parameters, using: &random)
        let weights = parameters.value(named: "fc.weight")!.scalars + parameters.value(named: "fc.bias")!.scalars
        #expect(weights.allSatisfy { abs($0) < 0.25 })  // U(−1/√16, 1/√16)
        #expect(weights.contains { abs($0) > 0.2 })
        #expect(layout.entries.map(\.name) == ["fc.weight", "fc.bias"])
    }
}
