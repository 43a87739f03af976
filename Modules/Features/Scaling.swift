/// The interval min–max scaling maps every measured column to, chosen at training time and
/// stored in the pipeline (`scaling`).
///
/// `[0, 1]` is the CNN-LSTM study's choice; `[−1, 1]` is MATLAB's `mapminmax` default, which the
/// RNN study used, and scikit-learn's `MinMaxScaler(feature_range=(-1, 1))`. Zero-centred
/// inputs suit tanh gates and put a column's midpoint, not its minimum, at 0. One-hot columns
/// are indicators, not measurements: they stay 0/1 under either choice, as do the mask and
/// the zeros of left-padded steps (which the mask marks absent).
public enum ScalingRange: String, Codable, Sendable, CaseIterable {
    /// `[0, 1]` (default).
    case zeroOne = "zero_one"
    /// `[−1, 1]` (`mapminmax`).
    case minusOneOne = "minus_one_one"

    /// The value the fitted minimum (and a missing value, and a constant column) maps to.
    @inlinable public var lower: Double { self == .zeroOne ? 0 : -1 }
    /// The value the fitted maximum maps to.
    @inlinable public var upper: Double { 1 }
}

/// A min–max range fitted on training rows only (BRIEF §1), applied as
/// `x' = lower + (upper − lower) · clamp((x − min) / (max − min), 0, 1)` for the target interval
/// [lower, upper] (``ScalingRange``) — scikit-learn's `MinMaxScaler(clip=True)` formula.
///
/// Values outside the fitted range (a test row larger than any training row) are **clipped**
/// to the interval's ends, so a model never sees inputs outside what it was trained on. A
/// constant feature (max = min, or no training rows at all) and a missing value (NaN) map to
/// `lower`, as in `mapminmax` and scikit-learn. Bounds are Double so that the JSON document
/// round-trips them exactly (Foundation writes shortest round-trip Double text).
public struct MinMaxRange: Codable, Sendable, Equatable {
    public var min: Double
    public var max: Double

    public init(min: Double, max: Double) {
        self.min = min
        self.max = max
    }

    /// An empty accumulator: `include` widens it; a range that saw nothing is constant.
    public static let empty = MinMaxRange(min: .infinity, max: -.infinity)

    /// Widens the range to cover `value`.
    @inlinable
    public mutating func include(_ value: Double) {
        if value < min { min = value }
        if value > max { max = value }
    }

    /// The scaled value in `target` (default [0, 1]).
    @inlinable
    public func scale(_ value: Double, to target: ScalingRange = .zeroOne) -> Float {
        guard max > min, !value.isNaN else { return Float(target.lower) }
        let unit = Swift.min(Swift.max((value - min) / (max - min), 0), 1)
        // For [0, 1] this is `0 + unit · 1`, bit for bit the unit value.
        return Float(target.lower + unit * (target.upper - target.lower))
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
