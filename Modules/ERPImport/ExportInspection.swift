import Dataset
import Formats
import Foundation

/// What `importer inspect` found in one CSV export: its dialect (encoding, byte-order mark,
/// delimiter), and per column the standard field it most likely holds, its type, its distinct
/// values with counts and the date formats that read all of it. ``ExportInspection/draftMapping``
/// turns two of these (visits, customers) into a mapping that imports the files as they are.
public struct FileInspection: Sendable {
    public enum Role: String, Sendable { case visits, customers }

    public struct Column: Sendable {
        public var header: String
        /// The standard field this column most likely holds (`visit_date`, `customer_id`…), or nil.
        public var field: String?
        /// `date`, `number`, `text` or `empty`.
        public var type: String
        public var nonEmpty: Int
        /// Distinct values with their counts, most frequent first (at most ``maximumDistinct``
        /// are tracked; `distinctOverflow` says more were seen).
        public var values: [(value: String, count: Int)]
        public var distinctOverflow: Bool
        /// Candidate date patterns that read every non-empty value.
        public var dateFormats: [String]
    }

    public var path: String
    public var role: Role
    public var bytes: Int
    public var encoding: String
    public var byteOrderMark: Bool
    public var delimiter: String
    public var rows: Int
    /// Rows whose field count differs from the header's.
    public var ragged: Int
    public var columns: [Column]
    /// XML: the record element found (the first child of the root); nil for CSV.
    public var recordElement: String?

    /// Distinct values kept per column: enough for any vocabulary, bounded for id columns.
    public static let maximumDistinct = 1_000
}

/// `importer inspect`: reads CSV exports, finds their dialect and columns, and drafts a mapping.
public enum ExportInspection {
    /// Date patterns tried on every column, the usual export forms first.
    public static let candidateDateFormats = [
        "yyyy-MM-dd", "yyyy/M/d", "yyyyMMdd", "yyyy.M.d", "d.M.yyyy", "dd/MM/yyyy", "MM/dd/yyyy", "d-M-yyyy",
        "yyyy年M月d日"
    ]

    /// Header names (lowercased, without spaces, `_` and `-`) that say which standard field a
    /// column holds, English and Chinese ERP forms.
    static let synonyms: [String: [String]] = [
        "visit_id": ["visitid", "visitno", "visitnumber", "id", "回访编号", "拜访编号", "回访单号", "拜访单号", "编号", "单号"],
        "customer_id": [
            "customerid", "customer", "customerno", "customercode", "clientid", "client", "客户编号", "客户代码", "客户id", "客户",
            "id"
        ],
        "rep_id": [
            "repid", "rep", "salesrep", "salesperson", "seller", "employee", "销售编号", "业务员", "销售", "销售员", "回访人", "拜访人"
        ],
        "visit_date": ["visitdate", "date", "orderdate", "invoicedate", "日期", "回访日期", "拜访日期", "下单日期"],
        "method": ["method", "channel", "contactmethod", "回访方式", "拜访方式", "方式", "渠道"],
        "target": ["target", "targettype", "回访对象", "拜访对象", "对象"],
        "purpose": ["purpose", "goal", "回访目的", "拜访目的", "目的"],
        "result": ["result", "outcome", "status", "回访结果", "拜访结果", "结果"],
        "customer_type": ["customertype", "type", "客户类型", "类型"],
        "industry": ["industry", "sector", "所属行业", "行业"],
        "tag": ["tag", "segment", "tier", "level", "客户标签", "标签", "等级"]
    ]

    static func fields(for role: FileInspection.Role) -> [String] {
        role == .visits ? Mapping.visitFields : Mapping.customerFields
    }

