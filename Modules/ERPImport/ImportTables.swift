import Dataset
import ExternalSort
import Formats
import Foundation

/// The phases of an import that read, sort and merge the two tables (see ``DatasetImport``).
///
/// Sort records. Every key ends in the row's origin (0 = already in the dataset, 1 = this
/// run's input) and its line, so that within one id the dataset's row comes first and this
/// run's rows follow in file order: the merges below then meet a group's rows in the order
/// in which the earlier, dictionary-based importer met them, and keep its rules.
extension ImportRun {
    /// The length of a key's tail after the group part: origin (1 byte) and line (8 bytes).
    static let keyTail = 9

    // MARK: Customers

    /// Reads and validates the customer export into a sorter keyed by customer id.
    func readCustomers(path: String) throws -> ExternalSorter {
        let format = options.format ?? DatasetImport.formatFor(path)
        let fields =
            Mapping.customerFields + mapping.customers.categorical.map(\.name) + mapping.customers.numeric.map(\.name)
        let sources =
            Mapping.customerFields.map { mapping.customerSource($0, format: format) }
            + mapping.customers.categorical.map(\.column) + mapping.customers.numeric.map(\.column)
        let required =
            Mapping.customerFields.map { _ in true }
            + (mapping.customers.categorical + mapping.customers.numeric).map(\.required)
        var validator = RowValidator(
            fields: fields, required: required, sources: sources,
            categoricalFields: Set([CustomerColumn.customerType, .industry, .tag].map(\.name)),
            extraCategorical: mapping.customers.categorical, numericCount: mapping.customers.numeric.count,
            table: mapping.customers, dateFormats: dateFormats)
        let table = try TableSource(
            path: path, format: format, mapping: mapping.dialect(of: mapping.customers),
            recordElement: mapping.customers.record ?? "Customer",
            sources: sources)
        let sorter = ExternalSorter(directory: scratch, label: "customers", memoryBudget: tableShare)
        let numericStart = Mapping.customerFields.count + mapping.customers.categorical.count
        var builder = SortRecordBuilder()
        var row = table.makeRow()
        var values = validator.makeOutput()
        while try table.next(into: &row) {
            customerCounts.read += 1
            switch validator.validate(row, into: &values) {
            case .rejected(let reason, let detail, let cause):
                try reject(visits: false, line: row.line, reason: reason, detail: detail, raw: row.raw, cause: cause)
            case .accepted(let others):
                replaced += others
                for index in numericStart..<values.count where !values[index].isEmpty {
                    values[index] = Dataset.formatNumber(Double(values[index]))
                }
                builder.setContent(values)
                try builder.addCustomer(
                    id: values[0], origin: Self.fromInput, line: row.line, raw: row.rawUTF8, to: sorter)
            }
        }
        inputs.append(.init(role: "input", path: path, bytes: table.bytesRead, sha256: table.digest))
        return sorter
    }

