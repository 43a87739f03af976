import Dataset
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

    /// `read N, accepted N, rejected N, duplicates N` over both tables.
    public var countsText: String {
        let read = visitCounts.read + customerCounts.read
        let accepted = visitCounts.accepted + customerCounts.accepted
        let rejected = visitCounts.rejected + customerCounts.rejected
        let duplicates = visitCounts.duplicates + customerCounts.duplicates
        return "read \(read), accepted \(accepted), rejected \(rejected), duplicates \(duplicates)"
    }
}

/// Reads ERP exports into a validated dataset directory (BRIEF §4): the importer's engine.
public enum DatasetImport {
    /// Imports, validates and writes the dataset directory atomically.
    /// - Parameter progress: called with a line for stderr every 200,000 rows.
    /// - Throws: ``ImportFailure``: nothing is written when it throws.
    public static func run(_ options: ImportOptions, progress: ((String) -> Void)? = nil) throws -> ImportReport {
        let mapping = options.mapping
        try mapping.check(path: options.mappingPath ?? "mapping")
        let visitDialect = mapping.dialect(of: mapping.visits)
        let dateFormats = visitDialect.dateFormats.compactMap(DateFormat.init)
        var rejects: [Reject] = []
        var inputs: [DatasetManifest.FileDigest] = []

        // One writer at a time: the lock covers the whole read-merge-commit, so two appends
        // into one dataset run one after the other and neither import is lost.
        let lock: FileLock
        do {
            lock = try FileLock.exclusive(for: options.outputDirectory, wait: options.waitForLock) { progress?("importer: \($0)") }
        } catch let error as FileLockError {
            throw ImportFailure.cannotWrite(path: options.outputDirectory, reason: error.reason)
        }
        defer { withExtendedLifetime(lock) {} }
        for note in AtomicDirectory.recoverLeftovers(of: options.outputDirectory) { progress?("importer: \(note)") }

        var existing: Dataset?
        var existingRejects: [Reject] = []
        if options.append {
            guard FileManager.default.fileExists(atPath: options.outputDirectory) else {
                throw ImportFailure.badInput(
                    path: options.outputDirectory, line: nil,
                    reason: "cannot append: no dataset here; import without --append to create it")
            }
            do {
                let loaded = try Dataset.load(directory: options.outputDirectory, writerHoldsLock: true)
                existing = loaded
                existingRejects = try Dataset.loadRejects(directory: options.outputDirectory, manifest: loaded.manifest)
            } catch let error as DatasetError {
                throw ImportFailure.badInput(path: options.outputDirectory, line: nil, reason: "cannot append: \(error)")
            }
        }

        // Customers first, so that visits can be checked against them.
        var customerCounts = DatasetManifest.Counts()
        var customers: [String: Customer] = [:]
        var causes = RejectSummary()
        var replaced = 0
        if let path = options.customersPath {
            let format = options.format ?? formatFor(path)
            let fields = Mapping.customerFields + mapping.customers.categorical.map(\.name) + mapping.customers.numeric.map(\.name)
            let sources = Mapping.customerFields.map { mapping.customerSource($0, format: format) }
                + mapping.customers.categorical.map(\.column) + mapping.customers.numeric.map(\.column)
            let required = Mapping.customerFields.map { _ in true } + (mapping.customers.categorical + mapping.customers.numeric).map(\.required)
            let validator = RowValidator(
                fields: fields, required: required, sources: sources, categoricalFields: ["customer_type", "industry", "tag"],
                extraCategorical: mapping.customers.categorical, numericCount: mapping.customers.numeric.count,
                table: mapping.customers, dateFormats: dateFormats)
            let table = try TableSource(
                path: path, format: format, mapping: mapping.dialect(of: mapping.customers), recordElement: mapping.customers.record ?? "Customer", sources: sources)
            var firstLine: [String: Int] = [:]
            var customerRaw: [String: String] = [:]
            var conflictingCustomers: [String: String] = [:]
            let firstReject = rejects.count
            while let row = try table.next() {
                customerCounts.read += 1
                func reject(_ reason: RejectReason, _ detail: String, cause: RejectCause? = nil) {
                    customerCounts.rejected += 1
                    customerCounts.rejectedByReason[reason.rawValue, default: 0] += 1
                    rejects.append(Reject(source: path, line: row.line, reason: reason.rawValue, detail: detail, raw: row.raw))
                    causes.add(cause ?? RejectCause(reason: reason), table: "customers", line: row.line)
                }
                switch validator.validate(row) {
                case .rejected(let reason, let detail, let cause):
                    reject(reason, detail, cause: cause)
                case .accepted(let values, let others):
                    replaced += others
                    let customer = Customer(
                        customerID: values[0], customerType: values[1], industry: values[2], tag: values[3],
                        categorical: Array(values[4..<4 + mapping.customers.categorical.count]),
                        numeric: values[(4 + mapping.customers.categorical.count)...].map { $0.isEmpty ? nil : Double($0) })
                    let id = customer.customerID
                    if let lines = conflictingCustomers[id] {
                        reject(.conflictingDuplicate, "customer_id \(id) is on lines \(lines) with different content; none of them is kept")
                    } else if let earlier = customers[id] {
                        if earlier == customer {
                            customerCounts.duplicates += 1
                        } else {
                            // Neither version is kept: nothing says the first one is right.
                            let earlierLine = firstLine[id]!
                            customers.removeValue(forKey: id)
                            refuseAccepted(
                                Reject(source: path, line: earlierLine, reason: RejectReason.conflictingDuplicate.rawValue,
                                       detail: "customer_id \(id) also on line \(row.line) with different content", raw: customerRaw[id] ?? ""),
                                table: "customers", counts: &customerCounts, rejects: &rejects, causes: &causes)
                            conflictingCustomers[id] = "\(earlierLine) and \(row.line)"
                            reject(.conflictingDuplicate, "customer_id \(id) also on line \(earlierLine) with different content")
                        }
                    } else {
                        customers[id] = customer
                        firstLine[id] = row.line
                        customerRaw[id] = row.raw
                        customerCounts.accepted += 1
                    }
                }
            }
            rejects[firstReject...].sort { $0.line < $1.line }
            inputs.append(.init(role: "input", path: path, bytes: table.bytesRead, sha256: table.digest))
        }

        // Visits.
        let format = options.format ?? formatFor(options.visitsPath)
        let standard = mapping.visitTableFields
        let numeric = mapping.visitNumeric
        let fields = standard + mapping.visits.categorical.map(\.name) + numeric.map(\.name)
        let sources = standard.map { mapping.visitSource($0, format: format) } + mapping.visits.categorical.map(\.column) + numeric.map(\.column)
        let required = standard.map { _ in true } + (mapping.visits.categorical + numeric).map(\.required)
        let validator = RowValidator(
            fields: fields, required: required, sources: sources,
            categoricalFields: mapping.kind == .visits ? ["method", "target", "purpose", "result"] : [],
            extraCategorical: mapping.visits.categorical, numericCount: numeric.count, table: mapping.visits, dateFormats: dateFormats)
        let table = try TableSource(
            path: options.visitsPath, format: format, mapping: visitDialect, recordElement: mapping.visits.record ?? "Visit", sources: sources)
        // Visits are checked against a customers file only when one is given in this run: an
        // `--append` of visits alone may bring customers the master has not listed yet (as an
        // import without a customers file does).
        let knownCustomers: Set<String>? = options.customersPath != nil
            ? Set(customers.keys).union(existing?.customers.map(\.customerID) ?? []) : nil
        var visitCounts = DatasetManifest.Counts()
        var visits: [Visit] = []
        // The raw text of every accepted row, until the table ends: a later row with the same
        // id and other content refuses both, and the first one's reject keeps its raw text.
        var firstRaw = RawTextStore()
        var conflictingVisits: [Int: String] = [:]
        let firstVisitReject = rejects.count
        var visitLine: [Int] = []
        var indexOf: [String: Int] = [:]
        var occurrences: [String: Int] = [:]
        let categoricalCount = mapping.visits.categorical.count
        let extrasStart = standard.count
        while let row = try table.next() {
            visitCounts.read += 1
            if visitCounts.read % 200_000 == 0 {
                progress?("importer: \(options.visitsPath): \(visitCounts.read) rows, \(table.bytesRead >> 20) MiB read")
            }
            func reject(_ reason: RejectReason, _ detail: String, cause: RejectCause? = nil) {
                visitCounts.rejected += 1
                visitCounts.rejectedByReason[reason.rawValue, default: 0] += 1
                rejects.append(Reject(source: options.visitsPath, line: row.line, reason: reason.rawValue, detail: detail, raw: row.raw))
                causes.add(cause ?? RejectCause(reason: reason), table: "visits", line: row.line)
            }
            switch validator.validate(row) {
            case .rejected(let reason, let detail, let cause):
                reject(reason, detail, cause: cause)
            case .accepted(let values, let others):
                replaced += others
                let categorical = Array(values[extrasStart..<extrasStart + categoricalCount])
                let numbers = values[(extrasStart + categoricalCount)...].map { $0.isEmpty ? nil : Double($0) }
                var visit: Visit
                if mapping.kind == .visits {
                    visit = Visit(
                        visitID: values[0], customerID: values[1], repID: values[2], date: Day(iso: values[3])!, method: values[4],
                        target: values[5], purpose: values[6], result: values[7], isOrder: mapping.orders.contains(values[7]),
                        categorical: categorical, numeric: numbers)
                } else {
                    // Transaction logs have no id: derive one from the content and its
                    // occurrence number, so that re-importing the same log gives the same ids
                    // (identical → duplicate) while two equal orders in one log stay two rows.
                    let content = ([values[0], values[1]] + categorical + numbers.map { $0.map { "\($0)" } ?? "" }).joined(separator: "\u{1F}")
                    let occurrence = occurrences[content, default: 0] + 1
                    occurrences[content] = occurrence
                    let id = "T" + SHA256.hex(Array(content.utf8)).prefix(16) + "-\(occurrence)"
                    visit = Visit(
                        visitID: id, customerID: values[0], repID: "", date: Day(iso: values[1])!, method: "", target: "", purpose: "",
                        result: "order", isOrder: true, categorical: categorical, numeric: numbers)
                }
                if let knownCustomers, !knownCustomers.contains(visit.customerID) {
                    reject(.unknownCustomer, "customer_id \(visit.customerID) is not in the customers file")
                } else if let earlier = indexOf[visit.visitID] {
                    if let lines = conflictingVisits[earlier] {
                        reject(.conflictingDuplicate, "visit_id \(visit.visitID) is on lines \(lines) with different content; none of them is kept")
                    } else if visits[earlier] == visit {
                        visitCounts.duplicates += 1
                    } else {
                        // Neither version is kept: nothing says the first one is right.
                        let earlierLine = visitLine[earlier]
                        refuseAccepted(
                            Reject(source: options.visitsPath, line: earlierLine, reason: RejectReason.conflictingDuplicate.rawValue,
                                   detail: "visit_id \(visit.visitID) also on line \(row.line) with different content", raw: firstRaw.text(earlier)),
                            table: "visits", counts: &visitCounts, rejects: &rejects, causes: &causes)
                        conflictingVisits[earlier] = "\(earlierLine) and \(row.line)"
                        reject(.conflictingDuplicate, "visit_id \(visit.visitID) also on line \(earlierLine) with different content")
                    }
                } else {
                    indexOf[visit.visitID] = visits.count
                    visits.append(visit)
                    visitLine.append(row.line)
                    firstRaw.append(row.rawUTF8)
                    visitCounts.accepted += 1
                }
            }
        }
        if !conflictingVisits.isEmpty {
            let kept = visits.indices.filter { conflictingVisits[$0] == nil }
            visits = kept.map { visits[$0] }
            visitLine = kept.map { visitLine[$0] }
        }
        rejects[firstVisitReject...].sort { $0.line < $1.line }
        inputs.append(.init(role: "input", path: options.visitsPath, bytes: table.bytesRead, sha256: table.digest))
        if let path = options.mappingPath, let data = FileManager.default.contents(atPath: path) {
            inputs.append(.init(role: "input", path: path, contents: [UInt8](data)))
        }

        let totalRead = visitCounts.read + customerCounts.read
        let totalRejected = visitCounts.rejected + customerCounts.rejected
        if let limit = options.maxRejectRate, totalRead > 0, totalRejected >= max(options.minimumRejectsForRate, 1),
           Double(totalRejected) / Double(totalRead) > limit {
            let reasons = (visitCounts.rejectedByReason.merging(customerCounts.rejectedByReason, uniquingKeysWith: +))
                .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            throw ImportFailure.rejectRateExceeded(
                rate: Double(totalRejected) / Double(totalRead), limit: limit, summary: "\(totalRejected) of \(totalRead) rows: \(reasons)",
                causes: causes.topCauses(dateFormats: visitDialect.dateFormats))
        }

        var report = ImportReport(
            manifest: DatasetManifest(kind: mapping.kind), visitCounts: visitCounts, customerCounts: customerCounts,
            replacedWithOther: replaced, alreadyImported: false)
        var visitTotals = visitCounts
        var customerTotals = customerCounts
        var allRejects = rejects
        var allInputs = inputs
        var history: [String] = []
        var finalVisits = visits
        var finalCustomers = Array(customers.values)
        let visitColumns = DatasetManifest.ExtraColumns(categorical: mapping.visits.categorical.map(\.name), numeric: numeric.map(\.name))
        let customerColumns = DatasetManifest.ExtraColumns(
            categorical: mapping.customers.categorical.map(\.name), numeric: mapping.customers.numeric.map(\.name))

        if let existing {
            let old = existing.manifest
            guard old.kind == mapping.kind, old.visitColumns == visitColumns, old.customerColumns == customerColumns else {
                throw ImportFailure.badInput(
                    path: options.outputDirectory, line: nil,
                    reason: "cannot append: the dataset's kind or extra columns differ from this mapping's")
            }
            history = old.history
            let previousInputs = Set(old.files.filter { $0.role == "input" }.map(\.sha256))
            if inputs.allSatisfy({ previousInputs.contains($0.sha256) }) {
                // The same export again: nothing to merge. Only the history records the run.
                report.alreadyImported = true
                var manifest = old
                manifest.history.append("\(options.timestamp) append \(inputNames(options)): inputs already imported, nothing changed")
                try DatasetWriter.write(
                    directory: options.outputDirectory, visits: existing.visits, customers: existing.customers, rejects: existingRejects,
                    manifest: manifest)
                report.manifest = try Dataset.readManifest(directory: options.outputDirectory)
                return report
            }
            // Merge: existing visits stay; a new row with an existing id is a duplicate when
            // identical and a conflict otherwise. Customer profiles are current state: a newer
            // export replaces an older profile.
            var byID: [String: Visit] = [:]
            for visit in existing.visits { byID[visit.visitID] = visit }
            var merged = existing.visits
            var lineOf: [String: Int] = [:]
            for (visit, line) in zip(visits, visitLine) { lineOf[visit.visitID] = line }
            for visit in visits {
                if let old = byID[visit.visitID] {
                    visitTotals.accepted -= 1
                    if old == visit {
                        visitTotals.duplicates += 1
                    } else {
                        visitTotals.rejected += 1
                        visitTotals.rejectedByReason[RejectReason.conflictingDuplicate.rawValue, default: 0] += 1
                        var raw: [UInt8] = []
                        DelimitedText.appendRecord(Dataset.visitRecord(visit), to: &raw)
                        allRejects.append(Reject(
                            source: options.visitsPath, line: lineOf[visit.visitID] ?? 0, reason: RejectReason.conflictingDuplicate.rawValue,
                            detail: "visit_id \(visit.visitID) is already in the dataset with different content",
                            raw: String(decoding: raw.dropLast(), as: UTF8.self)))
                    }
                } else {
                    merged.append(visit)
                }
            }
            finalVisits = merged
            var customerByID: [String: Customer] = [:]
            for customer in existing.customers { customerByID[customer.customerID] = customer }
            for customer in customers.values { customerByID[customer.customerID] = customer }
            finalCustomers = Array(customerByID.values)
            visitTotals = add(old.visitCounts, visitTotals)
            customerTotals = add(old.customerCounts, customerTotals)
            var seen = Set(existingRejects)
            allRejects = existingRejects + allRejects.filter { seen.insert($0).inserted }
            let oldInputs = old.files.filter { $0.role == "input" }
            allInputs = oldInputs + inputs.filter { new in !oldInputs.contains(new) }
        }

        finalVisits = Visit.inDatasetOrder(finalVisits)
        finalCustomers = finalCustomers.indices.sorted { finalCustomers[$0].customerID < finalCustomers[$1].customerID }.map { finalCustomers[$0] }
        var manifest = DatasetManifest(
            kind: mapping.kind, visitColumns: visitColumns, customerColumns: customerColumns, visitCounts: visitTotals,
            customerCounts: customerTotals, firstDate: finalVisits.map(\.date).min(), lastDate: finalVisits.map(\.date).max(),
            customerCount: Set(finalVisits.map(\.customerID)).union(finalCustomers.map(\.customerID)).count,
            repCount: Set(finalVisits.map(\.repID).filter { !$0.isEmpty }).count,
            files: allInputs, mapping: mapping.canonicalJSON(), history: history)
        let verb = existing == nil ? "import" : "append"
        let others = replaced > 0 ? ", \(replaced) values replaced with other" : ""
        manifest.history.append("\(options.timestamp) \(verb) \(inputNames(options)): \(report.countsText)\(others)")
        try DatasetWriter.write(
            directory: options.outputDirectory, visits: finalVisits, customers: finalCustomers, rejects: allRejects, manifest: manifest)
        report.manifest = try Dataset.readManifest(directory: options.outputDirectory)
        return report
    }

