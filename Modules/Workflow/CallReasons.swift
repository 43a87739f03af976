import COpenBLAS
import Dataset
import Features
import Foundation

/// Why a customer is on the call list, in plain words: "last order 41 days ago, usually every
/// 38 days", "3 orders in 90 days", "last visit: no answer" (issue 16; Docs/Features.md,
/// "Reasons").
///
/// The same method for every model, whatever it reads (a CNN-LSTM's sequences, trees on
/// aggregates, BG/NBD's three numbers), so that a rep reads reasons of one kind: a **global
/// linear surrogate** of the model's scores over the candidates of one as-of date (Molnar,
/// *Interpretable Machine Learning*, §8.6 "Global surrogate"; the attribution of a linear model,
/// β_j·(x_ij − x̄_j), is its exact Shapley value). Per candidate a handful of readable facts of
/// its history (``Facts``) become standardised columns; ridge regression fits logit(score) on
/// them; a candidate's reasons are the fact groups whose contribution raised its score most
/// above the average candidate's, strongest first, and only those that did raise it. How much
/// of the model the surrogate captures is its R², which the scorer prints: the reasons describe
/// what the model's ranking moves with, not the network's inner arithmetic.
public enum CallReasons {
    /// The readable facts of one candidate's history before t.
    public struct Facts: Sendable, Equatable {
        /// Days from the last order to t (nil: none before t).
        public var daysSinceLastOrder: Int?
        /// Mean days between consecutive order days (nil: fewer than two).
        public var usualOrderGap: Double?
        /// Orders dated in [t − 90, t).
        public var ordersIn90Days: Int
        /// Visits dated in [t − 30, t).
        public var visitsIn30Days: Int
        /// Days from the last visit to t (nil: no visit).
        public var daysSinceLastVisit: Int?
        /// The result recorded on the last visit ("" when none or empty).
        public var lastResult: String
        /// Orders before t.
        public var totalOrders: Int
    }

    /// The facts of `example` (nil for a shift-augmented training copy, which scoring never has).
    public static func facts(of example: AsOfExample, in history: VisitHistory) -> Facts? {
        guard example.shifted < 0 else { return nil }
        let t = example.asOf
        let range = history.customers[Int(example.customer)].visits.lowerBound..<Int(example.historyEnd)
        var facts = Facts(
            daysSinceLastOrder: nil, usualOrderGap: nil, ordersIn90Days: 0, visitsIn30Days: 0, daysSinceLastVisit: nil,
            lastResult: "", totalOrders: 0)
        var firstOrderDay: Int32?, lastOrderDay: Int32?, orderDays = 0
        for index in range {
            let day = history.days[index]
            if t - day <= 30 { facts.visitsIn30Days += 1 }
            guard history.orders[index] else { continue }
            facts.totalOrders += 1
            if t - day <= 90 { facts.ordersIn90Days += 1 }
            if lastOrderDay != day { orderDays += 1 }
            firstOrderDay = firstOrderDay ?? day
            lastOrderDay = day
        }
        if let last = range.last {
            facts.daysSinceLastVisit = Int(t - history.days[last])
            facts.lastResult = history.dataset.visits[last].result
        }
        if let lastOrderDay, let firstOrderDay {
            facts.daysSinceLastOrder = Int(t - lastOrderDay)
            if orderDays >= 2 { facts.usualOrderGap = Double(lastOrderDay - firstOrderDay) / Double(orderDays - 1) }
        }
        return facts
    }

    /// The fact groups a reason can name, each a few surrogate columns.
    enum Group: Int, CaseIterable {
        case rhythm, recentOrders, recentVisits, lastResult, orderHistory
    }

    /// The most distinct last-visit results that get a column (the most frequent among the
    /// candidates); rarer ones share the baseline.
    static let resultColumns = 8

