#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Formats

/// A data error in a dataset directory, with the file and (where there is one) the line.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case unsupportedFormat(path: String, found: String)
    case malformed(path: String, line: Int, reason: String)
    /// A file whose bytes are not the ones the manifest recorded, or counts that do not reconcile.
    case integrity(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return
                "\(path): not found; a dataset directory holds manifest.json, visits.csv and customers.csv (run `importer` to make one)"
        case .unsupportedFormat(let path, let found):
            return
                "\(path): \(found); this build reads \(DatasetManifest.formatName) version \(DatasetManifest.currentVersion) — re-import the ERP export with this build's importer"
        case .malformed(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .integrity(let path, let reason):
            return
                "\(path): \(reason); the dataset was changed after the importer wrote it — re-import the export, or restore the directory from a backup"
        }
    }
}

/// A dataset directory in memory: the importer's output and every other tool's input.
///
/// ```
/// DIR/manifest.json   DatasetManifest (format version, columns, counts, checksums, mapping)
/// DIR/visits.csv      visit_id,customer_id,rep_id,visit_date,method,target,purpose,result,order[,extras…]
///                     sorted by customer_id, visit_date, visit_id; order is 1 or 0
/// DIR/customers.csv   customer_id,customer_type,industry,tag[,extras…], sorted by customer_id
/// DIR/rejects.csv     source,line,reason,detail,raw — every refused input row
/// ```
/// Extra columns follow the fixed ones: the manifest's categorical names, then its numeric
/// names (numbers in shortest round-trip form, empty = missing). All files are UTF-8 CSV that
/// `sort`, `awk`, pandas and DuckDB read as they are. See `Docs/FileFormats.md`.
public struct Dataset: Sendable {
    public static let visitsFile = "visits.csv"
    public static let customersFile = "customers.csv"
    public static let rejectsFile = "rejects.csv"
    public static let manifestFile = "manifest.json"
    public static let visitHeader = VisitColumn.allCases.map(\.name)
    public static let customerHeader = CustomerColumn.allCases.map(\.name)
    public static let rejectHeader = ["source", "line", "reason", "detail", "raw"]

    public var manifest: DatasetManifest
    /// In dataset order (``Visit/datasetOrder(_:_:)``).
    public var visits: [Visit]
    /// Sorted by id.
    public var customers: [Customer]
    /// SHA-256 of the `manifest.json` bytes read (empty for a dataset built in memory). The
    /// manifest lists every data file's size and SHA-256, and ``load(directory:)`` refuses a
    /// file that does not match, so this one digest names the data itself: it is the
    /// provenance a model file records (`dataset_sha256`).
    public var manifestSHA256 = ""

    public init(manifest: DatasetManifest, visits: [Visit], customers: [Customer]) {
        self.manifest = manifest
        self.visits = visits
        self.customers = customers
    }

    // MARK: Reading

    /// `manifest.json` and its bytes, with its counts checked to reconcile (`read = accepted +
    /// rejected + duplicates`, reasons adding up to the rejected count).
    public static func readCheckedManifest(directory: String) throws -> (manifest: DatasetManifest, bytes: [UInt8]) {
        let manifestPath = directory + "/" + manifestFile
        return try checkedManifest(try readDatasetFile(manifestPath), path: manifestPath)
    }