    /// `.xml` (any case) → XML; everything else, stdin included, → CSV.
    public static func formatFor(_ path: String) -> InputFormat {
        path.lowercased().hasSuffix(".xml") ? .xml : .csv
    }

    private static func inputNames(_ options: ImportOptions) -> String {
        ([options.visitsPath] + (options.customersPath.map { [$0] } ?? [])).joined(separator: " + ")
    }

    /// Refuses a row that was accepted before a later row with its id and other content came:
    /// it moves from accepted to rejected in `counts`, so the counts still reconcile.
    private static func refuseAccepted(
        _ reject: Reject, table: String, counts: inout DatasetManifest.Counts, rejects: inout [Reject], causes: inout RejectSummary
    ) {
        counts.accepted -= 1
        counts.rejected += 1
        counts.rejectedByReason[reject.reason, default: 0] += 1
        rejects.append(reject)
        causes.add(RejectCause(reason: .conflictingDuplicate), table: table, line: reject.line)
    }

    private static func add(_ a: DatasetManifest.Counts, _ b: DatasetManifest.Counts) -> DatasetManifest.Counts {
        DatasetManifest.Counts(
            read: a.read + b.read, accepted: a.accepted + b.accepted, rejected: a.rejected + b.rejected,
            duplicates: a.duplicates + b.duplicates, rejectedByReason: a.rejectedByReason.merging(b.rejectedByReason, uniquingKeysWith: +))
    }
}

/// Texts appended one after another into one buffer (one allocation per growth, not per row).
struct RawTextStore {
    private var bytes: [UInt8] = []
    private var ends: [Int] = []

    mutating func append(_ text: [UInt8]) {
        bytes.append(contentsOf: text)
        ends.append(bytes.count)
    }

    func text(_ index: Int) -> String {
        let start = index == 0 ? 0 : ends[index - 1]
        return String(decoding: bytes[start..<ends[index]], as: UTF8.self)
    }
}
