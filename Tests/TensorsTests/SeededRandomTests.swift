import Foundation
import Tensors
import TestSupport
import Testing

@Suite("SeededRandom against numpy's PCG64 and statistical sanity")
struct SeededRandomTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            let seed: String, stream: String, state_after_seed: String, increment: String
            let raw: [String], uniform: [Float], uniform_double: [Double]
            let int_below_7: [Int], int_below_huge: [String], shuffle_10: [Int], normal: [Float]
        }
        let cases: [Case]
    }

    static let reference: Reference = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixturePath("random/pcg64_reference.json")))
        return try! JSONDecoder().decode(Reference.self, from: data)
    }()

    /// A 128-bit integer from its (high, low) halves, as a decimal string (for comparison with
    /// Python's big integers in the fixture).
    static func decimal(_ high: UInt64, _ low: UInt64) -> String {
        var digits: [UInt8] = []
        var (h, l) = (high, low)
        while h != 0 || l != 0 {
            let (qh, rh) = h.quotientAndRemainder(dividingBy: 10)
            let (ql, rl) = UInt64(10).dividingFullWidth((rh, l))
            (h, l) = (qh, ql)
            digits.append(UInt8(rl))
        }
        return digits.isEmpty ? "0" : String(digits.reversed().map { Character(String($0)) })
    }

    @Test(arguments: 0..<5)
    func streamsMatchNumpyPCG64(index: Int) {
        let c = Self.reference.cases[index]
        var random = SeededRandom(seed: UInt64(c.seed)!, stream: UInt64(c.stream)!)
        let state = random.rawState
        #expect(Self.decimal(state.stateHigh, state.stateLow) == c.state_after_seed)
        #expect(Self.decimal(state.incrementHigh, state.incrementLow) == c.increment)
        #expect((0..<16).map { _ in String(random.nextUInt64()) } == c.raw)
        #expect((0..<8).map { _ in random.uniform() } == c.uniform)
        #expect((0..<4).map { _ in random.uniformDouble() } == c.uniform_double)
        #expect((0..<16).map { _ in random.int(below: 7) } == c.int_below_7)
        #expect((0..<4).map { _ in String(random.int(below: (1 << 62) + 12345)) } == c.int_below_huge)
        var items = Array(0..<10)
        random.shuffle(&items)
        #expect(items == c.shuffle_10)
        #expect((0..<8).map { _ in random.normal() } == c.normal)
    }

    /// The bulk fill (four lanes jumping four states) is the same stream as one `uniform()` at a
    /// time, for every count around the lane width, and leaves the generator where they would.
    @Test(arguments: [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 1000, 4099])
    func bulkUniformsAreTheSequentialOnes(count: Int) {
        for stream in [UInt64(0), 1, 7] {
            var sequential = SeededRandom(seed: 20_261_205, stream: stream)
            var bulk = sequential
            let expected = (0..<count).map { _ in sequential.uniform() }
            var filled = [Float](repeating: -1, count: count)
            filled.withUnsafeMutableBufferPointer { bulk.fillUniform($0) }
            #expect(filled == expected, "count \(count), stream \(stream)")
            #expect(bulk.nextUInt64() == sequential.nextUInt64(), "state after \(count) draws, stream \(stream)")
        }
    }

    @Test func sameSeedSameStreamDifferentStreamsDiffer() {
        var a = SeededRandom(seed: 7), b = SeededRandom(seed: 7), c = SeededRandom(seed: 7, stream: 1)
        let first = (0..<100).map { _ in a.nextUInt64() }
        #expect(first == (0..<100).map { _ in b.nextUInt64() })
        #expect(first != (0..<100).map { _ in c.nextUInt64() })
        var d = SeededRandom(seed: 7)
        let tensorA = Tensor.normal([5, 5], using: &d)
        var e = SeededRandom(seed: 7)
        #expect(tensorA == Tensor.normal([5, 5], using: &e))
    }

    @Test func distributionsHaveTheRightMoments() {
        var random = SeededRandom(seed: 123)
        let n = 200_000
        let u = Tensor.uniform([n], in: -1..<3, using: &random)
        #expect(abs(u.mean() - 1) < 0.02)
        #expect(u.scalars.allSatisfy { $0 >= -1 && $0 < 3 })
        let z = Tensor.normal([n], mean: 2, standardDeviation: 0.5, using: &random)
        let mean = z.mean()
        let variance = ((z - mean) * (z - mean)).mean()
        // Standard errors at n = 200k: 0.0011 for the mean, 0.0008 for the variance; 5σ bounds.
        #expect(abs(mean - 2) < 0.006)
        #expect(abs(variance - 0.25) < 0.004)
        let bits = Tensor.bernoulli([n], probability: 0.1, using: &random)
        #expect(abs(bits.mean() - 0.1) < 0.0035)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[random.int(below: 7)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
        let permutation = random.permutation(count: 1000)
        #expect(permutation.sorted() == Array(0..<1000) && permutation != Array(0..<1000))
    }
}
