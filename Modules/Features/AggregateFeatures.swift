import BGNBD
import Foundation

/// Aggregate features of one as-of example: a fixed-width summary of the history instead of a
/// sequence. The tabular models read them (MLP, logistic regression, trees, gradient boosting),
/// and under the time-aware feature set the CNN-LSTM's static branch reads them too (the
/// "window summary"). All are computed from the visits dated strictly before t (the example's
/// history) and t itself.
///
/// Columns 0–13 are shared by both feature sets (n = visits before t, dᵢ their dates):
///
/// | column | name | definition |
/// |---|---|---|
/// | 0–2 | `visits_30d`, `visits_90d`, `visits_365d` | visits dated in [t − w, t) |
/// | 3–5 | `orders_30d`, `orders_90d`, `orders_365d` | orders dated in [t − w, t) |
/// | 6 | `days_since_last_visit` | t − d₍ₙ₋₁₎; 0 when n = 0 (then `total_visits` = 0 says so) |
/// | 7 | `days_since_last_order` | t − date of the last order; **t − d₀ when never ordered** (at least that long); 0 when n = 0 |
/// | 8 | `total_visits` | n |
/// | 9 | `total_orders` | orders among the n |
/// | 10 | `order_rate` | total_orders / n; 0 when n = 0 |
/// | 11 | `mean_gap_days` | (d₍ₙ₋₁₎ − d₀) / (n − 1); 0 when n < 2 |
/// | 12 | `distinct_reps` | distinct non-empty rep ids |
/// | 13 | `tenure_days` | t − d₀; 0 when n = 0 |
///
/// The time-aware set adds (order days = distinct dates with an order, ``OrderStatistics``):
///
/// | column | name | definition |
/// |---|---|---|
/// | 14 | `orders_180d` | orders dated in [t − 180, t) |
/// | 15 | `order_days` | distinct order dates |
/// | 16 | `mean_order_gap_days` | mean gap between consecutive order days; 0 with fewer than 2 |
/// | 17 | `order_gap_std_days` | their population standard deviation; 0 with fewer than 3 order days |
/// | 18 | `overdue_ratio` | `days_since_last_order` / `mean_order_gap_days`; 0 when the gap is undefined: how late the customer is against its own rhythm |
/// | 19 | `days_since_first_order` | t − first order date; 0 when never ordered (BG/NBD's T) |
/// | 20 | `visits_since_last_order` | visits after the last order; n when never ordered |
/// | 21 | `ever_ordered` | 1 when an order precedes t |
/// | 22 | `bgnbd_p_alive` | BG/NBD's P(alive), the model refitted at t on the orders before t (``PurchaseModelCache``) |
/// | 23 | `bgnbd_p_purchase` | BG/NBD's P(≥ 1 order in [t, t + H)), the same fit |
///
/// Then per numeric visit column c (amount, quantity…): `c_sum_365d_log1p` = log1p(max(0, Σ over
/// [t − 365, t))), missing = 0; the time-aware set adds `c_total_log1p` (all history) and
/// `c_mean_log1p` (mean over the visits where c is present; 0 when none).
///
/// The time-aware set log1p-transforms every count and day column before min–max scaling
/// (``transforms(featureSet:numericColumns:)``); the study's set scales them raw.
public enum AggregateFeature {
    /// The columns 0–13 both feature sets share, in order.
    public static let fixedNames = [
        "visits_30d", "visits_90d", "visits_365d", "orders_30d", "orders_90d", "orders_365d",
        "days_since_last_visit", "days_since_last_order", "total_visits", "total_orders", "order_rate",
        "mean_gap_days", "distinct_reps", "tenure_days"
    ]
    /// The time-aware additions, columns 14–21.
    public static let timeAwareNames = [
        "orders_180d", "order_days", "mean_order_gap_days", "order_gap_std_days", "overdue_ratio",
        "days_since_first_order",
        "visits_since_last_order", "ever_ordered", "bgnbd_p_alive", "bgnbd_p_purchase"
    ]

    /// The columns before the per-numeric-column ones.
    static func baseCount(_ featureSet: FeatureSet) -> Int {
        featureSet == .timeAware ? fixedNames.count + timeAwareNames.count : fixedNames.count
    }

    /// Columns per numeric visit column.
    static func perNumericColumn(_ featureSet: FeatureSet) -> [String] {
        featureSet == .timeAware ? ["sum_365d_log1p", "total_log1p", "mean_log1p"] : ["sum_365d_log1p"]
    }

