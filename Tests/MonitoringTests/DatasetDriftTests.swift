import Dataset
import Foundation
import Monitoring
import Testing

@Suite("Drift between yesterday's dataset and tonight's import")
struct DatasetDriftTests {
    static let start = Day(iso: "2020-01-06")!  // a Monday

    /// `days` days of visits: each day `perDay` visits by reps r1…r3 to customers c0…c59, every
    /// fifth an order (a seeded, fixed pattern).
    static func visits(days: Range<Int>, perDay: Int = 30, result: String = "no_order", method: String = "call")
        -> [Visit]
    {
        days.flatMap { day in
            (0..<perDay).map { i in
                let order = (day * perDay + i) % 5 == 0
                return Visit(
                    visitID: "v\(day)-\(i)", customerID: "c\((day * 7 + i) % 60)", repID: "r\(i % 3 + 1)",
                    date: start.advanced(by: day),
                    method: method, target: "buyer", purpose: "follow_up", result: order ? "order" : result,
                    isOrder: order)
            }
        }
    }

    static func dataset(_ visits: [Visit], customers: Int = 60, read: Int? = nil, rejected: Int = 0) -> Dataset {
        let counts = DatasetManifest.Counts(
            read: read ?? visits.count + rejected, accepted: visits.count, rejected: rejected,
            rejectedByReason: rejected > 0 ? ["unknown_value": rejected] : [:])
        return Dataset(
            manifest: DatasetManifest(kind: .visits, visitCounts: counts),
            visits: visits,
            customers: (0..<customers).map {
                Customer(customerID: "c\($0)", customerType: "dealer", industry: "retail", tag: "")
            })
    }

    static func failing(_ drift: DatasetDrift) -> [String] { drift.findings.filter(\.exceedsThreshold).map(\.check) }

    @Test("A normal night (yesterday's rows kept, one more day like the others) passes every check")
    func normalNight() {
        let drift = DatasetDrift(
            baseline: Self.dataset(Self.visits(days: 0..<56)), candidate: Self.dataset(Self.visits(days: 0..<57)))
        #expect(Self.failing(drift).isEmpty, "\(drift.findings)")
        #expect(!drift.exceedsThreshold)
        #expect(
            drift.findings.map(\.check) == [
                "history_lost", "history_changed", "customers_lost", "rows_per_day", "order_share", "new_values",
                "reject_rate", "reps"
            ])
        #expect(
            drift.findings.first { $0.check == "rows_per_day" }!.message.contains(
                "30 visits dated 2020-03-02…2020-03-02 against 30.0 expected"))
    }

    @Test("A partial export (history and profiles gone) and rewritten history fail, naming an example")
    func lostAndChangedHistory() {
        let baseline = Self.dataset(Self.visits(days: 0..<56))
        let partial = DatasetDrift(
            baseline: baseline, candidate: Self.dataset(Self.visits(days: 28..<57), customers: 50))
        #expect(Set(Self.failing(partial)).isSuperset(of: ["history_lost", "customers_lost"]), "\(partial.findings)")
        #expect(partial.findings[0].message.contains("840 of 1680 visits"))
        #expect(partial.findings[0].message.contains("e.g. visit 'v0-0' of 2020-01-06"))
        var rewritten = Self.visits(days: 0..<57)
        for index in rewritten.indices where index % 10 == 1 {
            rewritten[index].result = "visited"; rewritten[index].isOrder = false
        }
        let changed = DatasetDrift(baseline: baseline, candidate: Self.dataset(rewritten))
        #expect(Self.failing(changed).contains("history_changed"), "\(changed.findings)")
    }

    @Test("Volume, order share, new codes and the reject rate fail past their thresholds, and not within them")
    func newRows() {
        let baseline = Self.dataset(Self.visits(days: 0..<56))
        let burst = DatasetDrift(
            baseline: baseline,
            candidate: Self.dataset(Self.visits(days: 0..<56) + Self.visits(days: 56..<57, perDay: 300)))
        #expect(Self.failing(burst) == ["rows_per_day"], "\(burst.findings)")
        // Every new visit an order: the share jumps from 20% to 100%.
        var orders = Self.visits(days: 56..<58)
        for index in orders.indices { orders[index].isOrder = true; orders[index].result = "order" }
        let orderShare = DatasetDrift(baseline: baseline, candidate: Self.dataset(Self.visits(days: 0..<56) + orders))
        #expect(Self.failing(orderShare).contains("order_share"), "\(orderShare.findings)")
        // The ERP renamed a code: every new visit's method is new.
        let renamed = DatasetDrift(
            baseline: baseline,
            candidate: Self.dataset(Self.visits(days: 0..<56) + Self.visits(days: 56..<57, method: "phone_call")))
        #expect(Self.failing(renamed) == ["new_values"], "\(renamed.findings)")
        #expect(renamed.findings.first { $0.check == "new_values" }!.message.contains("method 'phone_call' (30)"))
        // A few new codes are a note, not a failure.
        let few = DatasetDrift(
            baseline: baseline,
            candidate: Self.dataset(
                Self.visits(days: 0..<56) + Self.visits(days: 56..<57)
                    + Self.visits(days: 57..<58, perDay: 2, method: "video")))
        #expect(Self.failing(few).isEmpty, "\(few.findings)")
        let rejects = DatasetDrift(
            baseline: baseline, candidate: Self.dataset(Self.visits(days: 0..<57), rejected: 100))
        #expect(Self.failing(rejects) == ["reject_rate"], "\(rejects.findings)")
        #expect(rejects.findings.first { $0.check == "reject_rate" }!.message.contains("most: unknown_value (100)"))
        var loose = DatasetDrift.Thresholds()
        loose.maxRejectRateIncrease = 0.1
        #expect(
            Self.failing(
                DatasetDrift(
                    baseline: baseline, candidate: Self.dataset(Self.visits(days: 0..<57), rejected: 100),
                    thresholds: loose)
            ).isEmpty)
    }

    @Test("The markdown says whether the night passed and lists every check")
    func markdown() {
        let baseline = Self.dataset(Self.visits(days: 0..<56))
        let bad = DatasetDrift(baseline: baseline, candidate: Self.dataset(Self.visits(days: 0..<57), rejected: 100))
        let text = bad.markdown(baselinePath: "state/data", candidatePath: "state/data.next")
        #expect(text.contains("**Past a threshold: reject_rate.**"))
        #expect(text.contains("| reps | ok |"))
        #expect(
            DatasetDrift(baseline: baseline, candidate: baseline).markdown(baselinePath: "a", candidatePath: "b")
                .contains("Within every threshold."))
    }
}
