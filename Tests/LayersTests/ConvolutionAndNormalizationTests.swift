import Layers
import Tensors
import TestSupport
import Testing

@Suite("Conv1D, BatchNorm and activations")
struct ConvolutionAndNormalizationTests {
    static let reference: [String: Tensor] = try! loadReference("layers/layer_reference.safetensors").tensors
    /// Float32 against the float64 PyTorch reference, normwise per tensor (see LinearTests).
    static let tolerance: Float = 1e-5

    @Test(arguments: [("conv_same", 5, 2, Conv1D.Padding.same), ("conv_valid", 4, 3, Conv1D.Padding.valid)])
    func convolutionMatchesPyTorch(name: String, outputs: Int, kernel: Int, padding: Conv1D.Padding) throws {
        var layout = ParameterLayout()
        var conv = Conv1D(
            name, inputChannels: 3, outputChannels: outputs, kernelSize: kernel, padding: padding, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        try parameters.load([
            "\(name).weight": Self.reference["\(name).weight"]!, "\(name).bias": Self.reference["\(name).bias"]!
        ])
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        conv.forward(Self.reference["\(name).input"]!, parameters, into: &y)
        expectAgreement(y, Self.reference["\(name).output"], relative: Self.tolerance, "\(name) output")
        conv.backward(Self.reference["\(name).upstream"]!, parameters, inputGradient: &dx)
        expectAgreement(dx, Self.reference["\(name).grad.input"], relative: Self.tolerance, "\(name) input gradient")
        expectAgreement(
            parameters.gradient(named: "\(name).weight")!, Self.reference["\(name).grad.weight"],
            relative: Self.tolerance, "\(name) dW")
        expectAgreement(
            parameters.gradient(named: "\(name).bias")!, Self.reference["\(name).grad.bias"], relative: Self.tolerance,
            "\(name) db")
    }

    @Test(arguments: [("bn_train", Mode.training), ("bn_eval", Mode.inference)])
    func batchNormMatchesPyTorch(name: String, mode: Mode) throws {
        var layout = ParameterLayout()
        var norm = BatchNorm("bn", channels: 4, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        try parameters.load(
            Dictionary(
                uniqueKeysWithValues: ["weight", "bias", "running_mean", "running_var"].map {
                    ("bn.\($0)", Self.reference["\(name).\($0)"]!)
                }))
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        norm.forward(Self.reference["\(name).input"]!, mode: mode, parameters, into: &y)
        expectAgreement(y, Self.reference["\(name).output"], relative: Self.tolerance, "\(name) output")
        expectAgreement(
            parameters.value(named: "bn.running_mean")!, Self.reference["\(name).after.running_mean"],
            relative: Self.tolerance, "\(name) running mean")
        expectAgreement(
            parameters.value(named: "bn.running_var")!, Self.reference["\(name).after.running_var"],
            relative: Self.tolerance, "\(name) running variance")
        norm.backward(Self.reference["\(name).upstream"]!, parameters, inputGradient: &dx)
        expectAgreement(dx, Self.reference["\(name).grad.input"], relative: Self.tolerance, "\(name) input gradient")
        expectAgreement(
            parameters.gradient(named: "bn.weight")!, Self.reference["\(name).grad.weight"], relative: Self.tolerance,
            "\(name) dγ")
        expectAgreement(
            parameters.gradient(named: "bn.bias")!, Self.reference["\(name).grad.bias"], relative: Self.tolerance,
            "\(name) dβ")
        #expect(norm.batchesTracked == (mode == .training ? 1 : 0))
    }

    /// Finite differences for conv (both paddings), training-mode batch norm and each
    /// activation, on tiny shapes with the loss Σ y·r accumulated in Double. Bound 2e-3 with a
    /// floor of 1e-2: truncation h²/6 with h = 1e-2 is ~2e-5 relative and Float32 forward
    /// rounding ~1e-7·|L|/h ≈ 1e-5, so the bound has two orders of headroom and still catches
    /// any wrong term. ReLU's kink is avoided by keeping inputs away from 0 (|x| ≥ 0.1 > h).
    @Test(arguments: ["conv same", "conv valid", "batch norm", "relu", "tanh", "sigmoid"])
    func gradientsMatchFiniteDifferences(layer: String) {
        var random = SeededRandom(seed: 5)
        var layout = ParameterLayout()
        var conv = Conv1D(
            "conv", inputChannels: 2, outputChannels: 3, kernelSize: layer == "conv valid" ? 3 : 2,
            padding: layer == "conv valid" ? .valid : .same, layout: &layout)
        var norm = BatchNorm("bn", channels: 2, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        conv.initialize(parameters, using: &random)
        norm.initialize(parameters)
        parameters.initializeUniform(norm.weight, bound: 1.5, using: &random)
        parameters.initializeUniform(norm.bias, bound: 0.5, using: &random)
        let x =
            Tensor.uniform([2, 5, 2], in: 0.1..<1, using: &random)
            * Tensor.bernoulli([2, 5, 2], probability: 0.5, using: &random).map { $0 * 2 - 1 }
        let activation: Activation? = ["relu": .relu, "tanh": .tanh, "sigmoid": .sigmoid][layer]

        func run(_ input: Tensor, backward: Bool) -> (Tensor, Tensor) {
            var y = Tensor.zeros([]), dx = Tensor.zeros([])
            var c = conv, n = norm
            if layer.hasPrefix("conv") {
                c.forward(input, parameters, into: &y)
            } else if layer == "batch norm" {
                n.forward(input, mode: .training, parameters, into: &y)
            } else {
                activation!.forward(input, into: &y)
            }
            if backward {
                var random = SeededRandom(seed: 8)
                let upstream = Tensor.uniform(y.shape, in: -1..<1, using: &random)
                if layer.hasPrefix("conv") {
                    c.backward(upstream, parameters, inputGradient: &dx)
                } else if layer == "batch norm" {
                    n.backward(upstream, parameters, inputGradient: &dx)
                } else {
                    activation!.backward(upstream, output: y, inputGradient: &dx)
                }
            }
            return (y, dx)
        }
        func loss(_ input: Tensor) -> Double {
            let y = run(input, backward: false).0
            var random = SeededRandom(seed: 8)
            let upstream = Tensor.uniform(y.shape, in: -1..<1, using: &random)
            return zip(y.scalars, upstream.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        parameters.zeroGradients()
        let dx = run(x, backward: true).1
        let inputError = maximumRelativeError(
            analytic: dx.scalars, numeric: finiteDifferenceGradient(ofInput: x, step: 1e-2, loss: loss), floor: 1e-2)
        #expect(inputError.error < 2e-3, "\(layer) input \(inputError.index): relative error \(inputError.error)")
        if activation == nil {
            let numeric = finiteDifferenceGradient(of: parameters.values, count: parameters.count, step: 1e-2) {
                loss(x)
            }
            let analytic = Array(UnsafeBufferPointer(start: parameters.gradients, count: parameters.count))
            let worst = maximumRelativeError(analytic: analytic, numeric: numeric, floor: 1e-2)
            #expect(worst.error < 2e-3, "\(layer) parameter \(worst.index): relative error \(worst.error)")
        }
    }
}
