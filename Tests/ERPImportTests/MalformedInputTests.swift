import Dataset
import ERPImport
import Foundation
import Testing

/// Every defect the importer must catch, on the committed files under Fixtures/malformed/
/// (written by Fixtures/erp/generate_erp_fixtures.py), with the exact rows accepted and refused.
@Suite("Malformed inputs")
struct MalformedInputTests {
    /// Imports a malformed file and checks the accepted visit ids, the (line, reason) of each
    /// reject, and that the counts reconcile.
    func check(
        _ name: String, mapping: String? = nil, accepted: [String], rejected: [(Int, String)], duplicates: Int = 0,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (dataset: Dataset, rejects: [Reject]) {
        let result = try Fixture.importDataset(visits: Fixture.malformed(name), mapping: mapping.map(Fixture.mapping))
        #expect(result.dataset.visits.map(\.visitID).sorted() == accepted.sorted(), sourceLocation: sourceLocation)
        #expect(result.rejects.map(\.line) == rejected.map(\.0), sourceLocation: sourceLocation)
        #expect(result.rejects.map(\.reason) == rejected.map(\.1), sourceLocation: sourceLocation)
        #expect(result.rejects.allSatisfy { $0.source == Fixture.malformed(name) }, sourceLocation: sourceLocation)
        let counts = result.dataset.manifest.visitCounts
        #expect(counts.reconciles, "\(counts)", sourceLocation: sourceLocation)
        #expect(
            counts.accepted == accepted.count && counts.rejected == rejected.count && counts.duplicates == duplicates,
            "\(counts)", sourceLocation: sourceLocation)
        #expect(counts.read == accepted.count + rejected.count + duplicates, sourceLocation: sourceLocation)
        return (result.dataset, result.rejects)
    }

