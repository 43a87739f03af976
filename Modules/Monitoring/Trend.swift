import Dataset
import Evaluation
import Foundation
import Metrics

/// How the published lists did night after night, from an ``AuditHistory``, and the warnings an
/// operator needs: a night whose list precision fell well below the nights before it, a night
/// below the reps' own rate, a stretch no better than a random list.
///
/// A night's list precision is a proportion of a few dozen to a few thousand listed customers,
/// so it swings from night to night by chance alone. A warning therefore needs both a size that
/// matters and a one-sided binomial test that chance does not explain it: with k of the night's
/// n listed customers ordering, P(X ≤ k | n, p₀) < `significance` under the rate p₀ it is
/// compared with (the pooled precision of the previous nights, or the reps' rate).
public struct Trend: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Previous nights pooled as a night's baseline.
        public var window = 14
        /// Fewer previous nights than this: no drop warning yet (the first nights have no past).
        public var minimumNights = 5
        /// A drop warning needs the night's precision below (1 − relativeDrop) × the baseline.
        public var relativeDrop = 0.25
        /// One-sided binomial p-value below which a difference is not put down to chance.
        public var significance = 0.01
        public init() {}
    }

    /// One night: its lists pooled over the models that published them.
    public struct Night: Sendable, Equatable {
        public var asOf: Day
        public var models: [String]
        public var candidates: Int
        public var listed: Int
        public var listedOrdered: Int
        public var repsRate: Double?
        public var randomRate: Double?
        public var listPrecision: Double? { listed > 0 ? Double(listedOrdered) / Double(listed) : nil }
    }

    public struct Warning: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            case drop, belowReps = "below_reps", noBetterThanRandom = "no_better_than_random"
        }
        public var asOf: Day
        public var kind: Kind
        public var message: String
        public var description: String { message }
    }

    public let settings: Settings
    public let nights: [Night]
    /// Every night's warnings, in date order.
    public let warnings: [Warning]

    public init(_ history: AuditHistory, settings: Settings = Settings()) {
        self.settings = settings
        var byDate: [Day: Night] = [:]
        for entry in history.entries {
            var night =
                byDate[entry.asOf] ?? Night(asOf: entry.asOf, models: [], candidates: 0, listed: 0, listedOrdered: 0)
            night.models.append(entry.model)
            night.candidates += entry.candidates
            night.listed += entry.listed
            night.listedOrdered += entry.listedOrdered
            night.repsRate = night.repsRate ?? entry.repsRate
            night.randomRate = night.randomRate ?? entry.randomRate
            byDate[entry.asOf] = night
        }
        let nights = byDate.keys.sorted().map { byDate[$0]! }
        self.nights = nights
        var warnings: [Warning] = []
        for (index, night) in nights.enumerated() {
            warnings += Self.warnings(
                night, previous: nights[max(0, index - settings.window)..<index], settings: settings)
        }
        self.warnings = warnings
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }

    static func warnings(_ night: Night, previous: ArraySlice<Night>, settings: Settings) -> [Warning] {
        guard night.listed > 0, let precision = night.listPrecision else { return [] }
        let k = night.listedOrdered, n = night.listed
        var found: [Warning] = []
        let pastListed = previous.map(\.listed).reduce(0, +), pastOrdered = previous.map(\.listedOrdered).reduce(0, +)
        if previous.count >= settings.minimumNights, pastListed > 0 {
            let baseline = Double(pastOrdered) / Double(pastListed)
            let p = binomialLowerTail(k, n, baseline)
            if precision < (1 - settings.relativeDrop) * baseline, p < settings.significance {
                found.append(
                    Warning(
                        asOf: night.asOf, kind: .drop,
                        message:
                            "list of \(night.asOf.iso): precision \(percent(precision)) (\(k) of \(n) listed ordered) against "
                            + "\(percent(baseline)) over the \(previous.count) nights before; a drop this large has p = "
                            + String(format: "%.2g", p)
                            + " by chance. Check the night's import and model (drift report, trainer log)."))
            }
        }
        if let reps = night.repsRate, precision < reps {
            let p = binomialLowerTail(k, n, reps)
            if p < settings.significance {
                found.append(
                    Warning(
                        asOf: night.asOf, kind: .belowReps,
                        message:
                            "list of \(night.asOf.iso): precision \(percent(precision)) below the reps' own rate \(percent(reps)) "
                            + "(p = " + String(format: "%.2g", p) + "): that night the reps' choices beat the list."))
            }
        }
        // A sustained check: the window ending tonight pooled, against the random list of the
        // same candidates (one night is too few listed customers to say it alone).
        let window = Array(previous) + [night]
        let windowListed = window.map(\.listed).reduce(0, +), windowOrdered = window.map(\.listedOrdered).reduce(0, +)
        let randomNights = window.filter { $0.randomRate != nil && $0.listed > 0 }
        if window.count >= settings.minimumNights, !randomNights.isEmpty, windowListed > 0 {
            let random =
                randomNights.map { $0.randomRate! * Double($0.listed) }.reduce(0, +)
                / Double(randomNights.map(\.listed).reduce(0, +))
            if Double(windowOrdered) / Double(windowListed) <= random {
                found.append(
                    Warning(
                        asOf: night.asOf, kind: .noBetterThanRandom,
                        message: "lists of the \(window.count) nights to \(night.asOf.iso): precision "
                            + "\(percent(Double(windowOrdered) / Double(windowListed))) is no better than a random list of the same "
                            + "candidates (\(percent(random))): the model is not ranking. Retrain from scratch (drop --init-from) and "
                            + "check the data."))
            }
        }
        return found
    }

    /// P(X ≤ k) for X ~ Binomial(n, p), summed in log space (n up to millions stays finite).
    public static func binomialLowerTail(_ k: Int, _ n: Int, _ p: Double) -> Double {
        precondition(n >= 0 && k >= 0, "binomialLowerTail: negative counts")
        if k >= n || p <= 0 { return 1 }
        if p >= 1 { return 0 }
        let logP = Foundation.log(p), logQ = Foundation.log1p(-p)
        // lgamma_r, not lgamma: plain lgamma writes the global `signgam` (a data race when two
        // threads compute it, as BGNBD notes).
        func logGamma(_ x: Double) -> Double {
            var sign: Int32 = 0
            return lgamma_r(x, &sign)
        }
        let logN = logGamma(Double(n) + 1)
        var terms: [Double] = []
        terms.reserveCapacity(k + 1)
        for i in 0...k {
            terms.append(
                logN - logGamma(Double(i) + 1) - logGamma(Double(n - i) + 1) + Double(i) * logP + Double(n - i) * logQ)
        }
        let top = terms.max()!
        return min(1, Foundation.exp(top) * terms.map { Foundation.exp($0 - top) }.reduce(0, +))
    }

    /// The warnings of the last night in the history (what tonight's run must say).
    public var latestWarnings: [Warning] {
        guard let last = nights.last?.asOf else { return [] }
        return warnings.filter { $0.asOf == last }
    }

    // MARK: Output

    /// List precision, the reps' rate and a random list by night; warning nights circled.
    public func chart() -> LineChart {
        let position = Dictionary(uniqueKeysWithValues: nights.enumerated().map { ($1.asOf, Double($0)) })
        let warned = Set(warnings.filter { $0.kind != .noBetterThanRandom }.map(\.asOf))
        var series = [
            ChartSeries(name: "list precision", points: nights.map { (x: position[$0.asOf]!, y: $0.listPrecision) }),
            ChartSeries(name: "reps", points: nights.map { (x: position[$0.asOf]!, y: $0.repsRate) }, dashed: true),
            ChartSeries(
                name: "random list", points: nights.map { (x: position[$0.asOf]!, y: $0.randomRate) }, dashed: true)
        ]
        if !warned.isEmpty {
            // Isolated points (nil between them) are drawn as circles: one per warned night.
            series.append(
                ChartSeries(
                    name: "warning",
                    points: nights.map { (x: position[$0.asOf]!, y: warned.contains($0.asOf) ? $0.listPrecision : nil) }
                ))
        }
        let highest = series.flatMap { $0.points.compactMap(\.y) }.max() ?? 0
        let top = max(0.05, (highest * 10).rounded(.up) / 10)
        let yTicks = (0...4).map { i -> LineChart.Tick in
            let v = top * Double(i) / 4
            return LineChart.Tick(v, String(format: "%.1f%%", v * 100))
        }
        let step = max(1, (nights.count + 4) / 5)
        let xTicks = stride(from: 0, to: nights.count, by: step).map { LineChart.Tick(Double($0), nights[$0].asOf.iso) }
        return LineChart(
            title: "Published lists, night by night: list precision vs the reps and a random list",
            xLabel: "list date (as-of)", yLabel: "share ordered", xRange: 0...Double(max(nights.count - 1, 1)),
            yRange: 0...top,
            xTicks: xTicks, yTicks: yTicks, series: series)
    }

    /// `trend.md`: the warnings first, then the nights.
    public func markdown(historyPath: String) -> String {
        var lines = ["# Revisit: list precision over the nights", ""]
        let latest = latestWarnings
        if let last = nights.last {
            lines.append(
                latest.isEmpty
                    ? "Latest audited list (\(last.asOf.iso)): no warning."
                    : "Latest audited list (\(last.asOf.iso)): **\(latest.count) warning\(latest.count == 1 ? "" : "s")**."
            )
        } else {
            lines.append("No audited list yet: a list is audited once its outcome window has closed.")
        }
        lines.append("")
        if !warnings.isEmpty {
            lines += ["## Warnings", ""]
            lines += warnings.reversed().map { "- \(ReportText.literal($0.message))" }
            lines.append("")
        }
        lines += ["## Nights", "", "![trend](trend.svg)", ""]
        let table = MarkdownTable(
            headers: [
                "list date", "model", "candidates", "listed", "ordered", "list precision", "reps' rate", "random list"
            ],
            rows: nights.reversed().map { night in
                [
                    night.asOf.iso, ReportText.literal(night.models.joined(separator: "; ")), String(night.candidates),
                    String(night.listed),
                    String(night.listedOrdered), night.listPrecision.map(Self.percent) ?? ReportText.undefined,
                    night.repsRate.map(Self.percent) ?? ReportText.undefined,
                    night.randomRate.map(Self.percent) ?? ReportText.undefined
                ]
            })
        lines.append(table.render())
        lines += [
            "", "## How the warnings are decided", "",
            "A drop: the night's precision is below \(Int((1 - settings.relativeDrop) * 100))% of the pooled precision of up to "
                + "\(settings.window) nights before it (at least \(settings.minimumNights)), and a one-sided binomial test puts "
                + "the chance of so few orders below \(settings.significance). Below the reps: the night's precision is under the "
                + "reps' rate that week by the same test. No better than a random list: over the last \(settings.window + 1) nights "
                + "pooled, the lists' precision is at most a random list's of the same candidates.",
            "", "History: \(ReportText.literal(historyPath))", ""
        ]
        return lines.joined(separator: "\n")
    }
}
