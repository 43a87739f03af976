import Tensors
import Testing

@Suite("Tensor creation, indexing and copy-on-write")
struct TensorBasicsTests {
    @Test func creationFillsEveryElement() {
        let zeros = Tensor.zeros([2, 3])
        #expect(zeros.shape == [2, 3] && zeros.count == 6 && zeros.scalars == Array(repeating: 0, count: 6))
        let filled = Tensor.filled([4], with: 2.5)
        #expect(filled.scalars == [2.5, 2.5, 2.5, 2.5])
        let scalar = Tensor(scalar: 7)
        #expect(scalar.shape == [] && scalar.rank == 0 && scalar.count == 1 && scalar.scalar == 7)
        let fromArray = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(fromArray[1, 0] == 3 && fromArray[0, 1] == 2)
    }

    @Test func emptyTensorsHaveNoElements() {
        let empty = Tensor.zeros([0, 5])
        #expect(empty.count == 0 && empty.scalars.isEmpty && empty.shape == [0, 5])
        #expect(Tensor([]).shape == [0])
        #expect((empty + empty).shape == [0, 5])
        #expect(empty.sum() == 0)
    }

    @Test func copiesAreIndependentAfterMutation() {
        let original = Tensor(shape: [3], scalars: [1, 2, 3])
        var copy = original
        copy[1] = 20
        #expect(original.scalars == [1, 2, 3])
        #expect(copy.scalars == [1, 20, 3])
        var view = original.reshaped([3, 1])
        view += 1
        #expect(original.scalars == [1, 2, 3] && view.scalars == [2, 3, 4])
    }

    @Test func prepareReusesAUniqueBufferOfTheRightSize() {
        var destination = Tensor.zeros([4, 6])
        let before = destination.withUnsafeBufferPointer { $0.baseAddress }
        destination.prepare(shape: [8, 3])
        let after = destination.withUnsafeBufferPointer { $0.baseAddress }
        #expect(before == after && destination.shape == [8, 3])
        let holder = destination
        destination.prepare(shape: [24])
        #expect(
            destination.withUnsafeBufferPointer { $0.baseAddress } != holder.withUnsafeBufferPointer { $0.baseAddress })
    }

    @Test func equalityComparesShapesThenValues() {
        #expect(Tensor(shape: [2], scalars: [1, 2]) == Tensor([1, 2]))
        #expect(Tensor(shape: [1, 2], scalars: [1, 2]) != Tensor([1, 2]))
        let withNaN = Tensor([Float.nan])
        #expect(withNaN != withNaN)
    }
}
