import Dataset
import Formats
import Foundation

/// What to do with a categorical value that is not in the field's vocabulary after the value map.
public enum UnknownValuePolicy: String, Codable, Sendable, Equatable {
    /// Keep the value as it is: the vocabulary grows (the model sees a new category).
    case accept
    /// Replace it with `other`, and count the replacement in the manifest's history line.
    case other
    /// Refuse the row (`unknown_value`), keeping it in `rejects.csv`.
    case reject
}

/// The input syntax.
public enum InputFormat: String, Codable, Sendable, CaseIterable {
    case csv, xml
}

/// An extra column carried through to the dataset as it is (categorical) or as a number.
public struct ExtraColumn: Codable, Sendable, Equatable {
    /// The column's name in the dataset (`region`, `amount`).
    public var name: String
    /// The source column (CSV header) or child element (XML); defaults to `name`.
    public var column: String
    /// Whether an empty value refuses the row (`missing_field`); numeric extras default to
    /// optional (empty = missing), categorical extras too.
    public var required: Bool

    public init(name: String, column: String? = nil, required: Bool = false) {
        self.name = name
        self.column = column ?? name
        self.required = required
    }

    enum CodingKeys: String, CodingKey { case name, column, required }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        column = try container.decodeIfPresent(String.self, forKey: .column) ?? name
        required = try container.decodeIfPresent(Bool.self, forKey: .required) ?? false
    }
}

/// How one table (visits or customers) is read: source names, value maps, vocabularies,
/// policies for unknown values, and extra columns. Every member is an override of the default
/// layout (BRIEF §4); an empty `TableMapping` reads the default layout.
public struct TableMapping: Codable, Sendable, Equatable {
    /// Standard field (`visit_id`, `visit_date`, `customer_type`…) → source column (CSV header)
    /// or child element name (XML; `@name` is an attribute of the record element).
    public var columns: [String: String]
    /// Field → (source value → normalised value), applied to trimmed values before the
    /// vocabulary check (`{"result": {"成功拿到订单": "order"}}`).
    public var values: [String: [String: String]]
    /// Field → allowed normalised values, replacing the default vocabulary of that field.
    public var vocabularies: [String: [String]]
    /// Field → policy for values outside the vocabulary (default `reject`).
    public var unknown: [String: UnknownValuePolicy]
    /// Extra categorical columns, in dataset order.
    public var categorical: [ExtraColumn]
    /// Extra numeric columns, in dataset order.
    public var numeric: [ExtraColumn]
    /// Free-text columns (visits only: a rep's notes), carried as they are after the
    /// categorical extras and declared as text in the manifest, so that the feature pipeline
    /// reads them as text (Docs/Features.md, "Visit notes") rather than as categories.
    public var text: [ExtraColumn] = []
    /// XML only: the record element (`Visit`, `Customer` by default).
    public var record: String?
    /// This file's own dialect, where it differs from the mapping's top level (a `;` visits
    /// export beside a `,` customer master): delimiter, quote, encoding and date formats.
    public var delimiter: String?
    public var quote: String?
    public var encoding: String?
    public var dateFormats: [String]?

    public init(
        columns: [String: String] = [:], values: [String: [String: String]] = [:],
        vocabularies: [String: [String]] = [:],
        unknown: [String: UnknownValuePolicy] = [:], categorical: [ExtraColumn] = [], numeric: [ExtraColumn] = [],
        record: String? = nil
    ) {
        self.columns = columns
        self.values = values
        self.vocabularies = vocabularies
        self.unknown = unknown
        self.categorical = categorical
        self.numeric = numeric
        self.record = record
    }

    enum CodingKeys: String, CodingKey {
        case columns, values, vocabularies, unknown, categorical, numeric, text, record, delimiter, quote, encoding
        case dateFormats = "date_formats"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        columns = try container.decodeIfPresent([String: String].self, forKey: .columns) ?? [:]
        values = try container.decodeIfPresent([String: [String: String]].self, forKey: .values) ?? [:]
        vocabularies = try container.decodeIfPresent([String: [String]].self, forKey: .vocabularies) ?? [:]
        unknown = try container.decodeIfPresent([String: UnknownValuePolicy].self, forKey: .unknown) ?? [:]
        categorical = try container.decodeIfPresent([ExtraColumn].self, forKey: .categorical) ?? []
        numeric = try container.decodeIfPresent([ExtraColumn].self, forKey: .numeric) ?? []
        text = try container.decodeIfPresent([ExtraColumn].self, forKey: .text) ?? []
        record = try container.decodeIfPresent(String.self, forKey: .record)
        delimiter = try container.decodeIfPresent(String.self, forKey: .delimiter)
        quote = try container.decodeIfPresent(String.self, forKey: .quote)
        encoding = try container.decodeIfPresent(String.self, forKey: .encoding)
        dateFormats = try container.decodeIfPresent([String].self, forKey: .dateFormats)
    }
}

