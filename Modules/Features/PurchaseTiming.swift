import Foundation
import Tensors

/// When a customer's next order comes: the time-to-event target of an as-of example, the bins a
/// discrete-time hazard model works in, and the predicted distribution over them (issue 17,
/// item 1; Docs/Features.md, "Purchase timing").

/// The discrete-time bins of the timing models: bin k covers days [edges[k − 1], edges[k]) after
/// the as-of date t (edges[−1] = 0).
///
/// Weekly up to W = 7·⌈max(H, 28)/7⌉ days, where the call list lives (P(order within 7, 14 and
/// 28 days) are bin edges), then three coarser bins to W + 14, W + 28 and W + 63 days (for
/// H = 28: 42, 56 and 91 days), so that the expected and median days have a tail to stand on
/// without multiplying a person-period training set by 13.
public struct TimingBins: Codable, Sendable, Equatable {
    /// Strictly increasing bin ends in days, the last one the maximum horizon.
    public let edges: [Int]

    /// The standard bins for a label horizon of `horizonDays`.
    public init(horizonDays: Int) {
        let weekly = 7 * ((max(horizonDays, 28) + 6) / 7)
        edges = Array(stride(from: 7, through: weekly, by: 7)) + [weekly + 14, weekly + 28, weekly + 63]
    }

    /// Bins from a file (untrusted): nil unless 1…64 strictly increasing edges within 1…3660 days.
    public init?(edges: [Int]) {
        guard (1...64).contains(edges.count), edges.first! >= 1, edges.last! <= 3660,
            zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 })
        else { return nil }
        self.edges = edges
    }

    public var count: Int { edges.count }
    /// The maximum horizon: the last edge.
    public var maximumDays: Int { edges.last! }

    /// Days in bin k.
    public func width(_ k: Int) -> Int { edges[k] - (k == 0 ? 0 : edges[k - 1]) }

    /// The bin holding day `d` ≥ 0 after t, or nil beyond the maximum horizon.
    public func bin(ofDay d: Int) -> Int? {
        guard d >= 0, d < maximumDays else { return nil }
        var k = 0
        while edges[k] <= d { k += 1 }
        return k
    }

    /// The bins a target puts at risk and their outcomes, for a person-period training set:
    /// every bin before the event (0) and the event's bin (1), **among the bins seen whole**
    /// within `followUpDays` (the days from t to the cut-off). A bin cut by the cut-off is left
    /// out whether or not an order fell in it: keeping its orders but not its silences would
    /// raise its hazard (what the last, widest bins suffer most). An event beyond the maximum
    /// horizon leaves every bin seen at 0.
    public func personPeriods(_ target: TimeToOrder, followUpDays: Int) -> (atRisk: Int, eventBin: Int?) {
        let seen = edges.prefix { $0 <= followUpDays }.count
        if target.observed, let k = bin(ofDay: Int(target.days)), k < seen { return (k + 1, k) }
        // Censored, or an order in a cut bin or beyond the horizon: the whole bins, all at 0.
        return (seen, nil)
    }
}

extension TimingBins {
    /// The person-periods of `targets` as dense `[N, K]` 0/1 tensors, for a neural hazard head
    /// (`Losses.DiscreteHazardLoss`): `events` marks the bin of each example's next order,
    /// `atRisk` the bins it enters the likelihood through (``personPeriods(_:followUpDays:)``).
    public func targetTensors(_ targets: [(target: TimeToOrder, followUp: Int)]) -> (events: Tensor, atRisk: Tensor) {
        let k = count
        var events = [Float](repeating: 0, count: targets.count * k), atRisk = events
        for (row, target) in targets.enumerated() {
            let (seen, eventBin) = personPeriods(target.target, followUpDays: target.followUp)
            for bin in 0..<seen { atRisk[row * k + bin] = 1 }
            if let eventBin { events[row * k + eventBin] = 1 }
        }
        return (Tensor(shape: [targets.count, k], scalars: events), Tensor(shape: [targets.count, k], scalars: atRisk))
    }
}