    /// Merges this run's customers (if any) with the dataset's and writes `customers.csv` in
    /// id order. Within one id: identical rows count once (the rest are duplicates); rows with
    /// different content are all refused, each naming the other's line (nothing says which
    /// is right); a profile from this run replaces the dataset's (profiles are current state),
    /// and the dataset's stays when this run has none it keeps.
    func writeCustomers(_ input: ExternalSorter?, to path: String) throws -> DatasetManifest.FileDigest {
        let sorter = input ?? ExternalSorter(directory: scratch, label: "customers", memoryBudget: tableShare)
        if let existing {
            let reader = try appending {
                try DatasetFileReader(
                    directory: options.outputDirectory, name: Dataset.customersFile, manifest: existing,
                    header: Dataset.customerHeader + customerColumns.categorical + customerColumns.numeric)
            }
            var builder = SortRecordBuilder()
            while let row = try appending({ try reader.next() }) {
                builder.setContent(row.fields)
                try builder.addCustomer(
                    id: row.fields[CustomerColumn.customerID], origin: Self.fromDataset, line: row.line, raw: [],
                    to: sorter)
            }
        }
        let writer = try BufferedFileWriter(path: path)
        var header: [UInt8] = []
        DelimitedText.appendRecord(
            Dataset.customerHeader + customerColumns.categorical + customerColumns.numeric, to: &header)
        try writer.write(header)
        if sorter.spilledRuns > 0 { progress?("importer: customers sorted in \(sorter.spilledRuns) runs") }
        let sorted = try sorter.sorted()
        spilledRuns += sorter.spilledRuns
        var group = DuplicateGroup()
        var datasetProfile: [UInt8]?
        func finishGroup() throws {
            if let kept = group.kept {
                customerCounts.accepted += 1
                try writer.write(kept.content + [0x0A])
            } else if let datasetProfile {
                try writer.write(datasetProfile + [0x0A])
            }
            group = DuplicateGroup()
            datasetProfile = nil
        }
        var groupKey: [UInt8] = []
        while let record = try sorted.next() {
            let part = record.key[0..<record.key.count - Self.keyTail]
            if !part.elementsEqual(groupKey) {
                try finishGroup()
                groupKey = Array(part)
            }
            var reader = PayloadReader(record.payload)
            let origin = reader.uint8()
            let line = Int(reader.uint64())
            let content = Array(reader.field())
            if origin == Self.fromDataset {
                datasetProfile = content
                continue
            }
            let row = DuplicateGroup.Row(line: line, content: content, raw: Array(reader.field()))
            let name = groupKey
            for refusal in group.add(
                row, noun: "customer_id \(String(decoding: SortKey.decodeOrdered(name), as: UTF8.self))")
            {
                try reject(
                    visits: false, line: refusal.line, reason: .conflictingDuplicate, detail: refusal.detail,
                    raw: refusal.raw)
            }
            customerCounts.duplicates += group.takeDuplicates()
        }
        try finishGroup()
        return try writer.finishedDigest(name: Dataset.customersFile)
    }

    // MARK: Visits

    /// Reads and validates the visit export into a sorter keyed by visit id (transaction logs:
    /// by the content the row id is derived from).
    func readVisits() throws -> ExternalSorter {
        let format = options.format ?? DatasetImport.formatFor(options.visitsPath)
        let standard = mapping.visitTableFields
        let numeric = mapping.visitNumeric
        // Text columns ride with the categorical extras (strings, after them) but are not
        // vocabulary-checked: RowValidator's extraCategorical names only the categorical ones.
        let strings = mapping.visitStringExtras
        let fields = standard + strings.map(\.name) + numeric.map(\.name)
        let sources =
            standard.map { mapping.visitSource($0, format: format) } + strings.map(\.column) + numeric.map(\.column)
        let required = standard.map { _ in true } + (strings + numeric).map(\.required)
        var validator = RowValidator(
            fields: fields, required: required, sources: sources,
            categoricalFields: mapping.kind == .visits
                ? Set([VisitColumn.method, .target, .purpose, .result].map(\.name)) : [],
            extraCategorical: mapping.visits.categorical, numericCount: numeric.count, table: mapping.visits,
            dateFormats: dateFormats)
        let table = try TableSource(
            path: options.visitsPath, format: format, mapping: mapping.dialect(of: mapping.visits),
            recordElement: mapping.visits.record ?? "Visit",
            sources: sources)
        let sorter = ExternalSorter(directory: scratch, label: "visits-by-id", memoryBudget: tableShare)
        let categoricalCount = strings.count
        let extrasStart = standard.count
        let numericStart = extrasStart + categoricalCount
        var builder = SortRecordBuilder()
        var row = table.makeRow()
        var values = validator.makeOutput()
        // Read once, not per row from the class.
        let isVisitLog = mapping.kind == .visits
        let orders = mapping.orders
        while try table.next(into: &row) {
            visitCounts.read += 1
            if visitCounts.read % 200_000 == 0 {
                progress?(
                    "importer: \(options.visitsPath): \(visitCounts.read) rows, \(table.bytesRead >> 20) MiB read")
            }
            switch validator.validate(row, into: &values) {
            case .rejected(let reason, let detail, let cause):
                try reject(visits: true, line: row.line, reason: reason, detail: detail, raw: row.raw, cause: cause)
            case .accepted(let others):
                replaced += others
                let id: String, customer: String, rep: String, date: Day
                if isVisitLog {
                    id = values[0]
                    customer = values[1]
                    rep = values[2]
                    date = validator.acceptedDay!
                    // The `visits.csv` fields after the id, written field by field (no array of them).
                    builder.beginContent()
                    for index in 1...7 { builder.appendContent(values[index]) }
                    builder.appendContent(orders.contains(values[7]) ? "1" : "0")
                    for index in extrasStart..<numericStart { builder.appendContent(values[index]) }
                    for index in numericStart..<values.count {
                        let value = values[index]
                        builder.appendContent(value.isEmpty ? "" : Dataset.formatNumber(Double(value)))
                    }
                } else {
                    let categorical = values[extrasStart..<numericStart]
                    let numbers = values[numericStart...].map { $0.isEmpty ? nil : Double($0) }
                    // Transaction logs have no id: the row id is derived from the content and
                    // its occurrence number (given in the merge), so that re-importing the same
                    // log gives the same ids (identical → duplicate) while two equal orders in
                    // one log stay two rows.
                    let text = ([values[0], values[1]] + categorical + numbers.map { $0.map { "\($0)" } ?? "" }).joined(
                        separator: "\u{1F}")
                    id = "T" + SHA256.hex(Array(text.utf8)).prefix(16)
                    customer = values[0]
                    rep = ""
                    date = Day(iso: values[1])!
                    builder.setContent(
                        [values[0], "", values[1], "", "", "", "order", "1"] + categorical
                            + numbers.map(Dataset.formatNumber))
                }
                try builder.addVisit(
                    group: id, origin: Self.fromInput, line: row.line, id: id, customer: customer, rep: rep,
                    date: date.ordinal,
                    raw: row.rawUTF8, to: sorter)
            }
        }
        inputs.append(.init(role: "input", path: options.visitsPath, bytes: table.bytesRead, sha256: table.digest))
        return sorter
    }

