import AllocationCounter
import Layers
import Losses
import Models
import Optimizers
import Tensors
import TestSupport
import Testing

@Suite("CNN-LSTM against torch_reference.py")
struct CNNLSTMTests {
    static let reference: [String: Tensor] = try! loadReference("models/cnn_lstm_reference.safetensors").tensors

    static func referenceModel() throws -> (CNNLSTM, ParameterStore) {
        var layout = ParameterLayout()
        let model = CNNLSTM(layout: &layout)
        let parameters = ParameterStore(layout: layout)
        var initial: [String: Tensor] = [:]
        for (key, value) in reference where key.hasPrefix("initial.") {
            initial[String(key.dropFirst("initial.".count))] = value
        }
        try parameters.load(initial)
        return (model, parameters)
    }

    @Test func parameterNamesShapesAndCountMatchPyTorch() throws {
        let (_, parameters) = try Self.referenceModel()
        #expect(parameters.count == 366_862, "torch_reference.py reports 366,862 parameters")
        for entry in parameters.layout.entries {
            #expect(Self.reference["grad.\(entry.name)"]?.shape == entry.shape, "\(entry.name)")
        }
        #expect(
            parameters.layout.buffers.map(\.name) == [
                "bn_seq.running_mean", "bn_seq.running_var", "bn_stat.running_mean", "bn_stat.running_var"
            ])
    }

    /// The convolution biases that feed a batch norm have an exact gradient of zero: batch
    /// norm subtracts each channel's mean, so a per-channel shift cannot change the output.
    /// PyTorch's float64 gives ~1e-19; Float32 gives rounding noise of the size of
    /// ε_f32 · Σ|dy| over the batch (measured ≤ 1e-9). They are checked against an absolute
    /// bound of 1e-7 instead of a relative one (relative to zero means nothing).
    static let shiftInvariantBiases: Set<String> = ["conv_seq.bias", "conv_stat.bias"]

    /// Probabilities, the loss, the running statistics and every gradient agree with the
    /// float64 reference to 1e-5 (normwise per tensor), the project's standard bound.
    @Test func forwardLossAndEveryGradientMatchPyTorch() throws {
        var (model, parameters) = try Self.referenceModel()
        var logits = Tensor.zeros([]), probabilities = Tensor.zeros([]), gradient = Tensor.zeros([])
        model.forward(
            sequence: Self.reference["x_seq"]!, statics: Self.reference["x_stat"]!, mode: .training, parameters,
            into: &logits)
        Softmax.forward(logits, into: &probabilities)
        expectAgreement(probabilities, Self.reference["probabilities"], relative: 1e-5, "probabilities")
        let loss = FocalLoss(alpha: 0.25, gamma: 2, form: .twoClassSoftmax)(
            logits: logits, labels: Self.reference["labels"]!, gradient: &gradient)
        let expectedLoss = Self.reference["loss"]!.scalar
        #expect(abs(loss - expectedLoss) <= 1e-5 * expectedLoss, "loss \(loss) vs PyTorch \(expectedLoss)")
        model.backward(gradient, parameters)
        for entry in parameters.layout.entries {
            let computed = parameters.gradient(named: entry.name)!
            if Self.shiftInvariantBiases.contains(entry.name) {
                #expect(
                    computed.scalars.allSatisfy { abs($0) <= 1e-7 },
                    "d\(entry.name) should be 0 up to rounding: \(computed)")
            } else {
                expectAgreement(computed, Self.reference["grad.\(entry.name)"], relative: 1e-5, "d\(entry.name)")
            }
        }
        for name in ["bn_seq", "bn_stat"] {
            for stat in ["running_mean", "running_var"] {
                expectAgreement(
                    parameters.value(named: "\(name).\(stat)")!, Self.reference["after.\(name).\(stat)"],
                    relative: 1e-5, "\(name).\(stat)")
            }
        }
    }

    /// 20 Adam steps on one batch from the same weights: each step's loss and every final
    /// parameter within 1e-5 (relative, normwise per tensor). The shift-invariant biases (see above) are pushed only by rounding noise g ≈ 1e-9:
    /// Adam moves them by lr · |g| / (|g| + ε) ≤ 1e-3 · 0.1 per step, so after 20 steps they are
    /// within 2e-3 of their start (PyTorch's, with g ≈ 1e-19, do not move).
    @Test func twentyAdamStepsFollowPyTorch() throws {
        var (model, parameters) = try Self.referenceModel()
        var adam = Adam(parameterCount: parameters.count)
        let focal = FocalLoss(alpha: 0.25, gamma: 2, form: .twoClassSoftmax)
        var logits = Tensor.zeros([]), gradient = Tensor.zeros([])
        var losses: [Float] = []
        for _ in 0..<20 {
            parameters.zeroGradients()
            model.forward(
                sequence: Self.reference["x_seq"]!, statics: Self.reference["x_stat"]!, mode: .training, parameters,
                into: &logits)
            losses.append(focal(logits: logits, labels: Self.reference["labels"]!, gradient: &gradient))
            model.backward(gradient, parameters)
            adam.update(values: parameters.values, gradients: parameters.gradients)
        }
        let expectedLosses = Self.reference["adam.losses"]!.scalars
        for (step, (loss, expected)) in zip(losses, expectedLosses).enumerated() {
            #expect(abs(loss - expected) <= 1e-5 * expected, "step \(step): loss \(loss) vs PyTorch \(expected)")
        }
        #expect(losses.last! < losses.first!, "the loss falls")
        for entry in parameters.layout.entries {
            let final = parameters.value(named: entry.name)!
            if Self.shiftInvariantBiases.contains(entry.name) {
                expectClose(
                    final, Self.reference["initial.\(entry.name)"]!, absolute: 2e-3,
                    "\(entry.name) drifts by rounding noise only")
            } else {
                expectAgreement(
                    final, Self.reference["adam.final.\(entry.name)"], relative: 1e-5, "\(entry.name) after 20 steps")
            }
        }
    }

    @Test func inferenceUsesRunningStatisticsAndIsDeterministic() throws {
        var (model, parameters) = try Self.referenceModel()
        var first = Tensor.zeros([]), second = Tensor.zeros([])
        let sequence = Self.reference["x_seq"]!, statics = Self.reference["x_stat"]!
        model.forward(sequence: sequence, statics: statics, mode: .inference, parameters, into: &first)
        let runningMean = parameters.value(named: "bn_seq.running_mean")!
        // One sample at a time gives the same logits as the batch: no batch statistics in inference.
        model.forward(
            sequence: sequence.slice(2..<3), statics: statics.slice(2..<3), mode: .inference, parameters, into: &second)
        expectClose(second, first.slice(2..<3), relative: 1e-5, absolute: 1e-6)
        #expect(
            parameters.value(named: "bn_seq.running_mean")! == runningMean, "inference leaves running statistics alone")
    }
}