/// Days from an as-of date t to the first order on or after t, or to the censoring day when no
/// order is seen before it.
public struct TimeToOrder: Sendable, Equatable {
    /// Days after t (0 = an order on t itself).
    public var days: Int32
    /// True: an order on day t + days. False: no order in [t, t + days), nothing known after.
    public var observed: Bool

    public init(days: Int32, observed: Bool) {
        self.days = days
        self.observed = observed
    }
}

extension VisitHistory {
    /// The example's time to its next order, looking only at records dated before
    /// `censoredAt` (a training cut-off T, or the day after the data).
    ///
    /// Shift augmentation removes orders from the past only, so a shifted copy's future is its
    /// original's.
    public func timeToOrder(of example: AsOfExample, censoredAt end: Int32) -> TimeToOrder {
        let range = customers[Int(example.customer)].visits
        var index = futureStart(of: example)
        while index < range.upperBound && days[index] < end {
            if orders[index] { return TimeToOrder(days: days[index] - example.asOf, observed: true) }
            index += 1
        }
        return TimeToOrder(days: max(0, end - example.asOf), observed: false)
    }

    /// Each example's time to its next order censored at `end`, with its follow-up (the days
    /// from t to `end`): what ``TimingBins/personPeriods(_:followUpDays:)`` reads.
    public func timingTargets(of set: ExampleSet, censoredAt end: Int32) -> [(target: TimeToOrder, followUp: Int)] {
        set.examples.map { (timeToOrder(of: $0, censoredAt: end), Int(end - $0.asOf)) }
    }

