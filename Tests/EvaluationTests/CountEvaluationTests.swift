import Metrics
import Testing

@testable import Evaluation

@Suite("Order-count evaluation")
struct CountEvaluationTests {
    @Test(
        "By hand: means, errors through CountMetrics, repeat buyers' ROC-AUC, equal-count calibration groups in predicted order"
    )
    func byHand() {
        let predicted = [0.1, 2.5, 0.4, 1.2, 0.1, 3.0], observed: [Double] = [0, 3, 1, 0, 0, 2]
        let e = CountEvaluation(model: "m", predicted: predicted, observed: observed, bins: 3)
        #expect(e.rows == 6 && e.repeatRows == 2)
        #expect(e.meanPredicted == .ratio(7.3, 6) && e.meanObserved == .defined(1))
        #expect(e.meanAbsoluteError == CountMetrics.meanAbsoluteError(predicted: predicted, observed: observed))
        #expect(e.rootMeanSquaredError == CountMetrics.rootMeanSquaredError(predicted: predicted, observed: observed))
        #expect(e.meanPoissonDeviance == CountMetrics.meanPoissonDeviance(predicted: predicted, observed: observed))
        // The two repeat buyers (rows 1 and 5) have the two highest predictions.
        #expect(e.repeatRocAuc == .defined(1))
        // Groups of two in ascending prediction, ties by row: {0, 4}, {2, 3}, {1, 5}.
        #expect(e.calibration.map(\.rows) == [2, 2, 2])
        #expect(e.calibration.map(\.meanObserved) == [0, 0.5, 2.5])
        #expect(abs(e.calibration[1].meanPredicted - 0.8) < 1e-12 && abs(e.calibration[2].meanPredicted - 2.75) < 1e-12)
    }

    @Test(
        "Fewer rows than groups: one group per row; no repeat buyer: the ROC-AUC is undefined; no rows: every metric undefined"
    )
    func edges() {
        let two = CountEvaluation(model: "m", predicted: [0.2, 0.1], observed: [1, 0], bins: 10)
        #expect(two.calibration.count == 2 && two.calibration[0].meanObserved == 0 && two.repeatRocAuc == .undefined)
        let none = CountEvaluation(model: "m", predicted: [], observed: [])
        #expect(none.calibration.isEmpty && none.meanPredicted == .undefined && none.meanPoissonDeviance == .undefined)
    }
}
