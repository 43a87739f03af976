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

    static let windows: [Int32] = [30, 90, 365]

    /// Appends the raw aggregates of the history `visits` (indices in date order, all dated
    /// before `t`) to `output`: `fixedNames.count + numericColumns.count` values.
    static func append(
        history: VisitHistory, visits: some BidirectionalCollection<Int>, asOf t: Int32, numericColumns: [Int?],
        to output: inout [Double]
    ) {
        let days = history.days
        let orders = history.orders
        var windowVisits = [0.0, 0.0, 0.0]
        var windowOrders = [0.0, 0.0, 0.0]
        var sums = [Double](repeating: 0, count: numericColumns.count)
        var totalOrders = 0.0
        var lastOrder: Int32? = nil
        var seenReps: [Int32] = []
        for index in visits {
            let day = days[index]
            let age = t - day
            let isOrder = orders[index]
            if isOrder {
                totalOrders += 1
                lastOrder = day
            }
            for (w, window) in windows.enumerated() where age <= window {
                windowVisits[w] += 1
                if isOrder { windowOrders[w] += 1 }
            }
            let rep = history.reps[index]
            if rep >= 0, !seenReps.contains(rep) { seenReps.append(rep) }
            if age <= 365 {
                for (c, column) in numericColumns.enumerated() {
                    if let column, let value = history.dataset.visits[index].numeric[column] { sums[c] += value }
                }
            }
        }
        output.append(contentsOf: windowVisits)
        output.append(contentsOf: windowOrders)
        let n = visits.count
        if let first = visits.first.map({ days[$0] }), let last = visits.last.map({ days[$0] }) {
            output.append(Double(t - last))
            output.append(Double(t - (lastOrder ?? first)))
            output.append(Double(n))
            output.append(totalOrders)
            output.append(totalOrders / Double(n))
            output.append(n >= 2 ? Double(last - first) / Double(n - 1) : 0)
            output.append(Double(seenReps.count))
            output.append(Double(t - first))
        } else {
            output.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
        }
        for sum in sums { output.append(log1p(Swift.max(0, sum))) }
    }
}
