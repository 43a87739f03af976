import Layers
import Losses
import Models
import Tensors
import TestSupport
import Testing

@Suite("2-layer LSTM against torch_reference.py, and dropout")
struct StackedLSTMTests {
    static let reference: [String: Tensor] = try! loadReference("models/stacked_lstm_reference.safetensors").tensors

    /// Inference mode (dropout off) against PyTorch's eval mode: probabilities, loss and every
    /// gradient within 1e-5 (normwise per tensor), the project's standard bound.
    @Test func matchesPyTorchInInferenceMode() throws {
        var layout = ParameterLayout()
        var model = StackedLSTM(layout: &layout)
        let parameters = ParameterStore(layout: layout)
        #expect(parameters.count == 119_873, "torch_reference.py reports 119,873 parameters")
        var initial: [String: Tensor] = [:]
        for (key, value) in Self.reference where key.hasPrefix("initial.") {
            initial[String(key.dropFirst("initial.".count))] = value
        }
        try parameters.load(initial)
        var random = SeededRandom(seed: 0)
        var logits = Tensor.zeros([]), gradient = Tensor.zeros([])
        model.forward(sequence: Self.reference["x_seq"]!, mode: .inference, random: &random, parameters, into: &logits)
        #expect(logits.shape == [5, 1])
        expectAgreement(
            logits.sigmoid().reshaped([5]), Self.reference["probabilities"], relative: 1e-5, "probabilities")
        let loss = BinaryCrossEntropy()(logits: logits, labels: Self.reference["labels"]!, gradient: &gradient)
        let expected = Self.reference["loss"]!.scalar
        #expect(abs(loss - expected) <= 1e-5 * expected, "loss \(loss) vs PyTorch \(expected)")
        model.backward(gradient, parameters)
        for entry in parameters.layout.entries {
            expectAgreement(
                parameters.gradient(named: entry.name)!, Self.reference["grad.\(entry.name)"], relative: 1e-5,
                "d\(entry.name)")
        }
    }

    @Test func dropoutIsInvertedSeededAndOffInInference() {
        var dropout = Dropout(rate: 0.2)
        let x = Tensor.filled([200, 100], with: 2)
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        var random = SeededRandom(seed: 9)
        dropout.forward(x, mode: .training, random: &random, into: &y)
        let kept = y.scalars.filter { $0 != 0 }
        #expect(kept.allSatisfy { $0 == 2.5 }, "kept values are scaled by 1/(1 − p)")
        // 20,000 Bernoulli(0.8) draws: standard error 0.0028 on the kept share; 5σ bound.
        #expect(abs(Double(kept.count) / 20_000 - 0.8) < 0.014)
        dropout.backward(Tensor.filled([200, 100], with: 1), inputGradient: &dx)
        #expect(zip(dx.scalars, y.scalars).allSatisfy { ($0 == 0) == ($1 == 0) && ($0 == 0 || $0 == 1.25) })
        var again = Tensor.zeros([]), replay = SeededRandom(seed: 9)
        dropout.forward(x, mode: .training, random: &replay, into: &again)
        #expect(again == y, "the same seed gives the same mask")
        dropout.forward(x, mode: .inference, random: &random, into: &y)
        #expect(y == x)
    }

    /// Training mode, dropout on, against finite differences with the dropout masks replayed
    /// from the same seed on every evaluation (so the function is deterministic). Bound 5e-3,
    /// floor 1e-2, h = 1e-2: see RecurrentTests for the measured truncation and rounding.
    @Test func trainingModeGradientMatchesFiniteDifferences() {
        var configuration = StackedLSTM.Configuration()
        configuration.sequenceFeatures = 2
        configuration.firstHidden = 3
        configuration.secondHidden = 2
        configuration.dropout = 0.3
        var layout = ParameterLayout()
        var model = StackedLSTM(configuration, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        var random = SeededRandom(seed: 12)
        model.initialize(parameters, using: &random)
        let x = Tensor.uniform([3, 4, 2], in: -1..<1, using: &random)
        let labels = Tensor([1, 0, 1])
        let bce = BinaryCrossEntropy(reduction: .sum)
        var logits = Tensor.zeros([]), gradient = Tensor.zeros([])
        var masks = SeededRandom(seed: 100)
        model.forward(sequence: x, mode: .training, random: &masks, parameters, into: &logits)
        _ = bce(logits: logits, labels: labels, gradient: &gradient)
        model.backward(gradient, parameters)
        let analytic = Array(UnsafeBufferPointer(start: parameters.gradients, count: parameters.count))
        let numeric = finiteDifferenceGradient(of: parameters.values, count: parameters.count, step: 1e-2) {
            var scratch = model, out = Tensor.zeros([]), g = Tensor.zeros([]), replay = SeededRandom(seed: 100)
            scratch.forward(sequence: x, mode: .training, random: &replay, parameters, into: &out)
            return Double(bce(logits: out, labels: labels, gradient: &g))
        }
        let worst = maximumRelativeError(analytic: analytic, numeric: numeric, floor: 1e-2)
        #expect(worst.error < 5e-3, "element \(worst.index): relative error \(worst.error)")
    }
}
