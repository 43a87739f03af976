import Dataset
import Evaluation
import Features
import Foundation
import Testing
@testable import Workflow

/// The reasons on every line: the facts are the history's, the surrogate is the ridge regression
/// it says it is, and a model that ranks by one fact gets that fact as its customers' first reason.
@Suite("Reasons per line")
struct CallReasonsTests {
    static let history = ContenderTests.history
    static let set = ExampleBuilder(history: history, settings: ExampleSettings())
        .scoringExamples(asOf: Day(ordinal: history.days.max()! + 1))

    @Test("The facts of a candidate are its visits before t, counted independently from the dataset's rows")
    func factsAreTheHistorys() throws {
        #expect(Self.set.count > 100)
        for example in Self.set.examples.prefix(60) {
            let facts = try #require(CallReasons.facts(of: example, in: Self.history))
            let id = Self.history.customerID(of: example), t = example.asOf
            let visits = Self.history.dataset.visits.filter { $0.customerID == id && $0.date.ordinal < t }.sorted {
                $0.date < $1.date
            }
            let orders = visits.filter(\.isOrder)
            #expect(facts.totalOrders == orders.count)
            #expect(facts.ordersIn90Days == orders.filter { t - $0.date.ordinal <= 90 }.count)
            #expect(facts.visitsIn30Days == visits.filter { t - $0.date.ordinal <= 30 }.count)
            #expect(facts.daysSinceLastVisit == visits.last.map { Int(t - $0.date.ordinal) })
            #expect(facts.daysSinceLastOrder == orders.last.map { Int(t - $0.date.ordinal) })
            let orderDays = Array(Set(orders.map(\.date.ordinal))).sorted()
            let gap =
                orderDays.count >= 2 ? Double(orderDays.last! - orderDays.first!) / Double(orderDays.count - 1) : nil
            #expect(facts.usualOrderGap == gap)
            // Same-day visits sort in dataset order; the last one's result is the fact.
            if let last = visits.last, !visits.contains(where: { $0.date == last.date && $0.visitID != last.visitID }) {
                #expect(facts.lastResult == last.result)
            }
        }
    }

    @Test("The surrogate is ridge regression on standardised columns: β = (ZᵀZ + λI)⁻¹Zᵀy, solved through LAPACK")
    func ridgeIsTheClosedForm() throws {
        // Two correlated columns and a noisy linear target.
        var x: [[Double]] = [], y: [Double] = []
        for i in 0..<50 {
            let a = Double(i % 7), b = Double(i % 5) + 0.3 * a
            x.append([a, b])
            y.append(2 * a - b + 0.1 * sin(Double(i)))
        }
        let fit = try #require(RidgeFit(x, y))
        // The 2 × 2 normal equations by hand.
        let n = Double(x.count)
        func standardized(_ j: Int) -> [Double] {
            let mean = x.map { $0[j] }.reduce(0, +) / n
            let sd = (x.map { ($0[j] - mean) * ($0[j] - mean) }.reduce(0, +) / n).squareRoot()
            return x.map { ($0[j] - mean) / sd }
        }
        let z0 = standardized(0), z1 = standardized(1)
        let meanY = y.reduce(0, +) / n, c = y.map { $0 - meanY }
        let lambda = 1e-3 * n
        let a00 = zip(z0, z0).map(*).reduce(0, +) + lambda, a01 = zip(z0, z1).map(*).reduce(0, +)
        let a11 = zip(z1, z1).map(*).reduce(0, +) + lambda
        let b0 = zip(z0, c).map(*).reduce(0, +), b1 = zip(z1, c).map(*).reduce(0, +)
        let det = a00 * a11 - a01 * a01
        let expected = [(a11 * b0 - a01 * b1) / det, (a00 * b1 - a01 * b0) / det]
        #expect(
            abs(fit.coefficients[0] - expected[0]) < 1e-9 && abs(fit.coefficients[1] - expected[1]) < 1e-9,
            "\(fit.coefficients) vs \(expected)")
        #expect(fit.explainedSquares / fit.totalSquares > 0.99)
        #expect(abs(fit.contribution(row: 3, column: 0) - expected[0] * z0[3]) < 1e-9)
        // A constant target has nothing to explain.
        #expect(RidgeFit(x, [Double](repeating: 1, count: 50)) == nil)
    }

    @Test(
        "A model that ranks by recent orders gets 'N orders in 90 days' first for its top customers; reasons only raise"
    )
    func reasonsFollowWhatMovesTheScore() throws {
        let facts = Self.set.examples.map { CallReasons.facts(of: $0, in: Self.history)! }
        let scores = facts.map { Float(1 / (1 + exp(-(Double($0.ordersIn90Days) - 1.5)))) }
        let explanation = CallReasons.explain(history: Self.history, set: Self.set, scores: scores)
        let r2 = try #require(explanation.rSquared)
        #expect(r2 > 0.8, "the surrogate reproduces a score that is a function of one of its facts: R² \(r2)")
        let top = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(10)
        for i in top {
            #expect(
                explanation.reasons[i].first == "\(facts[i].ordersIn90Days) orders in 90 days",
                "\(explanation.reasons[i])")
        }
        // The lowest-scored customers have no recent orders: that fact does not raise them, so it is not among their reasons.
        for i in scores.indices where facts[i].ordersIn90Days == 0 {
            #expect(!explanation.reasons[i].contains { $0.hasSuffix("in 90 days") })
        }
        #expect(explanation.reasons.allSatisfy { $0.count <= 3 })
    }

    @Test("Phrases say the facts in words, in the singular where one")
    func phrases() {
        let f = CallReasons.Facts(
            daysSinceLastOrder: 41, usualOrderGap: 37.6, ordersIn90Days: 1, visitsIn30Days: 2, daysSinceLastVisit: 1,
            lastResult: "no answer",
            totalOrders: 12)
        #expect(CallReasons.phrase(.rhythm, f) == "last order 41 days ago, usually every 38 days")
        #expect(CallReasons.phrase(.recentOrders, f) == "1 order in 90 days")
        #expect(CallReasons.phrase(.recentVisits, f) == "2 visits in 30 days, the last 1 day ago")
        #expect(CallReasons.phrase(.lastResult, f) == "last visit: no answer")
        #expect(CallReasons.phrase(.orderHistory, f) == "12 orders in all")
        var never = f
        never.daysSinceLastOrder = nil
        never.usualOrderGap = nil
        #expect(CallReasons.phrase(.rhythm, never) == "no order yet")
    }

    @Test("The scorer writes the reasons into the scores file")
    func scorerWritesReasons() throws {
        let (path, _, _) = try ContenderTests.trained("xgboost")
        let result = try ScoringJob.run(modelPath: path, history: Self.history, options: ScoringJob.Options())
        #expect(result.reasonsRSquared != nil)
        let withReasons = result.rows.filter { !$0.reasons.isEmpty }
        #expect(
            withReasons.count > result.rows.count / 2, "\(withReasons.count) of \(result.rows.count) rows have reasons")
        let text = String(decoding: ScoringJob.encodeScores(result.rows, modelID: result.modelID), as: UTF8.self)
        #expect(text.hasPrefix(ScoresFile.header.joined(separator: ",") + "\n"))
        let decoded = try ScoresFile.decode(Array(text.utf8), path: "s.csv")
        #expect(decoded.map(\.reasons) == result.rows.map(\.reasons))
    }
}
