import AllocationCounter
import Layers
import Tensors
import TestSupport
import Testing

/// LSTM, GRU and tanh RNN share one engine (`RecurrentNetwork`); every check runs for each cell.
@Suite("Recurrent networks: LSTM, GRU, tanh RNN")
struct RecurrentTests {
    /// Float32 against a float64 PyTorch reference, normwise per tensor. Five steps of two
    /// layers of sums of ≤ 8 products, each value O(1): accumulated rounding is well under
    /// 1e-5 of the largest value (measured ~1e-7).
    static let tolerance: Float = 1e-5
    static let parameterNames = (0..<2).flatMap { l in
        ["weight_ih_l\(l)", "weight_hh_l\(l)", "bias_ih_l\(l)", "bias_hh_l\(l)"]
    }

    enum Kind: String, CaseIterable, Sendable { case lstm, gru, rnn }

    /// Forward and backward of the network of `kind`, as closures over one instance.
    struct Network {
        let forward: (Tensor, Tensor?, Bool, inout Tensor) -> Void
        let backward: (Tensor, inout Tensor) -> Void
        let parameters: ParameterStore
    }

    static func make(_ kind: Kind, name: String, inputSize: Int, hiddenSize: Int, layerCount: Int) -> (
        Network, (inout SeededRandom) -> Void
    ) {
        var layout = ParameterLayout()
        func wrap<Cell: RecurrentCell>(_ network: RecurrentNetwork<Cell>, _ layout: ParameterLayout) -> (
            Network, (inout SeededRandom) -> Void
        ) {
            var network = network
            let parameters = ParameterStore(layout: layout)
            let box = Network(
                forward: { x, mask, sequences, y in
                    network.forward(x, mask: mask, returnSequences: sequences, parameters, into: &y)
                },
                backward: { dy, dx in network.backward(dy, parameters, inputGradient: &dx) },
                parameters: parameters)
            return (box, { network.initialize(parameters, using: &$0) })
        }
        switch kind {
        case .lstm:
            let n = LSTM(name, inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layerCount, layout: &layout);
            return wrap(n, layout)
        case .gru:
            let n = GRU(name, inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layerCount, layout: &layout);
            return wrap(n, layout)
        case .rnn:
            let n = TanhRNN(
                name, inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layerCount, layout: &layout);
            return wrap(n, layout)
        }
    }

