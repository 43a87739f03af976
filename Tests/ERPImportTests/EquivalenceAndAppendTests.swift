import Dataset
import ERPImport
import Formats
import Foundation
import Testing

/// The same data in four syntaxes gives the same dataset; `--append` is idempotent; writes are
/// atomic and never replace a directory that is not a dataset.
@Suite("Datasets")
struct DatasetImportTests {
    func digest(_ directory: String, _ file: String) throws -> String {
        SHA256.hex(try #require(FileManager.default.contents(atPath: directory + "/" + file)))
    }

    @Test func csvXmlGB18030AndSemicolonVariantsGiveIdenticalDatasets() throws {
        let csv = try Fixture.importDataset(visits: Fixture.erp("visits.csv"), customers: Fixture.erp("customers.csv"))
        let variants = [
            try Fixture.importDataset(visits: Fixture.erp("visits.xml"), customers: Fixture.erp("customers.xml")),
            try Fixture.importDataset(
                visits: Fixture.erp("visits_gb18030.csv"), customers: Fixture.erp("customers_gb18030.csv"),
                mapping: Fixture.mapping("gb18030-chinese.json")),
            try Fixture.importDataset(
                visits: Fixture.erp("visits_bom_semicolon.csv"), customers: Fixture.erp("customers_bom_semicolon.csv"),
                mapping: Fixture.mapping("semicolon.json"))
        ]
        #expect(csv.dataset.visits.count == 60 && csv.dataset.customers.count == 12)
        #expect(csv.rejects.isEmpty)
        for variant in variants {
            #expect(variant.dataset.visits == csv.dataset.visits)
            #expect(variant.dataset.customers == csv.dataset.customers)
            #expect(try digest(variant.directory, "visits.csv") == digest(csv.directory, "visits.csv"))
            #expect(try digest(variant.directory, "customers.csv") == digest(csv.directory, "customers.csv"))
            #expect(variant.rejects.isEmpty)
        }
    }

    @Test func manifestRecordsCountsRangeAndEveryDigest() throws {
        let result = try Fixture.importDataset(
            visits: Fixture.erp("visits.csv"), customers: Fixture.erp("customers.csv"))
        let manifest = result.dataset.manifest
        #expect(manifest.visitCounts == DatasetManifest.Counts(read: 60, accepted: 60))
        #expect(manifest.customerCounts == DatasetManifest.Counts(read: 12, accepted: 12))
        #expect(manifest.firstDate == result.dataset.visits.map(\.date).min())
        #expect(manifest.customerCount == 12)
        #expect(manifest.repCount == Set(result.dataset.visits.map(\.repID)).count)
        let input = try #require(manifest.files.first { $0.path == Fixture.erp("visits.csv") })
        #expect(
            input.sha256 == SHA256.hex(try #require(FileManager.default.contents(atPath: Fixture.erp("visits.csv")))))
        for file in ["visits.csv", "customers.csv", "rejects.csv"] {
            let output = try #require(manifest.files.first { $0.role == "output" && $0.path == file })
            #expect(output.sha256 == (try digest(result.directory, file)))
        }
        #expect(result.dataset.visits == result.dataset.visits.sorted(by: Visit.datasetOrder))
    }

    @Test func visitsOfUnknownCustomersAreRejected() throws {
        let directory = Fixture.scratch("input")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let visits = directory + "/v.csv"
        try
            "visit_id,customer_id,rep_id,visit_date,method,target,purpose,result\nV1,C001,R1,2018-03-01,im,active,quotation,order\nV2,C999,R1,2018-03-01,im,active,quotation,order\n"
            .write(toFile: visits, atomically: true, encoding: .utf8)
        let result = try Fixture.importDataset(visits: visits, customers: Fixture.erp("customers.csv"))
        #expect(result.dataset.visits.map(\.visitID) == ["V1"])
        #expect(result.rejects.map(\.reason) == ["unknown_customer"])
    }

    @Test func appendingTheSameExportTwiceChangesOnlyTheHistory() throws {
        let first = try Fixture.importDataset(visits: Fixture.malformed("duplicates.csv"))
        let before = try #require(FileManager.default.contents(atPath: first.directory + "/manifest.json"))
        let second = try Fixture.importDataset(
            visits: Fixture.malformed("duplicates.csv"), out: first.directory, append: true)
        #expect(second.report.alreadyImported)
        for file in ["visits.csv", "customers.csv", "rejects.csv"] {
            #expect(try digest(first.directory, file) == digest(second.directory, file))
        }
        var old = try JSONDecoder().decode(DatasetManifest.self, from: before)
        var new = second.dataset.manifest
        #expect(new.history.count == old.history.count + 1)
        old.history = []
        new.history = []
        #expect(old == new)
    }

    @Test func appendMergesANewerOverlappingExport() throws {
        let directory = Fixture.scratch("input")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let header = "visit_id,customer_id,rep_id,visit_date,method,target,purpose,result\n"
        try
            (header
            + "V1,C001,R1,2018-03-01,im,active,quotation,order\nV2,C001,R1,2018-03-02,im,active,quotation,no_demand\n")
            .write(toFile: directory + "/old.csv", atomically: true, encoding: .utf8)
        try
            (header
            + "V2,C001,R1,2018-03-02,im,active,quotation,no_demand\nV1,C001,R1,2018-03-01,im,active,quotation,no_answer\nV3,C002,R2,2018-03-05,phone,active,follow_up,order\n")
            .write(toFile: directory + "/new.csv", atomically: true, encoding: .utf8)
        let first = try Fixture.importDataset(visits: directory + "/old.csv")
        let merged = try Fixture.importDataset(visits: directory + "/new.csv", out: first.directory, append: true)
        #expect(merged.dataset.visits.map(\.visitID) == ["V1", "V2", "V3"])
        #expect(merged.dataset.visits[0].result == "order", "an existing visit is not overwritten by a conflicting row")
        #expect(merged.rejects.map(\.reason) == ["conflicting_duplicate"])
        #expect(merged.rejects[0].line == 3)
        let counts = merged.dataset.manifest.visitCounts
        #expect(
            counts
                == DatasetManifest.Counts(
                    read: 5, accepted: 3, rejected: 1, duplicates: 1, rejectedByReason: ["conflicting_duplicate": 1]))
        #expect(counts.reconciles)
        // And the merge itself is idempotent.
        let again = try Fixture.importDataset(visits: directory + "/new.csv", out: first.directory, append: true)
        #expect(again.report.alreadyImported)
        #expect(again.dataset.visits == merged.dataset.visits)
    }

    @Test func replacesADatasetButNeverAnotherDirectory() throws {
        let first = try Fixture.importDataset(visits: Fixture.malformed("duplicates.csv"))
        let second = try Fixture.importDataset(visits: Fixture.malformed("bad_date.csv"), out: first.directory)
        #expect(second.dataset.visits.map(\.visitID) == ["V1", "V4"])
        let parent = URL(fileURLWithPath: first.directory).deletingLastPathComponent().path
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: parent).filter {
            $0.hasPrefix(".") && !$0.hasSuffix(".lock")
        }
        #expect(leftovers.isEmpty, "temporary or backup directories left: \(leftovers)")

        let precious = Fixture.scratch("precious")
        try FileManager.default.createDirectory(atPath: precious, withIntermediateDirectories: true)
        try "keep me".write(toFile: precious + "/notes.txt", atomically: true, encoding: .utf8)
        #expect(throws: ImportFailure.self) {
            _ = try Fixture.importDataset(visits: Fixture.malformed("duplicates.csv"), out: precious)
        }
        #expect(FileManager.default.fileExists(atPath: precious + "/notes.txt"))
    }

    @Test func rejectRateAboveTheLimitWritesNothing() throws {
        let out = Fixture.scratch("limited")
        #expect(throws: ImportFailure.self) {
            _ = try Fixture.importDataset(visits: Fixture.malformed("bad_date.csv"), out: out, maxRejectRate: 0.25)
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        let passed = try Fixture.importDataset(visits: Fixture.malformed("bad_date.csv"), out: out, maxRejectRate: 0.5)
        #expect(passed.rejects.count == 2)
    }

    @Test func mappingFilesAreChecked() throws {
        func refused(_ json: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try Mapping.decode(Data(json.utf8), path: "m.json")
                Issue.record("accepted \(json)", sourceLocation: sourceLocation)
            } catch {
                #expect("\(error)".contains(fragment), "\(error)", sourceLocation: sourceLocation)
            }
        }
        refused(#"{"delimter": ";"}"#, "unknown mapping key 'delimter'")
        refused(#"{"visits": {"colums": {}}}"#, "unknown key 'colums' in 'visits'")
        refused(#"{"delimiter": ";;"}"#, "delimiter must be one ASCII character")
        refused(#"{"encoding": "latin9"}"#, "encoding 'latin9' is not supported")
        refused(#"{"date_formats": ["dd/MM"]}"#, "needs yyyy")
        refused(#"{"visits": {"unknown": {"method": "drop"}}}"#, "does not match the schema")
        for file in [
            "gb18030-chinese.json", "semicolon.json", "transactions.json", "open-vocabulary.json", "extras.json"
        ] {
            #expect(throws: Never.self) { _ = try Mapping.load(path: Fixture.mapping(file)) }
        }
    }

    @Test func extraCategoricalAndNumericColumns() throws {
        let result = try Fixture.importDataset(
            visits: Fixture.erp("visits_extras.csv"), customers: Fixture.erp("customers_extras.csv"),
            mapping: Fixture.mapping("extras.json"))
        #expect(result.dataset.manifest.visitColumns == .init(categorical: ["region"], numeric: ["amount"]))
        #expect(result.dataset.visits.map(\.categorical) == [["华南"], ["华东"]])
        #expect(result.dataset.visits.map(\.numeric) == [[1200.5], [nil]])
        #expect(result.dataset.customers.map(\.numeric) == [[50000], [nil]])
        #expect(result.rejects.map(\.reason) == ["unparseable_number"])
    }
}
