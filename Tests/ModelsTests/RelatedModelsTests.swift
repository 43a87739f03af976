import AllocationCounter
import Foundation
import Layers
import Losses
import Models
import Tensors
import TestSupport
import Testing

/// The related models of BRIEF §1 against PyTorch (`Fixtures/models/generate_related_models_reference.py`)
/// and against finite differences, driven through the common `Classifier` interface the
/// trainer uses.
@Suite("Related models: GRU, RNN, CNN+LSTM without statics, MLP, logistic regression")
struct RelatedModelsTests {
    static let reference: [String: Tensor] = try! loadReference("models/related_models_reference.safetensors").tensors

    static let shape = ModelShape(steps: 10, sequenceFeatures: 7, staticFeatures: 4, aggregateFeatures: 16)

    /// The model for `prefix`, with the reference's initial weights loaded by name.
    static func referenceModel(_ architecture: Architecture, prefix: String) throws -> (any Classifier, ParameterStore)
    {
        var layout = ParameterLayout()
        let model = makeClassifier(architecture, shape: shape, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        var initial: [String: Tensor] = [:]
        let marker = "\(prefix).initial."
        for (key, value) in reference where key.hasPrefix(marker) {
            initial[String(key.dropFirst(marker.count))] = value
        }
        // Names and shapes first: every Revisit parameter exists in PyTorch's state_dict with the same shape.
        #expect(
            Set(initial.keys) == Set(parameters.allNames),
            "\(prefix): Revisit \(parameters.allNames.sorted()) vs PyTorch \(initial.keys.sorted())")
        try parameters.load(initial)
        return (model, parameters)
    }

    static func input(_ architecture: Architecture, _ x: Tensor, mask: Tensor? = nil) -> ModelInput {
        switch architecture {
        case .mlp, .logisticRegression:
            return ModelInput(
                sequence: Tensor.zeros([x.shape[0], 0, 0]), mask: nil, statics: Tensor.zeros([x.shape[0], 0]),
                aggregates: x)
        default:
            return ModelInput(
                sequence: x, mask: mask, statics: Tensor.zeros([x.shape[0], 0]),
                aggregates: Tensor.zeros([x.shape[0], 0]))
        }
    }

    /// Probabilities, loss and every gradient within 1e-5 (normwise per tensor), the project's
    /// standard bound for float32 against a float64 reference.
    @Test(arguments: [
        (Architecture.gru, "gru"), (.rnn, "rnn"), (.cnnLSTMSequenceOnly, "cnn_seq"), (.mlp, "mlp"),
        (.logisticRegression, "logreg")
    ])
    func matchesPyTorch(architecture: Architecture, prefix: String) throws {
        var (model, parameters) = try Self.referenceModel(architecture, prefix: prefix)
        #expect(model.architecture == architecture)
        let x = Self.reference["\(prefix).input"]!, labels = Self.reference["\(prefix).labels"]!
        let mode: Mode = architecture == .cnnLSTMSequenceOnly ? .training : .inference
        var random = SeededRandom(seed: 0)
        var logits = Tensor.zeros([]), gradient = Tensor.zeros([]), probabilities: [Float] = []
        model.forward(Self.input(architecture, x), mode: mode, random: &random, parameters, into: &logits)
        #expect(logits.shape == [x.shape[0], model.outputForm == .twoClassLogits ? 2 : 1])
        model.positiveProbabilities(logits, into: &probabilities)
        expectAgreement(
            Tensor(probabilities), Self.reference["\(prefix).probabilities"], relative: 1e-5, "\(prefix) probabilities")
        let loss: Float
        switch model.outputForm {
        case .twoClassLogits:
            loss = FocalLoss(alpha: 0.25, gamma: 2, form: .twoClassSoftmax)(
                logits: logits, labels: labels, gradient: &gradient)
        case .positiveLogit: loss = BinaryCrossEntropy()(logits: logits, labels: labels, gradient: &gradient)
        case .hazardLogits:
            Issue.record("\(prefix): the related models' fixture has no hazard head (its parity is ModelParityTests')")
            return
        }
        let expected = Self.reference["\(prefix).loss"]!.scalar
        #expect(abs(loss - expected) <= 1e-5 * expected, "\(prefix) loss \(loss) vs PyTorch \(expected)")
        model.backward(gradient, parameters)
        for entry in parameters.layout.entries {
            let computed = parameters.gradient(named: entry.name)!
            if entry.name == "conv_seq.bias" {
                // Exactly zero in exact arithmetic (batch norm removes a per-channel shift); see CNNLSTMTests.
                #expect(computed.scalars.allSatisfy { abs($0) <= 1e-7 }, "d\(entry.name) should be 0 up to rounding")
            } else {
                expectAgreement(
                    computed, Self.reference["\(prefix).grad.\(entry.name)"], relative: 1e-5, "\(prefix) d\(entry.name)"
                )
            }
        }
    }

