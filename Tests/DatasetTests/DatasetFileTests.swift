import Dataset
import Foundation
import TestSupport
import Testing

@Suite("Dataset directory")
struct DatasetFileTests {
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "revisit-dataset-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static let sample: Dataset = {
        let columns = DatasetManifest.ExtraColumns(categorical: ["region"], numeric: ["amount"])
        let visits = [
            Visit(
                visitID: "V1", customerID: "C1", repID: "R1", date: Day(iso: "2018-03-01")!, method: "phone",
                target: "active",
                purpose: "quotation, \"urgent\"", result: "order", isOrder: true, categorical: ["华东"], numeric: [1250.5]
            ),
            Visit(
                visitID: "V3", customerID: "C1", repID: "R2", date: Day(iso: "2018-03-01")!, method: "im",
                target: "active",
                purpose: "line one\nline two", result: "no_demand", isOrder: false, categorical: [""], numeric: [nil]),
            Visit(
                visitID: "V2", customerID: "C2", repID: "R1", date: Day(iso: "2018-02-27")!, method: "onsite",
                target: "key_account",
                purpose: "relationship", result: "no_answer", isOrder: false, categorical: ["north"], numeric: [-3])
        ]
        let customers = [
            Customer(customerID: "C1", customerType: "trader", industry: "medical", tag: "key"),
            Customer(customerID: "C2", customerType: "manufacturer", industry: "automotive", tag: "small_medium")
        ]
        let manifest = DatasetManifest(
            kind: .visits, visitColumns: columns, visitCounts: .init(read: 3, accepted: 3),
            customerCounts: .init(read: 2, accepted: 2), firstDate: visits[2].date, lastDate: visits[0].date,
            customerCount: 2, repCount: 2)
        return Dataset(manifest: manifest, visits: visits, customers: customers)
    }()

    static func write(_ dataset: Dataset, to directory: String) throws {
        try DatasetFiles.write(dataset, to: directory)
    }

    @Test("Written files read back to the same records, quotes, newlines and UTF-8 included")
    func roundTrip() throws {
        let directory = try Self.temporaryDirectory()
        try Self.write(Self.sample, to: directory)
        let loaded = try Dataset.load(directory: directory)
        #expect(loaded.visits.count == Self.sample.visits.count)
        #expect(loaded.visits == Self.sample.visits)
        #expect(loaded.customers == Self.sample.customers)
        #expect(
            loaded.manifest.visitCounts == Self.sample.manifest.visitCounts
                && loaded.manifest.firstDate == Self.sample.manifest.firstDate)
        #expect(loaded.manifest.files.map(\.path) == ["visits.csv", "customers.csv", "rejects.csv"])
        let text = try String(contentsOfFile: directory + "/visits.csv", encoding: .utf8)
        #expect(
            text.hasPrefix("visit_id,customer_id,rep_id,visit_date,method,target,purpose,result,order,region,amount\n"))
        #expect(text.contains("\"quotation, \"\"urgent\"\"\""))
    }

    @Test("A wrong format version is refused with an actionable message")
    func refusesOtherVersions() throws {
        let directory = try Self.temporaryDirectory()
        try Self.write(Self.sample, to: directory)
        let path = directory + "/manifest.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 99")
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try Dataset.load(directory: directory)
        } throws: { error in
            let message = String(describing: error)
            return message.contains("version 99") && message.contains("re-import")
        }
    }

    @Test("Malformed rows name the file and line")
    func malformedRows() throws {
        let directory = try Self.temporaryDirectory()
        try Self.write(Self.sample, to: directory)
        let path = directory + "/visits.csv"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text += "V9,C3,R1,2018-02-30,phone,active,x,order,1,,\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try DatasetFiles.reseal(directory)  // past the digest check, to the parser's own
        // Header (1), V1 (2), V3 (3-4: its purpose spans two lines), V2 (5), the new row (6).
        #expect(
            throws: DatasetError.malformed(path: path, line: 6, reason: "visit_date '2018-02-30' is not YYYY-MM-DD")
        ) {
            try Dataset.load(directory: directory)
        }
        // Out of order: the sample's rows reversed.
        try Data(Dataset.encodeVisits(Self.sample.visits.reversed(), columns: Self.sample.manifest.visitColumns))
            .write(to: URL(fileURLWithPath: path))
        try DatasetFiles.reseal(directory)
        #expect {
            try Dataset.load(directory: directory)
        } throws: { error in String(describing: error).contains("not sorted") }
        try FileManager.default.removeItem(atPath: path)
        #expect(throws: DatasetError.missingFile(path: path)) { try Dataset.load(directory: directory) }
    }

    @Test("Counts reconcile only when read = accepted + rejected + duplicates")
    func countsReconcile() {
        #expect(
            DatasetManifest.Counts(read: 10, accepted: 7, rejected: 2, duplicates: 1, rejectedByReason: ["a": 2])
                .reconciles)
        #expect(
            !DatasetManifest.Counts(read: 10, accepted: 7, rejected: 2, duplicates: 0, rejectedByReason: ["a": 2])
                .reconciles)
        #expect(
            !DatasetManifest.Counts(read: 10, accepted: 7, rejected: 2, duplicates: 1, rejectedByReason: ["a": 1])
                .reconciles)
    }
}
