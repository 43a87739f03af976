import Tensors
import TestSupport
import Testing

@Suite("Reshape, transpose, slice, concatenate, split")
struct ShapeOperationTests {
    @Test(arguments: 0..<8)
    func transposeMatchesIndexDefinition(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed))
        let shape = randomShape(rank: 2, extents: 0...70, &random)
        let x = Tensor.uniform(shape, in: -1..<1, using: &random)
        let t = x.transposed()
        #expect(t.shape == [shape[1], shape[0]])
        for r in 0..<shape[0] {
            for c in 0..<shape[1] where t[c, r] != x[r, c] { Issue.record("t[\(c),\(r)]"); return }
        }
        #expect(t.transposed() == x)
    }

    @Test func reshapeKeepsOrderAndInfersOneExtent() {
        let x = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        let y = x.reshaped([3, -1])
        #expect(y.shape == [3, 2] && y.scalars == x.scalars)
        #expect(x.reshaped([6]).shape == [6])
        #expect(Tensor.zeros([0, 3]).reshaped([3, 0]).shape == [3, 0])
        #expect(Tensor(scalar: 1).reshaped([1, 1]).shape == [1, 1])
    }

    @Test func sliceTakesRowsOfTheFirstAxis() {
        let x = Tensor(shape: [4, 2, 1], scalars: (0..<8).map(Float.init))
        let rows = x.slice(1..<3)
        #expect(rows.shape == [2, 2, 1] && rows.scalars == [2, 3, 4, 5])
        #expect(x.slice(2..<2).shape == [0, 2, 1])
        #expect(x.slice(0..<4) == x)
    }

    @Test(arguments: 0..<12)
    func concatenateThenSplitRoundTripsOnEveryAxis(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed), stream: 3)
        let rank = 1 + random.int(below: 3)
        let axis = random.int(below: rank)
        let base = randomShape(rank: rank, extents: 1...5, &random)
        let sizes = (0..<(1 + random.int(below: 3))).map { _ in random.int(below: 4) }
        let parts = sizes.map { size -> Tensor in
            var shape = base
            shape[axis] = size
            return Tensor.uniform(shape, in: 0..<1, using: &random)
        }
        let joined = Tensor.concatenate(parts, alongAxis: axis)
        var expectedShape = base
        expectedShape[axis] = sizes.reduce(0, +)
        #expect(joined.shape == expectedShape)
        // Oracle: element-by-element placement by index arithmetic.
        let outer = base[..<axis].reduce(1, *), inner = base[(axis + 1)...].reduce(1, *)
        var expected = [Float](repeating: .nan, count: joined.count)
        var offset = 0
        for (part, size) in zip(parts, sizes) {
            let values = part.scalars
            for o in 0..<outer {
                for a in 0..<size {
                    for i in 0..<inner {
                        expected[(o * expectedShape[axis] + offset + a) * inner + i] =
                            values[(o * size + a) * inner + i]
                    }
                }
            }
            offset += size
        }
        #expect(joined.scalars == expected)
        #expect(joined.split(sizes: sizes, alongAxis: axis) == parts)
    }
}
