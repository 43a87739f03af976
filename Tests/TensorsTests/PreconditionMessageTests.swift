import Tensors
import Testing

/// Shape mismatches stop the process with a message naming the operation and the shapes. Each
/// case runs in a child process (Swift Testing exit tests) and its standard error is checked.
@Suite("Shape mismatches fail with a clear message")
struct PreconditionMessageTests {
    @Test func addWithMismatchedShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]) + Tensor.zeros([3, 2])
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("Tensors.add: shapes [2, 3] and [3, 2] differ"), "\(text)")
    }

    @Test func matmulWithMismatchedInnerExtents() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5]))
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("Tensors.matmul: inner extents differ"), "\(text)")
    }

    @Test func reshapeToADifferentCount() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).reshaped([4, 2])
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(
            text.contains("Tensors.reshape: shape [2, 3] (6 elements) cannot become [4, 2] (8 elements)"), "\(text)")
    }

    @Test func concatenateWithMismatchedOtherAxes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.concatenate([Tensor.zeros([2, 3]), Tensor.zeros([2, 4])], alongAxis: 0)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("Tensors.concatenate: shapes [2, 3] and [2, 4] differ outside axis 0"), "\(text)")
    }

    @Test func accumulatingIntoAWronglyShapedDestination() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var c = Tensor.zeros([3, 3])
            Tensor.matmul(Tensor.zeros([2, 4]), Tensor.zeros([4, 2]), beta: 1, into: &c)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("accumulating (β = 1.0) into C of shape [3, 3], but op(A)·op(B) is [2, 2]"), "\(text)")
    }
}
