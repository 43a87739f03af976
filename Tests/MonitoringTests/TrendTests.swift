import Dataset
import Foundation
import Monitoring
import Testing
import TestSupport

@Suite("Nightly trend: the audit history and its warnings")
struct TrendTests {
    struct Reference: Decodable {
        struct Case: Decodable { let k: Int; let n: Int; let p: Double; let cdf: Double }
        let cases: [Case]
    }

    @Test("The binomial lower tail equals scipy.stats.binom.cdf (Fixtures/monitoring)")
    func binomialTailAgreesWithScipy() {
        let reference = fixtureJSON("monitoring/binomial_reference.json", as: Reference.self)
        #expect(reference.cases.count >= 15)
        for c in reference.cases {
            let value = Trend.binomialLowerTail(c.k, c.n, c.p)
            #expect(
                abs(value - c.cdf) <= 1e-9 + 1e-7 * c.cdf, "k \(c.k), n \(c.n), p \(c.p): \(value) against \(c.cdf)")
        }
        #expect(Trend.binomialLowerTail(5, 5, 0.3) == 1)
        #expect(Trend.binomialLowerTail(0, 10, 0) == 1)
        #expect(Trend.binomialLowerTail(3, 10, 1) == 0)
    }

    static let start = Day(iso: "2020-01-06")!

    /// Nights of 60 listed customers each, `ordered[i]` of them ordering; reps at 8%, random at 10%.
    static func history(_ ordered: [Int], listed: Int = 60, reps: Double? = 0.08, random: Double? = 0.10)
        -> AuditHistory
    {
        AuditHistory(
            entries: ordered.enumerated().map { index, k in
                AuditHistory.Entry(
                    asOf: start.advanced(by: index),
                    model: "cnn_lstm_bgnbd · trained \(start.advanced(by: index - 1).iso)",
                    candidates: 600, listed: listed, listedOrdered: k, listPrecision: Double(k) / Double(listed),
                    repsRate: reps,
                    randomRate: random)
            })
    }

    @Test(
        "Steady nights warn of nothing; a sharp drop does, a small dip does not; the first nights have no past to drop from"
    )
    func dropWarnings() {
        let steady = [9, 10, 8, 11, 9, 10, 9, 8, 10, 9]
        #expect(Trend(Self.history(steady)).warnings.isEmpty)
        let dip = Trend(Self.history(steady + [7]))
        #expect(dip.warnings.isEmpty, "7 of 60 against ~15% is chance: \(dip.warnings)")
        let drop = Trend(Self.history(steady + [1]))
        #expect(drop.latestWarnings.map(\.kind) == [.drop], "\(drop.warnings)")
        #expect(drop.latestWarnings.first?.message.contains("1 of 60") == true)
        #expect(drop.latestWarnings.first?.message.contains("over the 10 nights before") == true)
        // Night 3 at 0 of 60: only two nights before it, below minimumNights.
        #expect(Trend(Self.history([10, 10, 0])).warnings.filter { $0.kind == .drop }.isEmpty)
    }

    @Test("A night clearly below the reps' rate warns; a stretch no better than a random list warns")
    func repsAndRandomWarnings() {
        let belowReps = Trend(Self.history([2], listed: 200, reps: 0.08, random: 0.01))
        #expect(belowReps.latestWarnings.map(\.kind) == [.belowReps], "\(belowReps.warnings)")
        let flat = Trend(Self.history([6, 6, 5, 7, 6, 6], reps: 0.05, random: 0.10))
        #expect(flat.latestWarnings.map(\.kind) == [.noBetterThanRandom], "\(flat.warnings)")
        #expect(flat.latestWarnings.first?.message.contains("Retrain from scratch") == true)
    }

    @Test("Nights pool their models; the chart circles warned nights; the markdown opens with the latest verdict")
    func nightsChartAndMarkdown() {
        var history = Self.history([9, 10, 8, 11, 9, 10, 1])
        history.merge([
            AuditHistory.Entry(
                asOf: Self.start, model: "xgboost_timing", candidates: 600, listed: 60, listedOrdered: 11,
                listPrecision: 11.0 / 60,
                repsRate: 0.08, randomRate: 0.10)
        ])
        let trend = Trend(history)
        #expect(trend.nights.count == 7)
        #expect(
            trend.nights[0].listed == 120 && trend.nights[0].listedOrdered == 20 && trend.nights[0].models.count == 2)
        let chart = trend.chart()
        #expect(chart.series.map(\.name) == ["list precision", "reps", "random list", "warning"])
        #expect(chart.series[3].points.compactMap(\.y) == [1.0 / 60])
        let svg = chart.render()
        #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
        let markdown = trend.markdown(historyPath: "state/history.csv")
        #expect(markdown.contains("Latest audited list (2020-01-12): **1 warning**"))
        #expect(markdown.contains("![trend](trend.svg)"))
        #expect(Trend(AuditHistory()).markdown(historyPath: "h.csv").contains("No audited list yet"))
    }
}