    @Test(arguments: Kind.allCases, [false, true])
    func matchesPyTorch(kind: Kind, masked: Bool) throws {
        let reference = try loadReference("layers/layer_reference.safetensors").tensors
        let prefix = masked ? "\(kind.rawValue)_masked" : kind.rawValue
        let (network, _) = Self.make(kind, name: kind.rawValue, inputSize: 3, hiddenSize: 4, layerCount: 2)
        let gates = ["lstm": 4, "gru": 3, "rnn": 1][kind.rawValue]!
        #expect(network.parameters.layout.entries.map(\.name) == Self.parameterNames.map { "\(kind.rawValue).\($0)" })
        #expect(
            network.parameters.layout.entries[0].shape == [4 * gates, 3]
                && network.parameters.layout.entries[1].shape == [4 * gates, 4])
        try network.parameters.load(
            Dictionary(
                uniqueKeysWithValues: Self.parameterNames.map {
                    ("\(kind.rawValue).\($0)", reference["\(kind.rawValue).\($0)"]!)
                }))
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        network.forward(reference["\(prefix).input"]!, masked ? reference["\(prefix).mask"] : nil, !masked, &y)
        expectAgreement(y, reference["\(prefix).output"], relative: Self.tolerance, "\(prefix) output")
        network.backward(reference["\(prefix).upstream"]!, &dx)
        expectAgreement(dx, reference["\(prefix).grad.input"], relative: Self.tolerance, "\(prefix) input gradient")
        for name in Self.parameterNames {
            expectAgreement(
                network.parameters.gradient(named: "\(kind.rawValue).\(name)")!, reference["\(prefix).grad.\(name)"],
                relative: Self.tolerance, "\(prefix) d\(name)")
        }
    }

    @Test func lstmLastStepMatchesPyTorch() throws {
        let reference = try loadReference("layers/layer_reference.safetensors").tensors
        let (network, _) = Self.make(.lstm, name: "lstm", inputSize: 3, hiddenSize: 4, layerCount: 2)
        try network.parameters.load(
            Dictionary(uniqueKeysWithValues: Self.parameterNames.map { ("lstm.\($0)", reference["lstm.\($0)"]!) }))
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        network.forward(reference["lstm_last.input"]!, nil, false, &y)
        expectAgreement(y, reference["lstm_last.output"], relative: Self.tolerance, "output")
        network.backward(reference["lstm_last.upstream"]!, &dx)
        expectAgreement(dx, reference["lstm_last.grad.input"], relative: Self.tolerance, "input gradient")
        for name in Self.parameterNames {
            expectAgreement(
                network.parameters.gradient(named: "lstm.\(name)")!, reference["lstm_last.grad.\(name)"],
                relative: Self.tolerance, "d\(name)")
        }
    }

    @Test(arguments: Kind.allCases)
    func gradientsMatchFiniteDifferences(kind: Kind) {
        var random = SeededRandom(seed: 77)
        let (network, initialize) = Self.make(kind, name: "rnn", inputSize: 2, hiddenSize: 3, layerCount: 2)
        initialize(&random)
        let parameters = network.parameters
        let x = Tensor.uniform([2, 4, 2], in: -1..<1, using: &random)
        let mask = Tensor(shape: [2, 4], scalars: [1, 1, 1, 1, 0, 1, 1, 1])
        let upstream = Tensor.uniform([2, 4, 3], in: -1..<1, using: &random)
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        network.forward(x, mask, true, &y)
        network.backward(upstream, &dx)
        let analytic = Array(UnsafeBufferPointer(start: parameters.gradients, count: parameters.count))
        let analyticInput = dx

        func loss(_ input: Tensor) -> Double {
            var output = Tensor.zeros([])
            network.forward(input, mask, true, &output)
            return zip(output.scalars, upstream.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        // Step h = 1e-2, bound 5e-3 (relative, floor 1e-2). This is the floor of a Float32
        // finite-difference check here, measured for each cell at h = 1e-2 / 7e-3 / 5e-3:
        //   tanh RNN  3.0e-3 / 1.5e-3 / 1.3e-3   truncation, h²·f‴/6 (falls 4× as h halves)
        //   GRU       1.4e-3 / 2.1e-3 / 4.5e-3   Float32 rounding of the loss, ~ε·|L|/2h (grows as 1/h)
        //   LSTM      0.9e-3 / 1.2e-3 / 1.2e-3
        // No single h puts all three under 2e-3; 5e-3 holds with margin and is still 200×
        // below the O(1) error of a wrong term. The precise check is agreement with PyTorch
        // (1e-5, matchesPyTorch); this one is the independent sanity check.
        let numeric = finiteDifferenceGradient(of: parameters.values, count: parameters.count, step: 1e-2) { loss(x) }
        let worst = maximumRelativeError(analytic: analytic, numeric: numeric, floor: 1e-2)
        #expect(
            worst.error < 5e-3,
            "\(kind) \(parameters.layout.entries.last { $0.offset <= worst.index }!.name)[\(worst.index)]: relative error \(worst.error)"
        )
        let inputError = maximumRelativeError(
            analytic: analyticInput.scalars, numeric: finiteDifferenceGradient(ofInput: x, step: 1e-2, loss: loss),
            floor: 1e-2)
        #expect(inputError.error < 5e-3, "\(kind) input \(inputError.index): relative error \(inputError.error)")
        #expect(analyticInput[1, 0, 0] == 0 && analyticInput[1, 0, 1] == 0, "a masked step receives no gradient")
    }

    /// A copy of a network is a value: running the copy (as ShardedInference's model copies do)
    /// between the original's forward and backward leaves the original's saved state alone, and
    /// the copy computes what a fresh network would.
    @Test func aCopiedNetworkKeepsItsOwnBlocks() {
        var layout = ParameterLayout()
        var original = GRU("gru", inputSize: 3, hiddenSize: 8, layerCount: 2, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        var random = SeededRandom(seed: 21)
        original.initialize(parameters, using: &random)
        let fresh = original
        let x1 = Tensor.uniform([64, 5, 3], in: -1..<1, using: &random)  // two row blocks of 32
        let x2 = Tensor.uniform([64, 5, 3], in: -1..<1, using: &random)
        let dy = Tensor.uniform([64, 8], in: -1..<1, using: &random)
        func expected(_ x: Tensor) -> (y: Tensor, dx: Tensor) {
            var network = fresh, y = Tensor.zeros([]), dx = Tensor.zeros([])
            network.forward(x, returnSequences: false, parameters, into: &y)
            network.backward(dy, parameters, inputGradient: &dx)
            return (y, dx)
        }
        let (y1, dx1) = expected(x1), (y2, _) = expected(x2)
        var y = Tensor.zeros([]), dx = Tensor.zeros([]), copyOutput = Tensor.zeros([])
        original.forward(x1, returnSequences: false, parameters, into: &y)
        var copy = original
        copy.forward(x2, returnSequences: false, parameters, into: &copyOutput)
        original.backward(dy, parameters, inputGradient: &dx)
        #expect(y == y1)
        #expect(copyOutput == y2)
        #expect(dx == dx1, "the copy's forward overwrote the original's saved state")
    }

    @Test(arguments: Kind.allCases, [1, 3, 6])
    func leftPaddingGivesTheUnpaddedResult(kind: Kind, padding: Int) {
        var random = SeededRandom(seed: UInt64(padding))
        let (network, initialize) = Self.make(kind, name: "rnn", inputSize: 3, hiddenSize: 5, layerCount: 3)
        initialize(&random)
        let real = Tensor.uniform([1, 4, 3], in: -1..<1, using: &random)
        let noise = Tensor.uniform([1, padding, 3], in: -5..<5, using: &random)  // masked: values must not matter
        let padded = Tensor.concatenate([noise, real], alongAxis: 1)
        let mask = Tensor(shape: [1, padding + 4], scalars: [Float](repeating: 0, count: padding) + [1, 1, 1, 1])
        var unpaddedOutput = Tensor.zeros([]), paddedOutput = Tensor.zeros([])
        // Bit for bit with OpenBLAS, whose kernels sum a column's k terms in the same order
        // whatever the column count: the masking itself is exact.
        BLAS.withLibrary(.openBLAS) {
            network.forward(real, nil, false, &unpaddedOutput)
            network.forward(padded, mask, false, &paddedOutput)
        }
        #expect(paddedOutput == unpaddedOutput)
        // With the default library, within 4 ulps: the padded input projection W_ih · X has more
        // columns (T·N = 10 against 4), and oneDNN's AVX2 kernels pick their blocking by the
        // product's shape, so a column's sum may run in another order (1 ulp seen, under
        // DNNL_MAX_CPU_ISA=AVX2; its AVX-512 kernels matched bit for bit).
        network.forward(real, nil, false, &unpaddedOutput)
        network.forward(padded, mask, false, &paddedOutput)
        for (p, u) in zip(paddedOutput.scalars, unpaddedOutput.scalars) {
            #expect(abs(p - u) <= 4 * u.ulp, "\(kind), padding \(padding): \(p) against \(u)")
        }
    }

    @Test(arguments: Kind.allCases)
    func steadyStateTrainingStepsAllocateNothing(kind: Kind) {
        var random = SeededRandom(seed: 3)
        let (network, initialize) = Self.make(kind, name: "net", inputSize: 64, hiddenSize: 128, layerCount: 3)
        initialize(&random)
        let x = Tensor.uniform([64, 10, 64], in: -1..<1, using: &random)  // [N, T, C]
        let mask = Tensor.filled([64, 10], with: 1)
        let upstream = Tensor.uniform([64, 128], in: -1..<1, using: &random)
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        // One BLAS thread: OpenBLAS 0.3.21 mallocs inside multi-threaded sgemm calls (Docs/PERFORMANCE.md).
        let counted = BLASThreads.withAllocationFreeProducts { () -> Int in
            network.forward(x, mask, false, &y)
            network.backward(upstream, &dx)
            revisit_allocation_count_begin()
            network.parameters.zeroGradients()
            network.forward(x, mask, false, &y)
            network.backward(upstream, &dx)
            return revisit_allocation_count_end()
        }
        #expect(counted == 0)
        #expect(y.shape == [64, 128] && dx.shape == [64, 10, 64])
    }

    /// The same step with two threads: the two row blocks run concurrently, BLAS is
    /// single-threaded inside them, and the calling thread still allocates nothing (the
    /// counter sees this thread only; the blocks run the code the one-thread test counts).
    @Test func concurrentRowBlocksAllocateNothingOnTheCallingThread() {
        var random = SeededRandom(seed: 4)
        let (network, initialize) = Self.make(.lstm, name: "net", inputSize: 64, hiddenSize: 128, layerCount: 3)
        initialize(&random)
        let x = Tensor.uniform([64, 10, 64], in: -1..<1, using: &random)
        let upstream = Tensor.uniform([64, 128], in: -1..<1, using: &random)
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        let counted = BLAS.withLibrary(.openBLAS) {
            BlockParallelism.withThreads(2) { () -> Int in
                network.forward(x, nil, false, &y)
                network.backward(upstream, &dx)
                revisit_allocation_count_begin()
                network.parameters.zeroGradients()
                network.forward(x, nil, false, &y)
                network.backward(upstream, &dx)
                return revisit_allocation_count_end()
            }
        }
        #expect(counted == 0)
    }

    /// A batch of 70 rows runs as two row blocks of 35 (`RecurrentNetwork.blockCount`): its
    /// outputs and input gradients are bit for bit those of two separate 35-row runs (same
    /// products, same shapes), and its weight gradients their sum.
    @Test(arguments: Kind.allCases)
    func rowBlocksGiveTheResultOfSeparateRuns(kind: Kind) {
        #expect(LSTM.blockCount(rows: 70) == 2 && LSTM.blockCount(rows: 31) == 1 && LSTM.blockCount(rows: 1000) == 8)
        var random = SeededRandom(seed: 70)
        let (whole, initialize) = Self.make(kind, name: "net", inputSize: 5, hiddenSize: 6, layerCount: 2)
        initialize(&random)
        let (part, _) = Self.make(kind, name: "net", inputSize: 5, hiddenSize: 6, layerCount: 2)
        part.parameters.values.update(from: whole.parameters.values, count: whole.parameters.count)
        let x = Tensor.uniform([70, 4, 5], in: -1..<1, using: &random)
        var maskValues = [Float](repeating: 1, count: 70 * 4)
        // Left padding.
        for row in stride(from: 0, to: 70, by: 3) { for step in 0..<(row % 4) { maskValues[row * 4 + step] = 0 } }
        let mask = Tensor(shape: [70, 4], scalars: maskValues)
        let upstream = Tensor.uniform([70, 4, 6], in: -1..<1, using: &random)
        var y = Tensor.zeros([]), dx = Tensor.zeros([])
        whole.forward(x, mask, true, &y)
        whole.backward(upstream, &dx)

        var partY: [Float] = [], partDX: [Float] = []
        for rows in [0..<35, 35..<70] {
            var yPart = Tensor.zeros([]), dxPart = Tensor.zeros([])
            part.forward(x.slice(rows), mask.slice(rows), true, &yPart)
            part.backward(upstream.slice(rows), &dxPart)
            partY += yPart.scalars
            partDX += dxPart.scalars
        }
        #expect(y.scalars == partY, "\(kind) outputs")
        #expect(dx.scalars == partDX, "\(kind) input gradients")
        for entry in whole.parameters.layout.entries {
            // Both sides add the same two Float sums; only the order of one addition may differ.
            expectAgreement(
                whole.parameters.gradient(named: entry.name)!, part.parameters.gradient(named: entry.name),
                relative: 1e-6, "\(kind) d\(entry.name)")
        }
    }

    /// `--threads` changes the speed, never the numbers: the partition into row blocks depends
    /// on the row count alone.
    @Test(arguments: Kind.allCases)
    func theThreadCountDoesNotChangeTheResult(kind: Kind) {
        var random = SeededRandom(seed: 96)
        let x = Tensor.uniform([96, 6, 8], in: -1..<1, using: &random)
        let upstream = Tensor.uniform([96, 16], in: -1..<1, using: &random)
        func run(threads: Int) -> [Float] {
            var seeded = SeededRandom(seed: 5)
            let (network, initialize) = Self.make(kind, name: "net", inputSize: 8, hiddenSize: 16, layerCount: 2)
            initialize(&seeded)
            var y = Tensor.zeros([]), dx = Tensor.zeros([])
            BlockParallelism.withThreads(threads) {
                network.forward(x, nil, false, &y)
                network.backward(upstream, &dx)
            }
            return y.scalars + dx.scalars
                + Array(UnsafeBufferPointer(start: network.parameters.gradients, count: network.parameters.count))
        }
        #expect(run(threads: 1) == run(threads: 2))
    }
}