/// A mapping file: how an ERP export is read into a dataset directory. Documented, with
/// examples, in `Docs/FileFormats.md` and `Fixtures/mappings/`.
public struct Mapping: Codable, Sendable, Equatable {
    /// `visits` (an ERP visit log) or `transactions` (every row is an order).
    public var kind: DatasetManifest.Kind
    /// CSV field delimiter: one ASCII character (`,`, `;`, `\t`, `|`).
    public var delimiter: String
    /// CSV quote character.
    public var quote: String
    /// CSV text encoding: `utf-8`, `gb18030` or `gbk` (decoded as GB18030, its superset).
    /// XML files name their own encoding in their declaration.
    public var encoding: String
    /// Accepted date formats, tried in order: `yyyy` (4 digits), `MM`/`dd` (2 digits), `M`/`d`
    /// (1 or 2 digits), other characters literal. A time of day may follow any of them.
    public var dateFormats: [String]
    /// Normalised `result` values that count as an order.
    public var orders: [String]
    public var visits: TableMapping
    public var customers: TableMapping

    public static let defaultDateFormats = ["yyyy-MM-dd", "yyyy/M/d", "yyyyMMdd"]

    public init(
        kind: DatasetManifest.Kind = .visits, delimiter: String = ",", quote: String = "\"", encoding: String = "utf-8",
        dateFormats: [String] = Mapping.defaultDateFormats, orders: [String] = ["order"],
        visits: TableMapping = TableMapping(), customers: TableMapping = TableMapping()
    ) {
        self.kind = kind
        self.delimiter = delimiter
        self.quote = quote
        self.encoding = encoding
        self.dateFormats = dateFormats
        self.orders = orders
        self.visits = visits
        self.customers = customers
    }

    enum CodingKeys: String, CodingKey {
        case kind, delimiter, quote, encoding, orders, visits, customers
        case dateFormats = "date_formats"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decodeIfPresent(DatasetManifest.Kind.self, forKey: .kind) ?? .visits
        delimiter = try container.decodeIfPresent(String.self, forKey: .delimiter) ?? ","
        quote = try container.decodeIfPresent(String.self, forKey: .quote) ?? "\""
        encoding = try container.decodeIfPresent(String.self, forKey: .encoding) ?? "utf-8"
        dateFormats = try container.decodeIfPresent([String].self, forKey: .dateFormats) ?? Mapping.defaultDateFormats
        orders = try container.decodeIfPresent([String].self, forKey: .orders) ?? ["order"]
        visits = try container.decodeIfPresent(TableMapping.self, forKey: .visits) ?? TableMapping()
        customers = try container.decodeIfPresent(TableMapping.self, forKey: .customers) ?? TableMapping()
    }

    // MARK: The default layout

    /// Fixed vocabularies of the default layout (what Revisit's simulator writes).
    public static let defaultVocabularies: [String: [String]] = [
        "method": ["phone", "im", "onsite", "email"],
        "target": ["first_order", "dormant_3m", "active", "key_account"],
        "purpose": ["demand_mining", "follow_up", "quotation", "relationship"],
        "result": ["order", "no_demand", "no_answer", "not_decision_maker", "price_rejected"],
        "customer_type": ["trader", "manufacturer", "design_house"],
        "industry": ["consumer", "automotive", "medical", "industrial", "telecom"],
        "tag": ["key", "high_potential", "small_medium"]
    ]

    /// The standard fields a visits table needs, in dataset order.
    /// (The dataset's fixed visit columns but `order`, which the mapping derives from `result`.)
    public static let visitFields = VisitColumn.allCases.filter { $0 != .order }.map(\.name)
    /// The standard fields a transactions table needs (every row is an order).
    public static let transactionFields = [VisitColumn.customerID, .visitDate].map(\.name)
    /// The standard fields of a customers table.
    public static let customerFields = CustomerColumn.allCases.map(\.name)

    static let xmlVisitElements = [
        "visit_id": "@id", "customer_id": "CustomerId", "rep_id": "RepId", "visit_date": "Date", "method": "Method",
        "target": "Target", "purpose": "Purpose", "result": "Result"
    ]
    static let xmlCustomerElements = [
        "customer_id": "@id", "customer_type": "Type", "industry": "Industry", "tag": "Tag"
    ]