@Suite("Audit history file")
struct AuditHistoryTests {
    static func temporary(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "revisit-monitoring-\(UUID().uuidString)"
        ).path
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (directory as NSString).appendingPathComponent(name)
    }

    @Test(
        "Encodes and decodes to the same entries in (as_of, model) order; an audit of a date already there replaces it")
    func roundTripAndMerge() throws {
        let history = TrendTests.history([9, 10, 8], reps: nil)
        let bytes = history.encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(AuditHistory.header.joined(separator: ",") + "\n"))
        #expect(text.contains(",0.15,,0.1\n"), "undefined reps' rate is empty: \(text)")
        #expect(try AuditHistory.decode(bytes, path: "h.csv") == history)
        var merged = history
        let again = AuditHistory.Entry(
            asOf: TrendTests.start.advanced(by: 1), model: history.entries[1].model, candidates: 600, listed: 60,
            listedOrdered: 12,
            listPrecision: 0.2, repsRate: 0.08, randomRate: 0.1)
        merged.merge([again])
        #expect(merged.entries.count == 3 && merged.entries[1] == again)
        #expect(merged.dates == history.dates)
    }

    @Test("append creates the file on the first night, adds and replaces under its lock; bytes depend only on content")
    func appendToFile() throws {
        let path = Self.temporary("history.csv")
        let entries = TrendTests.history([9, 10, 8]).entries
        try AuditHistory.append([entries[2]], to: path)
        try AuditHistory.append([entries[0], entries[1]], to: path)
        let read = try AuditHistory.read(path: path)
        #expect(read.entries == entries)
        let other = Self.temporary("history.csv")
        try AuditHistory.append(entries, to: other)
        #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: other))
        #expect(try AuditHistory.read(path: Self.temporary("absent.csv")).entries.isEmpty)
    }

    @Test("A bad history is refused with file:line and the reason")
    func refusals() throws {
        let header = AuditHistory.header.joined(separator: ",")
        func error(_ text: String) -> String {
            do {
                _ = try AuditHistory.decode(Array(text.utf8), path: "h.csv")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(error("as_of,precision\n").contains("h.csv:1: not an audit history"))
        #expect(error(header + "\n2,2020-01-06,m,10,5,1,0.2,,\n").contains("h.csv:2"))
        #expect(error(header + "\n1,2020-13-06,m,10,5,1,0.2,,\n").contains("h.csv:2: as_of"))
        #expect(error(header + "\n1,2020-01-06,m,10,5,6,0.2,,\n").contains("listed_ordered ≤ listed ≤ candidates"))
        #expect(error(header + "\n1,2020-01-06,m,10,5,1,1.5,,\n").contains("list_precision '1.5' is not a rate"))
        #expect(error(header + "\n1,2020-01-06,m,10,5\n").contains("5 fields"))
    }
}