    /// Adds the dataset's visits (on `--append`) to `sorter`, each under its id (transaction
    /// logs: the content part of its id).
    private func addDatasetVisits(to sorter: ExternalSorter) throws {
        guard let existing else { return }
        let reader = try appending {
            try DatasetFileReader(
                directory: options.outputDirectory, name: Dataset.visitsFile, manifest: existing,
                header: Dataset.visitHeader + visitColumns.categorical + visitColumns.numeric)
        }
        var builder = SortRecordBuilder()
        var rows = 0
        while let row = try appending({ try reader.next() }) {
            rows += 1
            let f = row.fields
            guard let date = Day(iso: f[.visitDate]) else {
                throw ImportFailure.badInput(
                    path: options.outputDirectory, line: nil,
                    reason:
                        "cannot append: \(reader.path):\(row.line): visit_date '\(Snippet.bounded(f[.visitDate]))' is not YYYY-MM-DD"
                )
            }
            // The sort record's content: every column after the id.
            builder.setContent(Array(f[(VisitColumn.visitID.rawValue + 1)...]))
            let id = f[.visitID]
            try builder.addVisit(
                group: mapping.kind == .visits ? id : Self.transactionGroup(of: id), origin: Self.fromDataset,
                line: row.line,
                id: id, customer: f[VisitColumn.customerID], rep: f[.repID], date: date.ordinal, raw: [], to: sorter)
        }
        guard rows == existing.visitCounts.accepted else {
            throw ImportFailure.badInput(
                path: options.outputDirectory, line: nil,
                reason:
                    "cannot append: \(reader.path): has \(rows) visits; manifest.json counts \(existing.visitCounts.accepted) accepted"
            )
        }
    }

