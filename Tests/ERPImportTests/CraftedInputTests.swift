import Dataset
import ERPImport
import Formats
import Foundation
import Testing

/// Crafted exports and mappings (issue 14): values the readers used to change silently, rows
/// that lost their line or raw text, records that bypassed the size bound, mapping keys that
/// were ignored. Each test failed before its fix.
@Suite("Crafted inputs")
struct CraftedInputTests {
    static let header = "visit_id,customer_id,rep_id,visit_date,method,target,purpose,result"

    static func write(_ text: String, _ name: String) throws -> String {
        let path = Fixture.scratch(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func importText(_ text: String, name: String = "visits.csv", mapping: Mapping = Mapping())
        throws -> (report: ImportReport, dataset: Dataset, rejects: [Reject])
    {
        let path = try write(text, name)
        let out = Fixture.scratch("dataset")
        let report = try DatasetImport.run(
            ImportOptions(visitsPath: path, mapping: mapping, outputDirectory: out, timestamp: "t"))
        let dataset = try Dataset.load(directory: out)
        return (report, dataset, try Dataset.loadRejects(directory: out, manifest: dataset.manifest))
    }

    // MARK: CSV

    /// CR-only and mixed line endings: every refused row keeps its true line and raw text
    /// (all rejects used to get line 1 and an empty raw).
    @Test func crOnlyAndMixedLineEndingsKeepLinesAndRawText() throws {
        let rows = [
            Self.header, "V1,C1,R1,2020-01-06,phone,active,follow_up,order",
            "V2,C1,R1,not-a-date,phone,active,follow_up,order",
            "V3,C2,R1,2020-01-07,phone,active,follow_up,no_answer", "V4,C2,R1,2020-01-08,fax,active,follow_up,no_answer"
        ]
        let crOnly = try Self.importText(rows.joined(separator: "\r") + "\r")
        #expect(crOnly.dataset.visits.map(\.visitID) == ["V1", "V3"])
        #expect(crOnly.rejects.map(\.line) == [3, 5])
        #expect(crOnly.rejects.map(\.raw) == [rows[2], rows[4]])
        let mixed = try Self.importText(
            rows[0] + "\r\n" + rows[1] + "\r" + rows[2] + "\n" + rows[3] + "\r\n" + rows[4] + "\r")
        #expect(mixed.rejects.map(\.line) == [3, 5])
        #expect(mixed.rejects.map(\.raw) == [rows[2], rows[4]])
        #expect(mixed.dataset.manifest.visitCounts.reconciles)
    }

    /// A quoted field that spreads over many lines is bounded as a record, not per line: past
    /// the bound it is one rejected row (with the start of its text), and the rows after it
    /// are read as usual.
    @Test func aRecordOverManyLinesIsBoundedAndRejectedAsARow() throws {
        var text =
            Self.header
            + "\nV1,C1,R1,2020-01-06,phone,active,follow_up,order\nV2,C1,R1,2020-01-07,phone,active,\"follow"
        let line = String(repeating: "x", count: 1023) + "\n"
        text += String(repeating: line, count: 17 * 1024)  // 17 MiB inside one quoted field
        text += "up\",order\nV3,C2,R1,2020-01-08,phone,active,follow_up,no_answer\n"
        let result = try Self.importText(text)
        #expect(result.dataset.visits.map(\.visitID) == ["V1", "V3"])
        #expect(result.rejects.count == 1)
        let reject = try #require(result.rejects.first)
        #expect(reject.reason == "record_too_large" && reject.line == 3, "\(reject.reason) \(reject.line)")
        #expect(reject.raw.hasPrefix("V2,C1,R1,2020-01-07") && reject.raw.utf8.count < 5_000)
        #expect(result.dataset.manifest.visitCounts.read == 3 && result.dataset.manifest.visitCounts.reconciles)
    }

    /// Dates every tool can carry: 9999-12-31 used to make the scorer write as_of 10000-01-01.
    @Test func datesOutsideTheSupportedRangeAreRejected() throws {
        let result = try Self.importText(
            Self.header
                + "\nV1,C1,R1,9999-12-31,phone,active,follow_up,order\nV2,C1,R1,1800-01-01,phone,active,follow_up,order\n"
                + "V3,C1,R1,2020-01-01,phone,active,follow_up,order\n")
        #expect(result.dataset.visits.map(\.visitID) == ["V3"])
        #expect(result.rejects.map(\.reason) == ["unparseable_date", "unparseable_date"])
        #expect(result.rejects.allSatisfy { $0.detail.contains("outside 1900-01-01…2999-12-31") })
    }

    // MARK: XML

    static func xml(_ records: String) -> String {
        "<?xml version=\"1.0\"?>\n<VisitExport xmlns:x=\"urn:x\">\n\(records)\n</VisitExport>\n"
    }

    static let fields =
        "<CustomerId>C1</CustomerId><RepId>R1</RepId><Date>2020-01-06</Date><Method>phone</Method><Target>active</Target><Purpose>follow_up</Purpose><Result>order</Result>"

    /// Markup inside a field, a record nested in a record, text outside any field and an
    /// attribute given twice under namespaces: each is a rejected record with a reason (the
    /// values used to change silently: `C0<b>X</b>01` became `C001`).
    @Test func xmlStructureThatWouldChangeAValueIsRejected() throws {
        let records = [
            "<Visit id=\"V1\">\(Self.fields)</Visit>",
            "<Visit id=\"V2\"><CustomerId>C0<b>X</b>01</CustomerId><RepId>R1</RepId><Date>2020-01-06</Date><Method>phone</Method><Target>active</Target><Purpose>follow_up</Purpose><Result>order</Result></Visit>",
            "<Visit id=\"V3\">\(Self.fields)<Visit id=\"V9\">\(Self.fields)</Visit></Visit>",
            "<Visit id=\"V4\" x:id=\"V5\">\(Self.fields)</Visit>",
            "<Visit id=\"V6\">stray text\(Self.fields)</Visit>",
            "<Visit id=\"V7\">\(Self.fields)</Visit>"
        ]
        let result = try Self.importText(Self.xml(records.joined(separator: "\n")), name: "visits.xml")
        #expect(result.dataset.visits.map(\.visitID) == ["V1", "V7"])
        #expect(result.rejects.map(\.line) == [4, 5, 6, 7])
        #expect(result.rejects.map(\.reason) == Array(repeating: "unexpected_markup", count: 4))
        #expect(result.rejects[0].detail.contains("<b> inside <CustomerId>"), "\(result.rejects[0].detail)")
        #expect(result.rejects[1].detail.contains("<Visit> nested inside <Visit>"), "\(result.rejects[1].detail)")
        #expect(
            result.rejects[2].detail.contains("attribute id given twice (id and x:id)"), "\(result.rejects[2].detail)")
        #expect(result.rejects[3].detail.contains("text directly inside <Visit>"), "\(result.rejects[3].detail)")
        #expect(result.dataset.manifest.visitCounts.read == 6 && result.dataset.manifest.visitCounts.reconciles)
    }

    /// The XML reader numbers names once and resolves them to columns by number: past the first
    /// 32 names (a dictionary takes over), an element spelt like an attribute (`<id>` beside
    /// `id="…"`), and a child repeated in one record but not across records must all read as
    /// they did when every name was hashed per record.
    @Test func xmlNamesResolveByNumberAcrossRecords() throws {
        let extras = (0..<40).map { "<e\($0)>x</e\($0)>" }.joined()
        let records = [
            "<Visit id=\"V1\">\(extras)<id>WRONG</id>\(Self.fields)</Visit>",
            "<Visit id=\"V2\">\(Self.fields)</Visit>",
            "<Visit id=\"V3\">\(Self.fields)<Result>order</Result></Visit>",
            "<Visit id=\"V4\"><e5>a</e5><e39>b</e39>\(Self.fields)</Visit>",
            "<Visit id=\"V5\"><e39>b</e39>\(Self.fields)<e39>c</e39></Visit>"
        ]
        let result = try Self.importText(Self.xml(records.joined(separator: "\n")), name: "visits.xml")
        #expect(result.dataset.visits.map(\.visitID) == ["V1", "V2", "V4"])
        #expect(result.dataset.visits.allSatisfy { $0.customerID == "C1" && $0.result == "order" })
        #expect(result.rejects.map(\.line) == [5, 7])
        #expect(result.rejects.map(\.reason) == ["repeated_element", "repeated_element"])
        #expect(
            result.rejects[0].detail.contains("element <Result> appears more than once"), "\(result.rejects[0].detail)")
        #expect(
            result.rejects[1].detail.contains("element <e39> appears more than once"), "\(result.rejects[1].detail)")
        #expect(result.rejects[1].raw.contains("<e39>b</e39>"), "the raw text is the record re-serialised")
    }

    /// 100,000 attributes on one element (a 1 MB file) took 43 s of CPU in libxml2's
    /// duplicate-attribute check; the guard refuses the file at the element, at once.
    @Test func tooManyAttributesAreRefusedQuickly() throws {
        let attributes = (0..<100_000).map { "a\($0)=\"1\"" }.joined(separator: " ")
        let path = try Self.write(
            Self.xml("<Visit id=\"V1\">\(Self.fields)</Visit>\n<Visit \(attributes)>\(Self.fields)</Visit>"), "many.xml"
        )
        let clock = ContinuousClock(), started = clock.now
        #expect {
            try DatasetImport.run(
                ImportOptions(visitsPath: path, outputDirectory: Fixture.scratch("out"), timestamp: "t"))
        } throws: { error in
            "\(error)".contains(":4: an element with more than 1000 attributes")
        }
        #expect(clock.now - started < .seconds(5))
    }

    /// The DOCTYPE refusal names the DOCTYPE's own line, not the parser's read-ahead.
    @Test func theDoctypeRefusalNamesItsLine() throws {
        let padding = String(repeating: "<!-- padding so the parser reads ahead -->\n", count: 2_000)
        let text =
            "<?xml version=\"1.0\"?>\n\n<!DOCTYPE VisitExport [<!ENTITY e \"x\">]>\n" + padding
            + "<VisitExport></VisitExport>\n"
        let path = try Self.write(text, "doctype.xml")
        #expect {
            try DatasetImport.run(
                ImportOptions(visitsPath: path, outputDirectory: Fixture.scratch("out"), timestamp: "t"))
        } throws: { error in
            "\(error)".contains("doctype.xml:3: DOCTYPE declares entities")
        }
    }

    // MARK: Mappings

    /// Misspelt field names inside `columns`, `values`, `vocabularies`, `unknown` and extra
    /// columns, and duplicate keys anywhere: errors with the key path (they used to be ignored,
    /// or the first value kept).
    @Test func misspeltFieldNamesAndDuplicateKeysAreErrors() {
        let cases: [(String, String)] = [
            (#"{"visits": {"columns": {"vist_id": "Id"}}}"#, "unknown field 'vist_id' in 'visits.columns'"),
            (#"{"visits": {"values": {"resutl": {"成交": "order"}}}}"#, "unknown field 'resutl' in 'visits.values'"),
            (
                #"{"customers": {"vocabularies": {"industy": ["a"]}}}"#,
                "unknown field 'industy' in 'customers.vocabularies'"
            ),
            (#"{"visits": {"unknown": {"methd": "accept"}}}"#, "unknown field 'methd' in 'visits.unknown'"),
            (
                #"{"visits": {"numeric": [{"name": "amount", "colum": "Amt"}]}}"#,
                "unknown key 'colum' in 'visits.numeric[0]'"
            ),
            (#"{"delimiter": ";", "delimiter": ","}"#, "key 'delimiter' appears twice"),
            (
                #"{"visits": {"columns": {"visit_id": "A", "visit_id": "B"}}}"#,
                "key 'visits.columns.visit_id' appears twice"
            )
        ]
        for (json, fragment) in cases {
            #expect {
                try Mapping.decode(Data(json.utf8), path: "m.json")
            } throws: { error in
                "\(error)".contains(fragment)
            }
        }
        // What the fixtures and the docs show still loads: extra categorical names are fields too.
        #expect(throws: Never.self) {
            try Mapping.decode(
                Data(
                    #"{"visits": {"categorical": [{"name": "region"}], "unknown": {"region": "accept"}, "values": {"result": {"ok": "order"}}}}"#
                        .utf8), path: "m.json")
        }
    }

    @Test func duplicateKeyPathsAreFoundAtAnyDepthAndEscapesCompareDecoded() {
        #expect(JSONDuplicateKeys.first(in: Array(#"{"a": 1, "b": {"c": [1, {"d": 1, "d": 2}]}}"#.utf8)) == "b.c[1].d")
        #expect(JSONDuplicateKeys.first(in: Array(#"{"a": 1, "\u0061": 2}"#.utf8)) == "a")
        #expect(JSONDuplicateKeys.first(in: Array(#"{"a": "x\"y", "b": [], "c": {}}"#.utf8)) == nil)
        #expect(
            JSONDuplicateKeys.first(in: Array(String(repeating: "[", count: 10_000).utf8)) == nil,
            "deep nesting is not a crash")
    }

    // MARK: Appends

    /// `--append` without `--customers` onto a dataset imported with a customers file keeps
    /// visits of customers the master does not list yet (it rejected every one of them).
    @Test func appendWithoutACustomersFileKeepsNewCustomers() throws {
        let first = try Fixture.importDataset(
            visits: Fixture.erp("visits.csv"), customers: Fixture.erp("customers.csv"))
        let more = try Self.write(Self.header + "\nN1,C999,R01,2018-12-03,phone,active,follow_up,order\n", "more.csv")
        let options = ImportOptions(visitsPath: more, outputDirectory: first.directory, append: true, timestamp: "t2")
        let report = try DatasetImport.run(options)
        #expect(report.visitCounts.accepted == 1 && report.visitCounts.rejected == 0)
        #expect(try Dataset.load(directory: first.directory).visits.contains { $0.customerID == "C999" })
    }

    // MARK: Per-file dialects

    /// A `;` visits export with day-first dates beside a `,` customer master, in one run: each
    /// table's own `delimiter` and `date_formats` override the top level.
    @Test func eachFileMayHaveItsOwnDialect() throws {
        let visits = try Self.write(
            "visit_id;customer_id;rep_id;visit_date;method;target;purpose;result\nV1;C1;R1;06.01.2020;phone;active;follow_up;order\n",
            "visits.csv")
        let customers = try Self.write(
            "customer_id,customer_type,industry,tag\nC1,trader,consumer,key\n", "customers.csv")
        let mapping = try Mapping.decode(
            Data(#"{"visits": {"delimiter": ";", "date_formats": ["dd.MM.yyyy"]}}"#.utf8), path: "m.json")
        let out = Fixture.scratch("dialects")
        let report = try DatasetImport.run(
            ImportOptions(
                visitsPath: visits, customersPath: customers, mapping: mapping, outputDirectory: out, timestamp: "t"))
        #expect(
            report.visitCounts.accepted == 1 && report.customerCounts.accepted == 1,
            "\(report.visitCounts) \(report.customerCounts)")
        #expect(try Dataset.load(directory: out).visits.first?.date == Day(iso: "2020-01-06"))
        #expect {
            try Mapping.decode(Data(#"{"customers": {"delimiter": ";;"}}"#.utf8), path: "m.json")
        } throws: { "\($0)".contains("customers.delimiter must be one ASCII character") }
    }

    /// The validator reuses the previous row's parse when a row repeats its date text: a
    /// repeated date, another spelling of the same day, an unparseable date between them and
    /// one outside the supported range after a valid one must each read as if parsed alone.
    @Test func repeatedDateTextReadsLikeAFreshParse() throws {
        let rows = [
            "V1,C1,R1,06.01.2020,phone,active,follow_up,order",
            "V2,C1,R1,06.01.2020,phone,active,follow_up,order",
            "V3,C1,R1,2020-01-06,phone,active,follow_up,order",
            "V4,C1,R1,06.13.2020,phone,active,follow_up,order",
            "V5,C1,R1,06.01.2020,phone,active,follow_up,order",
            "V6,C1,R1,06.01.1850,phone,active,follow_up,order",
            "V7,C1,R1,07.01.2020,phone,active,follow_up,order"
        ]
        let mapping = try Mapping.decode(
            Data(#"{"date_formats": ["dd.MM.yyyy", "yyyy-MM-dd"]}"#.utf8), path: "m.json")
        let result = try Self.importText(
            ([Self.header] + rows).joined(separator: "\n") + "\n", mapping: mapping)
        let dates = Dictionary(uniqueKeysWithValues: result.dataset.visits.map { ($0.visitID, $0.date.iso) })
        #expect(
            dates == [
                "V1": "2020-01-06", "V2": "2020-01-06", "V3": "2020-01-06", "V5": "2020-01-06", "V7": "2020-01-07"
            ])
        #expect(result.rejects.map(\.line) == [5, 7])
        #expect(result.rejects.map(\.reason) == ["unparseable_date", "unparseable_date"])
    }

    /// The reject summary names the field that refused the row: an unknown value accepted
    /// under `unknown: accept` earlier in the row is not the cause.
    @Test func theRejectSummaryNamesTheRefusingField() throws {
        var text = Self.header + "\n"
        for index in 0..<20 { text += "V\(index),C1,R1,2020-01-06,fax,active,weird,order\n" }
        let path = try Self.write(text, "visits.csv")
        let mapping = try Mapping.decode(Data(#"{"visits": {"unknown": {"method": "accept"}}}"#.utf8), path: "m.json")
        #expect {
            try DatasetImport.run(
                ImportOptions(
                    visitsPath: path, mapping: mapping, outputDirectory: Fixture.scratch("out"), maxRejectRate: 0.05,
                    timestamp: "t"))
        } throws: { error in
            let text = "\(error)"
            return text.contains("visits purpose 'weird' (20 rows, first on line 2)") && !text.contains("'fax'")
        }
    }
}
