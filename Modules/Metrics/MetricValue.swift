/// The value of a metric, or the statement that the metric is undefined on these rows.
///
/// Degenerate inputs make many metrics meaningless: ROC-AUC needs at least one positive and one
/// negative, precision needs at least one predicted positive, every metric needs at least one
/// row. Reporting 0 (scikit-learn's default `zero_division` behaviour) would read as "the model
/// is bad" when the truth is "this week has nothing to measure", so Revisit keeps the two apart.
///
/// **JSON.** A defined value encodes as a JSON number, an undefined one as `null` (a single-value
/// container, so this holds for a `MetricValue` property of any `Codable` type and inside
/// arrays). Decoding reverses it. Markdown reports print `description`: the number, or
/// `undefined`. See Docs/Metrics.md for which inputs make which metric undefined.
///
/// A defined value is always finite: every metric here divides only by non-zero counts, and
/// log loss clips its probabilities.
public enum MetricValue: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A finite value.
    case defined(Double)
    /// No value exists for these rows (see each metric's documentation for when).
    case undefined

    /// `.defined(value)` for a number, `.undefined` for `nil`.
    public init(_ value: Double?) {
        if let value {
            self = .defined(value)
        } else {
            self = .undefined
        }
    }

    /// `numerator / denominator`, or `.undefined` when the denominator is 0.
    public static func ratio(_ numerator: Double, _ denominator: Double) -> MetricValue {
        denominator == 0 ? .undefined : .defined(numerator / denominator)
    }

    /// The number, or `nil` when undefined.
    public var value: Double? {
        switch self {
        case .defined(let value): value
        case .undefined: nil
        }
    }

    /// Whether the metric has a value.
    public var isDefined: Bool { value != nil }

    /// `self − other` when both are defined (the paired bootstrap's statistic); otherwise undefined.
    public func subtracting(_ other: MetricValue) -> MetricValue {
        guard let a = value, let b = other.value else { return .undefined }
        return .defined(a - b)
    }

    /// The number as Swift prints a `Double`, or `undefined`.
    public var description: String { value.map { "\($0)" } ?? "undefined" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .undefined : .defined(try container.decode(Double.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .defined(let value): try container.encode(value)
        case .undefined: try container.encodeNil()
        }
    }
}