    /// The surrogate's columns of one candidate: (group, value) pairs, the results one-hot over
    /// `results`.
    static func columns(_ f: Facts, results: [String]) -> [(Group, Double)] {
        let overdue =
            f.daysSinceLastOrder.flatMap { days in f.usualOrderGap.map { $0 > 0 ? min(Double(days) / $0, 4) : 0 } } ?? 0
        var columns: [(Group, Double)] = [
            (.rhythm, log1p(Double(f.daysSinceLastOrder ?? 0))), (.rhythm, overdue),
            (.rhythm, f.daysSinceLastOrder == nil ? 0 : 1),
            (.recentOrders, log1p(Double(f.ordersIn90Days))),
            (.recentVisits, log1p(Double(f.visitsIn30Days))),
            (.recentVisits, log1p(Double(f.daysSinceLastVisit ?? 365))),
            (.orderHistory, log1p(Double(f.totalOrders)))
        ]
        for result in results { columns.append((.lastResult, f.lastResult == result ? 1 : 0)) }
        return columns
    }

    /// The phrase of `group` for a candidate.
    static func phrase(_ group: Group, _ f: Facts) -> String {
        func days(_ n: Int) -> String { n == 1 ? "1 day" : "\(n) days" }
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        switch group {
        case .rhythm:
            guard let since = f.daysSinceLastOrder else { return "no order yet" }
            guard let gap = f.usualOrderGap else { return "last order \(days(since)) ago" }
            return "last order \(days(since)) ago, usually every \(days(max(1, Int(gap.rounded()))))"
        case .recentOrders:
            return "\(count(f.ordersIn90Days, "order")) in 90 days"
        case .recentVisits:
            let last = f.daysSinceLastVisit.map { ", the last \(days($0)) ago" } ?? ""
            return "\(count(f.visitsIn30Days, "visit")) in 30 days\(last)"
        case .lastResult:
            return "last visit: \(f.lastResult.isEmpty ? "no result recorded" : f.lastResult)"
        case .orderHistory:
            return "\(count(f.totalOrders, "order")) in all"
        }
    }

    /// The reasons of every candidate and the surrogate's R².
    public struct Explanation: Sendable {
        /// Per candidate, up to `ScoresFile.reasonCount` phrases, strongest first.
        public var reasons: [[String]]
        /// The share of the variance of logit(score) the surrogate explains (nil: too few
        /// candidates, or scores that do not vary).
        public var rSquared: Double?
    }

    /// Reasons for the candidates `set.examples` with the model's `scores` (one per example).
    /// Candidates of different as-of dates are explained per date (a surrogate per list).
    public static func explain(history: VisitHistory, set: ExampleSet, scores: [Float], maximum: Int = 3) -> Explanation
    {
        precondition(
            scores.count == set.examples.count, "CallReasons: \(scores.count) scores for \(set.examples.count) examples"
        )
        return explain(
            facts: set.examples.map { Self.facts(of: $0, in: history) },
            asOf: set.examples.map { Day(ordinal: $0.asOf) },
            scores: scores, maximum: maximum)
    }

    /// Reasons for candidates given by their facts (nil: not explainable), as-of dates and
    /// scores, in candidate order (what `scorer merge` calls with the facts the partitions'
    /// partial scores carry). Every sum runs over one date's candidates in the order given, so
    /// the same candidates in the same order give the same reasons, bit for bit, however they
    /// were scored.
    public static func explain(facts allFacts: [Facts?], asOf: [Day], scores: [Float], maximum: Int = 3)
        -> Explanation
    {
        precondition(
            scores.count == allFacts.count && asOf.count == allFacts.count,
            "CallReasons: \(scores.count) scores for \(allFacts.count) candidates")
        var reasons = [[String]](repeating: [], count: scores.count)
        var explained = 0.0, total = 0.0
        let byDate = Dictionary(grouping: allFacts.indices, by: { asOf[$0] })
        // Dates in order, so that R², a sum over dates, is the same on every run.
        for rows in byDate.sorted(by: { $0.key < $1.key }).map({ $0.value.sorted() }) {
            let rowFacts = rows.map { allFacts[$0] }
            let usable = rows.indices.filter { rowFacts[$0] != nil }
            guard usable.count >= 10 else { continue }
            var frequency: [String: Int] = [:]
            for i in usable { frequency[rowFacts[i]!.lastResult, default: 0] += 1 }
            let results = frequency.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(resultColumns).map(\.key)
            let matrix = usable.map { columns(rowFacts[$0]!, results: results) }
            let target = usable.map { i -> Double in
                let p = min(max(Double(scores[rows[i]]), 1e-6), 1 - 1e-6)
                return log(p / (1 - p))
            }
            guard let fit = RidgeFit(matrix.map { $0.map { $0.1 } }, target) else { continue }
            explained += fit.explainedSquares
            total += fit.totalSquares
            let groups = matrix[0].map { $0.0 }
            for (u, i) in usable.enumerated() {
                var contribution = [Double](repeating: 0, count: Group.allCases.count)
                for (j, group) in groups.enumerated() {
                    contribution[group.rawValue] += fit.contribution(row: u, column: j)
                }
                reasons[rows[i]] = Group.allCases
                    .filter { contribution[$0.rawValue] > 1e-9 }
                    .sorted { contribution[$0.rawValue] > contribution[$1.rawValue] }
                    .prefix(maximum).map { phrase($0, rowFacts[i]!) }
            }
        }
        return Explanation(reasons: reasons, rSquared: total > 0 ? explained / total : nil)
    }
}

