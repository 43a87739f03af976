import Dataset

/// The seven derived sequential features of one visit (BRIEF §1), in their fixed column order.
///
/// Each is computed per customer over the customer's visits in dataset order (date, then visit
/// id), from that visit and earlier ones only. The raw (unscaled) values are:
///
/// | column | feature | value for visit i of a customer (0-based) |
/// |---|---|---|
/// | 0 | `daysSincePrevious` | `date[i] − date[i−1]` in days; **0 for the first visit** (and for a same-day visit) |
/// | 1 | `result` | 1 when visit i produced an order, else 0 |
/// | 2 | `previousResult` | `result` of visit i−1; 0 for the first visit |
/// | 3 | `everOrdered` | 1 when any of visits 0…i (this one included) produced an order |
/// | 4 | `cumulativeOrders` | orders among visits 0…i (this one included) |
/// | 5 | `cumulativeVisits` | i + 1 |
/// | 6 | `distinctReps` | distinct non-empty rep ids among visits 0…i (0 for a transaction log) |
///
/// Including visit i's own result in columns 1, 3 and 4 leaks nothing: an as-of-t example only
/// ever holds visits dated strictly before t, so every column describes the past.
public enum SequentialFeature: Int, CaseIterable, Sendable {
    case daysSincePrevious = 0
    case result
    case previousResult
    case everOrdered
    case cumulativeOrders
    case cumulativeVisits
    case distinctReps

    /// Number of sequential features (the last axis of the `[N, L, 7]` sequence tensor).
    public static let count = 7

    /// The snake_case name used in the pipeline JSON and in Docs/Features.md.
    public var name: String {
        switch self {
        case .daysSincePrevious: return "days_since_previous"
        case .result: return "result"
        case .previousResult: return "previous_result"
        case .everOrdered: return "ever_ordered"
        case .cumulativeOrders: return "cumulative_orders"
        case .cumulativeVisits: return "cumulative_visits"
        case .distinctReps: return "distinct_reps"
        }
    }

    /// The seven names in column order.
    public static var names: [String] { allCases.map(\.name) }
}

/// Computes the seven raw features for one customer's history.
///
/// - Parameters:
///   - days: visit dates (day ordinals) in dataset order, `[n]`.
///   - orders: whether each visit produced an order, `[n]`.
///   - reps: a small integer per rep id (`-1` = no rep), `[n]`.
///   - output: receives `n × 7` values, row-major `[n, 7]`, appended.
///
/// The one definition used both for the precomputed per-visit table and for histories that
/// shift augmentation rewrote, so the two cannot drift apart.
public func appendSequentialFeatures(
    days: some Collection<Int32>, orders: some Collection<Bool>, reps: some Collection<Int32>, to output: inout [Float]
) {
    precondition(
        days.count == orders.count && orders.count == reps.count,
        "appendSequentialFeatures: \(days.count) days, \(orders.count) results and \(reps.count) reps differ")
    var previousDay: Int32? = nil
    var previousOrder = false
    var cumulativeOrders = 0
    var visits = 0
    var seenReps: [Int32] = []  // a customer meets few reps: a linear scan beats hashing
    for ((day, isOrder), rep) in zip(zip(days, orders), reps) {
        visits += 1
        if isOrder { cumulativeOrders += 1 }
        if rep >= 0, !seenReps.contains(rep) { seenReps.append(rep) }
        output.append(previousDay.map { Float(day - $0) } ?? 0)
        output.append(isOrder ? 1 : 0)
        output.append(previousOrder ? 1 : 0)
        output.append(cumulativeOrders > 0 ? 1 : 0)
        output.append(Float(cumulativeOrders))
        output.append(Float(visits))
        output.append(Float(seenReps.count))
        previousDay = day
        previousOrder = isOrder
    }
}