    /// ``readCheckedManifest(directory:)`` on bytes already read from `path`.
    static func checkedManifest(_ manifestBytes: [UInt8], path manifestPath: String) throws -> (
        manifest: DatasetManifest, bytes: [UInt8]
    ) {
        let manifest = try decodeManifest(manifestBytes, path: manifestPath)
        for (name, counts) in [("visit_counts", manifest.visitCounts), ("customer_counts", manifest.customerCounts)]
        where !counts.reconciles {
            throw DatasetError.integrity(
                path: manifestPath,
                reason:
                    "\(name) do not reconcile: read \(counts.read) ≠ accepted \(counts.accepted) + rejected \(counts.rejected) + duplicates \(counts.duplicates), or the rejected reasons do not add up"
            )
        }
        for (name, columns) in [
            ("visit_columns", manifest.visitColumns), ("customer_columns", manifest.customerColumns)
        ] {
            if let stray = columns.text.first(where: { !columns.categorical.contains($0) }) {
                throw DatasetError.integrity(
                    path: manifestPath,
                    reason:
                        "\(name).text names '\(Snippet.bounded(stray))', which is not one of its categorical columns")
            }
        }
        return (manifest, manifestBytes)
    }

    /// Reads and checks `manifest.json` alone.
    public static func readManifest(directory: String) throws -> DatasetManifest {
        try decodeManifest(try readDatasetFile(directory + "/" + manifestFile), path: directory + "/" + manifestFile)
    }

    static func decodeManifest(_ bytes: [UInt8], path: String) throws -> DatasetManifest {
        let data = Data(bytes)
        guard let probe = FormatProbe(json: data) else {
            throw DatasetError.unsupportedFormat(path: path, found: "not a JSON object")
        }
        if probe.format == PartitionedDatasetManifest.formatName {
            throw DatasetError.malformed(
                path: path, line: 1,
                reason:
                    "a partitioned dataset (\(PartitionedDatasetManifest.formatName)), which tools read whole but nothing writes into: append to the flat dataset it was split from, then run `importer partition` again"
            )
        }
        guard probe.format == DatasetManifest.formatName, probe.formatVersion == DatasetManifest.currentVersion else {
            throw DatasetError.unsupportedFormat(path: path, found: probe.found)
        }
        do {
            return try JSONDecoder().decode(DatasetManifest.self, from: data)
        } catch {
            throw DatasetError.malformed(
                path: path, line: 1,
                reason: "manifest does not match format version \(DatasetManifest.currentVersion): \(error)")
        }
    }

