import BGNBD

/// Running statistics of a customer's orders, in date order: what the time-aware aggregates and
/// BG/NBD's (x, tₓ, T) summary need. One definition, used both for the per-visit table of
/// ``VisitHistory`` (cumulative through each visit) and for histories that shift augmentation
/// rewrote, so the two cannot drift apart.
///
/// Orders are counted two ways: **rows** (every order visit) and **order days** (distinct dates
/// with at least one order; two orders on one day are one purchase occasion, the `lifetimes`
/// convention that BG/NBD's frequency uses). Gaps are between consecutive order days.
public struct OrderStatistics: Sendable, Equatable {
    /// Distinct dates with an order.
    public var orderDays: Int32 = 0
    /// The first and the latest order date (day ordinals); -1 before the first order.
    public var firstOrderDay: Int32 = -1
    public var lastOrderDay: Int32 = -1
    /// Σ and Σ² of the gaps in days between consecutive order days (orderDays − 1 gaps).
    public var gapSum: Double = 0
    public var gapSquareSum: Double = 0

    public init() {}

    /// Adds the next visit (dated on or after every earlier one).
    @inlinable
    public mutating func add(day: Int32, isOrder: Bool) {
        guard isOrder, day != lastOrderDay else { return }
        if lastOrderDay >= 0 {
            let gap = Double(day - lastOrderDay)
            gapSum += gap
            gapSquareSum += gap * gap
        } else {
            firstOrderDay = day
        }
        lastOrderDay = day
        orderDays += 1
    }

    /// Mean gap between order days; nil with fewer than two order days.
    public var meanGap: Double? { orderDays >= 2 ? gapSum / Double(orderDays - 1) : nil }

    /// Population standard deviation of the gaps; nil with fewer than two gaps.
    public var gapStandardDeviation: Double? {
        guard orderDays >= 3, let mean = meanGap else { return nil }
        return (Swift.max(0, gapSquareSum / Double(orderDays - 1) - mean * mean)).squareRoot()
    }
}

extension OrderStatistics {
    /// BG/NBD's summary at as-of date `t` (Fader, Hardie & Lee 2005), in days, from these order
    /// days: x repeat purchases (order days − 1), tₓ the last purchase's time since the first,
    /// T the time from the first purchase to t. Nil before the first order.
    public func observation(asOf t: Int32) -> BGNBD.Observation? {
        guard orderDays > 0 else { return nil }
        return BGNBD.Observation(
            x: Double(orderDays - 1), tx: Double(lastOrderDay - firstOrderDay), T: Double(t - firstOrderDay))
    }
}