    /// Reads `path` (all rows when `maximumRows` is nil) and describes it.
    public static func inspect(path: String, role: FileInspection.Role, maximumRows: Int? = nil) throws
        -> FileInspection
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImportFailure.badInput(path: path, line: nil, reason: "cannot read the file")
        }
        let bytes = [UInt8](data)
        guard !bytes.isEmpty else {
            throw ImportFailure.badInput(path: path, line: nil, reason: "empty file: no header line")
        }
        if DatasetImport.formatFor(path) == .xml {
            return try inspectXML(bytes, path: path, role: role, maximumRows: maximumRows)
        }
        let (encoding, bom) = detectEncoding(bytes)
        let delimiter = detectDelimiter(bytes, encoding: encoding)
        let reader = try CSVReader(
            source: InputSource(bytes: bytes, name: path), delimiter: delimiter, quote: UInt8(ascii: "\""),
            encoding: encoding)
        guard let header = try reader.next() else {
            throw ImportFailure.badInput(path: path, line: nil, reason: "empty file: no header line")
        }
        var tally = Tally(headers: header.fields.map { $0.trimmingSpaces })
        var rows = 0, ragged = 0
        while let record = try reader.next() {
            if let maximumRows, rows >= maximumRows { break }
            rows += 1
            if record.fields.count != tally.headers.count { ragged += 1 }
            for (index, field) in record.fields.prefix(tally.headers.count).enumerated() {
                tally.add(field.trimmingSpaces, column: index)
            }
        }
        var columns = tally.columns()
        assignFields(&columns, role: role)
        return FileInspection(
            path: path, role: role, bytes: bytes.count, encoding: encoding == .utf8 ? "utf-8" : "gb18030",
            byteOrderMark: bom,
            delimiter: String(UnicodeScalar(delimiter)), rows: rows, ragged: ragged, columns: columns,
            recordElement: nil)
    }

    /// An XML export: the record element is the first child of the root; its attributes
    /// (`@id`) and child elements are the columns, in the order they first appear.
    static func inspectXML(_ bytes: [UInt8], path: String, role: FileInspection.Role, maximumRows: Int?) throws
        -> FileInspection
    {
        guard let record = firstRecordElement(bytes) else {
            throw ImportFailure.badInput(path: path, line: nil, reason: "no record element under the document's root")
        }
        let reader = try XMLReader(source: InputSource(bytes: bytes, name: path), recordElement: record)
        var tally = Tally(headers: [])
        var rows = 0
        while let element = try reader.next() {
            if let maximumRows, rows >= maximumRows { break }
            rows += 1
            for (name, text) in element.parts { tally.add(text.trimmingSpaces, column: tally.column(named: name)) }
        }
        var columns = tally.columns()
        assignFields(&columns, role: role)
        return FileInspection(
            path: path, role: role, bytes: bytes.count, encoding: "declared by the file", byteOrderMark: false,
            delimiter: "", rows: rows,
            ragged: 0, columns: columns, recordElement: record)
    }

    /// The name of the first element inside the root element (skipping the declaration,
    /// comments, processing instructions and a DOCTYPE), or nil.
    static func firstRecordElement(_ bytes: [UInt8]) -> String? {
        var depth = 0
        var index = 0
        let prefix = bytes.prefix(1 << 20)
        while index < prefix.count {
            guard prefix[index] == UInt8(ascii: "<"), index + 1 < prefix.count else { index += 1; continue }
            let next = prefix[index + 1]
            if next == UInt8(ascii: "?") || next == UInt8(ascii: "!") || next == UInt8(ascii: "/") {
                index += 2; continue
            }
            var end = index + 1
            while end < prefix.count,
                ![0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ">"), UInt8(ascii: "/")].contains(prefix[end])
            { end += 1 }
            if depth == 1 { return String(decoding: prefix[(index + 1)..<end], as: UTF8.self) }
            depth += 1
            index = end
        }
        return nil
    }

    /// Distinct values per column, counted as rows are read.
    struct Tally {
        var headers: [String]
        var counts: [[String: Int]]
        var overflow: [Bool]
        var nonEmpty: [Int]
        var index: [String: Int] = [:]

        init(headers: [String]) {
            self.headers = headers
            counts = Array(repeating: [:], count: headers.count)
            overflow = Array(repeating: false, count: headers.count)
            nonEmpty = Array(repeating: 0, count: headers.count)
            for (position, name) in headers.enumerated() where index[name] == nil { index[name] = position }
        }

        /// The column called `name`, added at the end the first time it is seen.
        mutating func column(named name: String) -> Int {
            if let known = index[name] { return known }
            headers.append(name)
            counts.append([:])
            overflow.append(false)
            nonEmpty.append(0)
            index[name] = headers.count - 1
            return headers.count - 1
        }

        mutating func add(_ value: String, column: Int) {
            guard !value.isEmpty else { return }
            nonEmpty[column] += 1
            if counts[column][value] != nil || counts[column].count < FileInspection.maximumDistinct {
                counts[column][value, default: 0] += 1
            } else {
                overflow[column] = true
            }
        }

        func columns() -> [FileInspection.Column] {
            headers.indices.map { column in
                let values = counts[column].sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map {
                    (value: $0.key, count: $0.value)
                }
                let formats =
                    nonEmpty[column] == 0
                    ? []
                    : ExportInspection.candidateDateFormats.filter { pattern in
                        guard let format = DateFormat(pattern) else { return false }
                        return values.allSatisfy {
                            format.parse(Substring($0.value)).map(Day.supportedRange.contains) ?? false
                        }
                    }
                let numeric = nonEmpty[column] > 0 && values.allSatisfy { Double($0.value)?.isFinite ?? false }
                let type = nonEmpty[column] == 0 ? "empty" : !formats.isEmpty ? "date" : numeric ? "number" : "text"
                return FileInspection.Column(
                    header: headers[column], field: nil, type: type, nonEmpty: nonEmpty[column], values: values,
                    distinctOverflow: overflow[column], dateFormats: formats)
            }
        }
    }

    /// UTF-8 (with or without a byte-order mark) when the first megabyte decodes as UTF-8,
    /// else GB18030 when it decodes as that, else UTF-8 (the import will name the bad lines).
    static func detectEncoding(_ bytes: [UInt8]) -> (TextEncoding, bom: Bool) {
        let sample = Array(bytes.prefix(1 << 20))
        if sample.starts(with: TextEncoding.utf8.byteOrderMark) { return (.utf8, true) }
        if sample.starts(with: TextEncoding.gb18030.byteOrderMark) { return (.gb18030, true) }
        // A cut at the sample's end may split a character: judge the whole lines only.
        let whole =
            sample.count == bytes.count ? sample : Array(sample[..<(sample.lastIndex(of: 0x0A) ?? sample.count)])
        if String(validating: whole, as: UTF8.self) != nil { return (.utf8, false) }
        let decoder = LineDecoder(encoding: .gb18030)
        let valid = whole.withUnsafeBufferPointer { decoder.decode($0).valid }
        return (valid ? .gb18030 : .utf8, false)
    }

    /// The delimiter among `,` `;` tab `|` that splits the first lines into the same number
    /// (more than one) of fields most often; `,` when none does.
    static func detectDelimiter(_ bytes: [UInt8], encoding: TextEncoding) -> UInt8 {
        let lines = bytes.prefix(1 << 16).split(separator: 0x0A, maxSplits: 40, omittingEmptySubsequences: true).prefix(
            40)
        var best: (delimiter: UInt8, score: Int, fields: Int) = (UInt8(ascii: ","), 0, 1)
        for delimiter in [UInt8(ascii: ","), UInt8(ascii: ";"), 0x09, UInt8(ascii: "|")] {
            let fieldCounts = lines.map { line -> Int in
                var inQuotes = false, count = 1
                for byte in line {
                    if byte == UInt8(ascii: "\"") {
                        inQuotes.toggle()
                    } else if byte == delimiter && !inQuotes {
                        count += 1
                    }
                }
                return count
            }
            guard let header = fieldCounts.first, header > 1 else { continue }
            let score = fieldCounts.filter { $0 == header }.count
            if (score, header) > (best.score, best.fields) { best = (delimiter, score, header) }
        }
        return best.delimiter
    }

    /// Gives each standard field of `role` to the column whose header names it; the date field,
    /// if no header names it, to the first date-typed column.
    static func assignFields(_ columns: inout [FileInspection.Column], role: FileInspection.Role) {
        func normalized(_ text: String) -> String {
            text.lowercased().filter { $0 != " " && $0 != "_" && $0 != "-" && $0 != "@" }
        }
        var taken = Set<String>()
        // Exact names first for every field, then headers that contain a distinctive name: a
        // short or generic name (`id`, `编号`, `客户`) would claim another field's column.
        let generic: Set<String> = ["编号", "单号", "客户", "销售", "类型", "日期", "方式", "对象", "目的", "结果", "标签", "等级"]
        for exact in [true, false] {
            for field in fields(for: role) where !taken.contains(field) {
                let names = [normalized(field)] + (synonyms[field] ?? [])
                let headers = columns.map { $0.field == nil ? normalized($0.header) : nil }
                var chosen: Int?
                for name in names where chosen == nil {
                    if exact {
                        chosen = headers.firstIndex { $0 == name }
                    } else if name.allSatisfy(\.isASCII)
                        ? name.count >= 5 : (name.count >= 2 && !generic.contains(name))
                    {
                        chosen = headers.firstIndex { $0?.contains(name) ?? false }
                    }
                }
                if let index = chosen {
                    columns[index].field = field
                    taken.insert(field)
                }
            }
        }
        if role == .visits, !taken.contains("visit_date"),
            let index = columns.indices.first(where: { columns[$0].field == nil && columns[$0].type == "date" })
        {
            columns[index].field = "visit_date"
        }
    }

    /// Result values that read as an order (`order`, `成交`, `订单`…) and not as its negation.
    static func looksLikeOrder(_ value: String) -> Bool {
        let text = value.lowercased()
        let negations = ["no ", "not ", "none", "未", "无", "没", "不"]
        guard !negations.contains(where: { text.contains($0) }) else { return false }
        return ["order", "won", "sale", "purchase", "订单", "成交", "下单", "购买", "签约"].contains { text.contains($0) }
    }

    /// Whether an unmapped visits column reads like a rep's notes: text whose header says so
    /// (notes, remarks, comments, memo, 备注, 说明…), or text with too many distinct values to be
    /// a category (over half of its non-empty values distinct, or past the inspection's limit).
    static func looksLikeFreeText(_ column: FileInspection.Column) -> Bool {
        guard column.field == nil, column.type == "text" else { return false }
        let header = column.header.lowercased()
        let named = ["note", "remark", "comment", "memo", "description", "备注", "说明", "记录", "内容", "描述"].contains {
            header.contains($0)
        }
        let varied =
            column.distinctOverflow
            || (column.nonEmpty >= 20 && Double(column.values.count) > 0.5 * Double(column.nonEmpty))
        return named || varied
    }

    /// A mapping that imports `visits` (and `customers`) as inspected: the columns found, each
    /// file's dialect, and for every categorical field the values seen as its vocabulary (so the
    /// inspected files import with no `unknown_value` reject). `orders` holds the result values
    /// that look like an order; `comment` lists every result value for the user to check.
    public static func draftMapping(visits: FileInspection, customers: FileInspection?) -> Mapping {
        var mapping = Mapping()
        func table(_ inspection: FileInspection, categorical: [String]) -> TableMapping {
            var table = TableMapping()
            for column in inspection.columns {
                guard let field = column.field else { continue }
                if column.header != field { table.columns[field] = column.header }
                if categorical.contains(field) { table.vocabularies[field] = column.values.map(\.value).sorted() }
            }
            for column in inspection.columns where column.distinctOverflow {
                // Too many distinct values to list: keep new ones as they come (never for result).
                if let field = column.field, categorical.contains(field), field != "result" {
                    table.vocabularies[field] = nil
                    table.unknown[field] = .accept
                }
            }
            if let record = inspection.recordElement {
                // XML declares its own encoding; the default layout's element names need no entry.
                let defaults = inspection.role == .visits ? Mapping.xmlVisitElements : Mapping.xmlCustomerElements
                for column in inspection.columns {
                    if let field = column.field, defaults[field] == column.header { table.columns[field] = nil }
                }
                if record != (inspection.role == .visits ? "Visit" : "Customer") { table.record = record }
                return table
            }
            if inspection.delimiter != "," { table.delimiter = inspection.delimiter }
            if inspection.encoding != "utf-8" { table.encoding = inspection.encoding }
            return table
        }
        let found = Set(visits.columns.compactMap(\.field))
        if !found.contains("result") && !found.contains("visit_id") && found.contains("customer_id")
            && found.contains("visit_date")
        {
            // Customer and date, no visit id or result: a transaction log (every row an order).
            mapping.kind = .transactions
            var table = TableMapping()
            for column in visits.columns
            where ["customer_id", "visit_date"].contains(column.field ?? "") && column.header != column.field {
                table.columns[column.field!] = column.header
            }
            if let record = visits.recordElement {
                if record != "Visit" { table.record = record }
            } else {
                if visits.delimiter != "," { table.delimiter = visits.delimiter }
                if visits.encoding != "utf-8" { table.encoding = visits.encoding }
            }
            if let format = visits.columns.first(where: { $0.field == "visit_date" })?.dateFormats.first {
                table.dateFormats = [format]
            }
            mapping.visits = table
            return mapping
        }
        mapping.visits = table(visits, categorical: ["method", "target", "purpose", "result"])
        // Free-text columns become notes (read as text by the models); the rest stays unmapped.
        var taken = Set(Dataset.visitHeader)
        mapping.visits.text = visits.columns.filter(looksLikeFreeText).map { column in
            var name = "notes"
            var suffix = 2
            while taken.contains(name) { name = "notes_\(suffix)"; suffix += 1 }
            taken.insert(name)
            return ExtraColumn(name: name, column: column.header)
        }
        if let date = visits.columns.first(where: { $0.field == "visit_date" }), let format = date.dateFormats.first,
            !Mapping.defaultDateFormats.contains(format) || date.dateFormats.count > 1
        {
            mapping.visits.dateFormats = [format]
        }
        let results = visits.columns.first { $0.field == "result" }?.values.map(\.value) ?? []
        mapping.orders = results.filter(looksLikeOrder).sorted()
        if let customers { mapping.customers = table(customers, categorical: ["customer_type", "industry", "tag"]) }
        return mapping
    }

    /// The draft as JSON text for `--write-mapping`, with a `comment` naming what to check.
    public static func draftJSON(_ mapping: Mapping, visits: FileInspection, customers: FileInspection?) -> String {
        let results = visits.columns.first { $0.field == "result" }?.values.map { "\($0.value) (\($0.count))" } ?? []
        var notes = ["Drafted by `importer inspect` from \(visits.path)\(customers.map { " and \($0.path)" } ?? "")."]
        notes.append(
            "Result values seen: \(results.joined(separator: ", ")). 'orders' lists those that look like an order: check it."
        )
        let textColumns = Set(mapping.visits.text.map(\.column))
        if !mapping.visits.text.isEmpty {
            notes.append(
                "Read as free-text notes (visits.text; the models use their significant n-grams): \(mapping.visits.text.map(\.column).joined(separator: ", ")). Remove an entry that is not free text."
            )
        }
        let unmapped = (visits.columns.filter { !textColumns.contains($0.header) } + (customers?.columns ?? [])).filter
        { $0.field == nil }.map(\.header)
        if !unmapped.isEmpty {
            notes.append(
                "Columns not mapped (add them as categorical or numeric extras if wanted): \(unmapped.joined(separator: ", "))."
            )
        }
        for inspection in [visits] + (customers.map { [$0] } ?? []) {
            let missing = fields(for: inspection.role).filter { field in
                !inspection.columns.contains { $0.field == field }
            }
            if !missing.isEmpty {
                notes.append(
                    "No column found for \(inspection.role.rawValue) field\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")): name the header under \(inspection.role.rawValue).columns."
                )
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(mapping)) ?? Data("{}".utf8)
        var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        // Only what the draft sets: empty lists and maps are the defaults and only noise.
        func pruned(_ value: Any) -> Any? {
            if let map = value as? [String: Any] {
                let kept = map.compactMapValues(pruned)
                return kept.isEmpty ? nil : kept
            }
            if let list = value as? [Any], list.isEmpty { return nil }
            return value
        }
        for key in ["visits", "customers"] { object[key] = object[key].flatMap(pruned) }
        object["comment"] = notes.joined(separator: " ")
        let text =
            (try? JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? data
        return String(decoding: text, as: UTF8.self) + "\n"
    }

    /// The report printed on stdout: the dialect, then one line per column.
    public static func describe(_ inspection: FileInspection) -> String {
        var text =
            "\(inspection.path): \(inspection.role.rawValue), \(inspection.bytes) bytes, \(inspection.rows) rows; "
        if let record = inspection.recordElement {
            text += "XML, record element <\(record)>, encoding declared by the file"
        } else {
            text +=
                "encoding \(inspection.encoding)\(inspection.byteOrderMark ? " with a byte-order mark" : ""), delimiter "
            text += inspection.delimiter == "\t" ? "tab" : "'\(inspection.delimiter)'"
        }
        text += inspection.ragged > 0 ? "; \(inspection.ragged) rows with another field count than the header\n" : "\n"
        for column in inspection.columns {
            let field = column.field.map { "→ \($0)" } ?? "→ (not mapped)"
            var line =
                "  \(Snippet.bounded(column.header, limit: 40)) \(field): \(column.type), \(column.nonEmpty) non-empty, "
            line += "\(column.values.count)\(column.distinctOverflow ? "+" : "") distinct"
            if !column.dateFormats.isEmpty { line += ", dates as \(column.dateFormats.joined(separator: " or "))" }
            if column.type != "date",
                column.values.count <= 30
                    || column.field.map({ !["visit_id", "customer_id", "rep_id"].contains($0) }) ?? false
            {
                let shown = column.values.prefix(12).map { "\(Snippet.bounded($0.value, limit: 30)) (\($0.count))" }
                    .joined(separator: ", ")
                line += ": \(shown)\(column.values.count > 12 ? ", …" : "")"
            }
            text += line + "\n"
        }
        return text
    }
}