    /// `T<16 hex>` of a transaction row id `T<16 hex>-<occurrence>`; any other id is its own group.
    static func transactionGroup(of id: String) -> String {
        let utf8 = Array(id.utf8)
        guard utf8.count > 18, utf8[0] == UInt8(ascii: "T"), utf8[17] == UInt8(ascii: "-"),
            utf8[18...].allSatisfy({ (48...57).contains($0) })
        else { return id }
        return String(decoding: utf8[0..<17], as: UTF8.self)
    }

    /// Merges this run's visits with the dataset's (on `--append`) by id and passes the
    /// survivors to a sorter in dataset order (customer, date, id).
    ///
    /// Visit logs, within one id: identical rows count once (the rest are duplicates); rows
    /// with different content are all refused, each naming the other's line. A row already in
    /// the dataset is kept: this run's identical rows are duplicates, different ones are
    /// refused (`already in the dataset with different content`).
    /// Transaction logs, within one content: this run's rows are numbered 1, 2, … in file
    /// order; the first as many as the dataset holds are duplicates of its rows, the rest new
    /// rows `T<hash>-<n>`.
    func resolveVisits(_ sorter: ExternalSorter) throws -> ExternalSorter {
        try addDatasetVisits(to: sorter)
        if sorter.spilledRuns > 0 {
            progress?(
                "importer: visits sorted by id in \(sorter.spilledRuns) runs (--memory \(options.memoryBudget >> 20) MiB)"
            )
        }
        let sorted = try sorter.sorted()
        spilledRuns += sorter.spilledRuns
        let output = ExternalSorter(directory: scratch, label: "visits-by-customer", memoryBudget: tableShare)
        let checkCustomers = options.customersPath != nil
        var key = SortKey()
        var payload = PayloadBuilder()
        /// `emit` for a by-id payload (``SortRecordBuilder/addVisit``) of this run's input, read
        /// field by field: the group of one row, nearly every group, decodes no `String`.
        func emitLone(_ record: UnsafeRawBufferPointer) throws {
            var reader = PayloadReader(record)
            _ = reader.uint8()
            let line = reader.uint64()
            let id = reader.field(), customer = reader.field(), rep = reader.field()
            let date = reader.int32()
            let content = reader.field(), raw = reader.field()
            key.removeAll()
            key.append(ordered: customer)
            key.append(bigEndian: date)
            key.append(ordered: id)
            payload.removeAll()
            payload.append(UInt8(1 | (checkCustomers ? 2 : 0)))
            payload.append(line)
            payload.append(field: id)
            payload.append(field: customer)
            payload.append(field: rep)
            payload.append(date)
            payload.append(field: content)
            payload.append(field: checkCustomers ? raw : UnsafeRawBufferPointer(start: nil, count: 0))
            try output.append(key: key.bytes, payload: payload.bytes)
        }
        func emit(_ visit: PendingVisit, id: String, fromInput: Bool) throws {
            key.removeAll()
            key.append(ordered: visit.customer)
            key.append(bigEndian: visit.date)
            key.append(ordered: id)
            payload.removeAll()
            let check = fromInput && checkCustomers
            payload.append(UInt8((fromInput ? 1 : 0) | (check ? 2 : 0)))
            payload.append(UInt64(visit.line))
            payload.append(field: id)
            payload.append(field: visit.customer)
            payload.append(field: visit.rep)
            payload.append(visit.date)
            payload.append(field: visit.content)
            payload.append(field: check ? visit.raw : [])
            try output.append(key: key.bytes, payload: payload.bytes)
        }

        var groupKey: [UInt8] = []
        var group = DuplicateGroup()
        var datasetVisit: PendingVisit?
        var datasetRows = 0
        var occurrence = 0
        func finishGroup() throws {
            if mapping.kind == .visits {
                if let visit = datasetVisit {
                    try emit(visit, id: visit.id, fromInput: false)
                } else if let kept = group.kept?.visit {
                    try emit(kept, id: kept.id, fromInput: true)
                }
            }
            group = DuplicateGroup()
            datasetVisit = nil
            datasetRows = 0
            occurrence = 0
        }
        // The first input row of a group is held as bytes (`held`) until the group's next
        // record or its end: a group that ends with it alone (no duplicate, no dataset row) is
        // re-keyed straight from those bytes (``emitLone``); otherwise it goes through the
        // general path below, as every row did before.
        var held: [UInt8] = []
        var holding = false
        func handle(_ visit: PendingVisit) throws {
            if mapping.kind == .transactions {
                if visit.origin == Self.fromDataset {
                    datasetRows += 1
                    try emit(visit, id: visit.id, fromInput: false)
                } else {
                    occurrence += 1
                    if occurrence <= datasetRows {
                        visitCounts.duplicates += 1
                    } else {
                        try emit(visit, id: "\(visit.id)-\(occurrence)", fromInput: true)
                    }
                }
                return
            }
            if visit.origin == Self.fromDataset {
                datasetVisit = visit
                return
            }
            if let kept = datasetVisit {
                if kept.content == visit.content {
                    visitCounts.duplicates += 1
                } else {
                    try reject(
                        visits: true, line: visit.line, reason: .conflictingDuplicate,
                        detail: "visit_id \(visit.id) is already in the dataset with different content",
                        raw: String(decoding: visit.raw, as: UTF8.self))
                }
                return
            }
            for refusal in group.add(visit.row, noun: "visit_id \(visit.id)") {
                try reject(
                    visits: true, line: refusal.line, reason: .conflictingDuplicate, detail: refusal.detail,
                    raw: refusal.raw)
            }
            visitCounts.duplicates += group.takeDuplicates()
        }
        func releaseHeld() throws {
            guard holding else { return }
            holding = false
            try held.withUnsafeBytes { try handle(PendingVisit(payload: $0)) }
        }
        while let record = try sorted.next() {
            let part = record.key[0..<record.key.count - Self.keyTail]
            if !part.elementsEqual(groupKey) {
                if holding {
                    holding = false
                    try held.withUnsafeBytes { try emitLone($0) }
                    group = DuplicateGroup()
                } else {
                    try finishGroup()
                }
                groupKey = Array(part)
                if mapping.kind == .visits && record.payload.first == Self.fromInput {
                    held.removeAll(keepingCapacity: true)
                    held.appendBytes(record.payload)
                    holding = true
                    continue
                }
            }
            try releaseHeld()
            try handle(PendingVisit(payload: record.payload))
        }
        if holding {
            holding = false
            try held.withUnsafeBytes { try emitLone($0) }
        } else {
            try finishGroup()
        }
        return output
    }

