import Testing

@testable import Layers

@Suite("Scratch arena: the row blocks' one allocation")
struct ScratchArenaTests {
    /// Every buffer starts on a 64-byte boundary, buffers never overlap, and the memory starts zeroed.
    @Test func buffersAreAlignedDisjointAndZeroed() {
        var layout = ScratchLayout()
        let sizes = [1, 0, 17, 16, 33, 5]
        let buffers = sizes.map { layout.reserve($0) }
        let arena = ScratchArena(layout)
        var previousEnd = 0
        for (buffer, size) in zip(buffers, sizes) {
            #expect(buffer.count == size)
            #expect(buffer.offset >= previousEnd, "buffer at \(buffer.offset) overlaps the one before")
            previousEnd = buffer.offset + size
            #expect(Int(bitPattern: arena[buffer]) % 64 == 0, "buffer at \(buffer.offset) is not 64-byte aligned")
            #expect((0..<size).allSatisfy { arena[buffer][$0] == 0 })
        }
        #expect(arena.count >= previousEnd)
        // Writing one buffer leaves its neighbours as they were.
        arena[buffers[2]].update(repeating: 7, count: 17)
        #expect((0..<16).allSatisfy { arena[buffers[3]][$0] == 0 })
        #expect(arena[buffers[0]][0] == 0)
    }

    /// An empty layout still gives an arena (a block with nothing to keep, such as no private gradients).
    @Test func emptyLayout() {
        var layout = ScratchLayout()
        let none = layout.reserve(0)
        let arena = ScratchArena(layout)
        #expect(arena.count == 0)
        #expect(none.count == 0)
    }
}
