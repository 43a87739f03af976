import Dataset
import Evaluation
import Formats
import Foundation

/// What moved between yesterday's dataset (the baseline) and tonight's import (the candidate),
/// checked before the nightly retrain so that a broken or changed export cannot quietly train
/// and publish tomorrow's lists.
///
/// The nightly export is a full export: the candidate should hold every visit of the baseline
/// and add the new days. Each check measures one thing an ERP change or a partial export moves,
/// and fails (``Finding/exceedsThreshold``) only past its threshold; everything else is said as
/// a note:
///
/// | check | measures | fails when |
/// |---|---|---|
/// | `history_lost` | baseline visits (by id) missing from the candidate | share > `maxHistoryLoss` (0.5%) |
/// | `history_changed` | baseline visits whose date, customer, rep, result or order flag changed | share > `maxHistoryChange` (5%) |
/// | `customers_lost` | baseline customer profiles missing from the candidate | share > `maxCustomerLoss` (1%) |
/// | `rows_per_day` | new visits per day against the same weekdays of the baseline's last 28 days | ratio outside [1/`maxVolumeRatio`, `maxVolumeRatio`] (5) with ≥ 20 expected |
/// | `order_share` | orders among the new visits against the baseline's last 28 days | relative change > `maxOrderShareChange` (50%) and a two-sided binomial p < 0.001 |
/// | `new_values` | new visits carrying a method, target, purpose, result or categorical value the baseline never had | share > `maxNewValueShare` (20%) with ≥ 20 new visits |
/// | `reject_rate` | the candidate import's rejected share of rows read against the baseline's | increase > `maxRejectRateIncrease` (2 points) |
/// | `reps` | reps appearing in the new visits, and reps of the baseline with no visit left | never (a note) |
public struct DatasetDrift: Sendable {
    public struct Thresholds: Sendable, Equatable {
        public var maxHistoryLoss = 0.005
        public var maxHistoryChange = 0.05
        public var maxCustomerLoss = 0.01
        public var maxVolumeRatio = 5.0
        public var maxOrderShareChange = 0.5
        public var maxNewValueShare = 0.2
        public var maxRejectRateIncrease = 0.02
        public init() {}
    }

    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public var check: String
        public var message: String
        public var exceedsThreshold: Bool
        public var description: String { "\(exceedsThreshold ? "DRIFT" : "ok") \(check): \(message)" }
    }

    public let findings: [Finding]
    /// Whether any check failed: keep yesterday's dataset and model.
    public var exceedsThreshold: Bool { findings.contains(where: \.exceedsThreshold) }

    static func share(_ part: Int, _ whole: Int) -> Double { whole == 0 ? 0 : Double(part) / Double(whole) }
    static func percent(_ value: Double) -> String { String(format: "%.2f%%", value * 100) }

    public init(baseline: Dataset, candidate: Dataset, thresholds: Thresholds = Thresholds()) {
        var findings: [Finding] = []
        func add(_ check: String, _ fails: Bool, _ message: String) {
            findings.append(Finding(check: check, message: message, exceedsThreshold: fails))
        }
        var candidateByID: [String: Int] = [:]
        candidateByID.reserveCapacity(candidate.visits.count)
        for (index, visit) in candidate.visits.enumerated() { candidateByID[visit.visitID] = index }
        var baselineIDs = Set<String>()
        baselineIDs.reserveCapacity(baseline.visits.count)
        var lost = 0, changed = 0
        var lostExample: Visit? = nil, changedExample: (Visit, Visit)? = nil
        for visit in baseline.visits {
            baselineIDs.insert(visit.visitID)
            guard let index = candidateByID[visit.visitID] else {
                lost += 1
                if lostExample == nil { lostExample = visit }
                continue
            }
            let now = candidate.visits[index]
            if now.date != visit.date || now.customerID != visit.customerID || now.repID != visit.repID
                || now.result != visit.result
                || now.isOrder != visit.isOrder
            {
                changed += 1
                if changedExample == nil { changedExample = (visit, now) }
            }
        }
        let n = baseline.visits.count
        let lostShare = Self.share(lost, n)
        add(
            "history_lost", lostShare > thresholds.maxHistoryLoss,
            "\(lost) of \(n) visits of yesterday's dataset are missing tonight (\(Self.percent(lostShare)); threshold "
                + "\(Self.percent(thresholds.maxHistoryLoss)))"
                + (lostExample.map { ", e.g. visit '\(Snippet.bounded($0.visitID))' of \($0.date.iso)" } ?? "")
                + (lost > 0 ? ": a partial export, or an ERP that purged old records" : ""))
        let changedShare = Self.share(changed, n)
        add(
            "history_changed", changedShare > thresholds.maxHistoryChange,
            "\(changed) of \(n) visits changed date, customer, rep or result (\(Self.percent(changedShare)); threshold "
                + "\(Self.percent(thresholds.maxHistoryChange)))"
                + (changedExample.map {
                    ", e.g. visit '\(Snippet.bounded($0.0.visitID))': result '\(Snippet.bounded($0.0.result))' → '\(Snippet.bounded($0.1.result))', \($0.0.date.iso) → \($0.1.date.iso)"
                } ?? ""))

        let candidateCustomers = Set(candidate.customers.map(\.customerID))
        let customersLost = baseline.customers.filter { !candidateCustomers.contains($0.customerID) }.count
        let baselineCustomers = Set(baseline.customers.map(\.customerID))
        let customersNew = candidate.customers.filter { !baselineCustomers.contains($0.customerID) }.count
        let customerShare = Self.share(customersLost, baseline.customers.count)
        add(
            "customers_lost", customerShare > thresholds.maxCustomerLoss,
            "\(customersLost) of \(baseline.customers.count) customer profiles are missing tonight (\(Self.percent(customerShare)); "
                + "threshold \(Self.percent(thresholds.maxCustomerLoss))); \(customersNew) new")

        // The new visits: ids the baseline did not have.
        let fresh = candidate.visits.filter { !baselineIDs.contains($0.visitID) }
        let baselineEnd = baseline.visits.map(\.date).max()
        let recentFrom = baselineEnd.map { $0.advanced(by: -27) }
        let recent = recentFrom.map { from in baseline.visits.filter { $0.date >= from } } ?? []
        // Rows per day against the same weekdays of the baseline's last four weeks.
        if let baselineEnd, let candidateEnd = candidate.visits.map(\.date).max(), candidateEnd > baselineEnd {
            let days = (1...Int(candidateEnd.ordinal - baselineEnd.ordinal)).map { baselineEnd.advanced(by: $0) }
            var perWeekday = [Int](repeating: 0, count: 8)
            for visit in recent { perWeekday[visit.date.weekday] += 1 }
            let expected = days.map { Double(perWeekday[$0.weekday]) / 4 }.reduce(0, +)
            let observed = fresh.filter { $0.date > baselineEnd }.count
            let ratio = expected > 0 ? Double(observed) / expected : (observed > 0 ? Double.infinity : 1)
            let outside = ratio > thresholds.maxVolumeRatio || ratio < 1 / thresholds.maxVolumeRatio
            add(
                "rows_per_day", outside && expected >= 20,
                "\(observed) visits dated \(days.first!.iso)…\(days.last!.iso) against \(String(format: "%.1f", expected)) expected "
                    + "from the same weekdays of the last 4 weeks (ratio \(String(format: "%.2f", ratio)); allowed "
                    + "\(String(format: "%.2f", 1 / thresholds.maxVolumeRatio))…\(String(format: "%.0f", thresholds.maxVolumeRatio)))"
            )
        } else {
            add(
                "rows_per_day", false,
                "no visit dated after yesterday's last day (\(baselineEnd?.iso ?? "none")): no new day to compare")
        }

        // The order share of the new visits against the baseline's recent weeks.
        let freshOrders = fresh.filter(\.isOrder).count
        let recentOrders = recent.filter(\.isOrder).count
        if !fresh.isEmpty, !recent.isEmpty {
            let before = Self.share(recentOrders, recent.count), now = Self.share(freshOrders, fresh.count)
            let change = before > 0 ? abs(now - before) / before : (now > 0 ? Double.infinity : 0)
            let lower = Trend.binomialLowerTail(freshOrders, fresh.count, before)
            let upper = freshOrders == 0 ? 1 : 1 - Trend.binomialLowerTail(freshOrders - 1, fresh.count, before)
            let p = min(1, 2 * min(lower, upper))
            add(
                "order_share", change > thresholds.maxOrderShareChange && p < 0.001,
                "\(freshOrders) orders among \(fresh.count) new visits (\(Self.percent(now))) against \(Self.percent(before)) in the "
                    + "last 28 days (change \(String(format: "%.0f", change * 100))%, two-sided p = \(String(format: "%.2g", p)); "
                    + "threshold \(String(format: "%.0f", thresholds.maxOrderShareChange * 100))% at p < 0.001)")
        }

        // New categorical values among the new visits.
        func values(_ visits: [Visit]) -> [String: Set<String>] {
            var known: [String: Set<String>] = [:]
            for visit in visits {
                known["method", default: []].insert(visit.method)
                known["target", default: []].insert(visit.target)
                known["purpose", default: []].insert(visit.purpose)
                known["result", default: []].insert(visit.result)
                for (c, value) in visit.categorical.enumerated() {
                    known["categorical \(c + 1)", default: []].insert(value)
                }
            }
            return known
        }
        let known = values(baseline.visits)
        var novel: [String: [String: Int]] = [:]
        var novelRows = 0
        for visit in fresh {
            var isNovel = false
            func check(_ field: String, _ value: String) {
                if !(known[field]?.contains(value) ?? false) {
                    novel[field, default: [:]][value, default: 0] += 1
                    isNovel = true
                }
            }
            check("method", visit.method)
            check("target", visit.target)
            check("purpose", visit.purpose)
            check("result", visit.result)
            for (c, value) in visit.categorical.enumerated() { check("categorical \(c + 1)", value) }
            if isNovel { novelRows += 1 }
        }
        let novelShare = Self.share(novelRows, fresh.count)
        let listed = novel.keys.sorted().flatMap { field in
            novel[field]!.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(3).map {
                "\(field) '\(Snippet.bounded($0.key, limit: 40))' (\($0.value))"
            }
        }
        add(
            "new_values", novelShare > thresholds.maxNewValueShare && fresh.count >= 20,
            "\(novelRows) of \(fresh.count) new visits carry a value yesterday's dataset never had (\(Self.percent(novelShare)); "
                + "threshold \(Self.percent(thresholds.maxNewValueShare)))"
                + (listed.isEmpty ? "" : ": " + listed.prefix(6).joined(separator: ", ")))

        // The import's reject rate, from the manifests.
        let rateBefore = Self.share(baseline.manifest.visitCounts.rejected, baseline.manifest.visitCounts.read)
        let rateNow = Self.share(candidate.manifest.visitCounts.rejected, candidate.manifest.visitCounts.read)
        let topReason = candidate.manifest.visitCounts.rejectedByReason.max { ($0.value, $1.key) < ($1.value, $0.key) }
        add(
            "reject_rate", rateNow - rateBefore > thresholds.maxRejectRateIncrease,
            "\(candidate.manifest.visitCounts.rejected) of \(candidate.manifest.visitCounts.read) visit rows rejected tonight "
                + "(\(Self.percent(rateNow))) against \(Self.percent(rateBefore)) yesterday (allowed increase "
                + "\(Self.percent(thresholds.maxRejectRateIncrease)))"
                + (topReason.map { "; most: \($0.key) (\($0.value))" } ?? ""))

        // Reps: a note only (territories change), but an operator wants to know.
        let baselineReps = Set(baseline.visits.map(\.repID)).subtracting([""])
        let candidateReps = Set(candidate.visits.map(\.repID)).subtracting([""])
        let appeared = Set(fresh.map(\.repID)).subtracting([""]).subtracting(baselineReps).sorted()
        let vanished = baselineReps.subtracting(candidateReps).sorted()
        func names(_ ids: [String]) -> String {
            ids.isEmpty ? "" : " (" + ids.prefix(5).map { Snippet.bounded($0, limit: 30) }.joined(separator: ", ") + ")"
        }
        let appearedText = "\(appeared.count) new rep" + (appeared.count == 1 ? "" : "s") + names(appeared)
        let vanishedText = "\(vanished.count) of yesterday's reps have no visit left" + names(vanished)
        add("reps", false, appearedText + "; " + vanishedText)
        self.findings = findings
    }

    /// `drift.md`.
    public func markdown(baselinePath: String, candidatePath: String) -> String {
        var lines = [
            "# Revisit: what moved in tonight's export", "",
            exceedsThreshold
                ? "**Past a threshold: \(findings.filter(\.exceedsThreshold).map(\.check).joined(separator: ", ")).** The nightly job keeps yesterday's dataset and model."
                : "Within every threshold.", ""
        ]
        let table = MarkdownTable(
            headers: ["check", "result", "what moved"], alignments: [.left, .left, .left],
            rows: findings.map {
                [$0.check, $0.exceedsThreshold ? "**past threshold**" : "ok", ReportText.literal($0.message)]
            })
        lines.append(table.render())
        lines += ["Yesterday: \(ReportText.literal(baselinePath)); tonight: \(ReportText.literal(candidatePath)).", ""]
        return lines.joined(separator: "\n")
    }
}
