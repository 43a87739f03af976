import Dataset
import Foundation
import Testing

/// End-to-end checks of the `importer` binary: exit codes, stdin, messages, help.
@Suite("importer")
struct ImporterToolTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func scratch() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(
            "importer-tool-\(getpid())-\(UUID().uuidString.prefix(8))"
        ).path
    }

    static func run(_ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, stdout: String, stderr: String)
    {
        try ToolProcess.run("importer", arguments, stdin: stdin)
    }

    @Test func importsAndPrintsOneSummaryLine() throws {
        let out = Self.scratch()
        let result = try Self.run([Self.root + "/Fixtures/malformed/duplicates.csv", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.hasPrefix("importer: visits: read 5, accepted 2, rejected 2, duplicates 1, "),
            "\(result.stdout)")
        #expect(result.stdout.split(separator: "\n").count == 1)
        let dataset = try Dataset.load(directory: out)
        #expect(dataset.visits.map(\.visitID) == ["V1", "V3"], "both versions of V2 are refused")
    }

    @Test func memoryBudgetIsReadAsASizeAndChecked() throws {
        let out = Self.scratch()
        let small = try Self.run([Self.root + "/Fixtures/erp/visits.csv", "--out", out, "--memory", "10M"])
        #expect(small.status == 1 && small.stderr.contains("--memory must be at least 64M"), "\(small.stderr)")
        let garbage = try Self.run([Self.root + "/Fixtures/erp/visits.csv", "--out", out, "--memory", "lots"])
        #expect(garbage.status == 1 && garbage.stderr.contains("--memory"), "\(garbage.stderr)")
        for size in ["64M", "2G", "100000000", "512MiB"] {
            let result = try Self.run([
                Self.root + "/Fixtures/erp/visits.csv", "--out", out, "--memory", size, "--quiet"
            ])
            #expect(result.status == 0, "\(size): \(result.stderr)")
        }
        #expect(try Dataset.load(directory: out).visits.count == 60)
    }

    @Test func readsStandardInput() throws {
        let out = Self.scratch()
        let bytes = try #require(FileManager.default.contents(atPath: Self.root + "/Fixtures/erp/visits.xml"))
        let result = try Self.run(["-", "--format", "xml", "--out", out], stdin: bytes)
        #expect(result.status == 0, "\(result.stderr)")
        let manifest = try Dataset.readManifest(directory: out)
        #expect(manifest.visitCounts.accepted == 60)
        #expect(manifest.files.contains { $0.role == "input" && $0.path == "-" && $0.bytes == bytes.count })
    }

    /// Standard input has no extension to tell the format by: XML read as CSV says what to add.
    @Test func xmlOnStandardInputWithoutTheFormatGetsAHint() throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.root + "/Fixtures/erp/visits.xml"))
        let result = try Self.run(["-", "--out", Self.scratch()], stdin: bytes)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(
            result.stderr.hasPrefix("importer: -:1: header: ")
                && result.stderr.contains("looks like XML (it starts with '<'): add --format xml"), "\(result.stderr)")
        // A CSV header that fails for another reason gets no such hint.
        let csv = try Self.run(["-", "--out", Self.scratch()], stdin: Data("a;b;c\n1;2;3\n".utf8))
        #expect(csv.status == 2 && !csv.stderr.contains("XML"), "\(csv.stderr)")
    }

    @Test func documentedExitCodes() throws {
        let out = Self.scratch()
        let usage = try Self.run(["--out", out])
        #expect(usage.status == 1, "\(usage.stderr)")
        let badRate = try Self.run(["x.csv", "--out", out, "--max-reject-rate", "2"])
        #expect(badRate.status == 1 && badRate.stderr.contains("--max-reject-rate must be between 0 and 1"))

        let empty = try Self.run([Self.root + "/Fixtures/malformed/empty.csv", "--out", out])
        #expect(empty.status == 2)
        #expect(
            empty.stderr == "importer: \(Self.root)/Fixtures/malformed/empty.csv: empty file: no header line\n",
            "\(empty.stderr)")
        let xml = try Self.run([Self.root + "/Fixtures/malformed/syntax_error.xml", "--out", out])
        #expect(
            xml.status == 2
                && xml.stderr.hasPrefix("importer: \(Self.root)/Fixtures/malformed/syntax_error.xml:4: XML error"),
            "\(xml.stderr)")
        let xxe = try Self.run([Self.root + "/Fixtures/malformed/xxe.xml", "--out", out])
        #expect(xxe.status == 2 && xxe.stderr.contains("DOCTYPE declares entities"))

        let rate = try Self.run([
            Self.root + "/Fixtures/malformed/bad_date.csv", "--out", out, "--max-reject-rate", "0.1"
        ])
        #expect(rate.status == 3 && rate.stderr.contains("exceeds --max-reject-rate"), "\(rate.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))

        let notADirectory = out + "-file"
        try "x".write(toFile: notADirectory, atomically: true, encoding: .utf8)
        let write = try Self.run([Self.root + "/Fixtures/malformed/duplicates.csv", "--out", notADirectory])
        #expect(write.status == 4 && write.stderr.contains("cannot write"), "\(write.stderr)")
    }

    @Test func helpNamesEveryOptionAndTheExitCodes() throws {
        let help = try Self.run(["--help"])
        #expect(help.status == 0)
        for fragment in [
            "--customers", "--mapping", "--format", "--out", "--append", "--max-reject-rate", "--quiet", "Exit codes",
            "'-' reads standard"
        ] {
            #expect(help.stdout.contains(fragment), "help lacks \(fragment)")
        }
    }

    /// The default reject cap: an export whose industry is spelt `consumer_electronics` loses
    /// most of its customers; the import fails (exit 3, nothing written) and says what to change.
    /// A small file with a few bad rows still imports the rest.
    @Test func aBadFirstImportFailsLoudlyWithTheCause() throws {
        let directory = Self.scratch()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var customers = "customer_id,customer_type,industry,tag\n"
        var visits = "visit_id,customer_id,rep_id,visit_date,method,target,purpose,result\n"
        for index in 0..<100 {
            customers += "C\(index),trader,\(index % 3 == 0 ? "medical" : "consumer_electronics"),key\n"
            visits +=
                "V\(index),C\(index),R1,2020-01-06,phone,active,follow_up,\(index % 10 == 0 ? "callback_later" : "order")\n"
        }
        try customers.write(toFile: directory + "/customers.csv", atomically: true, encoding: .utf8)
        try visits.write(toFile: directory + "/visits.csv", atomically: true, encoding: .utf8)
        let out = directory + "/data"
        let failed = try Self.run([directory + "/visits.csv", "--customers", directory + "/customers.csv", "--out", out]
        )
        #expect(failed.status == 3, "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(failed.stderr.contains("exceeds --max-reject-rate 5.0%"), "\(failed.stderr)")
        #expect(
            failed.stderr.contains(
                "customers industry 'consumer_electronics' (66 rows, first on line 3) is not in the vocabulary: add it under customers.vocabularies.industry"
            ), "\(failed.stderr)")
        #expect(
            failed.stderr.contains("visits result 'callback_later'")
                && failed.stderr.contains("an unknown result is never guessed"), "\(failed.stderr)")
        // `--max-reject-rate 1` turns the cap off; the rows are refused one by one as before.
        let forced = try Self.run([
            directory + "/visits.csv", "--customers", directory + "/customers.csv", "--out", out, "--max-reject-rate",
            "1", "--quiet"
        ])
        #expect(forced.status == 0, "\(forced.stderr)")
        // A few bad rows (under 10) never trip the default cap.
        let small = try Self.run([
            Self.root + "/Fixtures/malformed/bad_date.csv", "--out", directory + "/small", "--quiet"
        ])
        #expect(small.status == 0, "\(small.stderr)")
    }

    /// `unknown.result` other than `reject` is refused: an unknown result must not be guessed.
    @Test func anUnknownResultIsNeverGuessed() throws {
        let directory = Self.scratch()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try #"{"visits": {"unknown": {"result": "accept"}}}"#.write(
            toFile: directory + "/m.json", atomically: true, encoding: .utf8)
        let result = try Self.run([
            Self.root + "/Fixtures/erp/visits.csv", "--mapping", directory + "/m.json", "--out", directory + "/data"
        ])
        #expect(
            result.status == 2 && result.stderr.contains("visits.unknown.result must be reject"), "\(result.stderr)")
    }

    /// First contact: an export with Chinese headers, a `;` delimiter, day-first dates and
    /// unfamiliar vocabularies, beside a `,` customer master. `importer inspect` finds the
    /// dialect and columns, and its draft mapping imports both files with no reject at all.
    @Test func theInspectorsDraftMappingImportsAnUnfamiliarExport() throws {
        let directory = Self.scratch()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var visits = "拜访编号;客户编号;业务员;拜访日期;拜访方式;拜访对象;拜访目的;拜访结果\n"
        let results = ["成交", "callback_later", "无人接听", "暂无需求"]
        for index in 0..<40 {
            visits +=
                "B\(index);K\(index % 8);S\(index % 3);\(String(format: "%02d", 1 + index % 28)).03.2021;微信;老客户;回访;\(results[index % 4])\n"
        }
        var customers = "客户编号,客户类型,所属行业,客户标签\n"
        for index in 0..<8 { customers += "K\(index),经销商,\(index % 2 == 0 ? "consumer_electronics" : "光伏"),A类\n" }
        try visits.write(toFile: directory + "/visits.csv", atomically: true, encoding: .utf8)
        try customers.write(toFile: directory + "/customers.csv", atomically: true, encoding: .utf8)

        // Without a mapping the import fails loudly (the default reject cap), and says why.
        let blind = try Self.run([
            directory + "/visits.csv", "--customers", directory + "/customers.csv", "--out", directory + "/blind"
        ])
        #expect(blind.status == 2 || blind.status == 3, "\(blind.stderr)")

        let inspect = try Self.run([
            "inspect", directory + "/visits.csv", "--customers", directory + "/customers.csv", "--write-mapping",
            directory + "/m.json"
        ])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(
            inspect.stdout.contains("delimiter ';'") && inspect.stdout.contains("拜访日期 → visit_date: date")
                && inspect.stdout.contains("dates as d.M.yyyy"), "\(inspect.stdout)")
        #expect(
            inspect.stdout.contains("所属行业 → industry") && inspect.stdout.contains("consumer_electronics (4)"),
            "\(inspect.stdout)")
        #expect(
            inspect.stdout.contains("orders (result values that look like an order; check): 成交"), "\(inspect.stdout)")
        let mapping = try String(contentsOfFile: directory + "/m.json", encoding: .utf8)
        #expect(mapping.contains("callback_later") && mapping.contains("Result values seen"), "\(mapping)")

        let imported = try Self.run([
            directory + "/visits.csv", "--customers", directory + "/customers.csv", "--mapping", directory + "/m.json",
            "--out", directory + "/data"
        ])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(
            imported.stdout.hasPrefix("importer: visits: read ")
                && imported.stdout.contains("rejected 0, duplicates 0; customers: read "), "\(imported.stdout)")
        let dataset = try Dataset.load(directory: directory + "/data")
        #expect(dataset.visits.filter(\.isOrder).count == 10, "the 成交 visits are the orders")
        #expect(dataset.visits.first?.date == Day(iso: "2021-03-01"))
        // An XML export: the record element and its children are the columns; the default
        // layout needs no column entries, and the draft imports the file as it is.
        let xml = try Self.run([
            "inspect", Self.root + "/Fixtures/erp/visits.xml", "--customers", Self.root + "/Fixtures/erp/customers.xml",
            "--write-mapping", directory + "/x.json"
        ])
        #expect(xml.status == 0, "\(xml.stderr)")
        #expect(
            xml.stdout.contains("record element <Visit>") && xml.stdout.contains("@id → visit_id")
                && xml.stdout.contains("CustomerId → customer_id"), "\(xml.stdout)")
        let fromXML = try Self.run([
            Self.root + "/Fixtures/erp/visits.xml", "--customers", Self.root + "/Fixtures/erp/customers.xml",
            "--mapping", directory + "/x.json", "--out", directory + "/xml"
        ])
        #expect(fromXML.status == 0 && fromXML.stdout.contains("rejected 0"), "\(fromXML.stdout) \(fromXML.stderr)")

        // The bundled sample's free-text notes column: the draft reads it as notes (visits.text),
        // and the import declares it as text in the manifest.
        let sample = try Self.run([
            "inspect", Self.root + "/Fixtures/sample/visits.csv", "--write-mapping", directory + "/s.json"
        ])
        #expect(sample.status == 0, "\(sample.stderr)")
        let draft = try String(contentsOfFile: directory + "/s.json", encoding: .utf8)
        #expect(
            draft.contains("\"text\"") && draft.contains("\"column\":\"notes\"")
                || draft.contains("\"column\" : \"notes\""), "\(draft)")
        let withNotes = try Self.run([
            Self.root + "/Fixtures/sample/visits.csv", "--mapping", directory + "/s.json", "--out", directory + "/notes"
        ])
        #expect(withNotes.status == 0, "\(withNotes.stderr)")
        let manifest = try Dataset.readManifest(directory: directory + "/notes")
        #expect(manifest.visitColumns.text == ["notes"] && manifest.visitColumns.categorical == ["notes"])
    }
}
