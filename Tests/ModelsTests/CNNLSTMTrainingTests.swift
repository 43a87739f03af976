import AllocationCounter
import Layers
import Losses
import Models
import Optimizers
import Tensors
import TestSupport
import Testing

@Suite("CNN-LSTM gradients, allocation and learning")
struct CNNLSTMTrainingTests {
    static func tinyConfiguration() -> CNNLSTM.Configuration {
        var c = CNNLSTM.Configuration()
        c.steps = 4
        c.sequenceFeatures = 3
        c.staticFeatures = 2
        c.convolutionChannels = 3
        c.hiddenSize = 3
        c.layerCount = 2
        return c
    }

    /// The whole model, through the focal loss, against central differences of the loss.
    /// h = 1e-2; bound 5e-3 with floor 1e-3: a deep composition (conv, batch norm, two LSTM
    /// layers, three dense layers, softmax, focal loss) has larger curvature than one layer,
    /// so the h²/6 truncation term is ~1e-4 relative; the bound leaves headroom and still
    /// flags any wrong term (those are off by O(1)).
    @Test func fullModelGradientMatchesFiniteDifferences() {
        var random = SeededRandom(seed: 21)
        var layout = ParameterLayout()
        var model = CNNLSTM(Self.tinyConfiguration(), layout: &layout)
        let parameters = ParameterStore(layout: layout)
        model.initialize(parameters, using: &random)
        let sequence = Tensor.uniform([5, 4, 3], in: -1..<1, using: &random)
        let statics = Tensor.uniform([5, 4, 2], in: -1..<1, using: &random)
        let mask = Tensor(shape: [5, 4], scalars: [1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1])
        let labels = Tensor([1, 0, 1, 0, 0])
        let focal = FocalLoss(alpha: 0.25, gamma: 2, form: .twoClassSoftmax, reduction: .sum)
        var logits = Tensor.zeros([]), gradient = Tensor.zeros([])
        model.forward(sequence: sequence, statics: statics, mask: mask, mode: .training, parameters, into: &logits)
        _ = focal(logits: logits, labels: labels, gradient: &gradient)
        model.backward(gradient, parameters)
        let analytic = Array(UnsafeBufferPointer(start: parameters.gradients, count: parameters.count))
        let numeric = finiteDifferenceGradient(of: parameters.values, count: parameters.count, step: 1e-2) {
            var scratch = model, out = Tensor.zeros([]), g = Tensor.zeros([])
            scratch.forward(sequence: sequence, statics: statics, mask: mask, mode: .training, parameters, into: &out)
            return Double(focal(logits: out, labels: labels, gradient: &g))
        }
        let worst = maximumRelativeError(analytic: analytic, numeric: numeric, floor: 1e-3)
        let name = parameters.layout.entries.last { $0.offset <= worst.index }!.name
        #expect(worst.error < 5e-3, "\(name) (element \(worst.index)): relative error \(worst.error)")
    }

    @Test func aSteadyStateTrainingStepAllocatesNothing() {
        var random = SeededRandom(seed: 2)
        var layout = ParameterLayout()
        var model = CNNLSTM(layout: &layout)
        let parameters = ParameterStore(layout: layout)
        model.initialize(parameters, using: &random)
        var adam = Adam(parameterCount: parameters.count)
        let sequence = Tensor.uniform([64, 10, 7], in: -1..<1, using: &random)  // [B, T, 7]
        let statics = Tensor.uniform([64, 10, 4], in: -1..<1, using: &random)  // [B, T, 4]
        let labels = Tensor.bernoulli([64], probability: 0.1, using: &random)
        let focal = FocalLoss()
        var logits = Tensor.zeros([]), gradient = Tensor.zeros([])
        func step() {
            parameters.zeroGradients()
            model.forward(sequence: sequence, statics: statics, mode: .training, parameters, into: &logits)
            _ = focal(logits: logits, labels: labels, gradient: &gradient)
            model.backward(gradient, parameters)
            adam.update(values: parameters.values, gradients: parameters.gradients)
        }
        // The tools' configuration (`BlockParallelism.useThreads`): one and two threads for the
        // blocks, OpenBLAS single-threaded. With two, the recurrent blocks and Adam's chunks run
        // on the worker; the count covers this thread, which runs block 0 and everything else.
        for threads in [1, 2] {
            let counted = BLAS.withLibrary(.openBLAS) {
                BlockParallelism.withThreads(threads) { () -> Int in
                    step()
                    revisit_allocation_count_begin()
                    step()
                    return revisit_allocation_count_end()
                }
            }
            #expect(counted == 0, "\(threads) threads")
        }
    }

