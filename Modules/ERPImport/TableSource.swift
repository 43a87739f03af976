import Formats
/// One input row before validation: where it came from, its values by slot, and what the
/// reader already knows is wrong with it.
struct SourceRow {
    var line = 0
    /// Values for the table's slots (standard fields, then categorical, then numeric extras);
    /// `nil` when the column or element is absent.
    var values: [String?]
    /// A reader-level problem (encoding, quotes, truncation, field count): the row is rejected.
    var problem: (reason: RejectReason, detail: String)?
    private var rawBytes: [UInt8] = []
    private var xmlRecord: XMLRecord?

    /// An empty row for ``TableSource/next(into:)`` to fill, again and again (its arrays keep
    /// their capacity, so reading a row allocates nothing for them).
    init(slotCount: Int) {
        values = [String?](repeating: nil, count: slotCount)
    }

    /// Refills this row from a CSV record, keeping the arrays' storage.
    fileprivate mutating func fill(from record: CSVReader.RecordBuffers, indices: [Int?], headerCount: Int) {
        line = record.line
        xmlRecord = nil
        let count = record.fieldCount
        record.withFields { field in
            for (slot, index) in indices.enumerated() {
                if let index, index < count { values[slot] = field(index) } else { values[slot] = nil }
            }
        }
        problem = record.problem
        if problem == nil && count != headerCount {
            problem = (.wrongFieldCount, "\(count) fields; the header has \(headerCount)")
        }
        rawBytes.removeAll(keepingCapacity: true)
        rawBytes.append(contentsOf: record.raw)
    }

    fileprivate mutating func fill(from record: XMLRecord) {
        line = record.line
        problem = record.problem
        rawBytes.removeAll(keepingCapacity: true)
        xmlRecord = record
        for slot in values.indices { values[slot] = nil }
    }

    /// The row's text for `rejects.csv`.
    var raw: String { xmlRecord?.raw ?? String(decoding: rawBytes, as: UTF8.self) }
    /// ``raw`` as UTF-8 bytes, without a String in between for CSV rows.
    var rawUTF8: [UInt8] { xmlRecord?.rawUTF8 ?? rawBytes }
}

/// Rows of one input file, CSV or XML, with the header (or element names) resolved to slots.
final class TableSource {
    private enum Reader {
        case csv(CSVReader, headerCount: Int, indices: [Int?])
        case xml(XMLReader, slotOf: [String: Int])
    }

    private var reader: Reader
    /// XML: the slot of each name number the reader has given (-1: no slot), filled as names
    /// first appear, so a record's parts find their slots without hashing their names.
    private var slotOfNameNumber: [Int] = []
    let slotCount: Int
    let displayName: String

    /// Opens `path` and resolves `sources` (one source name per slot). `required[i]` says
    /// whether slot i's column must be present in a CSV header.
    /// - Throws: ``ImportFailure/badInput`` for an unreadable or empty file, or a header that
    ///   lacks a needed column: header-level problems stop the import.
    convenience init(path: String, format: InputFormat, mapping: Mapping, recordElement: String, sources: [String])
        throws
    {
        try self.init(
            source: try InputSource(path: path), format: format, mapping: mapping, recordElement: recordElement,
            sources: sources)
    }

