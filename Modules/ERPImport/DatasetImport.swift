import Dataset
import ExternalSort
import Formats
import Foundation

/// What to import and where: the library form of the `importer` command line.
public struct ImportOptions: Sendable {
    /// The visit (or transaction) export; `-` reads standard input.
    public var visitsPath: String
    /// The customer export, if any.
    public var customersPath: String?
    /// `nil`: chosen from each file's extension (`.xml` → XML, anything else → CSV).
    public var format: InputFormat?
    public var mapping: Mapping
    /// The mapping file, recorded with its digest among the manifest's inputs.
    public var mappingPath: String?
    /// The dataset directory to write.
    public var outputDirectory: String
    /// Merge into an existing dataset instead of replacing it.
    public var append: Bool
    /// Refuse (write nothing) when more than this share of rows is rejected.
    public var maxRejectRate: Double?
    /// The cap applies only from this many rejected rows on: the importer's default cap uses
    /// 10, so that one bad row in a small file still imports the rest (rows are refused one
    /// by one, as promised); an explicit `--max-reject-rate` uses 0.
    public var minimumRejectsForRate: Int = 0
    /// The time recorded in the manifest's history line (passed in: no clock inside).
    public var timestamp: String
    /// When another import holds the dataset's lock: wait for it (true) or fail at once.
    public var waitForLock: Bool = true
    /// Bytes the import's sort buffers may hold together (`--memory`): rows beyond it are
    /// sorted in runs spilled to a temporary directory beside the output and merged.
    public var memoryBudget: Int = ImportOptions.defaultMemoryBudget
    public static let defaultMemoryBudget = 1 << 30
    /// The smallest budget accepted: a record may be 16 MiB (twice, with its raw text).
    public static let minimumMemoryBudget = 64 << 20

    public init(
        visitsPath: String, customersPath: String? = nil, format: InputFormat? = nil, mapping: Mapping = Mapping(),
        mappingPath: String? = nil, outputDirectory: String, append: Bool = false, maxRejectRate: Double? = nil,
        timestamp: String
    ) {
        self.visitsPath = visitsPath
        self.customersPath = customersPath
        self.format = format
        self.mapping = mapping
        self.mappingPath = mappingPath
        self.outputDirectory = outputDirectory
        self.append = append
        self.maxRejectRate = maxRejectRate
        self.timestamp = timestamp
    }
}

/// The result of one import.
public struct ImportReport: Sendable {
    /// The manifest as written.
    public var manifest: DatasetManifest
    /// This run's counts (the manifest's are cumulative over `--append` runs).
    public var visitCounts: DatasetManifest.Counts
    public var customerCounts: DatasetManifest.Counts
    /// Values replaced with `other` under that policy.
    public var replacedWithOther: Int
    /// True when `--append` found these exact inputs already imported: only history changed.
    public var alreadyImported: Bool
    /// Sorted runs written to disk because the rows did not fit in the memory budget (0: the
    /// sort stayed in memory).
    public var spilledRuns = 0

    /// `visits: read N, accepted N, rejected N, duplicates N; customers: read N, …`, each table
    /// counted apart (a sum of visit and customer rows is neither); the customers' part only
    /// when a customers file was read.
    public var countsText: String { Self.countsText(visits: visitCounts, customers: customerCounts) }

    /// `importer --json`: the summary as one JSON object (each table's counts with the rejects
    /// by reason, the dataset's date range and totals, the time).
    public func summaryJSON(output: String, seconds: Double) -> JSONLine {
        func counts(_ c: DatasetManifest.Counts) -> JSONLine {
            .object([
                ("read", .int(c.read)), ("accepted", .int(c.accepted)), ("rejected", .int(c.rejected)),
                ("duplicates", .int(c.duplicates)),
                (
                    "rejected_by_reason",
                    .object(c.rejectedByReason.keys.sorted().map { ($0, .int(c.rejectedByReason[$0]!)) })
                )
            ])
        }
        return .object([
            ("tool", .string("importer")), ("out", .string(output)), ("visits", counts(visitCounts)),
            ("customers", counts(customerCounts)),
            ("replaced_with_other", .int(replacedWithOther)), ("already_imported", .bool(alreadyImported)),
            ("spilled_runs", .int(spilledRuns)),
            ("first_date", .string(manifest.firstDate?.iso)), ("last_date", .string(manifest.lastDate?.iso)),
            ("customers_in_dataset", .int(manifest.customerCount)), ("reps_in_dataset", .int(manifest.repCount)),
            ("seconds", .number(seconds))
        ])
    }

