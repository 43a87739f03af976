/// A min–max range fitted on training rows only (BRIEF §1), applied as
/// `x' = clamp((x − min) / (max − min), 0, 1)`.
///
/// Values outside the fitted range (a test row larger than any training row) are **clipped**
/// to 0 or 1, so a model never sees inputs outside what it was trained on. A constant feature
/// (max = min, or no training rows at all) maps to 0. Bounds are Double so that the JSON
/// document round-trips them exactly (Foundation writes shortest round-trip Double text).
public struct MinMaxRange: Codable, Sendable, Equatable {
    public var min: Double
    public var max: Double

    public init(min: Double, max: Double) {
        self.min = min
        self.max = max
    }

    /// An empty accumulator: `include` widens it; a range that saw nothing scales to 0.
    public static let empty = MinMaxRange(min: .infinity, max: -.infinity)

    /// Widens the range to cover `value`.
    @inlinable
    public mutating func include(_ value: Double) {
        if value < min { min = value }
        if value > max { max = value }
    }

    /// The scaled value in [0, 1].
    @inlinable
    public func scale(_ value: Double) -> Float {
        // Missing values (NaN) and constant features map to 0.
        guard max > min, !value.isNaN else { return 0 }
        let scaled = (value - min) / (max - min)
        return Float(Swift.min(Swift.max(scaled, 0), 1))
    }

    /// A range that saw no value becomes [0, 0] (so JSON never holds infinities).
    var finalized: MinMaxRange { min <= max ? self : MinMaxRange(min: 0, max: 0) }
}

/// A categorical vocabulary with an unknown bucket: index 0 = unknown (unseen in training, or
/// empty), index i ≥ 1 = `values[i − 1]`. Values are sorted, so the same training data always
/// gives the same indices.
public struct Vocabulary: Codable, Sendable, Equatable {
    /// Known values, sorted ascending (Swift `String` order: Unicode scalar order).
    public var values: [String]
    private var index: [String: Int32]

    public init(values: some Sequence<String>) {
        self.values = Set(values.filter { !$0.isEmpty }).sorted()
        index = Dictionary(uniqueKeysWithValues: self.values.enumerated().map { ($1, Int32($0 + 1)) })
    }

    /// Number of codes including the unknown bucket (`values.count + 1`).
    public var size: Int { values.count + 1 }

    /// The code of `value`: 0 when it is empty or was not seen in training.
    public func code(_ value: String) -> Int32 { index[value] ?? 0 }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        self.init(values: try container.decode([String].self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }

    public static func == (lhs: Vocabulary, rhs: Vocabulary) -> Bool { lhs.values == rhs.values }
}
