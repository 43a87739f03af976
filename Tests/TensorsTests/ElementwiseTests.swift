import Foundation
import Tensors
import TestSupport
import Testing

@Suite("Elementwise arithmetic and math against a plain-Swift oracle")
struct ElementwiseTests {
    static let operations: [(BinaryOperation, @Sendable (Float, Float) -> Float)] = [
        (.add, +), (.subtract, -), (.multiply, *), (.divide, /)
    ]

    @Test(arguments: 0..<6)
    func sameShapeScalarAndRowVectorOperands(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed), stream: 5)
        let shape = randomShape(rank: 2 + random.int(below: 2), extents: 1...9, &random)
        let a = Tensor.uniform(shape, in: -2..<2, using: &random)
        let b = Tensor.uniform(shape, in: 0.5..<3, using: &random)
        let row = Tensor.uniform([shape.last!], in: 0.5..<3, using: &random)
        let s: Float = 1.75
        let av = a.scalars, bv = b.scalars, rv = row.scalars
        for (operation, f) in Self.operations {
            var out = Tensor.zeros([])
            Tensor.apply(operation, a, b, into: &out)
            #expect(out.shape == shape)
            #expect(out.scalars == zip(av, bv).map(f), "\(operation) same shape")
            Tensor.apply(operation, a, row, into: &out)
            #expect(out.scalars == av.indices.map { f(av[$0], rv[$0 % rv.count]) }, "\(operation) row vector")
            Tensor.apply(operation, a, s, into: &out)
            #expect(out.scalars == av.map { f($0, s) }, "\(operation) scalar")
        }
        #expect((a + b).scalars == zip(av, bv).map(+))
        #expect((a - row).scalars == av.indices.map { av[$0] - rv[$0 % rv.count] })
        #expect((s - a).scalars == av.map { s - $0 })
        #expect((s / b).scalars == bv.map { s / $0 })
        #expect((s * a).scalars == av.map { s * $0 })
        #expect((-a).scalars == av.map { -$0 })
        var inPlace = a
        inPlace += b
        inPlace *= row
        inPlace -= 0.5
        inPlace /= b
        #expect(inPlace.scalars == av.indices.map { (((av[$0] + bv[$0]) * rv[$0 % rv.count]) - 0.5) / bv[$0] })
        var fused = a
        fused.addScaled(b, by: -0.25)
        #expect(fused.scalars == av.indices.map { av[$0] + -0.25 * bv[$0] })
    }

    @Test func intoVariantsReuseTheDestinationBuffer() {
        var random = SeededRandom(seed: 9)
        let a = Tensor.uniform([64, 128], in: -1..<1, using: &random)
        let b = Tensor.uniform([128], in: -1..<1, using: &random)
        var out = Tensor.zeros([64, 128])
        let address = out.withUnsafeBufferPointer { $0.baseAddress }
        Tensor.apply(.add, a, b, into: &out)
        out.apply(.tanh)
        out += b
        var second = Tensor.zeros([64, 128])
        let secondAddress = second.withUnsafeBufferPointer { $0.baseAddress }
        Tensor.apply(.sigmoid, to: out, into: &second)
        #expect(second.withUnsafeBufferPointer { $0.baseAddress } == secondAddress)
        #expect(out.withUnsafeBufferPointer { $0.baseAddress } == address)
    }

    @Test(arguments: 0..<4)
    func unaryFunctionsMatchFoundation(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed), stream: 6)
        let x = Tensor.uniform(randomShape(rank: 2, extents: 1...20, &random), in: -30..<30, using: &random)
        let positive = x.applying(.relu) + 0.001
        let xv = x.scalars, pv = positive.scalars
        #expect(x.exp().scalars == xv.map { Foundation.exp($0) })
        #expect(x.tanh().scalars == xv.map { Foundation.tanh($0) })
        #expect(positive.log().scalars == pv.map { Foundation.log($0) })
        #expect(positive.sqrt().scalars == pv.map { $0.squareRoot() })
        #expect(x.relu().scalars == xv.map { Swift.max($0, 0) })
        #expect(x.clamped(to: -1...2).scalars == xv.map { Swift.min(Swift.max($0, -1), 2) })
        // Sigmoid against the Double-precision definition (|error| within 2 Float ulps of 1).
        let reference = Tensor(shape: x.shape, scalars: xv.map { Float(1 / (1 + Foundation.exp(-Double($0)))) })
        expectClose(x.sigmoid(), reference, relative: 2.4e-7, absolute: 1e-30)
        var inPlace = x
        inPlace.apply(.tanh)
        #expect(inPlace == x.tanh())
    }

    @Test func sigmoidIsFiniteAtExtremes() {
        let s = Tensor([-1000, -88, 0, 88, 1000]).sigmoid().scalars
        #expect(s[0] == 0 && s[2] == 0.5 && s[4] == 1)
        #expect(s.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
    }

    @Test func logAndSqrtFollowIEEEAtTheDomainEdge() {
        let l = Tensor([0, -1]).log().scalars
        #expect(l[0] == -.infinity && l[1].isNaN)
        #expect(Tensor([-4]).sqrt().scalars[0].isNaN)
        #expect(Tensor([Float.nan]).clamped(to: 0...1).scalars[0].isNaN)
    }
}
