import Foundation

/// Which inputs a pipeline builds: Revisit's time-aware inputs (the default) or the study's
/// exact seven-feature inputs, kept so that the paper can be reproduced (Docs/Features.md).
///
/// The study predicted the result of the *next visit*, where the gap to "now" is the gap to that
/// visit. Revisit predicts an order in [t, t + H) at any as-of date t, which cannot be answered
/// without knowing how long ago each visit and the last order were: under the study's inputs a
/// customer last seen yesterday and one last seen a year ago present the same window.
public enum FeatureSet: String, Codable, Sendable, CaseIterable {
    /// The default. Each window step also carries the days from that visit to t, the visit's
    /// numeric columns (amounts, quantities) and its result and method (one-hot); the static
    /// input also carries the window summary (days since the last visit and the last order, the
    /// typical gap between order days and how overdue the customer is against it, recent
    /// counts…) and the last visit's result. Heavy-tailed gaps and counts are log1p-transformed
    /// before min–max scaling.
    case timeAware = "time_aware"
    /// The study's inputs exactly: the seven sequential features, raw before min–max; statics
    /// from the profile and the last visit's target; the aggregate features without the
    /// time-aware additions and without log transforms.
    case study

    /// Whether the static input carries the window summary (the aggregate columns).
    public var windowSummaryInStatics: Bool { self == .timeAware }
}

/// A monotone transform applied to a raw value before min–max scaling.
public enum ValueTransform: String, Codable, Sendable {
    case identity
    /// log(1 + max(0, x)): for gaps, counts, amounts and other heavy-tailed non-negative values,
    /// whose long right tail would otherwise squeeze min–max scaling into a few bits near 0.
    case log1p

    @inlinable
    public func apply(_ value: Double) -> Double {
        switch self {
        case .identity: return value
        // A negative value under log1p (unseen in training) is floored at 0.
        case .log1p: return value.isNaN ? value : Foundation.log1p(Swift.max(0, value))
        }
    }
}
