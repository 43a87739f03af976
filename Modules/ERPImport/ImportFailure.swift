/// A problem that stops the whole import: nothing is written. Row-level problems are not
/// failures; they become rows of `rejects.csv` (``RejectReason``).
public enum ImportFailure: Error, CustomStringConvertible, Equatable {
    /// The input file (or mapping) cannot be used at all: unreadable, empty, no header, a
    /// header that lacks a required column, an XML syntax error, a refused DTD or entity.
    case badInput(path: String, line: Int?, reason: String)
    /// More rows were refused than `--max-reject-rate` allows; `causes` are the largest causes,
    /// each a sentence saying what to change.
    case rejectRateExceeded(rate: Double, limit: Double, summary: String, causes: [String])
    /// The dataset directory cannot be written.
    case cannotWrite(path: String, reason: String)

    /// `FILE:LINE: reason`, the form editors and CI logs link to.
    public var description: String {
        switch self {
        case .badInput(let path, let line, let reason):
            return line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)"
        case .rejectRateExceeded(let rate, let limit, let summary, let causes):
            // The one case of a message over several lines: the causes are what the user acts on.
            let lines = causes.map { "\n  - \($0)" }.joined()
            return
                "reject rate \(Self.percent(rate)) exceeds --max-reject-rate \(Self.percent(limit)) (\(summary)); nothing written"
                + (causes.isEmpty ? "" : "; the largest causes:\(lines)")
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write: \(reason)"
        }
    }

    static func percent(_ value: Double) -> String {
        let scaled = (value * 10000).rounded() / 100
        return "\(scaled)%"
    }
}

/// Stable reason codes of `rejects.csv` and the manifest's `rejected_by_reason`.
public enum RejectReason: String, CaseIterable, Sendable {
    /// A CSV record with more or fewer fields than the header.
    case wrongFieldCount = "wrong_field_count"
    /// A required field is empty or absent.
    case missingField = "missing_field"
    /// A date that none of the mapping's date formats reads, or that does not exist.
    case unparseableDate = "unparseable_date"
    /// A numeric extra that is not a finite number.
    case unparseableNumber = "unparseable_number"
    /// A categorical value outside the vocabulary under the `reject` policy.
    case unknownValue = "unknown_value"
    /// Same id as an earlier row, different content.
    case conflictingDuplicate = "conflicting_duplicate"
    /// The last record ends inside a quoted field (the file was cut short).
    case truncatedRecord = "truncated_record"
    /// A quote in the wrong place (`ab"c`, `"abc"x`).
    case malformedQuotes = "malformed_quotes"
    /// Bytes that are not valid in the file's encoding.
    case invalidEncoding = "invalid_encoding"
    /// An XML record with the same child element twice.
    case repeatedElement = "repeated_element"
    /// A visit whose customer is not in the customers file (only when one is given).
    case unknownCustomer = "unknown_customer"
    /// A CSV record (over all its lines) longer than the reader's bound, or an XML record with
    /// more attributes or child elements than it allows.
    case recordTooLarge = "record_too_large"
    /// An XML record whose structure would lose data if read as fields: markup inside a field
    /// (`<CustomerId>C0<b>X</b>01</CustomerId>`), a record nested in a record, text directly in
    /// the record, or an attribute given twice under namespaces (`id` and `x:id`).
    case unexpectedMarkup = "unexpected_markup"
}
