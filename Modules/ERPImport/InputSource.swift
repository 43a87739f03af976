#if canImport(Glibc)
    import Glibc
#endif
import Formats

/// A file (or standard input) read in chunks, with its SHA-256 and byte count taken on the way:
/// the manifest records the digest of exactly the bytes that were parsed, and stdin can be read
/// only once.
final class InputSource {
    /// The name used in messages and in `rejects.csv` (`-` for standard input).
    let displayName: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    /// In-memory input (fuzzing, tests): read from here instead of `fd`.
    private let memory: [UInt8]?
    private var memoryOffset = 0
    private(set) var hasher = SHA256()
    private(set) var bytesRead = 0

    /// Opens `path` (`-` = standard input).
    init(path: String) throws {
        displayName = path
        memory = nil
        if path == "-" {
            fd = 0
            ownsDescriptor = false
        } else {
            var status = stat()
            guard stat(path, &status) == 0 else {
                throw ImportFailure.badInput(
                    path: path, line: nil, reason: "cannot open: \(String(cString: strerror(errno)))")
            }
            // A directory or a device is a usage mistake; refuse before reading from it.
            guard (status.st_mode & S_IFMT) == S_IFREG || (status.st_mode & S_IFMT) == S_IFIFO else {
                throw ImportFailure.badInput(path: path, line: nil, reason: "not a regular file")
            }
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw ImportFailure.badInput(
                    path: path, line: nil, reason: "cannot open: \(String(cString: strerror(errno)))")
            }
            ownsDescriptor = true
        }
    }

    /// Bytes already in memory, named `name` in messages.
    init(bytes: [UInt8], name: String) {
        displayName = name
        fd = -1
        ownsDescriptor = false
        memory = bytes
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Reads up to `count` bytes into `buffer`; 0 at the end of the input.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        if let memory {
            let got = min(count, memory.count - memoryOffset)
            memory.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + memoryOffset, byteCount: got) }
            hasher.update(UnsafeRawBufferPointer(start: buffer, count: got))
            memoryOffset += got
            bytesRead += got
            return got
        }
        while true {
            let got = Glibc.read(fd, buffer, count)
            if got < 0 {
                if errno == EINTR { continue }
                throw ImportFailure.badInput(
                    path: displayName, line: nil, reason: "read error: \(String(cString: strerror(errno)))")
            }
            if got > 0 {
                hasher.update(UnsafeRawBufferPointer(start: buffer, count: got))
                bytesRead += got
            }
            return got
        }
    }

    /// Reads whatever is left (so that the digest covers the whole input even when parsing
    /// stopped early, e.g. after an XML document's root element closed).
    func drain() throws {
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        while try read(into: scratch, count: 1 << 16) > 0 {}
    }

    /// The digest of the input as read so far.
    var digest: String { hasher.hexDigest() }
}
