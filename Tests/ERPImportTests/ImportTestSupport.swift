import Dataset
import ERPImport
import Foundation

/// Paths and a one-call import for the ERPImport tests.
enum Fixture {
    /// The repository root (this file is Tests/ERPImportTests/ImportTestSupport.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func erp(_ name: String) -> String { root + "/Fixtures/erp/" + name }
    static func malformed(_ name: String) -> String { root + "/Fixtures/malformed/" + name }
    static func mapping(_ name: String) -> String { root + "/Fixtures/mappings/" + name }

    /// A fresh, not yet existing directory path under the temporary directory.
    static func scratch(_ label: String) -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent(
            "erpimport-\(getpid())-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        return base.appendingPathComponent(label).path
    }

    /// Imports and returns the report, the dataset and its rejects.
    static func importDataset(
        visits: String, customers: String? = nil, mapping: String? = nil, out: String? = nil, append: Bool = false,
        maxRejectRate: Double? = nil
    ) throws -> (report: ImportReport, dataset: Dataset, rejects: [Reject], directory: String) {
        let directory = out ?? scratch("dataset")
        let options = ImportOptions(
            visitsPath: visits, customersPath: customers, mapping: try mapping.map(Mapping.load) ?? Mapping(),
            mappingPath: mapping,
            outputDirectory: directory, append: append, maxRejectRate: maxRejectRate, timestamp: "2024-01-01T00:00:00Z")
        let report = try DatasetImport.run(options)
        let dataset = try Dataset.load(directory: directory)
        let rejects = try Dataset.readRejects(path: directory + "/" + Dataset.rejectsFile)
        return (report, dataset, rejects, directory)
    }
}
