#if canImport(Glibc)
import Glibc
#endif
import Dataset
import Formats
import Foundation

/// Writes a dataset directory so that readers see the old dataset or the complete new one.
///
/// The files go into a temporary directory beside the target (same file system), each through
/// `AtomicFile` (fsynced); then the directory is renamed into place. An existing dataset is
/// first renamed aside and removed only after the new one is in place: if the machine stops
/// between the two renames, the old dataset survives as `.NAME.old-PID` beside the target.
public enum DatasetWriter {
    /// Writes `visits.csv`, `customers.csv`, `rejects.csv` and `manifest.json` (with the output
    /// digests added to `manifest.files`) to `directory`.
    /// - Throws: ``ImportFailure/cannotWrite``; the target is unchanged when it throws.
    public static func write(directory: String, visits: [Visit], customers: [Customer], rejects: [Reject], manifest: DatasetManifest) throws {
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        let parent = target.deletingLastPathComponent().path
        let name = target.lastPathComponent
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ImportFailure.cannotWrite(path: directory, reason: "exists and is not a directory")
            }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: target.path)) ?? []
            // Replacing a directory that is not a dataset could destroy someone's files.
            guard contents.isEmpty || contents.contains(Dataset.manifestFile) else {
                throw ImportFailure.cannotWrite(path: directory, reason: "exists and is not a dataset directory (no manifest.json); refusing to replace it")
            }
        }
        var template = Array("\(parent)/.\(name).tmp-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw ImportFailure.cannotWrite(path: directory, reason: "cannot create a temporary directory in \(parent): \(String(cString: strerror(errno)))")
        }
        let temporary = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        var committed = false
        defer { if !committed { try? FileManager.default.removeItem(atPath: temporary) } }
        do {
            let outputs: [(String, [UInt8])] = [
                (Dataset.visitsFile, Dataset.encodeVisits(visits, columns: manifest.visitColumns)),
                (Dataset.customersFile, Dataset.encodeCustomers(customers, columns: manifest.customerColumns)),
                (Dataset.rejectsFile, Dataset.encodeRejects(rejects)),
            ]
            var final = manifest
            final.files.removeAll { $0.role == "output" }
            for (file, bytes) in outputs {
                try AtomicFile.write(Data(bytes), to: temporary + "/" + file)
                final.files.append(.init(role: "output", path: file, contents: bytes))
            }
            try AtomicFile.write(Data(try Dataset.encodeManifest(final)), to: temporary + "/" + Dataset.manifestFile)
        } catch let error as AtomicWriteError {
            throw ImportFailure.cannotWrite(path: directory, reason: error.reason)
        } catch let error as ImportFailure {
            throw error
        } catch {
            throw ImportFailure.cannotWrite(path: directory, reason: "\(error)")
        }
        chmod(temporary, 0o755 & ~currentUmask())
        let backup = "\(parent)/.\(name).old-\(getpid())"
        let replacing = FileManager.default.fileExists(atPath: target.path)
        if replacing {
            guard rename(target.path, backup) == 0 else {
                throw ImportFailure.cannotWrite(path: directory, reason: "cannot move the old dataset aside: \(String(cString: strerror(errno)))")
            }
        }
        guard rename(temporary, target.path) == 0 else {
            let reason = String(cString: strerror(errno))
            if replacing { rename(backup, target.path) }
            throw ImportFailure.cannotWrite(path: directory, reason: "rename: \(reason)")
        }
        committed = true
        if replacing { try? FileManager.default.removeItem(atPath: backup) }
        let fd = open(parent, O_RDONLY)
        if fd >= 0 {
            _ = fsync(fd)  // best effort: the renames survive a power cut where the file system allows it
            close(fd)
        }
    }

    private static func currentUmask() -> mode_t {
        let mask = umask(0)
        umask(mask)
        return mask
    }
}