    /// The bytes of a file inside a dataset directory. A symbolic link is refused (a dataset's
    /// files are its own: a link could make a tool read, and echo in its errors, any file the
    /// user can read), and so is anything that is not a regular file.
    static func readDatasetFile(_ path: String) throws -> [UInt8] {
        let descriptor = try openDatasetFile(path)
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw DatasetError.integrity(path: path, reason: "cannot be read") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                throw DatasetError.integrity(
                    path: path, reason: "ends before its size \(bytes.count) (changed while being read?)")
            }
            offset += got
        }
        return bytes
    }

    /// A descriptor open for reading on a regular file of a dataset directory (see
    /// ``readDatasetFile(_:)`` for why links and other kinds of file are refused).
    static func openDatasetFile(_ path: String) throws -> Int32 {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw DatasetError.missingFile(path: path) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK:
            throw DatasetError.integrity(
                path: path, reason: "is a symbolic link; a dataset's files must be regular files inside its directory")
        default: throw DatasetError.integrity(path: path, reason: "is not a regular file")
        }
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw DatasetError.integrity(path: path, reason: "cannot be read: \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// The bytes of the data file `name`, checked against the size and SHA-256 the manifest
    /// recorded for it when the importer wrote it.
    static func readVerified(directory: String, name: String, manifest: DatasetManifest) throws -> [UInt8] {
        let path = directory + "/" + name
        let bytes = try readDatasetFile(path)
        try check(
            path: path, bytes: bytes.count, sha256: SHA256.hex(bytes),
            against: try recordedOutput(name, of: manifest, path: path))
        return bytes
    }

    /// What the manifest recorded for its output file `name` (at `path`, for the message).
    static func recordedOutput(_ name: String, of manifest: DatasetManifest, path: String) throws
        -> DatasetManifest.FileDigest
    {
        guard let recorded = manifest.files.first(where: { $0.role == "output" && $0.path == name }) else {
            throw DatasetError.integrity(path: path, reason: "manifest.json records no size and SHA-256 for it")
        }
        return recorded
    }

    /// Refuses a file whose size or SHA-256 differ from what the manifest recorded.
    static func check(path: String, bytes: Int, sha256: String, against recorded: DatasetManifest.FileDigest) throws {
        guard bytes == recorded.bytes else {
            throw DatasetError.integrity(
                path: path, reason: "has \(bytes) bytes; manifest.json recorded \(recorded.bytes)")
        }
        guard sha256 == recorded.sha256 else {
            throw DatasetError.integrity(
                path: path,
                reason:
                    "SHA-256 \(sha256.prefix(12))… differs from the \(recorded.sha256.prefix(12))… manifest.json recorded"
            )
        }
    }

    /// Reads a whole dataset directory, checking the format version, every data file's size
    /// and SHA-256 against the manifest, headers, field counts, dates, the `order` flag, the
    /// sort order and the count invariant (`read = accepted + rejected + duplicates`, and as
    /// many visit rows as were accepted). While it reads, it holds the dataset's shared
    /// ``FileLock`` when one exists, so an importer's commit is never seen half done.
    ///
    /// - Parameters:
    ///   - writerHoldsLock: true when the caller is the writer and holds the exclusive lock
    ///     already (an importer reading the dataset it appends to): a shared lock on top would
    ///     wait for the caller itself.
    ///   - waiting: told, with a line for stderr, when a writer holds the lock.
    /// - Throws: ``DatasetError`` naming the file.
    public static func load(directory: String, writerHoldsLock: Bool = false, waiting: (String) -> Void = { _ in })
        throws -> Dataset
    {
        let lock = writerHoldsLock ? nil : try? FileLock.sharedIfPresent(for: directory, waiting: waiting)
        defer { withExtendedLifetime(lock) {} }
        // manifest.json is read once: its format says flat or partitioned, its bytes are the
        // manifest (and the digest) of either.
        let manifestPath = directory + "/" + manifestFile
        let bytes = try readDatasetFile(manifestPath)
        // A partitioned dataset reads as the flat dataset it was split from (every tool's input).
        if !writerHoldsLock, FormatProbe(json: Data(bytes))?.format == PartitionedDatasetManifest.formatName {
            return try loadPartitioned(
                directory: directory, manifest: (try decodePartitionedManifest(bytes, path: manifestPath), bytes),
                selection: nil, waiting: waiting)
        }
        let (manifest, manifestBytes) = try checkedManifest(bytes, path: manifestPath)
        let visitsPath = directory + "/" + visitsFile
        let visits = try parseVisits(
            try readVerified(directory: directory, name: visitsFile, manifest: manifest), path: visitsPath,
            columns: manifest.visitColumns, requireOrder: true)
        guard visits.count == manifest.visitCounts.accepted else {
            throw DatasetError.integrity(
                path: visitsPath,
                reason: "has \(visits.count) visits; manifest.json counts \(manifest.visitCounts.accepted) accepted")
        }
        let customers = try parseCustomers(
            try readVerified(directory: directory, name: customersFile, manifest: manifest),
            path: directory + "/" + customersFile,
            columns: manifest.customerColumns)
        var dataset = Dataset(manifest: manifest, visits: visits, customers: customers)
        dataset.manifestSHA256 = SHA256.hex(manifestBytes)
        return dataset
    }

    /// `rejects.csv` of a dataset directory, checked against the manifest like the data files.
    public static func loadRejects(directory: String, manifest: DatasetManifest) throws -> [Reject] {
        let path = directory + "/" + rejectsFile
        return try parseRejects(
            try readVerified(directory: directory, name: rejectsFile, manifest: manifest), path: path)
    }

    static func parseRecords(_ bytes: [UInt8], path: String, header expected: [String]) throws -> [(
        line: Int, fields: [String]
    )] {
        var records = try DelimitedText.parse(bytes, path: path)
        guard let header = records.first else {
            throw DatasetError.malformed(path: path, line: 1, reason: "empty file: no header")
        }
        guard header.fields == expected else {
            throw DatasetError.malformed(
                path: path, line: 1,
                reason:
                    "header is \(Snippet.bounded(header.fields.joined(separator: ","))); expected \(expected.joined(separator: ","))"
            )
        }
        records.removeFirst()
        for record in records where record.fields.count != expected.count {
            throw DatasetError.malformed(
                path: path, line: record.line, reason: "\(record.fields.count) fields; the header has \(expected.count)"
            )
        }
        return records
    }

    static func parseNumeric(_ text: String, path: String, line: Int, column: String) throws -> Double? {
        if text.isEmpty { return nil }
        guard let value = Double(text), value.isFinite else {
            throw DatasetError.malformed(
                path: path, line: line, reason: "\(column) '\(Snippet.bounded(text))' is not a finite number")
        }
        return value
    }

    public static func readVisits(path: String, columns: DatasetManifest.ExtraColumns) throws -> [Visit] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError.missingFile(path: path) }
        return try parseVisits([UInt8](data), path: path, columns: columns, requireOrder: true)
    }

    /// Visits from the bytes of a dataset-format `visits.csv` (`path` names it in errors);
    /// with `requireOrder` false the rows may come in any order (a scorer's stdin).
    public static func parseVisits(
        _ bytes: [UInt8], path: String, columns: DatasetManifest.ExtraColumns, requireOrder: Bool = false
    ) throws -> [Visit] {
        let header = visitHeader + columns.categorical + columns.numeric
        let records = try parseRecords(bytes, path: path, header: header)
        var visits: [Visit] = []
        visits.reserveCapacity(records.count)
        let categoricalStart = visitHeader.count
        let numericStart = categoricalStart + columns.categorical.count
        for (line, f) in records {
            guard let date = Day(iso: f[.visitDate]) else {
                throw DatasetError.malformed(
                    path: path, line: line,
                    reason: "visit_date '\(Snippet.bounded(f[.visitDate]))' is not YYYY-MM-DD")
            }
            guard Day.supportedRange.contains(date) else {
                throw DatasetError.malformed(
                    path: path, line: line,
                    reason:
                        "visit_date \(date.iso) is outside \(Day.supportedRange.lowerBound.iso)…\(Day.supportedRange.upperBound.iso)"
                )
            }
            guard f[.order] == "0" || f[.order] == "1" else {
                throw DatasetError.malformed(
                    path: path, line: line, reason: "order '\(Snippet.bounded(f[.order]))' is not 0 or 1")
            }
            var numeric: [Double?] = []
            for (offset, name) in columns.numeric.enumerated() {
                numeric.append(try parseNumeric(f[numericStart + offset], path: path, line: line, column: name))
            }
            let visit = Visit(
                visitID: f[.visitID], customerID: f[VisitColumn.customerID], repID: f[.repID], date: date,
                method: f[.method],
                target: f[.target], purpose: f[.purpose], result: f[.result], isOrder: f[.order] == "1",
                categorical: Array(f[categoricalStart..<numericStart]),
                numeric: numeric)
            if requireOrder, let previous = visits.last, !Visit.datasetOrder(previous, visit) {
                throw DatasetError.malformed(
                    path: path, line: line,
                    reason: "rows are not sorted by customer_id, visit_date, visit_id (or repeat a visit)")
            }
            visits.append(visit)
        }
        return visits
    }

    public static func readCustomers(path: String, columns: DatasetManifest.ExtraColumns) throws -> [Customer] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError.missingFile(path: path) }
        return try parseCustomers([UInt8](data), path: path, columns: columns)
    }

    static func parseCustomers(_ bytes: [UInt8], path: String, columns: DatasetManifest.ExtraColumns) throws
        -> [Customer]
    {
        let header = customerHeader + columns.categorical + columns.numeric
        let records = try parseRecords(bytes, path: path, header: header)
        var customers: [Customer] = []
        customers.reserveCapacity(records.count)
        let categoricalStart = customerHeader.count
        let numericStart = categoricalStart + columns.categorical.count
        for (line, f) in records {
            var numeric: [Double?] = []
            for (offset, name) in columns.numeric.enumerated() {
                numeric.append(try parseNumeric(f[numericStart + offset], path: path, line: line, column: name))
            }
            let customer = Customer(
                customerID: f[CustomerColumn.customerID], customerType: f[.customerType], industry: f[.industry],
                tag: f[.tag],
                categorical: Array(f[categoricalStart..<numericStart]), numeric: numeric)
            if let previous = customers.last, !Visit.bytewiseLess(previous.customerID, customer.customerID) {
                throw DatasetError.malformed(path: path, line: line, reason: "customer ids are not sorted and unique")
            }
            customers.append(customer)
        }
        return customers
    }

    /// Reads `rejects.csv` (the importer's `--append` keeps earlier rejects).
    public static func readRejects(path: String) throws -> [Reject] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError.missingFile(path: path) }
        return try parseRejects([UInt8](data), path: path)
    }

    static func parseRejects(_ bytes: [UInt8], path: String) throws -> [Reject] {
        try parseRecords(bytes, path: path, header: rejectHeader).map { line, f in
            guard let sourceLine = Int(f[1]) else {
                throw DatasetError.malformed(
                    path: path, line: line, reason: "line '\(Snippet.bounded(f[1]))' is not a number")
            }
            return Reject(source: f[0], line: sourceLine, reason: f[2], detail: f[3], raw: f[4])
        }
    }

    // MARK: Writing

    /// A number as `visits.csv` and `customers.csv` write it: integers without a fraction, others
    /// in shortest round-trip form, `nil` as empty.
    public static func formatNumber(_ value: Double?) -> String {
        guard let value else { return "" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// `visits.csv` bytes for `visits` (which must already be in dataset order).
    public static func encodeVisits(_ visits: [Visit], columns: DatasetManifest.ExtraColumns) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(visits.count * 80 + 128)
        DelimitedText.appendRecord(visitHeader + columns.categorical + columns.numeric, to: &output)
        for visit in visits {
            DelimitedText.appendRecord(visitRecord(visit), to: &output)
        }
        return output
    }

    /// The fields of `visit` as a row of `visits.csv` (fixed columns, then extras).
    public static func visitRecord(_ visit: Visit) -> [String] {
        VisitColumn.allCases.map(visit.field) + visit.categorical + visit.numeric.map(formatNumber)
    }

    /// `customers.csv` bytes for `customers` (sorted by id).
    public static func encodeCustomers(_ customers: [Customer], columns: DatasetManifest.ExtraColumns) -> [UInt8] {
        var output: [UInt8] = []
        DelimitedText.appendRecord(customerHeader + columns.categorical + columns.numeric, to: &output)
        for customer in customers {
            let fixed = CustomerColumn.allCases.map(customer.field)
            DelimitedText.appendRecord(fixed + customer.categorical + customer.numeric.map(formatNumber), to: &output)
        }
        return output
    }

    /// `rejects.csv` bytes.
    public static func encodeRejects(_ rejects: [Reject]) -> [UInt8] {
        var output: [UInt8] = []
        DelimitedText.appendRecord(rejectHeader, to: &output)
        for reject in rejects {
            DelimitedText.appendRecord(
                [reject.source, String(reject.line), reject.reason, reject.detail, reject.raw], to: &output)
        }
        return output
    }

    /// The manifest as stable, pretty JSON (sorted keys), so identical content gives identical bytes.
    public static func encodeManifest(_ manifest: DatasetManifest) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(manifest)) + [0x0A]
    }
}