    /// A left-padded GRU batch (lengths 10, 6, 3, 1) gives PyTorch's result on the unpadded
    /// suffixes: the mask reaches both stacked layers.
    @Test func leftPaddedGRUMatchesUnpaddedPyTorch() throws {
        var (model, parameters) = try Self.referenceModel(.gru, prefix: "gru")
        var random = SeededRandom(seed: 0)
        var logits = Tensor.zeros([]), probabilities: [Float] = []
        let input = Self.input(.gru, Self.reference["masked.gru.input"]!, mask: Self.reference["masked.gru.mask"]!)
        model.forward(input, mode: .inference, random: &random, parameters, into: &logits)
        model.positiveProbabilities(logits, into: &probabilities)
        expectAgreement(
            Tensor(probabilities), Self.reference["masked.gru.probabilities"], relative: 1e-5,
            "masked GRU probabilities")
    }

    /// Every model at tiny sizes against central finite differences of the loss (accumulated
    /// in Double), in training mode with dropout masks replayed from one seed.
    ///
    /// h = 3e-3, floor 3e-2, bound 5e-3. Why these: the ReLU models (MLP, CNN branches) are not
    /// differentiable at 0, and at h = 1e-2 a perturbation crossed a kink (MLP `fc2.bias`: 3.6e-2
    /// measured), so h is smaller than the LSTM tests' 1e-2. The forward pass is Float32, so each
    /// loss evaluation carries rounding noise of about ε_f32·|L| ≈ 6e-8 · 5; divided by 2h that is
    /// ≈ 5e-5 absolute in a numeric gradient, which the floor turns into ≤ 1.7e-3 relative
    /// (measured: floor 1e-2 gave up to 5.9e-3 at h = 3e-3, pure noise on near-zero gradients;
    /// h = 1e-3 gave 1.8e-2). A wrong term in a backward pass is off by O(1) on the elements it
    /// touches, far above the bound.
    @Test(arguments: Architecture.allCases)
    func gradientMatchesFiniteDifferences(architecture: Architecture) {
        let shape = ModelShape(steps: 4, sequenceFeatures: 2, staticFeatures: 2, aggregateFeatures: 3)
        var layout = ParameterLayout()
        var model: any Classifier
        switch architecture {
        case .cnnLSTM, .cnnLSTMSequenceOnly:
            var c = CNNLSTM.Configuration()
            c.steps = 4; c.sequenceFeatures = 2; c.staticFeatures = 2; c.convolutionChannels = 3; c.hiddenSize = 3;
            c.layerCount = 2
            c.staticBranch = architecture == .cnnLSTM
            model = CNNLSTM(c, layout: &layout)
        case .lstm, .gru, .rnn:
            var c = RecurrentStackConfiguration()
            c.sequenceFeatures = 2; c.firstHidden = 3; c.secondHidden = 2; c.dropout = 0.3
            switch architecture {
            case .gru: model = StackedGRU(c, layout: &layout)
            case .rnn: model = StackedRNN(c, layout: &layout)
            default: model = StackedLSTM(c, layout: &layout)
            }
        case .mlp:
            var c = MultilayerPerceptron.Configuration()
            c.inputFeatures = 3; c.hidden = [4, 3]; c.dropout = 0.3
            model = MultilayerPerceptron(c, layout: &layout)
        case .logisticRegression:
            var c = LogisticRegression.Configuration()
            c.inputFeatures = 3
            model = LogisticRegression(c, layout: &layout)
        case .cnnLSTMTiming:
            // Three bins, the horizon inside the second: every output and the readout's partial bin.
            var c = CNNLSTM.Configuration()
            c.steps = 4; c.sequenceFeatures = 2; c.staticFeatures = 2; c.convolutionChannels = 3; c.hiddenSize = 3;
            c.layerCount = 2
            model = TimingCNNLSTM(c, readout: HazardReadout(binEdges: [7, 14, 28], horizonDays: 10), layout: &layout)
        }
        #expect(model.architecture == architecture)
        let parameters = ParameterStore(layout: layout)
        // Seed 32 for the hazard head: at 31 its layout's draws put a batch-norm output within
        // 3e-3 of a ReLU kink for conv_seq.weight[10] (one-sided slopes 3.2e-4 forward, 1.6e-3
        // backward, analytic 1.7e-3), where a central difference is not the derivative.
        var random = SeededRandom(seed: architecture == .cnnLSTMTiming ? 32 : 31)
        model.initialize(parameters, using: &random)
        let b = 5
        var mask = Tensor.filled([b, shape.steps], with: 1)
        mask.withUnsafeMutableBufferPointer {
            $0[0] = 0; $0[1] = 0; $0[shape.steps] = 0
        }  // rows 0 and 1 left-padded
        let input = ModelInput(
            sequence: Tensor.uniform([b, shape.steps, shape.sequenceFeatures], in: -1..<1, using: &random), mask: mask,
            statics: Tensor.uniform([b, shape.staticFeatures], in: 0..<1, using: &random),
            aggregates: Tensor.uniform([b, shape.aggregateFeatures], in: -1..<1, using: &random))
        let labels = Tensor([1, 0, 1, 0, 0])
        func loss(_ model: inout any Classifier, gradient: inout Tensor) -> Float {
            var logits = Tensor.zeros([]), replay = SeededRandom(seed: 77)
            model.forward(input, mode: .training, random: &replay, parameters, into: &logits)
            switch model.outputForm {
            case .twoClassLogits:
                return FocalLoss(alpha: 0.25, gamma: 2, form: .twoClassSoftmax, reduction: .sum)(
                    logits: logits, labels: labels, gradient: &gradient)
            case .positiveLogit:
                return BinaryCrossEntropy(reduction: .sum)(logits: logits, labels: labels, gradient: &gradient)
            case .hazardLogits:
                // Rows: an order in bin 0, in bin 2, censored after 2 bins, after 1, an order in bin 1.
                let atRisk = Tensor(shape: [5, 3], scalars: [1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0])
                let events = Tensor(shape: [5, 3], scalars: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0])
                return DiscreteHazardLoss(reduction: .sum)(
                    logits: logits, events: events, atRisk: atRisk, gradient: &gradient)
            }
        }
        var gradient = Tensor.zeros([])
        _ = loss(&model, gradient: &gradient)
        model.backward(gradient, parameters)
        let analytic = Array(UnsafeBufferPointer(start: parameters.gradients, count: parameters.count))
        let numeric = finiteDifferenceGradient(of: parameters.values, count: parameters.count, step: 3e-3) {
            var scratch = model, g = Tensor.zeros([])
            return Double(loss(&scratch, gradient: &g))
        }
        let worst = maximumRelativeError(analytic: analytic, numeric: numeric, floor: 3e-2)
        #expect(
            worst.error < 5e-3,
            "\(architecture) element \(worst.index) (\(parameters.layout.entries.first { $0.offset <= worst.index && worst.index < $0.offset + $0.count }?.name ?? "?")): relative error \(worst.error)"
        )
    }

    /// Every architecture declares its parameters under the PyTorch names the model file will carry.
    @Test func parameterNamesPerArchitecture() {
        let expected: [Architecture: [String]] = [
            .cnnLSTMSequenceOnly: ["conv_seq.weight", "conv_seq.bias", "bn_seq.weight", "bn_seq.bias"],
            .gru: ["l1.weight_ih_l0", "l1.weight_hh_l0", "l1.bias_ih_l0", "l1.bias_hh_l0"],
            .mlp: ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "out.weight", "out.bias"],
            .logisticRegression: ["linear.weight", "linear.bias"]
        ]
        for (architecture, names) in expected {
            var layout = ParameterLayout()
            _ = makeClassifier(architecture, shape: Self.shape, layout: &layout)
            let declared = layout.entries.map(\.name)
            #expect(Array(declared.prefix(names.count)) == names, "\(architecture): \(declared)")
        }
        var layout = ParameterLayout()
        _ = makeClassifier(.cnnLSTMSequenceOnly, shape: Self.shape, layout: &layout)
        #expect(!layout.entries.contains { $0.name.hasPrefix("conv_stat") || $0.name.hasPrefix("head") })
    }

    /// After warm-up, a training step of the MLP (the `Sequential` container) allocates nothing.
    @Test func sequentialTrainingStepAllocatesNothing() {
        var layout = ParameterLayout()
        var model = MultilayerPerceptron(layout: &layout)
        let parameters = ParameterStore(layout: layout)
        var random = SeededRandom(seed: 3)
        model.initialize(parameters, using: &random)
        let x = Tensor.uniform([64, 16], in: -1..<1, using: &random)
        let labels = Tensor.bernoulli([64], probability: 0.3, using: &random)
        let bce = BinaryCrossEntropy()
        var logits = Tensor.zeros([]), gradient = Tensor.zeros([])
        func step() {
            parameters.zeroGradients()
            model.forward(features: x, mode: .training, random: &random, parameters, into: &logits)
            _ = bce(logits: logits, labels: labels, gradient: &gradient)
            model.backward(gradient, parameters)
        }
        // One BLAS thread: OpenBLAS 0.3.21 mallocs inside multi-threaded sgemm calls (Docs/PERFORMANCE.md).
        let counted = BLASThreads.withAllocationFreeProducts { () -> Int in
            step()
            step()
            revisit_allocation_count_begin()
            step()
            return revisit_allocation_count_end()
        }
        #expect(counted == 0, "an MLP training step allocated \(counted) times")
    }
}
