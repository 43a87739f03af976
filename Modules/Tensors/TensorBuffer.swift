/// The heap block behind a ``Tensor``: `count` Float32 values, 64-byte aligned so that BLAS
/// and the vectorised loops see cache-line-aligned rows.
///
/// A buffer is shared between tensor values until one of them is mutated (copy-on-write in
/// ``Tensor``). It is never resized: a reshape keeps the buffer, anything that changes the
/// element count allocates a new one.
@usableFromInline
final class TensorBuffer {
    /// Number of Float32 elements.
    @usableFromInline let count: Int
    /// Start of the elements. Valid for `max(count, 1)` elements.
    @usableFromInline let base: UnsafeMutablePointer<Float>

    /// Allocates `count` uninitialised-but-bound elements. Callers fill them before reading.
    @usableFromInline
    init(count: Int) {
        precondition(count >= 0, "Tensors: negative element count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1) * 4, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
    }

    /// A new buffer holding a copy of this one's elements.
    @usableFromInline
    func copy() -> TensorBuffer {
        let other = TensorBuffer(count: count)
        other.base.update(from: base, count: count)
        return other
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }
}