    /// What `visits.csv` ended up holding, for the manifest.
    struct VisitSummary {
        var firstDate: Day?
        var lastDate: Day?
        var customerCount = 0
        var repCount = 0
    }

    /// Writes `visits.csv` in dataset order from `sorter`, checking this run's visits against
    /// `customers.csv` (read alongside: both are in customer order) when a customers file was
    /// given, and counting the distinct customers of both files.
    func writeVisits(_ sorter: ExternalSorter, to path: String, customersPath: String) throws -> (
        VisitSummary, DatasetManifest.FileDigest
    ) {
        if sorter.spilledRuns > 0 { progress?("importer: visits sorted by customer in \(sorter.spilledRuns) runs") }
        let sorted = try sorter.sorted()
        spilledRuns += sorter.spilledRuns
        let writer = try BufferedFileWriter(path: path)
        var header: [UInt8] = []
        DelimitedText.appendRecord(Dataset.visitHeader + visitColumns.categorical + visitColumns.numeric, to: &header)
        try writer.write(header)
        let customers = try DatasetFileReader(
            path: customersPath, header: Dataset.customerHeader + customerColumns.categorical + customerColumns.numeric,
            recorded: nil)
        var listed = try customers.next().map { Array($0.fields[CustomerColumn.customerID].utf8) }
        var summary = VisitSummary()
        var reps = Set<String>()
        var lastRep: [UInt8] = []
        var lastCustomer: [UInt8]?
        var customersWithoutVisits = 0
        var line: [UInt8] = []
        while let record = try sorted.next() {
            var reader = PayloadReader(record.payload)
            let flags = reader.uint8()
            let sourceLine = Int(reader.uint64())
            let id = reader.field()
            let customer = reader.field()
            if lastCustomer.map({ !$0.elementsEqual(customer) }) ?? true {
                while let current = listed, current.lexicographicallyPrecedes(customer) {
                    if lastCustomer.map({ !$0.elementsEqual(current) }) ?? true { customersWithoutVisits += 1 }
                    listed = try customers.next().map { Array($0.fields[CustomerColumn.customerID].utf8) }
                }
            }
            let known = listed.map { $0.elementsEqual(customer) } ?? false
            let rep = reader.field()
            let date = Day(ordinal: reader.int32())
            let content = reader.field()
            if flags & 2 != 0 && !known {
                let raw = String(decoding: reader.field(), as: UTF8.self)
                try reject(
                    visits: true, line: sourceLine, reason: .unknownCustomer,
                    detail: "customer_id \(String(decoding: customer, as: UTF8.self)) is not in the customers file",
                    raw: raw)
                continue
            }
            if flags & 1 != 0 { visitCounts.accepted += 1 }
            if lastCustomer.map({ !$0.elementsEqual(customer) }) ?? true {
                summary.customerCount += 1
                lastCustomer = Array(customer)
            }
            // Consecutive rows mostly share their rep (one customer's visits): a String and a
            // hash only when it changes.
            if !rep.isEmpty && !rep.elementsEqual(lastRep) {
                reps.insert(String(decoding: rep, as: UTF8.self))
                lastRep.removeAll(keepingCapacity: true)
                lastRep.append(contentsOf: rep)
            }
            summary.firstDate = min(summary.firstDate ?? date, date)
            summary.lastDate = max(summary.lastDate ?? date, date)
            line.removeAll(keepingCapacity: true)
            id.withMemoryRebound(to: UInt8.self) { DelimitedText.appendField(bytes: $0, to: &line) }
            line.append(0x2C)
            line.appendBytes(content)
            line.append(0x0A)
            try writer.write(line)
        }
        while let current = listed {
            if lastCustomer.map({ !$0.elementsEqual(current) }) ?? true { customersWithoutVisits += 1 }
            listed = try customers.next().map { Array($0.fields[CustomerColumn.customerID].utf8) }
        }
        summary.customerCount += customersWithoutVisits
        summary.repCount = reps.count
        return (summary, try writer.finishedDigest(name: Dataset.visitsFile))
    }
}

