#if canImport(Glibc)
    import Glibc
#endif

/// A new file written through a 1 MiB buffer, its size and SHA-256 computed as it goes, and
/// fsynced by ``finish()``. For files inside a directory that ``AtomicDirectory`` commits as a
/// whole (the directory, not each file, is what readers see appear), so the file is created
/// in place; it must not exist yet.
public final class BufferedFileWriter {
    public let path: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var hasher = SHA256()
    public private(set) var bytesWritten = 0
    static let capacity = 1 << 20

    /// - Throws: ``AtomicWriteError``.
    public init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw AtomicWriteError(path: path, reason: "create: \(AtomicFile.errnoText())") }
        buffer.reserveCapacity(Self.capacity)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > Self.capacity { try flush() }
        if bytes.count > Self.capacity {
            hasher.update(bytes)
            try AtomicFile.writeAll(fd: descriptor, bytes, path: path)
            bytesWritten += bytes.count
        } else {
            // Typed, so that the append is one copy (an untyped buffer goes byte by byte).
            buffer.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { raw in
            hasher.update(raw)
            try AtomicFile.writeAll(fd: descriptor, raw, path: path)
        }
        bytesWritten += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, fsyncs and closes; returns the file's size and SHA-256 (hex).
    public func finish() throws -> (bytes: Int, sha256: String) {
        try flush()
        guard fsync(descriptor) == 0 else {
            throw AtomicWriteError(path: path, reason: "fsync: \(AtomicFile.errnoText())")
        }
        let result = close(descriptor)
        descriptor = -1
        guard result == 0 else { throw AtomicWriteError(path: path, reason: "close: \(AtomicFile.errnoText())") }
        return (bytesWritten, hasher.hexDigest())
    }
}