    static func countsText(visits: DatasetManifest.Counts, customers: DatasetManifest.Counts) -> String {
        func counts(_ c: DatasetManifest.Counts) -> String {
            "read \(c.read), accepted \(c.accepted), rejected \(c.rejected), duplicates \(c.duplicates)"
        }
        return "visits: \(counts(visits))" + (customers.read > 0 ? "; customers: \(counts(customers))" : "")
    }
}

/// Reads ERP exports into a validated dataset directory (BRIEF §4): the importer's engine.
///
/// Memory stays bounded at any input size (Docs/Architecture.md, "The importer"): rows are
/// validated as they stream in and go to ``ExternalSorter``s, never into a whole-table array
/// or dictionary. Three sorts do the work a dictionary did:
/// 1. customers by id, merged with the dataset's customers on `--append`: duplicates and
///    conflicts are neighbours, and the merge writes `customers.csv` in id order;
/// 2. visits by visit id (for transaction logs: by content), merged with the dataset's
///    visits on `--append`: duplicates and conflicts again;
/// 3. the surviving visits by customer, date, id: the merge writes `visits.csv`, checks each
///    visit's customer against `customers.csv` read alongside (when a customers file is
///    given), and counts customers, reps and dates.
/// Rejected rows go to a fourth sorter, by table and line, for `rejects.csv`.
public enum DatasetImport {
    /// Imports, validates and writes the dataset directory atomically.
    /// - Parameter progress: called with a line for stderr every 200,000 rows.
    /// - Throws: ``ImportFailure``: nothing is written when it throws.
    public static func run(_ options: ImportOptions, progress: ((String) -> Void)? = nil) throws -> ImportReport {
        try options.mapping.check(path: options.mappingPath ?? "mapping")

        // One writer at a time: the lock covers the whole read-merge-commit, so two appends
        // into one dataset run one after the other and neither import is lost.
        let lock: FileLock
        do {
            lock = try FileLock.exclusive(for: options.outputDirectory, wait: options.waitForLock) {
                progress?("importer: \($0)")
            }
        } catch let error as FileLockError {
            throw ImportFailure.cannotWrite(path: options.outputDirectory, reason: error.reason)
        }
        defer { withExtendedLifetime(lock) {} }
        for note in AtomicDirectory.recoverLeftovers(of: options.outputDirectory) { progress?("importer: \(note)") }
        try DatasetWriter.checkTarget(options.outputDirectory)

        var existing: DatasetManifest?
        if options.append {
            guard FileManager.default.fileExists(atPath: options.outputDirectory) else {
                throw ImportFailure.badInput(
                    path: options.outputDirectory, line: nil,
                    reason: "cannot append: no dataset here; import without --append to create it")
            }
            existing = try appending(to: options.outputDirectory) {
                try Dataset.readCheckedManifest(directory: options.outputDirectory).manifest
            }
        }
        // The sort runs live beside the output (same file system, and `.NAME.tmp-*` is what
        // the next writer cleans if this one is killed).
        let scratch: String
        do {
            scratch = try AtomicDirectory.makeTemporary(beside: options.outputDirectory)
        } catch let error as AtomicWriteError {
            throw ImportFailure.cannotWrite(path: options.outputDirectory, reason: error.reason)
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let run = ImportRun(options: options, scratch: scratch, existing: existing, progress: progress)
        do {
            return try run.execute()
        } catch let error as ExternalSortError {
            throw ImportFailure.cannotWrite(path: options.outputDirectory, reason: "sorting: \(error)")
        }
    }

    /// `.xml` (any case) → XML; everything else, stdin included, → CSV.
    public static func formatFor(_ path: String) -> InputFormat {
        path.lowercased().hasSuffix(".xml") ? .xml : .csv
    }

    /// Runs `body`, which reads the dataset being appended to, turning its errors into the
    /// importer's `cannot append: …`.
    static func appending<T>(to directory: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatasetError {
            throw ImportFailure.badInput(path: directory, line: nil, reason: "cannot append: \(error)")
        }
    }
}

/// One import, phase by phase (see ``DatasetImport``).
final class ImportRun {
    let options: ImportOptions
    let mapping: Mapping
    let scratch: String
    let existing: DatasetManifest?
    let progress: ((String) -> Void)?
    let dateFormats: [DateFormat]
    let visitDateFormats: [String]

    var customerCounts = DatasetManifest.Counts()
    var visitCounts = DatasetManifest.Counts()
    var causes = RejectSummary()
    var replaced = 0
    var inputs: [DatasetManifest.FileDigest] = []
    let rejectSorter: ExternalSorter
    /// Runs spilled by all of this import's sorts.
    var spilledRuns = 0

