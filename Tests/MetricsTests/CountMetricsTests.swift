import Foundation
import TestSupport
import Testing

@testable import Metrics

/// Count errors against scikit-learn (`Fixtures/metrics/generate_count_reference.py`).
@Suite("Count metrics")
struct CountMetricsTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            var name: String
            var predicted: [Double]
            var observed: [Double]
            var mae: Double
            var rmse: Double
            var poisson_deviance: Double
        }
        var sklearn: String
        var cases: [Case]
    }

    static let reference: Reference = fixtureJSON("metrics/count_reference.json")

    @Test(
        "MAE, RMSE and mean Poisson deviance equal scikit-learn's on Poisson, sparse, overdispersed and biased cases",
        arguments: 0..<5)
    func agreesWithScikitLearn(index: Int) throws {
        let c = Self.reference.cases[index]
        // Sums of a few hundred doubles in a different order: agreement to ~1e-13 relative.
        func close(_ value: MetricValue, _ expected: Double, _ what: String) {
            guard case .defined(let found) = value else { Issue.record("\(c.name) \(what): undefined"); return }
            #expect(
                abs(found - expected) <= 1e-10 * max(1, abs(expected)),
                "\(c.name) \(what): \(found) vs scikit-learn \(expected)")
        }
        close(CountMetrics.meanAbsoluteError(predicted: c.predicted, observed: c.observed), c.mae, "MAE")
        close(CountMetrics.rootMeanSquaredError(predicted: c.predicted, observed: c.observed), c.rmse, "RMSE")
        close(
            CountMetrics.meanPoissonDeviance(predicted: c.predicted, observed: c.observed), c.poisson_deviance,
            "Poisson deviance")
    }

    @Test("By hand: a perfect prediction has deviance 0; no rows is undefined; a predicted 0 is taken at the floor")
    func edges() {
        #expect(CountMetrics.meanPoissonDeviance(predicted: [1, 2, 3], observed: [1, 2, 3]) == .defined(0))
        #expect(CountMetrics.meanAbsoluteError(predicted: [], observed: []) == .undefined)
        #expect(CountMetrics.rootMeanSquaredError(predicted: [], observed: []) == .undefined)
        // y = 0, μ = 0.5: 2 (0 − 0 + 0.5) = 1. y = 2, μ = 0 → floor 1e-9: 2 (2 log(2e9) − 2 + 1e-9).
        #expect(CountMetrics.meanPoissonDeviance(predicted: [0.5], observed: [0]) == .defined(1))
        let floored = CountMetrics.meanPoissonDeviance(predicted: [0], observed: [2]).value!
        #expect(abs(floored - 2 * (2 * log(2e9) - 2 + 1e-9)) < 1e-12)
        #expect(CountMetrics.rootMeanSquaredError(predicted: [0, 0], observed: [3, 4]) == .defined((12.5).squareRoot()))
    }
}
