#if canImport(Glibc)
    import Glibc
#endif
import Dataset
import Formats

/// Turns source rows into normalised values, or a reason to refuse them. One per table.
struct RowValidator {
    /// The table's slots: standard fields, then categorical extras, then numeric extras.
    let fields: [String]
    let required: [Bool]
    let categoricalSlots: [Int]
    let numericSlots: [Int]
    /// Per slot (indexed by slot, so a row's checks hash no slot numbers): value map,
    /// vocabulary (nil = any), its text for messages, policy. Set for the categorical slots.
    private let valueMaps: [[String: String]]
    private let vocabularies: [Set<String>?]
    private let vocabularyText: [String]
    private let policies: [UnknownValuePolicy]
    private let dateFormats: [DateFormat]
    /// The `visit_date` slot, found once (nil for a table without one).
    private let dateSlot: Int?
    /// Where each value comes from, for messages (`visit_date (column 回访日期)`).
    let sources: [String]
    /// The last date text that parsed and its `YYYY-MM-DD` form: exports list a day's visits
    /// together, so most rows repeat the row before's date and skip the parse.
    private var lastDate: (text: String, iso: String, day: Day)?
    /// The accepted row's `visit_date` (nil for a table without one), so that the caller need
    /// not parse the `YYYY-MM-DD` text again.
    private(set) var acceptedDay: Day?

    enum Outcome {
        /// The row's values are in the `output` passed to ``validate(_:into:)``.
        case accepted(replacedWithOther: Int)
        /// The reason, the detail for `rejects.csv`, and the cause the import's summary counts
        /// (the field and, for an unknown value, the value itself, so that 909 rows of one
        /// unfamiliar industry are one cause, not 909).
        case rejected(RejectReason, String, RejectCause)
    }

    init(
        fields: [String], required: [Bool], sources: [String], categoricalFields: Set<String>,
        extraCategorical: [ExtraColumn],
        numericCount: Int, table: TableMapping, dateFormats: [DateFormat]
    ) {
        self.fields = fields
        self.required = required
        self.sources = sources
        self.dateFormats = dateFormats
        var categoricalSlots: [Int] = []
        var valueMaps = [[String: String]](repeating: [:], count: fields.count)
        var vocabularies = [Set<String>?](repeating: nil, count: fields.count)
        var vocabularyText = [String](repeating: "", count: fields.count)
        var policies = [UnknownValuePolicy](repeating: .reject, count: fields.count)
        let extraNames = Set(extraCategorical.map(\.name))
        for (slot, field) in fields.enumerated() where categoricalFields.contains(field) || extraNames.contains(field) {
            categoricalSlots.append(slot)
            valueMaps[slot] = table.values[field] ?? [:]
            if let vocabulary = table.vocabularies[field]
                ?? (categoricalFields.contains(field) ? Mapping.defaultVocabularies[field] : nil)
            {
                vocabularies[slot] = Set(vocabulary)
                vocabularyText[slot] = vocabulary.joined(separator: ", ")
            }
            policies[slot] = table.unknown[field] ?? .reject
        }
        self.categoricalSlots = categoricalSlots
        numericSlots = Array(fields.count - numericCount..<fields.count)
        self.valueMaps = valueMaps
        self.vocabularies = vocabularies
        self.vocabularyText = vocabularyText
        self.policies = policies
        dateSlot = fields.firstIndex(of: "visit_date")
    }

    /// An output array for ``validate(_:into:)``, reused from row to row.
    func makeOutput() -> [String] { [String](repeating: "", count: fields.count) }

    /// Trimmed, mapped, checked values (dates as `YYYY-MM-DD`, numbers as given) into `output`
    /// (one per slot, made by ``makeOutput()``), or the first reason to refuse the row.
    mutating func validate(_ row: SourceRow, into output: inout [String]) -> Outcome {
        if let problem = row.problem {
            return .rejected(problem.reason, problem.detail, RejectCause(reason: problem.reason))
        }
        var replaced = 0
        acceptedDay = nil
        for slot in 0..<fields.count {
            let value = row.values[slot]?.trimmingSpaces ?? ""
            output[slot] = ""
            if value.isEmpty {
                if required[slot] {
                    return .rejected(
                        .missingField, "\(describe(slot)) is \(row.values[slot] == nil ? "absent" : "empty")",
                        RejectCause(reason: .missingField, field: fields[slot]))
                }
                continue
            }
            output[slot] = value
        }
        if let dateSlot, !output[dateSlot].isEmpty, let lastDate, Self.sameBytes(lastDate.text, output[dateSlot]) {
            output[dateSlot] = lastDate.iso
            acceptedDay = lastDate.day
        } else if let dateSlot, !output[dateSlot].isEmpty {
            let text = output[dateSlot]
            guard let day = dateFormats.lazy.compactMap({ $0.parse(Substring(text)) }).first else {
                let formats = dateFormats.map(\.pattern).joined(separator: ", ")
                return .rejected(
                    .unparseableDate,
                    "\(describe(dateSlot)) '\(Snippet.bounded(text))' is not a date in format \(formats)",
                    RejectCause(reason: .unparseableDate, field: fields[dateSlot], example: text))
            }
            guard Day.supportedRange.contains(day) else {
                return .rejected(
                    .unparseableDate,
                    "\(describe(dateSlot)) '\(Snippet.bounded(text))' is outside \(Day.supportedRange.lowerBound.iso)…\(Day.supportedRange.upperBound.iso), the dates every Revisit tool accepts",
                    RejectCause(reason: .unparseableDate, field: fields[dateSlot], example: text))
            }
            output[dateSlot] = day.iso
            lastDate = (text, output[dateSlot], day)
            acceptedDay = day
        }
        // The per-slot tables are borrowed once per row (read through buffer pointers, not
        // copied out of the arrays, which retained each table per value).
        let refused: Int? = valueMaps.withUnsafeBufferPointer { maps in
            vocabularies.withUnsafeBufferPointer { vocabularies in
                policies.withUnsafeBufferPointer { policies in
                    for slot in categoricalSlots where !output[slot].isEmpty {
                        let mapped = maps[slot].isEmpty ? output[slot] : maps[slot][output[slot]] ?? output[slot]
                        if vocabularies[slot] != nil && !vocabularies[slot]!.contains(mapped) {
                            switch policies[slot] {
                            case .accept: break
                            case .other:
                                output[slot] = "other"
                                replaced += 1
                                continue
                            case .reject:
                                return slot
                            }
                        }
                        output[slot] = mapped
                    }
                    return nil
                }
            }
        }
        if let slot = refused {
            return .rejected(
                .unknownValue,
                "\(describe(slot)) '\(Snippet.bounded(output[slot]))' is not one of \(vocabularyText[slot]) (and no value map names it)",
                RejectCause(reason: .unknownValue, field: fields[slot], value: output[slot]))
        }
        for slot in numericSlots where !output[slot].isEmpty {
            guard let number = Double(output[slot]), number.isFinite else {
                return .rejected(
                    .unparseableNumber, "\(describe(slot)) '\(Snippet.bounded(output[slot]))' is not a finite number",
                    RejectCause(reason: .unparseableNumber, field: fields[slot], example: output[slot]))
            }
            _ = number
        }
        return .accepted(replacedWithOther: replaced)
    }

    /// Byte equality (not `==`, which compares canonical equivalence: two spellings of one text
    /// may parse differently).
    private static func sameBytes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in x.count == y.count && (x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
            }
        }
    }

    private func describe(_ slot: Int) -> String {
        sources[slot] == fields[slot] ? fields[slot] : "\(fields[slot]) (\(sources[slot]))"
    }
}