    init(source: InputSource, format: InputFormat, mapping: Mapping, recordElement: String, sources: [String]) throws {
        let path = source.displayName
        displayName = path
        slotCount = sources.count
        switch format {
        case .xml:
            var slotOf: [String: Int] = [:]
            for (slot, name) in sources.enumerated() { slotOf[name] = slot }
            reader = .xml(try XMLReader(source: source, recordElement: recordElement), slotOf: slotOf)
        case .csv:
            // Mapping.check guarantees single ASCII characters and a supported encoding.
            let csv = try CSVReader(
                source: source, delimiter: mapping.delimiter.utf8.first!, quote: mapping.quote.utf8.first!,
                encoding: TextEncoding(name: mapping.encoding)!)
            guard let header = try csv.next() else {
                throw ImportFailure.badInput(path: path, line: nil, reason: "empty file: no header line")
            }
            // XML read as CSV (standard input has no extension to tell the format by).
            let xmlHint =
                Self.looksLikeXML(header.raw)
                ? "; the input looks like XML (it starts with '<'): add --format xml" : ""
            if let problem = header.problem {
                let hint =
                    (problem.reason == .invalidEncoding
                        ? " (is the file's encoding '\(mapping.encoding)'? set \"encoding\" in the mapping)" : "")
                    + xmlHint
                throw ImportFailure.badInput(path: path, line: header.line, reason: "header: \(problem.detail)\(hint)")
            }
            let names = header.fields.map { $0.trimmingSpaces }
            var indices: [Int?] = []
            var missing: [String] = []
            for name in sources {
                let matches = names.indices.filter { names[$0] == name }
                if matches.count > 1 {
                    throw ImportFailure.badInput(
                        path: path, line: header.line,
                        reason: "header names column '\(Snippet.bounded(name))' more than once")
                }
                if matches.isEmpty { missing.append(name) }
                indices.append(matches.first)
            }
            if !missing.isEmpty {
                let shown = Snippet.bounded(String(decoding: header.raw, as: UTF8.self))
                let hint =
                    xmlHint.isEmpty
                    ? (missing.count == sources.count ? "; is the header line missing or the delimiter wrong?" : "")
                        + "; `importer inspect \(path)` shows the file's columns and drafts a mapping"
                    : xmlHint
                throw ImportFailure.badInput(
                    path: path, line: header.line,
                    reason:
                        "header lacks column\(missing.count > 1 ? "s" : "") \(missing.map { "'\($0)'" }.joined(separator: ", ")) (header: \(shown))\(hint)"
                )
            }
            reader = .csv(csv, headerCount: names.count, indices: indices)
        }
    }

    /// Whether a first line read as CSV is the start of an XML document: `<` after an optional
    /// byte-order mark and white space.
    static func looksLikeXML(_ line: [UInt8]) -> Bool {
        var bytes = line[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        return bytes.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A } == 0x3C
    }

    var bytesRead: Int {
        switch reader {
        case .csv(let csv, _, _): return csv.bytesRead
        case .xml(let xml, _): return xml.bytesRead
        }
    }

    var digest: String {
        switch reader {
        case .csv(let csv, _, _): return csv.digest
        case .xml(let xml, _): return xml.digest
        }
    }

    /// A row to pass to ``next(into:)``.
    func makeRow() -> SourceRow { SourceRow(slotCount: slotCount) }

    /// Reads the next row into `row` (made by ``makeRow()``); `false` at the end of the file.
    func next(into row: inout SourceRow) throws -> Bool {
        switch reader {
        case .csv(let csv, let headerCount, let indices):
            guard try csv.advance(), let record = csv.current else { return false }
            row.fill(from: record, indices: indices, headerCount: headerCount)
            return true
        case .xml(let xml, let slotOf):
            guard let record = try xml.next() else { return false }
            row.fill(from: record)
            for (index, part) in record.parts.enumerated() {
                let number = index < record.nameNumbers.count ? record.nameNumbers[index] : -1
                guard number >= 0 else {
                    if let slot = slotOf[part.name] { row.values[slot] = part.text }
                    continue
                }
                while slotOfNameNumber.count <= number { slotOfNameNumber.append(-2) }
                if slotOfNameNumber[number] == -2 { slotOfNameNumber[number] = slotOf[part.name] ?? -1 }
                let slot = slotOfNameNumber[number]
                if slot >= 0 { row.values[slot] = part.text }
            }
            return true
        }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs, CR and LF (XML text and quoted CSV fields keep
    /// them; ids and codes never mean them).
    var trimmingSpaces: String {
        let utf8 = self.utf8
        // Nearly every value has nothing to trim: look at its two ends in place (a native
        // string's bytes are contiguous) before any index arithmetic.
        let untouched = utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard let first = bytes.first, let last = bytes.last else { return true }
            func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
            return !isSpace(first) && !isSpace(last)
        }
        if untouched == true { return self }
        guard let first = utf8.first, let last = utf8.last,
            first == 0x20 || first == 0x09 || first == 0x0A || first == 0x0D || last == 0x20 || last == 0x09
                || last == 0x0A || last == 0x0D
        else { return self }
        var start = utf8.startIndex
        var end = utf8.endIndex
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        while start < end, isSpace(utf8[start]) { start = utf8.index(after: start) }
        while end > start, isSpace(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return String(self[start..<end])
    }
}
