#if canImport(Glibc)
import Glibc
#endif
import Dataset
import Formats
import Foundation

/// Writes a dataset directory so that readers see the old dataset or the complete new one,
/// whenever the process stops: the files go into a temporary directory beside the target, each
/// fsynced, and ``AtomicDirectory`` swaps it in with one `renameat2(RENAME_EXCHANGE)`.
/// The caller holds the dataset's ``FileLock`` (``DatasetImport`` does).
public enum DatasetWriter {
    /// Writes `visits.csv`, `customers.csv`, `rejects.csv` and `manifest.json` (with the output
    /// digests added to `manifest.files`) to `directory`.
    /// - Throws: ``ImportFailure/cannotWrite``; the target is unchanged when it throws.
    public static func write(directory: String, visits: [Visit], customers: [Customer], rejects: [Reject], manifest: DatasetManifest) throws {
        do {
            try AtomicDirectory.write(to: directory, replacing: { $0.contains(Dataset.manifestFile) }) { temporary in
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
            }
        } catch let error as AtomicWriteError {
            let reason = error.reason.hasPrefix("exists and holds files")
                ? "exists and is not a dataset directory (no manifest.json); refusing to replace it" : error.reason
            throw ImportFailure.cannotWrite(path: directory, reason: reason)
        } catch let error as ImportFailure {
            throw error
        } catch {
            throw ImportFailure.cannotWrite(path: directory, reason: "\(error)")
        }
    }
}