    /// The import must throw a bad-input failure whose message contains `fragment`, and leave
    /// no dataset directory behind.
    func expectFileError(
        _ path: String, mapping: Mapping = Mapping(), _ fragment: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let out = Fixture.scratch("refused")
        do {
            _ = try DatasetImport.run(
                ImportOptions(visitsPath: path, mapping: mapping, outputDirectory: out, timestamp: "t"))
            Issue.record("\(path) was accepted", sourceLocation: sourceLocation)
        } catch let failure as ImportFailure {
            guard case .badInput = failure else {
                Issue.record("\(failure) is not a bad-input failure", sourceLocation: sourceLocation)
                return
            }
            #expect(failure.description.contains(fragment), "\(failure)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
        #expect(!FileManager.default.fileExists(atPath: out), "nothing may be written", sourceLocation: sourceLocation)
    }

    @Test func wrongFieldCount() throws {
        let result = try check(
            "wrong_field_count.csv", accepted: ["V1", "V4"],
            rejected: [(3, "wrong_field_count"), (4, "wrong_field_count")])
        #expect(result.rejects[0].detail == "7 fields; the header has 8")
        #expect(result.rejects[1].raw == "V3,C001,R01,2018-03-03,phone,active,quotation,order,extra")
    }

    @Test func missingRequiredField() throws {
        let result = try check(
            "missing_field.csv", accepted: ["V1"], rejected: [(3, "missing_field"), (4, "missing_field")])
        #expect(result.rejects[0].detail == "customer_id is empty")
        #expect(result.rejects[1].detail == "result is empty")
    }

    @Test func unparseableDates() throws {
        let result = try check(
            "bad_date.csv", accepted: ["V1", "V4"], rejected: [(3, "unparseable_date"), (4, "unparseable_date")])
        #expect(result.rejects[0].detail.hasPrefix("visit_date '2018-02-30' is not a date"))
        #expect(result.dataset.visits.first { $0.visitID == "V4" }?.date == Day(year: 2018, month: 3, day: 4))
    }

    @Test func unknownCategoricalValuesUnderTheDefaultRejectPolicy() throws {
        let result = try check(
            "unknown_value.csv", accepted: ["V1"], rejected: [(3, "unknown_value"), (4, "unknown_value")])
        #expect(result.rejects[0].detail.hasPrefix("method 'fax' is not one of phone, im, onsite, email"))
    }

    @Test func unknownValuePoliciesAcceptAndOther() throws {
        // open-vocabulary.json: method → other, purpose → accept; result stays strict.
        let result = try check(
            "unknown_value.csv", mapping: "open-vocabulary.json", accepted: ["V1", "V2"],
            rejected: [(4, "unknown_value")])
        #expect(result.dataset.visits.first { $0.visitID == "V2" }?.method == "other")
        #expect(result.dataset.manifest.history.last?.contains("1 values replaced with other") == true)
    }

    @Test func duplicatesAreKeptOnceAndConflictsNameBothLines() throws {
        let result = try check(
            "duplicates.csv", accepted: ["V1", "V3"],
            rejected: [(3, "conflicting_duplicate"), (5, "conflicting_duplicate")], duplicates: 1)
        // Neither version of V2 is kept (nothing says the first is right); each names the other.
        #expect(result.rejects[0].detail == "visit_id V2 also on line 5 with different content")
        #expect(result.rejects[0].raw == "V2,C001,R01,2018-03-01,phone,active,quotation,order")
        #expect(result.rejects[1].detail == "visit_id V2 also on line 3 with different content")
        #expect(result.rejects[1].raw == "V2,C001,R01,2018-03-01,phone,active,quotation,no_demand")
        #expect(!result.dataset.visits.contains { $0.visitID == "V2" })
    }

    /// Customer profiles follow the same rule; a third row with a conflicting id is refused too.
    @Test func conflictingCustomerProfilesAreBothRefused() throws {
        let customers = Fixture.scratch("customers.csv")
        try """
        customer_id,customer_type,industry,tag
        C1,trader,consumer,key
        C2,trader,consumer,key
        C1,manufacturer,consumer,key
        C2,trader,consumer,key
        C1,trader,consumer,key

        """.write(toFile: customers, atomically: true, encoding: .utf8)
        let visits = Fixture.scratch("visits.csv")
        try
            "visit_id,customer_id,rep_id,visit_date,method,target,purpose,result\nV1,C1,R1,2020-01-06,phone,active,follow_up,order\nV2,C2,R1,2020-01-06,phone,active,follow_up,order\n"
            .write(toFile: visits, atomically: true, encoding: .utf8)
        let result = try Fixture.importDataset(visits: visits, customers: customers)
        #expect(result.dataset.customers.map(\.customerID) == ["C2"])
        let counts = result.dataset.manifest.customerCounts
        #expect(
            counts.read == 5 && counts.accepted == 1 && counts.duplicates == 1 && counts.rejected == 3
                && counts.reconciles, "\(counts)")
        let customerRejects = result.rejects.filter { $0.source == customers }
        #expect(customerRejects.map(\.line) == [2, 4, 6])
        #expect(
            customerRejects[0].detail.contains("also on line 4") && customerRejects[1].detail.contains("also on line 2")
        )
        #expect(customerRejects[2].detail.contains("is on lines 2 and 4"))
        // The visit of the refused customer is refused as unknown: its profile is not known.
        #expect(result.dataset.visits.map(\.visitID) == ["V2"])
    }

    @Test func quotedDelimitersQuotesAndNewlinesWithCRLF() throws {
        let result = try check(
            "quotes_and_newlines.csv", mapping: "open-vocabulary.json", accepted: ["V1", "V2", "V3"], rejected: [])
        let purposes = Dictionary(uniqueKeysWithValues: result.dataset.visits.map { ($0.visitID, $0.purpose) })
        #expect(purposes["V1"] == "quotation, \"urgent\"")
        #expect(purposes["V2"] == "follow_up\nsecond line")
        #expect(purposes["V3"] == "quotation")
    }

    @Test func misplacedQuotesRejectTheRecordAndParsingResumes() throws {
        let result = try check(
            "bad_quotes.csv", accepted: ["V1", "V4"], rejected: [(3, "malformed_quotes"), (4, "malformed_quotes")])
        #expect(result.rejects[1].raw == "V3,C001,R01,2018-03-03,phone,active,\"quotation\"x,order")
    }

    @Test func unterminatedQuoteAtTheEndIsATruncatedRecord() throws {
        let result = try check("truncated.csv", accepted: ["V1", "V2"], rejected: [(4, "truncated_record")])
        #expect(result.rejects[0].raw == "V3,C001,R01,2018-03-03,phone,active,\"quotation, cut")
    }

    @Test func lastLineWithoutNewlineAndBlankLines() throws {
        _ = try check("no_trailing_newline.csv", accepted: ["V1", "V2"], rejected: [])
        _ = try check("blank_lines.csv", accepted: ["V1", "V2"], rejected: [])
        _ = try check("header_only.csv", accepted: [], rejected: [])
    }

    @Test func invalidUTF8IsRejectedByLineNeverReplaced() throws {
        let result = try check("invalid_utf8.csv", accepted: ["V1", "V3"], rejected: [(3, "invalid_encoding")])
        #expect(result.rejects[0].raw.contains("quot\\xE9tion"))
        #expect(result.rejects[0].detail.hasPrefix("line 3: bytes not valid UTF-8"))
    }

    @Test func invalidGB18030IsRejectedByLine() throws {
        let result = try check(
            "invalid_gb18030.csv", mapping: "gb18030-chinese.json", accepted: ["V0001", "V0003"],
            rejected: [(3, "invalid_encoding")])
        #expect(result.rejects[0].raw.contains("\\x81"))
    }

    @Test func transactionLogsMakeEveryRowAnOrder() throws {
        let result = try Fixture.importDataset(
            visits: Fixture.malformed("transactions.csv"), mapping: Fixture.mapping("transactions.json"))
        #expect(result.dataset.manifest.kind == .transactions)
        #expect(result.dataset.manifest.visitColumns.numeric == ["quantity", "amount"])
        let rows = result.dataset.visits.map { "\($0.customerID) \($0.date) \($0.isOrder) \($0.numeric)" }
        #expect(
            rows.sorted() == [
                "C001 2018-03-01 true [Optional(5.0), Optional(120.5)]",
                "C001 2018-03-01 true [Optional(5.0), Optional(120.5)]",
                "C002 2018-03-02 true [Optional(1.0), nil]"
            ])
        // Two equal orders in one log stay two rows with distinct ids.
        #expect(Set(result.dataset.visits.map(\.visitID)).count == 3)
        #expect(result.rejects.map(\.line) == [5, 6])
        #expect(result.rejects.map(\.reason) == ["missing_field", "unparseable_number"])
        #expect(result.dataset.manifest.visitCounts.reconciles)
    }

    @Test func fileLevelProblemsStopTheImportAndWriteNothing() {
        expectFileError(Fixture.malformed("empty.csv"), "empty file: no header line")
        expectFileError(Fixture.malformed("no_header.csv"), "header lacks columns 'visit_id'")
        expectFileError(Fixture.malformed("invalid_header_encoding.csv"), ":1: header: line 1: bytes not valid UTF-8")
        expectFileError(Fixture.malformed("does-not-exist.csv"), "cannot open")
        expectFileError(
            Fixture.erp("visits_gb18030.csv"), "is the file's encoding 'utf-8'? set \"encoding\" in the mapping")
    }
}