    /// Shares of the memory budget: the customer and visit sorts (never more than two at once
    /// hold rows: the one being filled and the one being merged, whose read buffers take at
    /// most a quarter of its share) and the rejects.
    var tableShare: Int { options.memoryBudget * 4 / 10 }

    static let customersRank: UInt8 = 0
    static let visitsRank: UInt8 = 1
    static let fromDataset: UInt8 = 0
    static let fromInput: UInt8 = 1

    init(options: ImportOptions, scratch: String, existing: DatasetManifest?, progress: ((String) -> Void)?) {
        self.options = options
        mapping = options.mapping
        self.scratch = scratch
        self.existing = existing
        self.progress = progress
        let visitDialect = options.mapping.dialect(of: options.mapping.visits)
        dateFormats = visitDialect.dateFormats.compactMap(DateFormat.init)
        visitDateFormats = visitDialect.dateFormats
        rejectSorter = ExternalSorter(directory: scratch, label: "rejects", memoryBudget: options.memoryBudget / 10)
    }

    var visitColumns: DatasetManifest.ExtraColumns {
        DatasetManifest.ExtraColumns(
            categorical: mapping.visitStringExtras.map(\.name), numeric: mapping.visitNumeric.map(\.name),
            text: mapping.visits.text.map(\.name))
    }

    var customerColumns: DatasetManifest.ExtraColumns {
        DatasetManifest.ExtraColumns(
            categorical: mapping.customers.categorical.map(\.name), numeric: mapping.customers.numeric.map(\.name))
    }

    func execute() throws -> ImportReport {
        if let existing {
            guard existing.kind == mapping.kind, existing.visitColumns == visitColumns,
                existing.customerColumns == customerColumns
            else {
                throw ImportFailure.badInput(
                    path: options.outputDirectory, line: nil,
                    reason: "cannot append: the dataset's kind or extra columns differ from this mapping's")
            }
        }
        // Customers first, so that visits can be checked against them.
        let customerSorter = try options.customersPath.map(readCustomers)
        let visitSorter = try readVisits()
        if let path = options.mappingPath, let data = FileManager.default.contents(atPath: path) {
            inputs.append(.init(role: "input", path: path, contents: [UInt8](data)))
        }
        if let existing {
            let previousInputs = Set(existing.files.filter { $0.role == "input" }.map(\.sha256))
            if inputs.allSatisfy({ previousInputs.contains($0.sha256) }) { return try unchanged(existing) }
        }

        var report = ImportReport(
            manifest: DatasetManifest(kind: mapping.kind), visitCounts: DatasetManifest.Counts(),
            customerCounts: DatasetManifest.Counts(),
            replacedWithOther: 0, alreadyImported: false)
        report.manifest = try DatasetWriter.commit(directory: options.outputDirectory) { temporary in
            let customersPath = temporary + "/" + Dataset.customersFile
            let customersDigest = try writeCustomers(customerSorter, to: customersPath)
            let byCustomer = try resolveVisits(visitSorter)
            let (summary, visitsDigest) = try writeVisits(
                byCustomer, to: temporary + "/" + Dataset.visitsFile, customersPath: customersPath)
            try checkRejectRate()
            let rejectsDigest = try writeRejects(to: temporary + "/" + Dataset.rejectsFile)

            var visitTotals = visitCounts
            var customerTotals = customerCounts
            var allInputs = inputs
            var history: [String] = []
            if let old = existing {
                visitTotals = Self.add(old.visitCounts, visitTotals)
                customerTotals = Self.add(old.customerCounts, customerTotals)
                let oldInputs = old.files.filter { $0.role == "input" }
                allInputs = oldInputs + inputs.filter { new in !oldInputs.contains(new) }
                history = old.history
            }
            var manifest = DatasetManifest(
                kind: mapping.kind, visitColumns: visitColumns, customerColumns: customerColumns,
                visitCounts: visitTotals,
                customerCounts: customerTotals, firstDate: summary.firstDate, lastDate: summary.lastDate,
                customerCount: summary.customerCount, repCount: summary.repCount,
                files: allInputs + [visitsDigest, customersDigest, rejectsDigest], mapping: mapping.canonicalJSON(),
                history: history)
            let verb = existing == nil ? "import" : "append"
            let others = replaced > 0 ? ", \(replaced) values replaced with other" : ""
            let counts = ImportReport.countsText(visits: visitCounts, customers: customerCounts)
            manifest.history.append("\(options.timestamp) \(verb) \(inputNames): \(counts)\(others)")
            return manifest
        }
        report.visitCounts = visitCounts
        report.customerCounts = customerCounts
        report.replacedWithOther = replaced
        report.spilledRuns = spilledRuns
        return report
    }