    /// A learnable sequence task: the label is 1 when feature 0 summed over the last three steps,
    /// plus half of static feature 0, is positive. A reduced-width CNN-LSTM (debug builds are
    /// slow) must separate a held-out set with ROC-AUC > 0.95 after a few epochs.
    @Test func learnsASyntheticSequenceTask() {
        var random = SeededRandom(seed: 2018)
        func batch(_ n: Int) -> (Tensor, Tensor, Tensor) {
            let sequence = Tensor.normal([n, 10, 7], using: &random)
            let staticRow = Tensor.normal([n, 4], using: &random)
            var statics = Tensor.zeros([n, 10, 4]), labels = Tensor.zeros([n])
            for i in 0..<n {
                for t in 0..<10 { for f in 0..<4 { statics[i, t, f] = staticRow[i, f] } }
                let score = sequence[i, 7, 0] + sequence[i, 8, 0] + sequence[i, 9, 0] + 0.5 * staticRow[i, 0]
                labels[i] = score > 0 ? 1 : 0
            }
            return (sequence, statics, labels)
        }
        let (trainSequence, trainStatics, trainLabels) = batch(1024)
        let (testSequence, testStatics, testLabels) = batch(512)
        var configuration = CNNLSTM.Configuration()
        configuration.convolutionChannels = 16
        configuration.hiddenSize = 24
        configuration.layerCount = 2
        var layout = ParameterLayout()
        var model = CNNLSTM(configuration, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        model.initialize(parameters, using: &random)
        var adam = Adam(parameterCount: parameters.count, configuration: AdamConfiguration(learningRate: 0.01))
        let loss = SoftmaxCrossEntropy()
        var logits = Tensor.zeros([]), gradient = Tensor.zeros([])
        for _ in 0..<6 {
            for start in stride(from: 0, to: 1024, by: 64) {
                let rows = start..<(start + 64)
                parameters.zeroGradients()
                model.forward(
                    sequence: trainSequence.slice(rows), statics: trainStatics.slice(rows), mode: .training, parameters,
                    into: &logits)
                _ = loss(logits: logits, targets: trainLabels.slice(rows).scalars.map { Int($0) }, gradient: &gradient)
                model.backward(gradient, parameters)
                adam.update(values: parameters.values, gradients: parameters.gradients)
            }
        }
        var probabilities = Tensor.zeros([])
        model.forward(sequence: testSequence, statics: testStatics, mode: .inference, parameters, into: &logits)
        Softmax.forward(logits, into: &probabilities)
        let scores = (0..<512).map { probabilities[$0, 1] }
        let auc = rocAUC(scores: scores, labels: testLabels.scalars)
        #expect(auc > 0.95, "held-out ROC-AUC \(auc)")
    }

    /// ROC-AUC as the Mann–Whitney statistic (ties count one half); a test helper until the
    /// Metrics module exists.
    func rocAUC(scores: [Float], labels: [Float]) -> Double {
        var positives: [Float] = [], negatives: [Float] = []
        for (s, y) in zip(scores, labels) { if y > 0.5 { positives.append(s) } else { negatives.append(s) } }
        var wins = 0.0
        for p in positives { for n in negatives { wins += p > n ? 1 : (p == n ? 0.5 : 0) } }
        return wins / Double(positives.count * negatives.count)
    }
}
