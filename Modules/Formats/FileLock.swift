#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// Why a lock could not be taken: the target, and a sentence to print as it is.
public struct FileLockError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// An advisory `flock(2)` lock that keeps two writers of one dataset, report or model apart
/// (BRIEF §5: "concurrent writers are locked out").
///
/// The lock lives in a file beside the target, `PARENT/.NAME.lock`, not inside it: the target
/// directory itself is replaced by every commit (``AtomicDirectory``), and a lock on a directory
/// that is swapped away would protect nothing. The lock file is never deleted (deleting it would
/// let a third process lock a fresh file while the second still holds the old one). The holder
/// writes its PID into it, so that a waiting process can say whom it waits for.
///
/// The kernel drops the lock when the holder exits, however it exits (`kill -9` included): a
/// crashed writer never leaves a stale lock.
public final class FileLock: @unchecked Sendable {
    public enum Mode: Sendable { case exclusive, shared }

    /// The lock file.
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// `PARENT/.NAME.lock` for `target` (a directory or file path; a trailing `/` is ignored).
    public static func lockPath(for target: String) -> String {
        let url = URL(fileURLWithPath: target).standardizedFileURL
        return url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".lock"
    }

    /// Takes the writer's (exclusive) lock of `target`, creating the lock file when absent.
    ///
    /// - Parameters:
    ///   - wait: when another process holds it, wait for it (`waiting` is told once, with a line
    ///     for stderr) instead of failing.
    /// - Throws: ``FileLockError`` when the lock is held and `wait` is false, or when the lock
    ///   file cannot be created (the message names the directory and the system error).
    public static func exclusive(for target: String, wait: Bool, waiting: (String) -> Void = { _ in }) throws
        -> FileLock
    {
        let path = lockPath(for: target)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw FileLockError(
                path: target, reason: "cannot create the lock file \(path): \(String(cString: strerror(errno)))")
        }
        let lock = FileLock(path: path, descriptor: descriptor)
        try lock.take(LOCK_EX, target: target, wait: wait, waiting: waiting)
        // Record the holder for whoever waits next (best effort: the lock works without it).
        if ftruncate(descriptor, 0) == 0 {
            let text = Array("\(getpid())\n".utf8)
            _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
        return lock
    }

    /// Takes a reader's (shared) lock of `target` when its lock file exists, so that a reader
    /// never sees a writer's commit half done; `nil` when there is no lock file (no writer of
    /// this build has written there) or it cannot be opened (a read-only copy: reading goes on,
    /// the readers' own checksums still catch a torn state).
    public static func sharedIfPresent(for target: String, waiting: (String) -> Void = { _ in }) throws -> FileLock? {
        let path = lockPath(for: target)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        let lock = FileLock(path: path, descriptor: descriptor)
        try lock.take(LOCK_SH, target: target, wait: true, waiting: waiting)
        return lock
    }

    private func take(_ operation: Int32, target: String, wait: Bool, waiting: (String) -> Void) throws {
        if flock(descriptor, operation | LOCK_NB) == 0 { return }
        guard errno == EWOULDBLOCK else {
            throw FileLockError(path: target, reason: "cannot lock \(path): \(String(cString: strerror(errno)))")
        }
        let holder = holderDescription()
        guard wait else {
            throw FileLockError(
                path: target,
                reason:
                    "another process\(holder) is writing it; try again when it has finished (or run without --no-wait to wait)"
            )
        }
        waiting("waiting for another process\(holder) that is writing \(target)")
        while flock(descriptor, operation) != 0 {
            guard errno == EINTR else {
                throw FileLockError(path: target, reason: "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// ` (pid N)` from the lock file, or nothing when it holds no number.
    private func holderDescription() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0,
            let pid = Int(
                String(decoding: bytes[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { return "" }
        return " (pid \(pid))"
    }
}
