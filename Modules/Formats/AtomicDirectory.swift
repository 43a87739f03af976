#if canImport(Glibc)
    import Glibc
#endif
import CFileSystem
import Foundation

/// Writes a directory (a dataset, a report) so that, whatever happens and whenever the process
/// is killed, the target holds either its complete old content or its complete new content.
///
/// The files are written into a temporary directory beside the target, `.NAME.tmp-XXXXXX` (same
/// file system), each fsynced; then one `renameat2(RENAME_EXCHANGE)` swaps the two directories
/// in a single step, and the old content, now at the temporary name, is removed. Where the
/// file system cannot exchange (EINVAL, ENOSYS: some network file systems), the fallback is two
/// renames with the old content kept as `.NAME.old-PID` in between; ``recoverLeftovers(of:)``
/// puts it back when a kill fell between them.
///
/// Writers call ``recoverLeftovers(of:)`` while they hold the target's ``FileLock`` (so that no
/// other writer's temporary directory is mistaken for a leftover).
public enum AtomicDirectory {
    /// What ``write(to:replacing:_:)`` accepts to replace: an existing directory is replaced
    /// only when `isReplaceable` says its entries are the tool's own (never a user's folder).
    public typealias ReplaceCheck = (_ entries: [String]) -> Bool

    /// Creates a temporary directory beside `target`, lets `fill` write into it, and commits it
    /// as `target`.
    ///
    /// - Throws: ``AtomicWriteError`` (the target is unchanged), or what `fill` throws.
    public static func write(to target: String, replacing isReplaceable: ReplaceCheck, _ fill: (String) throws -> Void)
        throws
    {
        let target = URL(fileURLWithPath: target).standardizedFileURL.path
        try checkReplaceable(target, isReplaceable)
        let temporary = try makeTemporary(beside: target)
        var committed = false
        defer { if !committed { try? FileManager.default.removeItem(atPath: temporary) } }
        try fill(temporary)
        // mkdtemp creates 0700; a dataset or report is meant to be read by other users' tools.
        chmod(temporary, 0o755 & ~AtomicFile.currentUmask())
        try commit(temporary, to: target)
        committed = true
    }

    /// Refuses to replace what is not a directory, or a directory `isReplaceable` does not own.
    public static func checkReplaceable(_ target: String, _ isReplaceable: ReplaceCheck) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else {
            throw AtomicWriteError(path: target, reason: "exists and is not a directory")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
        guard entries.isEmpty || isReplaceable(entries) else {
            throw AtomicWriteError(
                path: target,
                reason:
                    "exists and holds files that are not this tool's; refusing to replace it (choose another directory)"
            )
        }
    }

    /// A new empty directory `.NAME.tmp-XXXXXX` beside `target`.
    public static func makeTemporary(beside target: String) throws -> String {
        let (parent, name) = split(target)
        var template = Array("\(parent)/.\(name).tmp-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw AtomicWriteError(
                path: target, reason: "cannot create a temporary directory in \(parent): \(errnoText())")
        }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Makes the complete directory `temporary` the content of `target` in one step (see the
    /// type's documentation), then removes the old content and syncs the parent directory.
    public static func commit(_ temporary: String, to target: String) throws {
        let (parent, name) = split(target)
        CommitFaults.point("files-written")
        var oldContent: String?
        if FileManager.default.fileExists(atPath: target) {
            if !CommitFaults.exchangeDisabled, revisit_exchange_paths(temporary, target) == 0 {
                oldContent = temporary
            } else if CommitFaults.exchangeDisabled || errno == EINVAL || errno == ENOSYS {
                // No exchange here: move the old content aside, then the new into place.
                let aside = "\(parent)/.\(name).old-\(getpid())"
                guard rename(target, aside) == 0 else {
                    throw AtomicWriteError(path: target, reason: "cannot move the old content aside: \(errnoText())")
                }
                CommitFaults.point("old-moved-aside")
                guard rename(temporary, target) == 0 else {
                    let reason = errnoText()
                    rename(aside, target)
                    throw AtomicWriteError(path: target, reason: "rename: \(reason)")
                }
                oldContent = aside
            } else {
                throw AtomicWriteError(path: target, reason: "cannot swap in the new content: \(errnoText())")
            }
        } else {
            var moved = revisit_rename_noreplace(temporary, target) == 0
            if !moved && (errno == EINVAL || errno == ENOSYS) { moved = rename(temporary, target) == 0 }
            guard moved else {
                throw AtomicWriteError(
                    path: target,
                    reason: errno == EEXIST
                        ? "another process created it meanwhile; nothing replaced" : "rename: \(errnoText())")
            }
        }
        CommitFaults.point("committed")
        syncDirectory(parent)
        if let oldContent { try? FileManager.default.removeItem(atPath: oldContent) }
    }

    /// Cleans what an interrupted writer left beside `target`: a missing target whose old
    /// content survives as `.NAME.old-*` is put back; every `.NAME.tmp-*` (directory or file)
    /// and remaining `.NAME.old-*` is removed. Call only while holding the target's exclusive
    /// ``FileLock``. Returns one line per action, for the tool to print.
    @discardableResult
    public static func recoverLeftovers(of target: String) -> [String] {
        let target = URL(fileURLWithPath: target).standardizedFileURL.path
        let (parent, name) = split(target)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return [] }
        var notes: [String] = []
        let olds = entries.filter { $0.hasPrefix(".\(name).old-") }.sorted()
        if !FileManager.default.fileExists(atPath: target), let survivor = olds.last {
            if rename("\(parent)/\(survivor)", target) == 0 {
                notes.append("\(target): restored the previous content from \(survivor), left by an interrupted commit")
            }
        }
        for entry in entries where entry.hasPrefix(".\(name).tmp-") || entry.hasPrefix(".\(name).old-") {
            let path = "\(parent)/\(entry)"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            if (try? FileManager.default.removeItem(atPath: path)) != nil {
                notes.append("\(target): removed \(entry), left by an interrupted write")
            }
        }
        if !notes.isEmpty { syncDirectory(parent) }
        return notes
    }

    static func split(_ target: String) -> (parent: String, name: String) {
        let url = URL(fileURLWithPath: target).standardizedFileURL
        return (url.deletingLastPathComponent().path, url.lastPathComponent)
    }

    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)  // best effort: some file systems refuse fsync on a directory
        close(descriptor)
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Test hooks for the kill-point tests (Tests/ToolsTests): `REVISIT_TEST_KILL_AT=STEP` sends the
/// process SIGKILL at that step of a commit (`files-written`, `old-moved-aside`, `committed`),
/// and `REVISIT_TEST_NO_EXCHANGE=1` takes the two-rename fallback as a file system without
/// RENAME_EXCHANGE would. Both are read from the environment once; unset, they cost a branch.
enum CommitFaults {
    static let killAt = ProcessInfo.processInfo.environment["REVISIT_TEST_KILL_AT"]
    static let exchangeDisabled = ProcessInfo.processInfo.environment["REVISIT_TEST_NO_EXCHANGE"] == "1"

    static func point(_ step: String) {
        if let killAt, killAt == step { kill(getpid(), SIGKILL) }
    }
}