    /// The standard fields of the visits table for this mapping's kind.
    public var visitTableFields: [String] { kind == .visits ? Self.visitFields : Self.transactionFields }

    /// The source column or element that holds `field` of the visits table.
    public func visitSource(_ field: String, format: InputFormat) -> String {
        if let name = visits.columns[field] { return name }
        if kind == .transactions && field == "visit_date" { return format == .xml ? "Date" : "order_date" }
        return format == .xml ? Self.xmlVisitElements[field] ?? field : field
    }

    /// The source column or element that holds `field` of the customers table.
    public func customerSource(_ field: String, format: InputFormat) -> String {
        customers.columns[field] ?? (format == .xml ? Self.xmlCustomerElements[field] ?? field : field)
    }

    /// The numeric extras of the visits table: the mapping's, or for a transactions log with
    /// none named, `quantity` and `amount` (optional), the plain log's usual columns.
    public var visitNumeric: [ExtraColumn] {
        if kind == .transactions && visits.numeric.isEmpty {
            return [ExtraColumn(name: "quantity"), ExtraColumn(name: "amount")]
        }
        return visits.numeric
    }

    /// The string extras of the visits table in dataset order: the categorical columns, then
    /// the free-text ones (the dataset stores both as strings; the manifest says which are text).
    public var visitStringExtras: [ExtraColumn] { visits.categorical + visits.text }