/// Ridge regression on standardised columns, y ≈ ȳ + Σ_j β_j z_j with z_j = (x_j − x̄_j)/s_j,
/// β = (ZᵀZ + λI)⁻¹ Zᵀ(y − ȳ), λ = 10⁻³·n (a ridge only large enough to keep collinear facts,
/// such as a customer's recency and its overdue ratio, from trading huge opposite weights).
/// Solved by LAPACK's Cholesky `dposv` (OpenBLAS). Constant columns get β = 0.
struct RidgeFit {
    let standardized: [[Double]]  // [n][p]
    let coefficients: [Double]  // [p]
    let explainedSquares: Double
    let totalSquares: Double

    init?(_ x: [[Double]], _ y: [Double]) {
        let n = x.count
        guard n >= 2, let p = x.first?.count, p > 0 else { return nil }
        var z = x
        for j in 0..<p {
            let mean = x.reduce(0) { $0 + $1[j] } / Double(n)
            let deviation = (x.reduce(0) { $0 + ($1[j] - mean) * ($1[j] - mean) } / Double(n)).squareRoot()
            for i in 0..<n { z[i][j] = deviation > 1e-12 ? (x[i][j] - mean) / deviation : 0 }
        }
        let meanY = y.reduce(0, +) / Double(n)
        let centered = y.map { $0 - meanY }
        let total = centered.reduce(0) { $0 + $1 * $1 }
        guard total > 1e-12 else { return nil }
        // Column-major A = ZᵀZ + λI and b = Zᵀy.
        let lambda = 1e-3 * Double(n)
        var a = [Double](repeating: 0, count: p * p), b = [Double](repeating: 0, count: p)
        for i in 0..<n {
            for j in 0..<p {
                b[j] += z[i][j] * centered[i]
                for k in 0..<p { a[k * p + j] += z[i][j] * z[i][k] }
            }
        }
        for j in 0..<p { a[j * p + j] += lambda }
        var uplo = Int8(UInt8(ascii: "U")), order = Int32(p), rightHandSides: Int32 = 1, leading = Int32(p),
            info: Int32 = 0
        var leadingB = Int32(p)
        dposv_(&uplo, &order, &rightHandSides, &a, &leading, &b, &leadingB, &info)
        guard info == 0, b.allSatisfy(\.isFinite) else { return nil }
        standardized = z
        coefficients = b
        let residual = (0..<n).reduce(0.0) { sum, i in
            let predicted = (0..<p).reduce(0.0) { $0 + b[$1] * z[i][$1] }
            return sum + (centered[i] - predicted) * (centered[i] - predicted)
        }
        totalSquares = total
        explainedSquares = max(0, total - residual)
    }

    /// β_j·z_ij: how far column j moves row i's fitted logit from the average row's.
    func contribution(row i: Int, column j: Int) -> Double { coefficients[j] * standardized[i][j] }
}
