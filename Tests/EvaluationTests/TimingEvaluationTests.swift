import Metrics
import Testing

@testable import Evaluation

@Suite("Timing evaluation")
struct TimingEvaluationTests {
    /// Six rows, by hand. Follow-up 30 days for rows 0–3, 10 days for rows 4–5 (a later fold).
    /// Orders on days 3 and 20 (rows 0, 1), 5 (row 4); rows 2, 3, 5 censored at their follow-up.
    @Test("Cumulative calibration keeps rows by follow-up, not by outcome; C of expected days and of the score")
    func byHand() {
        let e = TimingEvaluation(
            model: "m", edges: [7, 14, 28],
            predictedCumulative: [
                [0.5, 0.6, 0.7], [0.1, 0.3, 0.6], [0.1, 0.2, 0.3], [0.0, 0.1, 0.2], [0.4, 0.5, 0.6], [0.2, 0.2, 0.2]
            ],
            expectedDays: [4, 18, 40, 60, 6, 80], scores: [0.7, 0.6, 0.3, 0.2, 0.6, 0.2],
            times: [3, 20, 30, 30, 5, 10], observed: [true, true, false, false, true, false],
            followUp: [30, 30, 30, 30, 10, 10])
        #expect(e.rows == 6 && e.observedOrders == 3)
        // d = 7: all six followed ≥ 7 days; orders before day 7: rows 0 and 4.
        #expect(e.cumulative[0].rows == 6 && e.cumulative[0].observedRate == .defined(2.0 / 6))
        #expect(e.cumulative[0].meanPredicted == .defined((0.5 + 0.1 + 0.1 + 0.0 + 0.4 + 0.2) / 6))
        // d = 14: rows 4 and 5 were followed for 10 days only: left out, though row 4 ordered.
        #expect(e.cumulative[1].rows == 4 && e.cumulative[1].observedRate == .defined(1.0 / 4))
        // d = 28: rows 0–3; orders before 28: rows 0 and 1.
        #expect(e.cumulative[2].rows == 4 && e.cumulative[2].observedRate == .defined(2.0 / 4))
        // Expected days rank the events perfectly against everyone waiting longer.
        #expect(e.concordanceExpectedDays == .defined(1))
        #expect(
            e.concordanceExpectedDays
                == concordanceIndex(
                    times: [3, 20, 30, 30, 5, 10], predictedTimes: [4, 18, 40, 60, 6, 80],
                    observed: [true, true, false, false, true, false]))
        // By score: row 4 (0.6) ties row 1 (0.6) though it ordered first: one half pair.
        guard case .defined(let c) = e.concordanceScore else { Issue.record("undefined"); return }
        #expect(c < 1 && c > 0.8)
    }

    @Test("A day count no row was followed for is undefined, not 0")
    func unreachable() {
        let e = TimingEvaluation(
            model: "m", edges: [7, 91], predictedCumulative: [[0.1, 0.5]], expectedDays: [30], scores: [0.2],
            times: [12], observed: [false], followUp: [12])
        #expect(
            e.cumulative[1].rows == 0 && e.cumulative[1].observedRate == .undefined
                && e.cumulative[1].meanPredicted == .undefined)
        #expect(e.concordanceExpectedDays == .undefined)
    }
}