    /// Reads and checks a mapping file. Unknown keys are errors: a misspelt key would otherwise
    /// be ignored silently and the import would use the default for it.
    public static func load(path: String) throws -> Mapping {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImportFailure.badInput(path: path, line: nil, reason: "cannot read mapping file")
        }
        return try decode(data, path: path)
    }

    /// Decodes and checks mapping JSON (`path` names it in errors).
    public static func decode(_ data: Data, path: String) throws -> Mapping {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ImportFailure.badInput(path: path, line: nil, reason: "mapping is not a JSON object")
        }
        if let repeated = JSONDuplicateKeys.first(in: [UInt8](data)) {
            throw ImportFailure.badInput(
                path: path, line: nil, reason: "key '\(repeated)' appears twice; give each key once")
        }
        let topKeys: Set<String> = [
            "kind", "delimiter", "quote", "encoding", "date_formats", "orders", "visits", "customers", "comment"
        ]
        let tableKeys: Set<String> = [
            "columns", "values", "vocabularies", "unknown", "categorical", "numeric", "text", "record", "comment",
            "delimiter", "quote", "encoding",
            "date_formats"
        ]
        if let unknown = object.keys.filter({ !topKeys.contains($0) }).sorted().first {
            throw ImportFailure.badInput(path: path, line: nil, reason: "unknown mapping key '\(unknown)'")
        }
        let extraKeys: Set<String> = ["name", "column", "required", "comment"]
        for table in ["visits", "customers"] {
            guard let inner = object[table] as? [String: Any] else { continue }
            if let unknown = inner.keys.filter({ !tableKeys.contains($0) }).sorted().first {
                throw ImportFailure.badInput(path: path, line: nil, reason: "unknown key '\(unknown)' in '\(table)'")
            }
            for group in ["categorical", "numeric", "text"] {
                for (position, extra) in ((inner[group] as? [Any]) ?? []).enumerated() {
                    if let extra = extra as? [String: Any],
                        let unknown = extra.keys.filter({ !extraKeys.contains($0) }).sorted().first
                    {
                        throw ImportFailure.badInput(
                            path: path, line: nil,
                            reason:
                                "unknown key '\(unknown)' in '\(table).\(group)[\(position)]' (keys: name, column, required)"
                        )
                    }
                }
            }
        }
        let mapping: Mapping
        do {
            mapping = try JSONDecoder().decode(Mapping.self, from: data)
        } catch {
            throw ImportFailure.badInput(path: path, line: nil, reason: "mapping does not match the schema: \(error)")
        }
        try mapping.check(path: path)
        try mapping.checkFieldNames(path: path)
        return mapping
    }

    /// Every field named as a key of `columns`, `values`, `vocabularies` and `unknown` must be
    /// one the table has (the docs' promise: a misspelt name is an error, not a silent default).
    /// `columns` names the table's standard fields; the other three its categorical fields,
    /// standard and extra.
    func checkFieldNames(path: String) throws {
        let visitStandard = visitTableFields
        let visitCategorical =
            (kind == .visits ? ["method", "target", "purpose", "result"] : []) + visits.categorical.map(\.name)
        let customerCategorical = ["customer_type", "industry", "tag"] + customers.categorical.map(\.name)
        let tables: [(String, TableMapping, [String], [String])] = [
            ("visits", visits, visitStandard, visitCategorical),
            ("customers", customers, Self.customerFields, customerCategorical)
        ]
        for (table, mapping, standard, categorical) in tables {
            let groups: [(String, [String], [String])] = [
                ("columns", Array(mapping.columns.keys), standard), ("values", Array(mapping.values.keys), categorical),
                ("vocabularies", Array(mapping.vocabularies.keys), categorical),
                ("unknown", Array(mapping.unknown.keys), categorical)
            ]
            for (group, keys, allowed) in groups {
                if let unknown = keys.filter({ !allowed.contains($0) }).sorted().first {
                    throw ImportFailure.badInput(
                        path: path, line: nil,
                        reason:
                            "unknown field '\(unknown)' in '\(table).\(group)'; \(group == "columns" ? "this table's fields are" : "its categorical fields are") \(allowed.joined(separator: ", "))"
                    )
                }
            }
        }
    }

    /// The mapping as one table's file is read: the top-level dialect with the table's own
    /// `delimiter`, `quote`, `encoding` and `date_formats` where it sets them.
    public func dialect(of table: TableMapping) -> Mapping {
        var resolved = self
        if let delimiter = table.delimiter { resolved.delimiter = delimiter }
        if let quote = table.quote { resolved.quote = quote }
        if let encoding = table.encoding { resolved.encoding = encoding }
        if let dateFormats = table.dateFormats { resolved.dateFormats = dateFormats }
        return resolved
    }

    /// Checks the values a decoder cannot: one-character delimiter and quote, a known encoding,
    /// date formats with a year, month and day — at the top and in each table's own dialect.
    public func check(path: String) throws {
        try checkDialect(path: path, where: "")
        for (name, table) in [("visits", visits), ("customers", customers)]
        where table.delimiter != nil || table.quote != nil || table.encoding != nil || table.dateFormats != nil {
            try dialect(of: table).checkDialect(path: path, where: "\(name).")
        }
        try checkColumns(path: path)
    }

    private func checkDialect(path: String, where prefix: String) throws {
        func fail(_ reason: String) -> ImportFailure { .badInput(path: path, line: nil, reason: reason) }
        guard delimiter.utf8.count == 1, let d = delimiter.utf8.first, d < 0x80, d != 0x0A, d != 0x0D else {
            throw fail("\(prefix)delimiter must be one ASCII character, not '\(Snippet.bounded(delimiter, limit: 20))'")
        }
        guard quote.utf8.count == 1, let q = quote.utf8.first, q < 0x80, q != d else {
            throw fail("\(prefix)quote must be one ASCII character different from the delimiter")
        }
        guard TextEncoding(name: encoding) != nil else {
            throw fail(
                "\(prefix)encoding '\(Snippet.bounded(encoding, limit: 20))' is not supported (utf-8, gb18030, gbk)")
        }
        guard !dateFormats.isEmpty else { throw fail("\(prefix)date_formats is empty") }
        for format in dateFormats where DateFormat(format) == nil {
            throw fail("\(prefix)date format '\(Snippet.bounded(format, limit: 40))' needs yyyy, M or MM, and d or dd")
        }
    }

    private func checkColumns(path: String) throws {
        func fail(_ reason: String) -> ImportFailure { .badInput(path: path, line: nil, reason: reason) }
        if kind == .visits, let policy = visits.unknown["result"], policy != .reject {
            throw fail(
                "visits.unknown.result must be reject, not \(policy.rawValue): an unknown result is never guessed to be an order or a failure; map it under visits.values.result (and list order results in orders)"
            )
        }
        var names = Set<String>()
        for extra in visitStringExtras + visitNumeric
        where !names.insert(extra.name).inserted || Dataset.visitHeader.contains(extra.name) {
            throw fail("extra visit column '\(extra.name)' repeats a column name")
        }
        if !customers.text.isEmpty {
            throw fail(
                "customers.text: free-text columns are read from visits only (a rep's notes); carry a customer text as customers.categorical"
            )
        }
        names = []
        for extra in customers.categorical + customers.numeric
        where !names.insert(extra.name).inserted || Dataset.customerHeader.contains(extra.name) {
            throw fail("extra customer column '\(extra.name)' repeats a column name")
        }
    }

    /// The mapping as stable JSON (sorted keys), as recorded in the manifest.
    public func canonicalJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain value types cannot fail.
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
