import Dataset
import Foundation
import Metrics

/// Each rep's results for one model (``RepResult``).
public struct PerRepResults: Sendable, Codable, Hashable {
    public var model: String
    public var reps: [RepResult]
}

/// Each rep's list against the rep's own visits (issue 16): over the evaluated weeks, the
/// share of the rep's listed customers who ordered within H, beside the share of the rep's own
/// visits in those weeks that produced an order, and the lift between them — which reps a list
/// helps most, and whose own choices are already as good. Visit logs only (a transaction log
/// has no reps); for the first model of the scores (the scorer's one model, a backtest's first
/// contender). Sorted by lift, largest first; reps without a defined lift last, by id.
public struct RepResult: Sendable, Codable, Hashable {
    public var rep: String
    /// Evaluated as-of dates on which the rep had a list.
    public var weeks: Int
    public var listed: Int
    public var listedOrdered: Int
    public var listPrecision: MetricValue
    /// The rep's own visits in the weeks [t, t + 7) of those as-of dates, and their orders.
    public var visits: Int
    public var visitOrders: Int
    public var repRate: MetricValue
    /// listPrecision / repRate − 1.
    public var lift: MetricValue

    /// The per-rep results of `rows` (one model's evaluated rows), the list being
    /// `rank_in_rep ≤ listK`.
    static func make(_ rows: [LabeledScore], listK: Int, outcomes: Outcomes) -> [RepResult] {
        var byRep: [String: (dates: Set<Day>, listed: Int, ordered: Int)] = [:]
        for row in rows where row.rankInRep <= listK && !row.repID.isEmpty {
            byRep[row.repID, default: ([], 0, 0)].dates.insert(row.asOf)
            byRep[row.repID]!.listed += 1
            if row.label { byRep[row.repID]!.ordered += 1 }
        }
        let results = byRep.map { rep, tally -> RepResult in
            var visits = 0, orders = 0
            for date in tally.dates {
                guard let week = outcomes.repWeek(rep, starting: date) else { continue }
                visits += week.visits
                orders += week.orders
            }
            let precision = MetricValue.ratio(Double(tally.ordered), Double(tally.listed))
            let rate = MetricValue.ratio(Double(orders), Double(visits))
            var lift = MetricValue.undefined
            if case .defined(let p) = precision, case .defined(let r) = rate, r > 0 { lift = .defined(p / r - 1) }
            return RepResult(
                rep: rep, weeks: tally.dates.count, listed: tally.listed, listedOrdered: tally.ordered,
                listPrecision: precision,
                visits: visits, visitOrders: orders, repRate: rate, lift: lift)
        }
        return results.sorted { a, b in
            switch (a.lift, b.lift) {
            case (.defined(let x), .defined(let y)) where x != y: return x > y
            case (.defined, .undefined): return true
            case (.undefined, .defined): return false
            default: return a.rep < b.rep
            }
        }
    }
}