    /// The same export again: nothing to merge. Only the history records the run; the data
    /// files are copied as they are (and checked against the manifest on the way).
    private func unchanged(_ old: DatasetManifest) throws -> ImportReport {
        var manifest = old
        manifest.history.append("\(options.timestamp) append \(inputNames): inputs already imported, nothing changed")
        manifest.files.removeAll { $0.role == "output" }
        let written = try DatasetWriter.commit(directory: options.outputDirectory) { temporary in
            for name in [Dataset.visitsFile, Dataset.customersFile, Dataset.rejectsFile] {
                let writer = try BufferedFileWriter(path: temporary + "/" + name)
                try appending {
                    try Dataset.copyVerified(directory: options.outputDirectory, name: name, manifest: old) {
                        try writer.write($0)
                    }
                }
                manifest.files.append(try writer.finishedDigest(name: name))
            }
            return manifest
        }
        return ImportReport(
            manifest: written, visitCounts: visitCounts, customerCounts: customerCounts, replacedWithOther: replaced,
            alreadyImported: true)
    }

    func appending<T>(_ body: () throws -> T) throws -> T {
        try DatasetImport.appending(to: options.outputDirectory, body)
    }

    var inputNames: String {
        ([options.visitsPath] + (options.customersPath.map { [$0] } ?? [])).joined(separator: " + ")
    }

    // MARK: Rejects

    /// Counts a refused row and keeps it for `rejects.csv`.
    func reject(
        visits: Bool, line: Int, reason: RejectReason, detail: String, raw: String, cause: RejectCause? = nil
    ) throws {
        let source: String
        if visits {
            visitCounts.rejected += 1
            visitCounts.rejectedByReason[reason.rawValue, default: 0] += 1
            source = options.visitsPath
        } else {
            customerCounts.rejected += 1
            customerCounts.rejectedByReason[reason.rawValue, default: 0] += 1
            source = options.customersPath ?? ""
        }
        causes.add(cause ?? RejectCause(reason: reason), table: visits ? "visits" : "customers", line: line)
        var key = SortKey()
        key.append(visits ? Self.visitsRank : Self.customersRank)
        key.append(bigEndian: UInt64(line))
        var record: [UInt8] = []
        DelimitedText.appendRecord([source, String(line), reason.rawValue, detail, raw], to: &record)
        try rejectSorter.append(key: key.bytes, payload: record)
    }

    /// Fails the import (nothing is committed) when more rows were rejected than the cap allows.
    func checkRejectRate() throws {
        let totalRead = visitCounts.read + customerCounts.read
        let totalRejected = visitCounts.rejected + customerCounts.rejected
        guard let limit = options.maxRejectRate, totalRead > 0, totalRejected >= max(options.minimumRejectsForRate, 1),
            Double(totalRejected) / Double(totalRead) > limit
        else { return }
        let reasons = (visitCounts.rejectedByReason.merging(customerCounts.rejectedByReason, uniquingKeysWith: +))
            .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        throw ImportFailure.rejectRateExceeded(
            rate: Double(totalRejected) / Double(totalRead), limit: limit,
            summary: "\(totalRejected) of \(totalRead) rows: \(reasons)",
            causes: causes.topCauses(dateFormats: visitDateFormats))
    }

    /// `rejects.csv`: the dataset's earlier rejects as they were, then this run's by table
    /// (customers first) and line.
    private func writeRejects(to path: String) throws -> DatasetManifest.FileDigest {
        let writer = try BufferedFileWriter(path: path)
        var header: [UInt8] = []
        DelimitedText.appendRecord(Dataset.rejectHeader, to: &header)
        try writer.write(header)
        if let existing {
            let reader = try appending {
                try DatasetFileReader(
                    directory: options.outputDirectory, name: Dataset.rejectsFile, manifest: existing,
                    header: Dataset.rejectHeader)
            }
            var record: [UInt8] = []
            while let row = try appending({ try reader.next() }) {
                record.removeAll(keepingCapacity: true)
                DelimitedText.appendRecord(row.fields, to: &record)
                try writer.write(record)
            }
        }
        let sorted = try rejectSorter.sorted()
        spilledRuns += rejectSorter.spilledRuns
        while let record = try sorted.next() { try writer.write(record.payload) }
        return try writer.finishedDigest(name: Dataset.rejectsFile)
    }

    static func add(_ a: DatasetManifest.Counts, _ b: DatasetManifest.Counts) -> DatasetManifest.Counts {
        DatasetManifest.Counts(
            read: a.read + b.read, accepted: a.accepted + b.accepted, rejected: a.rejected + b.rejected,
            duplicates: a.duplicates + b.duplicates,
            rejectedByReason: a.rejectedByReason.merging(b.rejectedByReason, uniquingKeysWith: +))
    }
}