    /// The first visit of the example's customer dated on or after t. A shift-augmented copy
    /// has no `historyEnd` (its history is a rewritten list), so the customer's visits are
    /// searched (binary search: they are sorted by date).
    func futureStart(of example: AsOfExample) -> Int {
        if example.historyEnd >= 0 { return Int(example.historyEnd) }
        let range = customers[Int(example.customer)].visits
        var (low, high) = (range.lowerBound, range.upperBound)
        while low < high {
            let middle = (low + high) / 2
            if days[middle] < example.asOf { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The number of distinct days with an order in [t, `end`): the count the count head
    /// predicts for `end` = t + H, counted in days as BG/NBD counts its transactions (two orders
    /// on one day are one purchase occasion). Records on or after `end` are not read.
    public func orderDays(of example: AsOfExample, before end: Int32) -> Int {
        let range = customers[Int(example.customer)].visits
        var index = futureStart(of: example), count = 0
        var lastDay = Int32.min
        while index < range.upperBound && days[index] < end {
            if orders[index] && days[index] != lastDay {
                count += 1
                lastDay = days[index]
            }
            index += 1
        }
        return count
    }
}

/// A predicted distribution of the time to the next order over ``TimingBins``: P(order by the
/// end of each bin), non-decreasing in [0, 1].
///
/// Within a bin the daily hazard is taken as constant (the bin's survival spread geometrically
/// over its days), which gives P(order by day d) for any d; beyond the maximum horizon the last
/// bin's daily hazard continues, which gives the expected and the median days. Both are capped
/// at ``cap`` days (a customer whose predicted hazard is near 0 would otherwise "expect" an
/// order in centuries).
public struct PurchaseTiming: Sendable, Equatable {
    public let bins: TimingBins
    /// P(an order in [t, t + edges[k])), per bin.
    public let cumulative: [Double]

    /// Expected and median days are capped here (ten years).
    public static let cap = 3660.0

    /// A distribution from per-bin hazards h_k = P(order in bin k | none before), each clamped
    /// to [0, 1].
    public init(bins: TimingBins, hazards: [Double]) {
        precondition(hazards.count == bins.count, "PurchaseTiming: \(hazards.count) hazards for \(bins.count) bins")
        self.bins = bins
        var survival = 1.0
        cumulative = hazards.map { h in
            survival *= 1 - min(max(h.isNaN ? 0 : h, 0), 1)
            return 1 - survival
        }
    }

    /// A distribution from cumulative probabilities at the bin edges (made non-decreasing and
    /// clamped to [0, 1]).
    public init(bins: TimingBins, cumulative: [Double]) {
        precondition(
            cumulative.count == bins.count, "PurchaseTiming: \(cumulative.count) values for \(bins.count) bins")
        self.bins = bins
        var running = 0.0
        self.cumulative = cumulative.map { p in
            running = max(running, min(max(p.isNaN ? 0 : p, 0), 1))
            return running
        }
    }

    /// P(no order in [t, t + edges[k])).
    func survival(atEdge k: Int) -> Double { k < 0 ? 1 : 1 - cumulative[k] }

    /// The daily survival factor inside bin k: S(end)/S(start) spread over its days.
    func dailySurvival(inBin k: Int) -> Double {
        let start = survival(atEdge: k - 1)
        guard start > 0 else { return 0 }
        return pow(max(survival(atEdge: k) / start, 0), 1 / Double(bins.width(k)))
    }

    /// P(an order in [t, t + d)) for `d` ≥ 0 days (beyond the maximum horizon, extrapolated).
    public func probability(withinDays d: Double) -> Double {
        guard d > 0 else { return 0 }
        var start = 0.0
        for k in 0..<bins.count {
            let end = Double(bins.edges[k])
            if d <= end { return 1 - survival(atEdge: k - 1) * pow(dailySurvival(inBin: k), d - start) }
            start = end
        }
        return 1 - survival(atEdge: bins.count - 1) * pow(dailySurvival(inBin: bins.count - 1), d - start)
    }

    /// E[days to the next order], days counted from t (an order on t = 0), capped at ``cap``:
    /// Σ_{d ≥ 1} P(no order in [t, t + d)), summed bin by bin in closed form.
    public var expectedDays: Double {
        var total = 0.0
        var start = 0
        for k in 0..<bins.count {
            // Days d = start+1 … end inside bin k: S(start) · q^(d − start).
            let q = dailySurvival(inBin: k), n = Double(bins.edges[k] - start), s = survival(atEdge: k - 1)
            total += s * (q >= 1 ? n : q * (1 - pow(q, n)) / (1 - q))
            start = bins.edges[k]
            if total >= Self.cap { return Self.cap }
        }
        // The tail: the last bin's daily survival continues, S(max) · q / (1 − q).
        let q = dailySurvival(inBin: bins.count - 1), s = survival(atEdge: bins.count - 1)
        guard s > 0 else { return total }
        guard q < 1 else { return Self.cap }
        return min(total + s * q / (1 - q), Self.cap)
    }

    /// The day by which an order is as likely as not: the smallest d with P(order in [t, t + d))
    /// ≥ 0.5, in whole days, capped at ``cap``.
    public var medianDays: Double {
        var start = 0.0
        for k in 0..<bins.count {
            let end = Double(bins.edges[k])
            if cumulative[k] >= 0.5 {
                // Inside bin k: S(start) · q^(d − start) ≤ 0.5.
                let q = dailySurvival(inBin: k), s = survival(atEdge: k - 1)
                guard q > 0, q < 1 else { return q <= 0 ? start + 1 : end }
                return min(end, start + max(1, Self.wholeDays(log(0.5 / s) / log(q))))
            }
            start = end
        }
        let q = dailySurvival(inBin: bins.count - 1), s = survival(atEdge: bins.count - 1)
        guard q > 0, q < 1 else { return Self.cap }
        return min(start + Self.wholeDays(log(0.5 / s) / log(q)), Self.cap)
    }

    /// Rounds a day count up, forgiving the last bits of a logarithm's rounding.
    static func wholeDays(_ x: Double) -> Double { (x - 1e-9).rounded(.up) }
}
