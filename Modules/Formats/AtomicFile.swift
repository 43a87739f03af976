#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// An error raised while writing a file atomically. Its description names the file and the
/// operating-system reason, so that a tool can print it as is.
public struct AtomicWriteError: Error, CustomStringConvertible {
    /// The file that was being written.
    public let path: String
    /// What failed (`create temporary file`, `write`, `fsync`, `rename`) and `strerror(errno)`.
    public let reason: String

    public var description: String { "\(path): cannot write: \(reason)" }
}

/// Writes files so that a reader sees either the old content or the complete new content,
/// never a partial file: BRIEF §5 ("outputs are written atomically").
///
/// The bytes go to a temporary file created with `mkstemp` in the destination's directory (so
/// the final `rename(2)` stays on one file system and is atomic), are flushed with `fsync`,
/// and the temporary file is then renamed over the destination. The directory is synced too,
/// so the rename itself survives a power cut. On any failure the temporary file is removed and
/// the destination is left untouched.
public enum AtomicFile {
    /// Writes `data` to `path` atomically. Creates the file with mode 0644 (less the umask)
    /// when it does not exist.
    ///
    /// - Throws: ``AtomicWriteError`` naming the path and the system error.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { fd in
            try data.withUnsafeBytes { raw in
                try writeAll(fd: fd, raw, path: path)
            }
        }
    }

    /// Writes the bytes that `produce` sends to the file descriptor, atomically. `produce` may
    /// call ``writeAll(fd:_:path:)`` any number of times; streaming writers use this form to
    /// avoid holding the whole file in memory.
    public static func write(to path: String, _ produce: (Int32) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        var template = Array("\(directory)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw AtomicWriteError(path: path, reason: "create temporary file in \(directory): \(errnoText())")
        }
        let temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var committed = false
        defer {
            if !committed { unlink(temporaryPath) }
        }
        do {
            try produce(fd)
            // mkstemp creates 0600; a data file is meant to be read by other tools and users.
            fchmod(fd, 0o666 & ~currentUmask())
            guard fsync(fd) == 0 else {
                throw AtomicWriteError(path: path, reason: "fsync: \(errnoText())")
            }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw AtomicWriteError(path: path, reason: "close: \(errnoText())") }
        guard rename(temporaryPath, path) == 0 else {
            throw AtomicWriteError(path: path, reason: "rename: \(errnoText())")
        }
        committed = true
        let directoryFD = open(directory, O_RDONLY)
        if directoryFD >= 0 {
            // Best effort: some file systems refuse fsync on a directory; the data is already safe.
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Checks, without changing anything, that ``write(_:to:)`` could write `path`: it is not
    /// a directory, and a temporary file can be created beside it.
    ///
    /// - Throws: ``AtomicWriteError`` with the reason.
    public static func checkWritable(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw AtomicWriteError(path: path, reason: "is a directory; give a file path")
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var template = Array("\(directory)/.\(url.lastPathComponent).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw AtomicWriteError(path: path, reason: "cannot create a file in \(directory): \(errnoText())")
        }
        close(fd)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    }

    /// Writes every byte of `bytes` to `fd`, retrying short writes and `EINTR`.
    public static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw AtomicWriteError(path: path, reason: "write: \(errnoText())")
            }
            offset += written
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// The process's file-creation mask (reading it means setting it; it is put back at once),
    /// so that outputs made from `mkstemp`/`mkdtemp` get the modes the user's umask allows.
    static func currentUmask() -> mode_t {
        let mask = umask(0)
        umask(mask)
        return mask
    }
}
