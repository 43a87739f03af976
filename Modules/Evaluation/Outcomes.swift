import Dataset
import Metrics

/// What actually happened, read from a dataset's visits: the label of a (customer, as-of date)
/// row and the reps' own success rate in a week.
///
/// **Label.** Customer c at as-of date t is positive when c has a visit whose result was an
/// order dated in [t, t + H) (BRIEF §2; H = `horizonDays`, 28 by default).
///
/// **Complete window.** The dataset ends on its last date D; days after D are unknown, not
/// order-free. A row's window is complete when t + H ≤ D + 1, i.e. every day of [t, t + H) is
/// inside the data. Rows with an incomplete window have no label (`label` returns nil) and are
/// excluded from every metric and counted in the report.
public struct Outcomes: Sendable {
    /// H, the label window in days.
    public let horizonDays: Int
    /// The first day after the data (D + 1); nil for a dataset without visits.
    public let end: Day?
    /// Order dates per customer, ascending (repeats kept).
    private let orderDays: [String: [Day]]
    /// Visit dates per customer, ascending (repeats kept), for the list's history strips.
    private let visitDays: [String: [Day]]
    /// Visits and orders per (rep, day), for each rep's own rate.
    private let visitsPerRepDay: [String: [Day: (visits: Int, orders: Int)]]
    /// Visits and orders per day, for the reps' rate.
    private let visitsPerDay: [Day: (visits: Int, orders: Int)]
    /// Customers known to the dataset (profiles or visits).
    private let customers: Set<String>
    /// A visit log or a transaction log (which has no reps' rate).
    public let kind: DatasetManifest.Kind

    /// Indexes `dataset`. The end of the data is the manifest's `lastDate`, or the last visit
    /// date, or `observedThrough` when later: the last day the export is known to cover. A
    /// Friday's last visit in an export taken on Monday says nothing happened at the weekend,
    /// which the dataset alone cannot tell from "not exported yet"; the nightly job knows it
    /// exported through yesterday.
    public init(dataset: Dataset, horizonDays: Int = 28, observedThrough: Day? = nil) {
        precondition(horizonDays >= 1, "Outcomes: horizonDays must be at least 1, got \(horizonDays)")
        self.horizonDays = horizonDays
        var orders: [String: [Day]] = [:], visits: [String: [Day]] = [:]
        var perDay: [Day: (visits: Int, orders: Int)] = [:]
        var perRepDay: [String: [Day: (visits: Int, orders: Int)]] = [:]
        var known = Set(dataset.customers.map(\.customerID))
        var last: Day? = nil
        for visit in dataset.visits {
            known.insert(visit.customerID)
            if visit.isOrder { orders[visit.customerID, default: []].append(visit.date) }
            visits[visit.customerID, default: []].append(visit.date)
            perDay[visit.date, default: (0, 0)].visits += 1
            if visit.isOrder { perDay[visit.date, default: (0, 0)].orders += 1 }
            if !visit.repID.isEmpty {
                perRepDay[visit.repID, default: [:]][visit.date, default: (0, 0)].visits += 1
                if visit.isOrder { perRepDay[visit.repID]![visit.date]!.orders += 1 }
            }
            if last.map({ visit.date > $0 }) ?? true { last = visit.date }
        }
        for key in orders.keys { orders[key]!.sort() }
        for key in visits.keys { visits[key]!.sort() }
        self.visitDays = visits
        self.visitsPerRepDay = perRepDay
        let lastDate = [dataset.manifest.lastDate, last, observedThrough].compactMap { $0 }.max()
        self.end = lastDate.map { $0.advanced(by: 1) }
        self.orderDays = orders
        self.visitsPerDay = perDay
        self.customers = known
        self.kind = dataset.manifest.kind
    }

    /// The customer's visit and order dates in [from, to), ascending.
    public func history(customer: String, from: Day, to: Day) -> (visits: [Day], orders: [Day]) {
        func within(_ days: [Day]?) -> [Day] { (days ?? []).filter { $0 >= from && $0 < to } }
        return (within(visitDays[customer]), within(orderDays[customer]))
    }

    /// Whether the label window of as-of date `asOf` lies inside the data (t + H ≤ D + 1).
    public func isComplete(asOf: Day) -> Bool {
        guard let end else { return false }
        return asOf.advanced(by: horizonDays) <= end
    }

    /// Whether `customer` ordered in [asOf, asOf + H); nil when the window is incomplete.
    public func label(customer: String, asOf: Day) -> Bool? {
        guard isComplete(asOf: asOf) else { return nil }
        guard let days = orderDays[customer] else { return false }
        let windowEnd = asOf.advanced(by: horizonDays)
        // First order on or after asOf (binary search), then check it is before the window's end.
        var low = 0, high = days.count
        while low < high {
            let mid = (low + high) / 2
            if days[mid] < asOf { low = mid + 1 } else { high = mid }
        }
        return low < days.count && days[low] < windowEnd
    }

    /// Whether the dataset knows `customer` (a profile or a visit).
    public func knows(customer: String) -> Bool { customers.contains(customer) }

    /// One rep's own success in the 7 days [weekStart, weekStart + 7); nil when that week is not
    /// wholly inside the data.
    public func repWeek(_ rep: String, starting weekStart: Day) -> RepsWeek? {
        guard let end, weekStart.advanced(by: 7) <= end else { return nil }
        var week = RepsWeek(visits: 0, orders: 0)
        for offset in 0..<7 {
            if let day = visitsPerRepDay[rep]?[weekStart.advanced(by: offset)] {
                week.visits += day.visits
                week.orders += day.orders
            }
        }
        return week
    }

    /// The reps' own success in the 7 days [weekStart, weekStart + 7): visits, of which orders.
    /// Nil when that week is not wholly inside the data.
    public func repsWeek(starting weekStart: Day) -> RepsWeek? {
        guard let end, weekStart.advanced(by: 7) <= end else { return nil }
        var visits = 0, orders = 0
        for offset in 0..<7 {
            if let day = visitsPerDay[weekStart.advanced(by: offset)] {
                visits += day.visits
                orders += day.orders
            }
        }
        return RepsWeek(visits: visits, orders: orders)
    }
}

/// The reps' visits in one week and how many produced an order.
public struct RepsWeek: Sendable, Hashable, Codable {
    /// Visits dated in the week.
    public var visits: Int
    /// Of those, visits whose result was an order.
    public var orders: Int
    public init(visits: Int, orders: Int) {
        self.visits = visits
        self.orders = orders
    }
    /// orders / visits; undefined for a week without visits.
    public var rate: MetricValue { .ratio(Double(orders), Double(visits)) }
}