    /// All column names for a dataset whose visits carry `numericColumns`.
    public static func names(featureSet: FeatureSet, numericColumns: [String]) -> [String] {
        let base = featureSet == .timeAware ? fixedNames + timeAwareNames : fixedNames
        let suffixes = perNumericColumn(featureSet)
        return base + suffixes.flatMap { suffix in numericColumns.map { "\($0)_\(suffix)" } }
    }

    /// The transform of each column before scaling: identity throughout for the study's set;
    /// log1p for every count and day column of the time-aware set (rates, flags and the
    /// already-logged numeric columns stay as they are).
    public static func transforms(featureSet: FeatureSet, numericColumns: [String]) -> [ValueTransform] {
        let names = names(featureSet: featureSet, numericColumns: numericColumns)
        guard featureSet == .timeAware else { return names.map { _ in .identity } }
        let linear: Set<String> = ["order_rate", "ever_ordered", "bgnbd_p_alive", "bgnbd_p_purchase"]
        return names.enumerated().map { index, name in
            index < baseCount(featureSet) && !linear.contains(name) ? .log1p : .identity
        }
    }

    /// Appends the raw (untransformed) aggregates of a history to `output`.
    ///
    /// - Parameters:
    ///   - visits: the history's visit indices in date order, all dated before `t`. For an
    ///     untouched history (`contiguous`) the totals come from the precomputed cumulative
    ///     tables and only the last 365 days are scanned; a shift-augmented history is scanned
    ///     whole (its cumulative values differ from the stored ones).
    ///   - numericColumns: per numeric block, the visit numeric column it reads (nil = absent).
    ///   - purchaseModel: the example's BG/NBD P(alive) and P(purchase) (time-aware only).
    static func append(
        featureSet: FeatureSet, history: VisitHistory, visits: some BidirectionalCollection<Int>, contiguous: Bool,
        asOf t: Int32,
        numericColumns: [Int?], purchaseModel: (alive: Double, purchase: Double) = (0, 0), to output: inout [Double]
    ) {
        let days = history.days
        let orders = history.orders
        let base = output.count
        let fixedCount = baseCount(featureSet)
        let blocks = perNumericColumn(featureSet).count
        let M = numericColumns.count
        output.append(contentsOf: repeatElement(0, count: fixedCount + blocks * M))
        guard let firstIndex = visits.first, let lastIndex = visits.last else { return }
        let first = days[firstIndex]
        let last = days[lastIndex]
        let n = visits.count
        let width = SequentialFeature.count
        let K = history.dataset.manifest.visitColumns.numeric.count
        var totalOrders = 0
        var distinctReps = 0
        var lastOrderIndex: Int? = nil
        var statistics = OrderStatistics()
        var numericTotals = [Double](repeating: 0, count: featureSet == .timeAware ? M : 0)
        var numericPresent = [Int32](repeating: 0, count: featureSet == .timeAware ? M : 0)
        if contiguous {
            totalOrders = Int(history.features[lastIndex * width + SequentialFeature.cumulativeOrders.rawValue])
            distinctReps = Int(history.features[lastIndex * width + SequentialFeature.distinctReps.rawValue])
            let index = history.lastOrder[lastIndex]
            lastOrderIndex = index >= 0 ? Int(index) : nil
            statistics = history.orderStatistics[lastIndex]
            for (c, column) in numericColumns.enumerated() where featureSet == .timeAware {
                guard let column else { continue }
                numericTotals[c] = history.numericSums[lastIndex * K + column]
                numericPresent[c] = history.numericCounts[lastIndex * K + column]
            }
        } else {
            var seenReps: [Int32] = []
            for index in visits {
                if orders[index] {
                    totalOrders += 1
                    lastOrderIndex = index
                }
                statistics.add(day: days[index], isOrder: orders[index])
                let rep = history.reps[index]
                if rep >= 0, !seenReps.contains(rep) { seenReps.append(rep) }
                for (c, column) in numericColumns.enumerated() where featureSet == .timeAware {
                    guard let column else { continue }
                    let value = history.numeric[index * K + column]
                    if !value.isNaN {
                        numericTotals[c] += value
                        numericPresent[c] += 1
                    }
                }
            }
            distinctReps = seenReps.count
        }
        // The windows: newest first, stopping at the first visit older than 365 days.
        for index in visits.reversed() {
            let age = t - days[index]
            if age > 365 { break }
            let isOrder: Double = orders[index] ? 1 : 0
            output[base + 2] += 1
            output[base + 5] += isOrder
            if age <= 180, featureSet == .timeAware { output[base + 14] += isOrder }
            if age <= 90 {
                output[base + 1] += 1
                output[base + 4] += isOrder
            }
            if age <= 30 {
                output[base + 0] += 1
                output[base + 3] += isOrder
            }
            for (c, column) in numericColumns.enumerated() {
                if let column {
                    let value = history.numeric[index * K + column]
                    if !value.isNaN { output[base + fixedCount + c] += value }
                }
            }
        }
        let lastOrderDay = lastOrderIndex.map { days[$0] }
        let daysSinceLastOrder = Double(t - (lastOrderDay ?? first))
        output[base + 6] = Double(t - last)
        output[base + 7] = daysSinceLastOrder
        output[base + 8] = Double(n)
        output[base + 9] = Double(totalOrders)
        output[base + 10] = Double(totalOrders) / Double(n)
        output[base + 11] = n >= 2 ? Double(last - first) / Double(n - 1) : 0
        output[base + 12] = Double(distinctReps)
        output[base + 13] = Double(t - first)
        for c in 0..<M { output[base + fixedCount + c] = log1p(Swift.max(0, output[base + fixedCount + c])) }
        guard featureSet == .timeAware else { return }
        let meanGap = statistics.meanGap
        output[base + 15] = Double(statistics.orderDays)
        output[base + 16] = meanGap ?? 0
        output[base + 17] = statistics.gapStandardDeviation ?? 0
        output[base + 18] = meanGap.map { $0 > 0 ? daysSinceLastOrder / $0 : 0 } ?? 0
        output[base + 19] = statistics.firstOrderDay >= 0 ? Double(t - statistics.firstOrderDay) : 0
        // Visits after the last order: in a contiguous history, the index difference.
        if let lastOrderIndex {
            output[base + 20] = Double(
                contiguous ? lastIndex - lastOrderIndex : visits.reversed().prefix { $0 != lastOrderIndex }.count)
        } else {
            output[base + 20] = Double(n)
        }
        output[base + 21] = lastOrderIndex == nil ? 0 : 1
        output[base + 22] = purchaseModel.alive
        output[base + 23] = purchaseModel.purchase
        for c in 0..<M {
            output[base + fixedCount + M + c] = log1p(Swift.max(0, numericTotals[c]))
            output[base + fixedCount + 2 * M + c] =
                numericPresent[c] > 0 ? log1p(Swift.max(0, numericTotals[c] / Double(numericPresent[c]))) : 0
        }
    }
}

