import Dataset
import Formats
import Foundation

/// Commits a dataset directory so that readers see the old dataset or the complete new one,
/// whenever the process stops: the files go into a temporary directory beside the target
/// (each fsynced by ``BufferedFileWriter``), and ``AtomicDirectory`` swaps it in with one
/// `renameat2(RENAME_EXCHANGE)`. The caller holds the dataset's ``FileLock`` (``DatasetImport`` does).
enum DatasetWriter {
    /// Refuses, before any work, a target that is not a dataset directory (a user's folder).
    static func checkTarget(_ directory: String) throws {
        do {
            try AtomicDirectory.checkReplaceable(
                URL(fileURLWithPath: directory).standardizedFileURL.path, isDatasetDirectory)
        } catch let error as AtomicWriteError {
            throw failure(error, directory)
        }
    }

    /// `fill` writes `visits.csv`, `customers.csv` and `rejects.csv` into the temporary
    /// directory it is given and returns the manifest (with the outputs' digests); the
    /// manifest is written last, then everything is committed as `directory`.
    /// - Throws: ``ImportFailure``; the target is unchanged when it throws.
    static func commit(directory: String, _ fill: (String) throws -> DatasetManifest) throws -> DatasetManifest {
        var written: DatasetManifest?
        do {
            try AtomicDirectory.write(to: directory, replacing: isDatasetDirectory) { temporary in
                let manifest = try fill(temporary)
                try AtomicFile.write(
                    Data(try Dataset.encodeManifest(manifest)), to: temporary + "/" + Dataset.manifestFile)
                written = manifest
            }
        } catch let error as AtomicWriteError {
            throw failure(error, directory)
        } catch let error as ImportFailure {
            throw error
        }
        return written!
    }

    private static func isDatasetDirectory(_ entries: [String]) -> Bool { entries.contains(Dataset.manifestFile) }

    private static func failure(_ error: AtomicWriteError, _ directory: String) -> ImportFailure {
        let reason =
            error.reason.hasPrefix("exists and holds files")
            ? "exists and is not a dataset directory (no manifest.json); refusing to replace it" : error.reason
        return ImportFailure.cannotWrite(path: directory, reason: reason)
    }
}

extension BufferedFileWriter {
    /// Finishes the file and records it as the dataset output `name`.
    func finishedDigest(name: String) throws -> DatasetManifest.FileDigest {
        let (bytes, sha256) = try finish()
        return .init(role: "output", path: name, bytes: bytes, sha256: sha256)
    }
}
