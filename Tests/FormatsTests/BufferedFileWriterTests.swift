import Foundation
import Formats
import Testing

@Suite("Buffered file writer (background flushes)")
struct BufferedFileWriterTests {
    /// Writes of every size (small ones that fill buffers flushed in the background, and ones
    /// larger than a buffer that go straight to the file after what is in flight) land in
    /// order, and the size and SHA-256 are those of the bytes written.
    @Test func mixedWriteSizesLandInOrderWithTheirDigest() throws {
        let directory = AtomicFileTests.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/out.bin"
        let writer = try BufferedFileWriter(path: path)
        var expected: [UInt8] = []
        var state: UInt64 = 20_261_205
        for round in 0..<400 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Mostly rows of tens of bytes; now and then a write past the 1 MiB buffer.
            let size = round % 97 == 13 ? (1 << 20) + Int(state >> 50) : Int(state >> 56) + 1
            let chunk = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round) }
            try writer.write(chunk)
            expected += chunk
        }
        // Enough small rows to fill several buffers in a row.
        let row = Array("C019327,R0234,2018-03-01,onsite,dormant_3m,quotation,no_demand,0\n".utf8)
        for _ in 0..<60_000 {
            try writer.write(row)
            expected += row
        }
        let (bytes, sha256) = try writer.finish()
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes == expected.count)
        #expect(written == expected)
        #expect(sha256 == SHA256.hex(expected))
        #expect(throws: AtomicWriteError.self) { _ = try writer.finish() }
    }

    @Test func anExistingFileIsRefused() throws {
        let directory = AtomicFileTests.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/exists"
        FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
        #expect(throws: AtomicWriteError.self) { _ = try BufferedFileWriter(path: path) }
    }
}