extension VisitHistory {
    /// BG/NBD's summary of `example`'s history (distinct order days before t); nil when the
    /// history holds no order (the customer has not made a first purchase yet).
    public func purchaseSummary(of example: AsOfExample, in set: ExampleSet) -> BGNBD.Observation? {
        if example.shifted >= 0 {
            var scanned = OrderStatistics()
            for index in set.shiftedHistories[Int(example.shifted)] {
                scanned.add(day: days[Int(index)], isOrder: orders[Int(index)])
            }
            return scanned.observation(asOf: example.asOf)
        }
        let start = customers[Int(example.customer)].visits.lowerBound
        let end = Int(example.historyEnd)
        guard end > start else { return nil }
        return orderStatistics[end - 1].observation(asOf: example.asOf)
    }

    /// The observation BG/NBD scores `example` with: its purchase summary, or, for a customer
    /// that has not ordered yet, alive with x = 0 and T = the days since its first visit (the
    /// model's view of someone who has not bought yet).
    public func bgnbdObservation(of example: AsOfExample, in set: ExampleSet) -> BGNBD.Observation {
        purchaseSummary(of: example, in: set)
            ?? BGNBD.Observation(x: 0, tx: 0, T: daysSinceFirstVisit(of: example, in: set) ?? 0)
    }

    /// Days from the customer's first visit to t (the age a customer without an order has).
    public func daysSinceFirstVisit(of example: AsOfExample, in set: ExampleSet) -> Double? {
        let first: Int
        if example.shifted >= 0 {
            guard let kept = set.shiftedHistories[Int(example.shifted)].first else { return nil }
            first = Int(kept)
        } else {
            let start = customers[Int(example.customer)].visits.lowerBound
            guard Int(example.historyEnd) > start else { return nil }
            first = start
        }
        return Double(example.asOf - days[first])
    }
}
