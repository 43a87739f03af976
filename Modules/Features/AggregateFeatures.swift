import Foundation

/// Aggregate features of one as-of example, for the MLP, logistic-regression and tree
/// baselines: a fixed-width summary of the history instead of a sequence. All are computed from
/// the visits dated strictly before t (the example's history) and t itself.
///
/// | column | name | definition (n = visits before t, dᵢ their dates) |
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
/// | 14… | `<column>_sum_365d_log1p` | per numeric visit column (amount, quantity…): log1p(max(0, Σ over visits in [t − 365, t))), missing = 0 |
public enum AggregateFeature {
    /// The fixed columns 0–13, in order.
    public static let fixedNames = [
        "visits_30d", "visits_90d", "visits_365d", "orders_30d", "orders_90d", "orders_365d",
        "days_since_last_visit", "days_since_last_order", "total_visits", "total_orders", "order_rate",
        "mean_gap_days", "distinct_reps", "tenure_days",
    ]

    /// All column names for a dataset whose visits carry `numericColumns`.
    public static func names(numericColumns: [String]) -> [String] {
        fixedNames + numericColumns.map { "\($0)_sum_365d_log1p" }
    }

    /// Appends the raw aggregates of a history to `output`: `fixedNames.count +
    /// numericColumns.count` values.
    ///
    /// - Parameters:
    ///   - visits: the history's visit indices in date order, all dated before `t`. For an
    ///     untouched history (`contiguous`) the totals come from the precomputed cumulative
    ///     features and only the last 365 days are scanned; a shift-augmented history is
    ///     scanned whole (its cumulative features differ from the stored ones).
    ///   - numericColumns: per output sum, the visit numeric column it adds (nil = absent).
    static func append(
        history: VisitHistory, visits: some BidirectionalCollection<Int>, contiguous: Bool, asOf t: Int32,
        numericColumns: [Int?], to output: inout [Double]
    ) {
        let days = history.days
        let orders = history.orders
        let base = output.count
        output.append(contentsOf: repeatElement(0, count: fixedNames.count + numericColumns.count))
        guard let firstIndex = visits.first, let lastIndex = visits.last else { return }
        let first = days[firstIndex]
        let last = days[lastIndex]
        let n = visits.count
        let width = SequentialFeature.count
        let K = history.dataset.manifest.visitColumns.numeric.count
        var totalOrders = 0
        var distinctReps = 0
        var lastOrder: Int32? = nil
        if contiguous {
            totalOrders = Int(history.features[lastIndex * width + SequentialFeature.cumulativeOrders.rawValue])
            distinctReps = Int(history.features[lastIndex * width + SequentialFeature.distinctReps.rawValue])
            let index = history.lastOrder[lastIndex]
            lastOrder = index >= 0 ? days[Int(index)] : nil
        } else {
            var seenReps: [Int32] = []
            for index in visits {
                if orders[index] {
                    totalOrders += 1
                    lastOrder = days[index]
                }
                let rep = history.reps[index]
                if rep >= 0, !seenReps.contains(rep) { seenReps.append(rep) }
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
                    if !value.isNaN { output[base + 14 + c] += value }
                }
            }
        }
        output[base + 6] = Double(t - last)
        output[base + 7] = Double(t - (lastOrder ?? first))
        output[base + 8] = Double(n)
        output[base + 9] = Double(totalOrders)
        output[base + 10] = Double(totalOrders) / Double(n)
        output[base + 11] = n >= 2 ? Double(last - first) / Double(n - 1) : 0
        output[base + 12] = Double(distinctReps)
        output[base + 13] = Double(t - first)
        for c in numericColumns.indices { output[base + 14 + c] = log1p(Swift.max(0, output[base + 14 + c])) }
    }
}
