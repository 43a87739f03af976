import AllocationCounter
import Layers
import Tensors
import TestSupport
import Testing

@Suite("LSTM")
struct LSTMTests {
    /// Float32 against a float64 PyTorch reference, normwise per tensor. Ten steps of two
    /// layers of sums of ≤ 8 products, each value O(1): accumulated rounding is ~100 ulp of the
    /// largest value at worst, i.e. ≈ 1e-5; measured differences are ~1e-7.
    static let tolerance: Float = 1e-5
    static let parameterNames = (0..<2).flatMap { l in ["weight_ih_l\(l)", "weight_hh_l\(l)", "bias_ih_l\(l)", "bias_hh_l\(l)"] }

    static func referenceModel(_ reference: [String: Tensor]) throws -> (LSTM, ParameterStore) {
        var layout = ParameterLayout()
        let lstm = LSTM("lstm", inputSize: 3, hiddenSize: 4, layerCount: 2, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        try parameters.load(Dictionary(uniqueKeysWithValues: parameterNames.map { ("lstm.\($0)", reference["lstm.\($0)"]!) }))
        return (lstm, parameters)
    }

    func check(_ prefix: String, returnSequences: Bool, masked: Bool = false) throws {
        let reference = try loadReference("layers/layer_reference.safetensors").tensors
        var (lstm, parameters) = try Self.referenceModel(reference)
        #expect(layoutMatchesPyTorch(parameters))
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        lstm.forward(reference["\(prefix).input"]!, mask: masked ? reference["\(prefix).mask"] : nil,
                     returnSequences: returnSequences, parameters, into: &y)
        expectAgreement(y, reference["\(prefix).output"], relative: Self.tolerance, "\(prefix) output")
        lstm.backward(reference["\(prefix).upstream"]!, parameters, inputGradient: &dx)
        expectAgreement(dx, reference["\(prefix).grad.input"], relative: Self.tolerance, "\(prefix) input gradient")
        for name in Self.parameterNames {
            expectAgreement(parameters.gradient(named: "lstm.\(name)")!, reference["\(prefix).grad.\(name)"],
                            relative: Self.tolerance, "\(prefix) d\(name)")
        }
    }

    func layoutMatchesPyTorch(_ parameters: ParameterStore) -> Bool {
        parameters.layout.entries.map(\.name) == Self.parameterNames.map { "lstm.\($0)" }
            && parameters.layout.entries[0].shape == [16, 3] && parameters.layout.entries[1].shape == [16, 4]
            && parameters.layout.entries[4].shape == [16, 4]
    }

    @Test func everyStepMatchesPyTorch() throws { try check("lstm", returnSequences: true) }
    @Test func lastStepMatchesPyTorch() throws { try check("lstm_last", returnSequences: false) }
    @Test func leftPaddedSequencesMatchPyTorchOnTheUnpaddedSuffix() throws {
        try check("lstm_masked", returnSequences: false, masked: true)
    }

    @Test func gradientsMatchFiniteDifferences() {
        var random = SeededRandom(seed: 77)
        var layout = ParameterLayout()
        var lstm = LSTM("rnn", inputSize: 2, hiddenSize: 3, layerCount: 2, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        lstm.initialize(parameters, using: &random)
        let x = Tensor.uniform([2, 4, 2], in: -1..<1, using: &random)
        let mask = Tensor(shape: [2, 4], scalars: [1, 1, 1, 1, 0, 1, 1, 1])
        let upstream = Tensor.uniform([2, 4, 3], in: -1..<1, using: &random)
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        lstm.forward(x, mask: mask, returnSequences: true, parameters, into: &y)
        lstm.backward(upstream, parameters, inputGradient: &dx)

        func loss(_ input: Tensor) -> Double {
            var scratch = lstm, output = Tensor.zeros([])
            scratch.forward(input, mask: mask, returnSequences: true, parameters, into: &output)
            return zip(output.scalars, upstream.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        // h = 1e-2 on a smooth function with O(1) second derivatives: truncation error ~h²/6
        // ≈ 2e-5 relative, Float32 forward rounding ~1e-7·|L|/h ≈ 1e-5; bound 2e-3 leaves room
        // and still catches any wrong term (those give errors of order 1).
        let numeric = finiteDifferenceGradient(of: parameters.values, count: parameters.count, step: 1e-2) { loss(x) }
        let analytic = Array(UnsafeBufferPointer(start: parameters.gradients, count: parameters.count))
        let worst = maximumRelativeError(analytic: analytic, numeric: numeric, floor: 1e-2)
        #expect(worst.error < 2e-3, "parameter \(parameters.layout.entries.last { $0.offset <= worst.index }!.name)[\(worst.index)]: relative error \(worst.error)")
        let numericInput = finiteDifferenceGradient(ofInput: x, step: 1e-2, loss: loss)
        let inputError = maximumRelativeError(analytic: dx.scalars, numeric: numericInput, floor: 1e-2)
        #expect(inputError.error < 2e-3, "input \(inputError.index): relative error \(inputError.error)")
        #expect(dx[1, 0, 0] == 0 && dx[1, 0, 1] == 0, "a masked step receives no gradient")
    }

    @Test(arguments: [1, 3, 6])
    func leftPaddingGivesTheUnpaddedResult(padding: Int) {
        var random = SeededRandom(seed: UInt64(padding))
        var layout = ParameterLayout()
        var lstm = LSTM("rnn", inputSize: 3, hiddenSize: 5, layerCount: 3, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        lstm.initialize(parameters, using: &random)
        let real = Tensor.uniform([1, 4, 3], in: -1..<1, using: &random)
        let noise = Tensor.uniform([1, padding, 3], in: -5..<5, using: &random)  // masked: values must not matter
        let padded = Tensor.concatenate([noise, real], alongAxis: 1)
        let mask = Tensor(shape: [1, padding + 4], scalars: [Float](repeating: 0, count: padding) + [1, 1, 1, 1])
        var unpaddedOutput = Tensor.zeros([]), paddedOutput = Tensor.zeros([])
        lstm.forward(real, returnSequences: false, parameters, into: &unpaddedOutput)
        lstm.forward(padded, mask: mask, returnSequences: false, parameters, into: &paddedOutput)
        #expect(paddedOutput == unpaddedOutput)
    }

    @Test func steadyStateTrainingStepsAllocateNothing() {
        var random = SeededRandom(seed: 3)
        var layout = ParameterLayout()
        var lstm = LSTM("lstm", inputSize: 64, hiddenSize: 128, layerCount: 3, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        lstm.initialize(parameters, using: &random)
        let x = Tensor.uniform([64, 10, 64], in: -1..<1, using: &random)   // [N, T, C]
        let mask = Tensor.filled([64, 10], with: 1)
        let upstream = Tensor.uniform([64, 128], in: -1..<1, using: &random)
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        // One BLAS thread: OpenBLAS 0.3.21 mallocs inside multi-threaded sgemm calls (Docs/PERFORMANCE.md).
        let counted = BLASThreads.with(1) { () -> Int in
            lstm.forward(x, mask: mask, returnSequences: false, parameters, into: &y)
            lstm.backward(upstream, parameters, inputGradient: &dx)
            revisit_allocation_count_begin()
            var remaining = 2
            while remaining > 0 {
                parameters.zeroGradients()
                lstm.forward(x, mask: mask, returnSequences: false, parameters, into: &y)
                lstm.backward(upstream, parameters, inputGradient: &dx)
                remaining -= 1
            }
            return revisit_allocation_count_end()
        }
        #expect(counted == 0)
        #expect(y.shape == [64, 128] && dx.shape == [64, 10, 64])
    }
}
