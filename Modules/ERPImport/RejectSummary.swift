import Formats

/// One cause of rejected rows: the reason, and where it applies the field and the value.
struct RejectCause: Hashable {
    var reason: RejectReason
    var field: String?
    /// For `unknown_value`: the unfamiliar value (part of the cause).
    var value: String?
    /// For other reasons: one example of the offending text (not part of the cause).
    var example: String?

    init(reason: RejectReason, field: String? = nil, value: String? = nil, example: String? = nil) {
        self.reason = reason
        self.field = field
        self.value = value
        self.example = example
    }

    static func == (a: RejectCause, b: RejectCause) -> Bool {
        a.reason == b.reason && a.field == b.field && a.value == b.value
    }
    func hash(into hasher: inout Hasher) {
        hasher.combine(reason)
        hasher.combine(field)
        hasher.combine(value)
    }
}

/// Rejected rows counted by cause and table, so that an import that fails its reject cap can
/// say what to change: `customers industry 'consumer_electronics' (909 rows, first on line 2)
/// is not in the vocabulary: add it under customers.vocabularies.industry, …`.
struct RejectSummary {
    struct Entry {
        var count = 0
        var firstLine = 0
        var example: String?
    }

    /// At most this many distinct causes are kept (a file of a million distinct bad values
    /// stays bounded); the rest are counted together.
    static let maximumCauses = 10_000
    private(set) var entries: [String: [RejectCause: Entry]] = [:]
    private(set) var uncounted = 0

    mutating func add(_ cause: RejectCause, table: String, line: Int) {
        if entries[table]?[cause] == nil {
            guard entries.values.map(\.count).reduce(0, +) < Self.maximumCauses else {
                uncounted += 1
                return
            }
            entries[table, default: [:]][cause] = Entry(count: 0, firstLine: line, example: cause.example)
        }
        entries[table]![cause]!.count += 1
    }

    /// The `limit` largest causes, one sentence each, with what to change in the mapping.
    func topCauses(_ limit: Int = 5, dateFormats: [String]) -> [String] {
        let all = entries.flatMap { table, causes in causes.map { (table: table, cause: $0.key, entry: $0.value) } }
            .sorted { ($0.entry.count, $1.table, $1.entry.firstLine) > ($1.entry.count, $0.table, $0.entry.firstLine) }
        return all.prefix(limit).map { item in
            let where_ =
                "\(item.entry.count) row\(item.entry.count == 1 ? "" : "s"), first on line \(item.entry.firstLine)"
            let table = item.table, field = item.cause.field ?? ""
            switch item.cause.reason {
            case .unknownValue:
                let value = Snippet.bounded(item.cause.value ?? "", limit: 60)
                if field == "result" {
                    return
                        "\(table) result '\(value)' (\(where_)) is not a known result: map it under \(table).values.result "
                        + "(and list it in orders if it is an order); an unknown result is never guessed"
                }
                return
                    "\(table) \(field) '\(value)' (\(where_)) is not in the vocabulary: add it under \(table).vocabularies.\(field), "
                    + "map it under \(table).values.\(field), or set \(table).unknown.\(field) to \"accept\""
            case .unparseableDate:
                let example = item.entry.example.map { " like '\(Snippet.bounded($0, limit: 40))'" } ?? ""
                return
                    "\(table) \(field): \(where_)\(example) match none of the date formats \(dateFormats.joined(separator: ", ")) "
                    + "(or fall outside 1900–2999): add the export's pattern to date_formats"
            case .missingField:
                return
                    "\(table) \(field) is empty or absent (\(where_)): map the column that holds it under \(table).columns.\(field)"
            case .unparseableNumber:
                let example = item.entry.example.map { " such as '\(Snippet.bounded($0, limit: 40))'" } ?? ""
                return "\(table) \(field) holds values that are not numbers\(example) (\(where_))"
            case .unknownCustomer:
                return
                    "\(table): visits of customers the customers file does not list (\(where_)): import the matching customer export"
            case .wrongFieldCount:
                return
                    "\(table): rows with another number of fields than the header (\(where_)): check the delimiter and quote"
            default:
                return "\(table) \(item.cause.reason.rawValue) (\(where_))"
            }
        }
    }
}
