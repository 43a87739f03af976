/// Where one buffer lives in a ``ScratchArena``: a start and a length in Float32 values, fixed
/// when the arena's ``ScratchLayout`` is planned.
struct ScratchBuffer {
    let offset: Int
    let count: Int
}

/// The plan of a ``ScratchArena``: every buffer is declared, with its size, before any memory
/// exists (as ``ParameterLayout`` does for parameters), so the arena is one allocation.
struct ScratchLayout {
    /// Values reserved so far, including the padding that aligns each buffer.
    private(set) var count = 0

    /// Reserves `count` values, starting on a 64-byte boundary (16 floats: one AVX-512 vector,
    /// one cache line), so that no two buffers share a cache line.
    mutating func reserve(_ count: Int) -> ScratchBuffer {
        precondition(count >= 0, "ScratchLayout: a buffer of \(count) values")
        let buffer = ScratchBuffer(offset: self.count, count: count)
        self.count += (count + 15) / 16 * 16
        return buffer
    }
}

/// One zeroed, 64-byte-aligned allocation that holds every working buffer of its owner:
/// llm.c's activation arena, per owner.
///
/// **The pointer discipline.** `arena[buffer]` is a plain pointer into memory the arena owns,
/// valid for as long as the arena object lives. An owner keeps its arena in a `let` and uses
/// the pointers only inside its own methods, so every pointer it takes is valid by
/// construction: no `withUnsafe…` closure to nest and nothing to escape. Two rules keep that
/// true: a pointer is never stored beyond the call that took it, and an arena is never shared
/// by two threads at once (each row block owns its own).
///
/// This is the opposite choice from ``Tensor``, whose copy-on-write storage can move, so its
/// pointers live only inside `withUnsafe…` closures; the arena never copies or moves.
final class ScratchArena {
    private let base: UnsafeMutablePointer<Float>
    /// Values allocated (the layout's count).
    let count: Int

    init(_ layout: ScratchLayout) {
        count = layout.count
        base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1) * 4, alignment: 64).bindMemory(
            to: Float.self, capacity: Swift.max(count, 1))
        base.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    /// Takes the values of `other`, an arena of the same layout (a network copied before it runs
    /// again takes its own blocks this way: value semantics).
    func copyValues(from other: ScratchArena) {
        precondition(other.count == count, "ScratchArena: copying \(other.count) values into \(count)")
        base.update(from: other.base, count: Swift.max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    /// The first value of `buffer`.
    subscript(buffer: ScratchBuffer) -> UnsafeMutablePointer<Float> {
        precondition(buffer.offset + buffer.count <= count, "ScratchArena: buffer outside the arena")
        return base + buffer.offset
    }
}
