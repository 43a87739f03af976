import Tensors
import TestSupport
import Testing

@Suite("Reductions along an axis")
struct ReductionTests {
    /// Oracle: reduce `values` of `shape` along `axis` with `combine`, by explicit index loops.
    static func reduce(_ values: [Float], _ shape: [Int], axis: Int, _ combine: ([Float]) -> Float) -> [Float] {
        let outer = shape[..<axis].reduce(1, *), extent = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var out: [Float] = []
        for o in 0..<outer {
            for i in 0..<inner { out.append(combine((0..<extent).map { values[(o * extent + $0) * inner + i] })) }
        }
        return out
    }

    @Test(arguments: 0..<10)
    func sumMeanMaxArgmaxAgreeWithTheOracle(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed), stream: 7)
        let rank = 1 + random.int(below: 3)
        let shape = randomShape(rank: rank, extents: 1...7, &random)
        let x = Tensor.uniform(shape, in: -5..<5, using: &random)
        let v = x.scalars
        for axis in 0..<rank {
            var reduced = shape
            reduced.remove(at: axis)
            let sum = x.sum(alongAxis: axis)
            #expect(sum.shape == reduced)
            let oracleSum = Self.reduce(v, shape, axis: axis) { Float($0.reduce(0.0) { $0 + Double($1) }) }
            #expect(sum.scalars == oracleSum)
            expectClose(
                x.mean(alongAxis: axis), Tensor(shape: reduced, scalars: oracleSum.map { $0 / Float(shape[axis]) }),
                relative: 1e-6)
            #expect(x.max(alongAxis: axis).scalars == Self.reduce(v, shape, axis: axis) { $0.max()! })
            #expect(
                x.argmax(alongAxis: axis).map(Float.init)
                    == Self.reduce(v, shape, axis: axis) { Float($0.firstIndex(of: $0.max()!)!) })
        }
        #expect(abs(x.sum() - v.reduce(0, +)) <= 1e-4 * Float(v.count))
        #expect(x.max() == v.max()!)
    }

    @Test func accumulatingSumAddsToTheDestination() {
        let dy = Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        var bias = Tensor([10, 20])
        Tensor.sum(dy, alongAxis: 0, into: &bias, accumulate: true)
        #expect(bias.scalars == [19, 32])
    }

    @Test func tiesGoToTheFirstIndexAndEmptyAxesFollowNumpy() {
        #expect(Tensor(shape: [2, 3], scalars: [1, 3, 3, 2, 2, 0]).argmax(alongAxis: 1) == [1, 0])
        let empty = Tensor.zeros([0, 3])
        #expect(empty.sum(alongAxis: 0).scalars == [0, 0, 0])
        #expect(empty.mean(alongAxis: 0).scalars.allSatisfy { $0.isNaN })
        #expect(empty.sum(alongAxis: 1).shape == [0])
        #expect(Tensor([1, .nan, 2]).max().isNaN)
    }
}
