import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// A new file written through 1 MiB buffers, its size and SHA-256 computed as it goes, and
/// fsynced by ``finish()``. For files inside a directory that ``AtomicDirectory`` commits as a
/// whole (the directory, not each file, is what readers see appear), so the file is created
/// in place; it must not exist yet.
///
/// A full buffer is hashed and written on a background queue while the caller fills the next
/// one (hashing and the kernel's copy were 9% of a 1M-row import, all on the thread that
/// formats the rows). At most one buffer is in flight; a write error there is thrown by the
/// next ``write(_:)`` or by ``finish()``, and nothing after it is written.
public final class BufferedFileWriter {
    public let path: String
    private var buffer: [UInt8] = []
    private let flusher: Flusher
    private var finished = false
    /// Bytes handed to the file so far (written once ``finish()`` returns).
    public private(set) var bytesWritten = 0
    static let capacity = 1 << 20

    /// - Throws: ``AtomicWriteError``.
    public init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw AtomicWriteError(path: path, reason: "create: \(AtomicFile.errnoText())") }
        flusher = Flusher(descriptor: descriptor, path: path)
        buffer.reserveCapacity(Self.capacity)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > Self.capacity { try flush() }
        if bytes.count > Self.capacity {
            // Larger than a buffer: after what is in flight, in place, on this thread.
            try flusher.writeNow(bytes)
            bytesWritten += bytes.count
        } else {
            // Typed, so that the append is one copy (an untyped buffer goes byte by byte).
            buffer.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        let count = buffer.count
        try flusher.submit(&buffer)
        bytesWritten += count
    }

    /// Flushes, fsyncs and closes; returns the file's size and SHA-256 (hex).
    public func finish() throws -> (bytes: Int, sha256: String) {
        guard !finished else { throw AtomicWriteError(path: path, reason: "finished twice (a bug in the caller)") }
        finished = true
        try flush()
        let digest = try flusher.close()
        return (bytesWritten, digest)
    }
}

/// The file's descriptor and hash, and the one buffer being written in the background. Only
/// the queue's job touches `pending`, `hasher` and `failure` while it runs; the owner waits on
/// `idle` before it looks at them (the semaphore orders the accesses).
private final class Flusher: @unchecked Sendable {
    private var descriptor: Int32
    private let path: String
    private var hasher = SHA256()
    private var failure: AtomicWriteError?
    private var pending: [UInt8] = []
    private let queue = DispatchQueue(label: "revisit.buffered-file-writer")
    /// 1 while no job runs.
    private let idle = DispatchSemaphore(value: 1)

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
        pending.reserveCapacity(BufferedFileWriter.capacity)
    }

    // A job holds the flusher alive, so the descriptor closes only after the last write.
    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// Waits for the job in flight; throws what it failed with.
    private func waitIdle() throws {
        idle.wait()
        defer { idle.signal() }
        if let failure { throw failure }
    }

    /// Takes `buffer`'s bytes for a background job and gives back an empty buffer of the same
    /// capacity (the one the previous job wrote).
    func submit(_ buffer: inout [UInt8]) throws {
        idle.wait()
        if let failure {
            idle.signal()
            throw failure
        }
        swap(&pending, &buffer)
        buffer.removeAll(keepingCapacity: true)
        queue.async { [self] in
            pending.withUnsafeBytes { raw in
                hasher.update(raw)
                do {
                    try AtomicFile.writeAll(fd: descriptor, raw, path: path)
                } catch {
                    failure = error as? AtomicWriteError ?? AtomicWriteError(path: path, reason: "write: \(error)")
                }
            }
            idle.signal()
        }
    }

    /// Writes `bytes` on the calling thread, after the job in flight.
    func writeNow(_ bytes: UnsafeRawBufferPointer) throws {
        try waitIdle()
        hasher.update(bytes)
        try AtomicFile.writeAll(fd: descriptor, bytes, path: path)
    }

    /// After the job in flight: fsync, close; the SHA-256 of everything written.
    func close() throws -> String {
        try waitIdle()
        guard fsync(descriptor) == 0 else {
            throw AtomicWriteError(path: path, reason: "fsync: \(AtomicFile.errnoText())")
        }
        let result = Glibc.close(descriptor)
        descriptor = -1
        guard result == 0 else { throw AtomicWriteError(path: path, reason: "close: \(AtomicFile.errnoText())") }
        return hasher.hexDigest()
    }
}