/// Builds the by-id sort records of both tables in reused buffers (no allocation per row), so
/// that each record layout is written in one place, for this run's rows and the dataset's alike.
///
/// Keys: the group (the id, ``SortKey/append(ordered:)``), the origin, the line (big-endian);
/// ``ImportRun/keyTail`` is the length of the last two.
struct SortRecordBuilder {
    private var key = SortKey()
    private var payload = PayloadBuilder()
    /// The row's fields as one CSV record without its line end (``setContent(_:)``).
    private(set) var content: [UInt8] = []
    private var contentFields = 0

    mutating func setContent(_ fields: [String]) {
        content.removeAll(keepingCapacity: true)
        DelimitedText.appendRecord(fields, to: &content)
        content.removeLast()
    }

    /// ``setContent(_:)`` one field at a time: ``beginContent()``, then ``appendContent(_:)``
    /// per field (the same bytes: fields quoted when needed, joined by commas).
    mutating func beginContent() {
        content.removeAll(keepingCapacity: true)
        contentFields = 0
    }

    mutating func appendContent(_ field: String) {
        if contentFields > 0 { content.append(0x2C) }
        contentFields += 1
        DelimitedText.appendField(field, to: &content)
    }

    /// The key, and the payload's head that both layouts share (origin, line).
    private mutating func begin(group: String, origin: UInt8, line: Int) {
        key.removeAll()
        key.append(ordered: group)
        key.append(origin)
        key.append(bigEndian: UInt64(line))
        payload.removeAll()
        payload.append(origin)
        payload.append(UInt64(line))
    }

