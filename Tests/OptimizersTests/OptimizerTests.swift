import Foundation
import Optimizers
import Tensors
import TestSupport
import Testing

@Suite("Optimizers against torch.optim")
struct OptimizerTests {
    static let reference: [String: Tensor] = try! loadReference("optimizers/optimizer_reference.safetensors").tensors

    /// Runs `step` on the reference's 20 gradients from its initial parameters and compares the
    /// parameters after every step with PyTorch's trajectory.
    ///
    /// Tolerance: 1e-5 of the largest parameter of each step (normwise). The reference is float64;
    /// twenty float32 updates of elementwise arithmetic drift by a few ulps per step, so ~1e-6.
    func follow(_ name: String, step: (UnsafeMutablePointer<Float>, UnsafePointer<Float>) -> Void) {
        let expected = Self.reference["\(name).trajectory"]!
        let gradients = Self.reference["gradients"]!
        var values = Self.reference["initial"]!.scalars
        #expect(expected.shape == [20, 12])
        for t in 0..<20 {
            let g = gradients.slice(t..<(t + 1)).scalars
            values.withUnsafeMutableBufferPointer { p in
                g.withUnsafeBufferPointer { step(p.baseAddress!, $0.baseAddress!) }
            }
            expectAgreement(
                Tensor(values), expected.slice(t..<(t + 1)).reshaped([12]), relative: 1e-5,
                "\(name) after step \(t + 1)")
        }
    }

    @Test func adamMatchesPyTorch() {
        var adam = Adam(parameterCount: 12, configuration: AdamConfiguration(learningRate: 0.01))
        follow("adam") { adam.update(values: $0, gradients: $1) }
        #expect(adam.step == 20)
    }

    @Test func adamWithCoupledDecayMatchesPyTorch() {
        var adam = Adam(parameterCount: 12, configuration: AdamConfiguration(learningRate: 0.01, weightDecay: 0.1))
        follow("adam_l2") { adam.update(values: $0, gradients: $1) }
    }

    @Test func adamWMatchesPyTorch() {
        var adam = Adam(parameterCount: 12, configuration: .adamW(learningRate: 0.01, weightDecay: 0.1))
        follow("adamw") { adam.update(values: $0, gradients: $1) }
    }

    @Test func sgdWithMomentumMatchesPyTorch() {
        var sgd = SGD(
            parameterCount: 12, configuration: SGDConfiguration(learningRate: 0.05, momentum: 0.9, weightDecay: 0.01))
        follow("sgd") { sgd.update(values: $0, gradients: $1) }
        var nesterov = SGD(
            parameterCount: 12, configuration: SGDConfiguration(learningRate: 0.05, momentum: 0.9, nesterov: true))
        follow("nesterov") { nesterov.update(values: $0, gradients: $1) }
    }

    @Test func defaultsAreTheBriefs() {
        let c = AdamConfiguration()
        #expect(c.learningRate == 0.001 && c.beta1 == 0.9 && c.beta2 == 0.999 && c.epsilon == 1e-8)
        #expect(c.weightDecay == 0 && c.decoupledWeightDecay == 0)
    }

    @Test func stateRoundTripsThroughATensorFileAndResumesExactly() throws {
        let gradients = Self.reference["gradients"]!
        var straight = Adam(parameterCount: 12), resumed = Adam(parameterCount: 12)
        var a = Self.reference["initial"]!.scalars, b = a
        for t in 0..<20 {
            let g = gradients.slice(t..<(t + 1)).scalars
            a.withUnsafeMutableBufferPointer { straight.update(values: $0.baseAddress!, gradients: g) }
            if t < 10 { b.withUnsafeMutableBufferPointer { resumed.update(values: $0.baseAddress!, gradients: g) } }
            if t == 9 {
                let (tensors, integers) = resumed.state()
                let file = try TensorFile.decode(
                    TensorFile(tensors: tensors, integerTensors: integers).encoded(), source: "adam-state")
                resumed = Adam(parameterCount: 12)
                try resumed.restore(from: file)
            }
            if t >= 10 { b.withUnsafeMutableBufferPointer { resumed.update(values: $0.baseAddress!, gradients: g) } }
        }
        #expect(a == b, "a resumed optimizer continues bit for bit")
        var wrongSize = Adam(parameterCount: 3)
        let (tensors, integers) = straight.state()
        #expect(throws: OptimizerStateError.self) {
            try wrongSize.restore(from: TensorFile(tensors: tensors, integerTensors: integers))
        }
    }

    @Test func clippingMatchesPyTorch() {
        var g = Self.reference["clip.input"]!.scalars
        let norm = g.withUnsafeMutableBufferPointer { clipGradientNorm($0.baseAddress!, count: 12, maximumNorm: 1) }
        let expectedNorm = Self.reference["clip.norm"]!.scalar
        #expect(abs(norm - expectedNorm) <= 1e-5 * expectedNorm)
        expectAgreement(Tensor(g), Self.reference["clip.output"], relative: 1e-5, "clipped gradient")
        var small: [Float] = [0.1, -0.2]
        _ = small.withUnsafeMutableBufferPointer { clipGradientNorm($0.baseAddress!, count: 2, maximumNorm: 1) }
        #expect(small == [0.1, -0.2], "gradients under the bound are untouched")
    }

    @Test func schedulesMatchPyTorch() {
        let step = (0..<10).map {
            LearningRateSchedule.step(stepSize: 3, gamma: 0.5).learningRate(epoch: $0, base: 0.1)
        }
        expectAgreement(Tensor(step), Self.reference["schedule.step"], relative: 1e-6, "StepLR")
        let cosine = (0..<10).map {
            LearningRateSchedule.cosine(period: 10, minimum: 0.001).learningRate(epoch: $0, base: 0.1)
        }
        expectAgreement(Tensor(cosine), Self.reference["schedule.cosine"], relative: 1e-6, "CosineAnnealingLR")
        var plateau = ReduceOnPlateau(learningRate: 0.1, factor: 0.5, patience: 2, cooldown: 1)
        let rates = Self.reference["plateau.metrics"]!.scalars.map { plateau.step(metric: $0) }
        #expect(rates == Self.reference["plateau.lr"]!.scalars)
    }
}
