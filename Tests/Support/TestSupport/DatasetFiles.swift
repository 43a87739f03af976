import Dataset
import Formats
import Foundation

/// Dataset directories built by hand for tests, as the importer would write them: the manifest
/// records each file's size and SHA-256 (every reader checks them) and counts that reconcile.
public enum DatasetFiles {
    /// Writes `dataset` (manifest, visits, customers, rejects) into `directory`, creating it.
    /// Counts left at zero become "every row read and accepted".
    public static func write(_ dataset: Dataset, to directory: String, rejects: [Reject] = []) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let manifest = dataset.manifest
        try Data(Dataset.encodeVisits(dataset.visits, columns: manifest.visitColumns)).write(
            to: URL(fileURLWithPath: directory + "/" + Dataset.visitsFile))
        try Data(Dataset.encodeCustomers(dataset.customers, columns: manifest.customerColumns))
            .write(to: URL(fileURLWithPath: directory + "/" + Dataset.customersFile))
        try Data(Dataset.encodeRejects(rejects)).write(to: URL(fileURLWithPath: directory + "/" + Dataset.rejectsFile))
        var counted = manifest
        if counted.visitCounts.read == 0 {
            counted.visitCounts = .init(read: dataset.visits.count, accepted: dataset.visits.count)
        }
        if counted.customerCounts.read == 0 {
            counted.customerCounts = .init(read: dataset.customers.count, accepted: dataset.customers.count)
        }
        try writeManifest(counted, to: directory)
    }

    /// Writes `manifest` with the digests of the data files now in `directory` (after a test
    /// edited one on purpose, to reach the parser's own checks behind the digest check).
    public static func writeManifest(_ manifest: DatasetManifest, to directory: String) throws {
        var sealed = manifest
        sealed.files.removeAll { $0.role == "output" }
        for name in [Dataset.visitsFile, Dataset.customersFile, Dataset.rejectsFile] {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            sealed.files.append(FileDigest(role: "output", path: name, contents: [UInt8](data)))
        }
        try Data(Dataset.encodeManifest(sealed)).write(to: URL(fileURLWithPath: directory + "/" + Dataset.manifestFile))
    }

    /// Re-records the digests of `directory`'s files in its manifest, keeping everything else.
    public static func reseal(_ directory: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + Dataset.manifestFile))
        try writeManifest(try JSONDecoder().decode(DatasetManifest.self, from: data), to: directory)
    }
}