    /// Customers by id. Payload: origin, line, content (the whole `customers.csv` row), raw
    /// (read back in ``ImportRun/writeCustomers(_:to:)``).
    mutating func addCustomer(id: String, origin: UInt8, line: Int, raw: [UInt8], to sorter: ExternalSorter) throws {
        begin(group: id, origin: origin, line: line)
        payload.append(field: content)
        payload.append(field: raw)
        try sorter.append(key: key.bytes, payload: payload.bytes)
    }

    /// Visits by id (transaction logs: by content). Payload: origin, line, id, customer, rep,
    /// date, content (the `visits.csv` fields after the id), raw (read back by ``PendingVisit``).
    mutating func addVisit(
        group: String, origin: UInt8, line: Int, id: String, customer: String, rep: String, date: Int32, raw: [UInt8],
        to sorter: ExternalSorter
    ) throws {
        begin(group: group, origin: origin, line: line)
        payload.append(field: id)
        payload.append(field: customer)
        payload.append(field: rep)
        payload.append(date)
        payload.append(field: content)
        payload.append(field: raw)
        try sorter.append(key: key.bytes, payload: payload.bytes)
    }
}

/// A visit row taken out of a sort payload (see ``SortRecordBuilder/addVisit``).
struct PendingVisit {
    var origin: UInt8
    var line: Int
    var id: String
    var customer: String
    var rep: String
    var date: Int32
    /// The row's `visits.csv` fields after the id, as CSV without the line end.
    var content: [UInt8]
    var raw: [UInt8]

    init(payload: UnsafeRawBufferPointer) {
        var reader = PayloadReader(payload)
        origin = reader.uint8()
        line = Int(reader.uint64())
        id = reader.string()
        customer = reader.string()
        rep = reader.string()
        date = reader.int32()
        content = Array(reader.field())
        raw = Array(reader.field())
    }

    var row: DuplicateGroup.Row {
        var row = DuplicateGroup.Row(line: line, content: content, raw: raw)
        row.visit = self
        return row
    }
}

/// The rows of this run that share one id, met in file order: which one is kept, which are
/// duplicates, which are refused. Holds the first row only, whatever the group's size.
struct DuplicateGroup {
    struct Row {
        var line: Int
        var content: [UInt8]
        /// The row's text as read, UTF-8: made a `String` only when the row is refused.
        var raw: [UInt8]
        var visit: PendingVisit?

        init(line: Int, content: [UInt8], raw: [UInt8]) {
            self.line = line
            self.content = content
            self.raw = raw
        }
    }

    struct Refusal {
        var line: Int
        var detail: String
        var raw: String
    }

    private var first: Row?
    /// Set once two rows differ: "L1 and L2".
    private var conflict: String?
    private var duplicates = 0

    /// The row to keep, once the group is complete: the first, unless a conflict refused it.
    var kept: Row? { conflict == nil ? first : nil }

    /// Adds the next row; returns the rows it refuses (the new row, and on the first conflict
    /// the first row too). `noun` (`visit_id V1`) is built only for a refusal.
    mutating func add(_ row: Row, noun: @autoclosure () -> String) -> [Refusal] {
        guard let first else {
            self.first = row
            return []
        }
        if let conflict {
            return [
                Refusal(
                    line: row.line,
                    detail: "\(noun()) is on lines \(conflict) with different content; none of them is kept",
                    raw: String(decoding: row.raw, as: UTF8.self))
            ]
        }
        if first.content == row.content {
            duplicates += 1
            return []
        }
        // Neither version is kept: nothing says the first one is right.
        conflict = "\(first.line) and \(row.line)"
        let name = noun()
        return [
            Refusal(
                line: first.line, detail: "\(name) also on line \(row.line) with different content",
                raw: String(decoding: first.raw, as: UTF8.self)),
            Refusal(
                line: row.line, detail: "\(name) also on line \(first.line) with different content",
                raw: String(decoding: row.raw, as: UTF8.self))
        ]
    }

    /// Duplicates counted since the last call.
    mutating func takeDuplicates() -> Int {
        defer { duplicates = 0 }
        return duplicates
    }
}
