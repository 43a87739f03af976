import Dataset
import Evaluation
import Foundation
import Formats
import Metrics

/// The nightly job's memory of how its lists did: one row per audited list date and model, the
/// audit's list precision beside the reps' rate and a random list of the same candidates, kept
/// across nights in one CSV that `evaluator audit --history` appends to and `evaluator trend`
/// draws.
///
/// ```
/// format_version,as_of,model,candidates,listed,listed_ordered,list_precision,reps_rate,random_rate
/// 1,2020-01-06,cnn_lstm_bgnbd · trained 2020-01-05,812,60,9,0.15,0.0684,0.0911
/// ```
///
/// Rates are empty when undefined (no listed row, no reps' visit that week). An audit of a date
/// already in the history replaces its row (re-running a night is idempotent); rows are kept in
/// (as_of, model) order, so the file's bytes depend only on its content. Writes are atomic
/// under an exclusive lock beside the file (two nights overlapping cannot lose each other's row).
public struct AuditHistory: Sendable, Equatable {
    public static let formatVersion = 1
    public static let header = [
        "format_version", "as_of", "model", "candidates", "listed", "listed_ordered", "list_precision", "reps_rate",
        "random_rate"
    ]

    /// One audited list.
    public struct Entry: Sendable, Hashable {
        /// The list's as-of date (the night it was published for).
        public var asOf: Day
        /// The readable model name of the audit (`name · trained DATE`).
        public var model: String
        /// Evaluated candidates (rows with a closed label window).
        public var candidates: Int
        /// Listed rows (each rep's top K) and, of them, those whose customer ordered.
        public var listed: Int
        public var listedOrdered: Int
        public var listPrecision: Double?
        /// The reps' own success rate in the list's week, and the expected precision of a random
        /// list of the same candidates.
        public var repsRate: Double?
        public var randomRate: Double?

        public init(
            asOf: Day, model: String, candidates: Int, listed: Int, listedOrdered: Int, listPrecision: Double?,
            repsRate: Double?,
            randomRate: Double?
        ) {
            self.asOf = asOf
            self.model = model
            self.candidates = candidates
            self.listed = listed
            self.listedOrdered = listedOrdered
            self.listPrecision = listPrecision
            self.repsRate = repsRate
            self.randomRate = randomRate
        }
    }

    public private(set) var entries: [Entry]

    public init(entries: [Entry] = []) { self.entries = Self.ordered(entries) }

    static func ordered(_ entries: [Entry]) -> [Entry] {
        entries.sorted { ($0.asOf, $0.model) < ($1.asOf, $1.model) }
    }

    /// The entries of an audit report: each model's weeks (the ceiling is not a list anyone
    /// published, so it stays out).
    public static func entries(of report: EvaluationReport) -> [Entry] {
        report.models.flatMap { model in
            model.weeks.map { week in
                Entry(
                    asOf: week.asOf, model: model.model, candidates: week.metrics.rows, listed: week.metrics.listed,
                    listedOrdered: week.metrics.listedOrdered, listPrecision: week.metrics.listPrecision.value,
                    repsRate: week.reps == nil ? nil : week.repsRate.value, randomRate: week.randomRate.value)
            }
        }
    }

    /// Adds `new`, replacing any entry of the same as-of date and model.
    public mutating func merge(_ new: [Entry]) {
        let replaced = Set(new.map { "\($0.asOf.iso)\u{0}\($0.model)" })
        entries = Self.ordered(entries.filter { !replaced.contains("\($0.asOf.iso)\u{0}\($0.model)") } + new)
    }

    /// The as-of dates in the history.
    public var dates: [Day] { Array(Set(entries.map(\.asOf))).sorted() }

    // MARK: The file

    public func encoded() -> [UInt8] {
        var output: [UInt8] = []
        DelimitedText.appendRecord(Self.header, to: &output)
        // Swift's shortest round-trip spelling: a decoded history equals the one written.
        func rate(_ value: Double?) -> String { value.map { String($0) } ?? "" }
        for entry in entries {
            DelimitedText.appendRecord(
                [
                    String(Self.formatVersion), entry.asOf.iso, entry.model, String(entry.candidates),
                    String(entry.listed),
                    String(entry.listedOrdered), rate(entry.listPrecision), rate(entry.repsRate), rate(entry.randomRate)
                ], to: &output)
        }
        return output
    }

    /// Parses a history file; `path` names it in errors (file:line: reason).
    public static func decode(_ bytes: [UInt8], path: String) throws -> AuditHistory {
        let records = try DelimitedText.parse(bytes, path: path)
        guard let first = records.first else { return AuditHistory() }
        guard first.fields == header else {
            throw EvaluationError.malformed(
                path: path, line: first.line,
                reason:
                    "not an audit history: the header must be \(header.joined(separator: ",")) (written by evaluator audit --history)"
            )
        }
        var entries: [Entry] = []
        for (line, fields) in records.dropFirst() {
            func fail(_ reason: String) -> EvaluationError { .malformed(path: path, line: line, reason: reason) }
            guard fields.count == header.count else {
                throw fail("\(fields.count) fields, the header has \(header.count)")
            }
            guard fields[0] == String(formatVersion) else {
                throw EvaluationError.unsupportedVersion(
                    path: path, line: line, found: fields[0], expected: [formatVersion])
            }
            guard let day = Day(iso: fields[1]) else {
                throw fail("as_of '\(Snippet.bounded(fields[1]))' is not a YYYY-MM-DD date")
            }
            guard !fields[2].isEmpty else { throw fail("model is empty") }
            func count(_ index: Int) throws -> Int {
                guard let value = Int(fields[index]), value >= 0 else {
                    throw fail("\(header[index]) '\(Snippet.bounded(fields[index]))' is not a count ≥ 0")
                }
                return value
            }
            func rate(_ index: Int) throws -> Double? {
                if fields[index].isEmpty { return nil }
                guard let value = Double(fields[index]), value.isFinite, (0...1).contains(value) else {
                    throw fail("\(header[index]) '\(Snippet.bounded(fields[index]))' is not a rate in 0…1 (or empty)")
                }
                return value
            }
            let entry = Entry(
                asOf: day, model: fields[2], candidates: try count(3), listed: try count(4),
                listedOrdered: try count(5),
                listPrecision: try rate(6), repsRate: try rate(7), randomRate: try rate(8))
            guard entry.listedOrdered <= entry.listed, entry.listed <= entry.candidates else {
                throw fail(
                    "listed_ordered ≤ listed ≤ candidates does not hold (\(entry.listedOrdered), \(entry.listed), \(entry.candidates))"
                )
            }
            entries.append(entry)
        }
        return AuditHistory(entries: entries)
    }

    /// Reads `path`; a missing file is an empty history (the first night).
    public static func read(path: String) throws -> AuditHistory {
        guard FileManager.default.fileExists(atPath: path) else { return AuditHistory() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError.missingFile(path: path)
        }
        return try decode([UInt8](data), path: path)
    }

    /// Adds `new` to the history at `path` under its lock, atomically: read, merge, replace.
    /// Returns the history as written.
    @discardableResult
    public static func append(_ new: [Entry], to path: String, waiting: (String) -> Void = { _ in }) throws
        -> AuditHistory
    {
        let lock = try FileLock.exclusive(for: path, wait: true, waiting: waiting)
        return try withExtendedLifetime(lock) {
            var history = try read(path: path)
            history.merge(new)
            try AtomicFile.write(Data(history.encoded()), to: path)
            return history
        }
    }
}
