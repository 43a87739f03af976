import Dataset
import ERPImport
import Foundation
import Testing

/// XML: the default layout, record-level rejects, and the refusals that keep XML from being a
/// way into the machine (BRIEF §5).
@Suite("XML import")
struct XMLImportTests {
    /// Imports `name`, expecting a file error whose message contains one of `fragments`; returns the seconds it took.
    func refuse(_ name: String, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) -> Double {
        let out = Fixture.scratch("xml")
        let started = Date()
        do {
            _ = try DatasetImport.run(
                ImportOptions(visitsPath: Fixture.malformed(name), outputDirectory: out, timestamp: "t"))
            Issue.record("\(name) was accepted", sourceLocation: sourceLocation)
        } catch let failure as ImportFailure {
            #expect(
                fragments.contains { failure.description.contains($0) }, "\(failure)", sourceLocation: sourceLocation)
            #expect(
                !failure.description.contains("root:"), "nothing of /etc/passwd may appear",
                sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
        #expect(!FileManager.default.fileExists(atPath: out), sourceLocation: sourceLocation)
        return Date().timeIntervalSince(started)
    }

    @Test func externalEntitiesAreRefused() {
        _ = refuse("xxe.xml", "DOCTYPE declares entities")
    }

    @Test func billionLaughsIsRefusedInWellUnderASecond() {
        // libxml2's own amplification check may stop it before the reader reaches the DOCTYPE node.
        let seconds = refuse(
            "billion_laughs.xml", "DOCTYPE declares entities", "entity reference loop", "amplification")
        #expect(seconds < 1.0, "took \(seconds) s")
    }

    @Test func externalDTDAndEntityReferencesAreRefused() {
        _ = refuse("external_dtd.xml", "external DTD")
        _ = refuse("undeclared_entity.xml", "rep")
    }

    @Test func syntaxErrorsAndTruncationAreFileErrorsWithALine() {
        _ = refuse("syntax_error.xml", "syntax_error.xml:4: XML error")
        _ = refuse("truncated.xml", "XML error")
    }

    @Test func aPlainDoctypeIsAccepted() throws {
        let result = try Fixture.importDataset(visits: Fixture.malformed("plain_doctype.xml"))
        #expect(result.dataset.visits.map(\.visitID) == ["V1", "V2"])
    }

    @Test func recordLevelProblemsAreRejectsWithTheElementLine() throws {
        let result = try Fixture.importDataset(visits: Fixture.malformed("record_problems.xml"))
        #expect(result.dataset.visits.map(\.visitID) == ["V1", "V5"])
        #expect(result.rejects.map(\.line) == [4, 5, 6])
        #expect(result.rejects.map(\.reason) == ["missing_field", "unparseable_date", "repeated_element"])
        #expect(result.rejects[0].detail == "rep_id (RepId) is absent")
        #expect(result.rejects[1].raw.hasPrefix("<Visit id=\"V3\"><CustomerId>C001</CustomerId>"))
        #expect(result.dataset.manifest.visitCounts.reconciles)
    }
}
