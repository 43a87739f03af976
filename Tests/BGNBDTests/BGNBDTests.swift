import Foundation
import Testing

@testable import BGNBD

/// Agreement with `lifetimes` (BetaGeoFitter 0.11), the established implementation, on two
/// seeded populations simulated from the BG/NBD process (`Fixtures/bgnbd/generate_bgnbd_reference.py`).
@Suite("BG/NBD against lifetimes")
struct BGNBDTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            var name: String
            var penalizer: Double
            var parameters: [String: Double]
            var objective: Double
            var patterns: Int
            var x: [Double]
            var tx: [Double]
            var T: [Double]
            var probability_alive: [Double]
            var probability_purchase_28d: [Double]
            var expected_purchases_28d: [Double]
            var expected_purchases_91d: [Double]
        }
        struct ExpectedPurchases: Decodable {
            var parameters: [String: Double]
            var x: Double
            var tx: Double
            var T: Double
            var horizon: Double
            var expected_purchases: Double
        }
        struct LogLikelihood: Decodable {
            var x: Double
            var tx: Double
            var T: Double
            var log_likelihood: Double
        }
        var cases: [Case]
        var fixed_parameters: [String: Double]
        var log_likelihoods: [LogLikelihood]
        var expected_purchases: [ExpectedPurchases]
    }

    static let reference: Reference = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Fixtures/bgnbd/bgnbd_reference.json")
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    static func parameters(_ values: [String: Double]) -> BGNBD.Parameters {
        BGNBD.Parameters(r: values["r"]!, alpha: values["alpha"]!, a: values["a"]!, b: values["b"]!)
    }

    @Test("The log-likelihood of single customers equals lifetimes' to 1e-12")
    func logLikelihood() {
        let p = Self.parameters(Self.reference.fixed_parameters)
        for point in Self.reference.log_likelihoods {
            let value = BGNBD.logLikelihood(p, BGNBD.Observation(x: point.x, tx: point.tx, T: point.T))
            #expect(
                abs(value - point.log_likelihood) < 1e-12,
                "x \(point.x) tx \(point.tx) T \(point.T): \(value) vs \(point.log_likelihood)")
        }
    }

    @Test("The fit reaches lifetimes' optimum, with and without the penalizer", arguments: [0, 1, 2, 3])
    func fitMatchesLifetimes(index: Int) throws {
        let c = Self.reference.cases[index]
        let observations = zip(zip(c.x, c.tx), c.T).map { BGNBD.Observation(x: $0.0, tx: $0.1, T: $1) }
        let (patterns, weights) = BGNBD.patterns(observations)
        #expect(patterns.count == c.patterns)
        var settings = BGNBD.FitSettings()
        settings.penalizer = c.penalizer
        let fit = try BGNBD.fit(patterns, weights: weights, settings: settings)
        // Both optimisers stop at a tolerance: the objectives agree far more tightly than the
        // parameters, which sit in a flat valley (a and b trade off on short histories).
        #expect(
            fit.objective <= c.objective + 1e-9, "\(c.name): objective \(fit.objective) vs lifetimes \(c.objective)")
        let expected = Self.parameters(c.parameters)
        for (name, ours, theirs) in [
            ("r", fit.parameters.r, expected.r), ("alpha", fit.parameters.alpha, expected.alpha),
            ("a", fit.parameters.a, expected.a), ("b", fit.parameters.b, expected.b)
        ] {
            #expect(abs(ours - theirs) / theirs < 1e-3, "\(c.name): \(name) \(ours) vs lifetimes \(theirs)")
        }
        // Predictions from our fitted parameters against lifetimes' predictions from its own.
        var worstAlive = 0.0, worstPurchase = 0.0
        for (i, o) in observations.enumerated() {
            worstAlive = max(worstAlive, abs(BGNBD.probabilityAlive(fit.parameters, o) - c.probability_alive[i]))
            worstPurchase = max(
                worstPurchase,
                abs(BGNBD.probabilityOfPurchase(fit.parameters, o, horizon: 28) - c.probability_purchase_28d[i]))
        }
        #expect(worstAlive < 1e-4, "\(c.name): P(alive) differs by \(worstAlive)")
        #expect(worstPurchase < 1e-4, "\(c.name): P(purchase in 28 days) differs by \(worstPurchase)")
    }

    @Test("With lifetimes' own parameters the probabilities agree to 1e-12")
    func probabilitiesAtTheReferenceParameters() {
        let c = Self.reference.cases[1]
        let p = Self.parameters(c.parameters)
        for i in c.x.indices {
            let o = BGNBD.Observation(x: c.x[i], tx: c.tx[i], T: c.T[i])
            #expect(abs(BGNBD.probabilityAlive(p, o) - c.probability_alive[i]) < 1e-12)
            #expect(abs(BGNBD.probabilityOfPurchase(p, o, horizon: 28) - c.probability_purchase_28d[i]) < 1e-12)
        }
    }

    @Test("The conditional expected purchases equal lifetimes' (a < 1 fitted, a > 1 fixed, horizons up to ten years)")
    func expectedPurchases() {
        for c in Self.reference.cases {
            let p = Self.parameters(c.parameters)
            for i in c.x.indices {
                let o = BGNBD.Observation(x: c.x[i], tx: c.tx[i], T: c.T[i])
                for (h, expected) in [(28.0, c.expected_purchases_28d[i]), (91.0, c.expected_purchases_91d[i])] {
                    let value = BGNBD.expectedPurchases(p, o, horizon: h)
                    #expect(
                        abs(value - expected) <= 1e-9 * max(1, expected),
                        "\(c.name) #\(i) h \(h): \(value) vs \(expected)")
                }
            }
        }
        for point in Self.reference.expected_purchases {
            let value = BGNBD.expectedPurchases(
                Self.parameters(point.parameters), BGNBD.Observation(x: point.x, tx: point.tx, T: point.T),
                horizon: point.horizon)
            #expect(
                abs(value - point.expected_purchases) <= 1e-9 * max(1, point.expected_purchases),
                "x \(point.x) tx \(point.tx) T \(point.T) h \(point.horizon): \(value) vs \(point.expected_purchases)")
        }
        // At a = 1 the formula is 0/0: the limit lies between its neighbours.
        let o = BGNBD.Observation(x: 3, tx: 40, T: 90)
        let at1 = BGNBD.expectedPurchases(.init(r: 0.5, alpha: 10, a: 1, b: 3), o, horizon: 28)
        let below = BGNBD.expectedPurchases(.init(r: 0.5, alpha: 10, a: 0.999, b: 3), o, horizon: 28)
        let above = BGNBD.expectedPurchases(.init(r: 0.5, alpha: 10, a: 1.001, b: 3), o, horizon: 28)
        #expect(at1.isFinite && min(below, above) <= at1 && at1 <= max(below, above), "\(below) \(at1) \(above)")
    }

    @Test("Refusals: no purchases, inconsistent histories")
    func refusals() {
        #expect(throws: BGNBD.FitError.self) { try BGNBD.fit([]) }
        #expect(throws: BGNBD.FitError.self) { try BGNBD.fit([BGNBD.Observation(x: 1, tx: 5, T: 3)]) }
        #expect(throws: BGNBD.FitError.self) { try BGNBD.fit([BGNBD.Observation(x: 0, tx: 0, T: 0)]) }
        #expect(!BGNBD.Parameters(r: .nan, alpha: 1, a: 1, b: 1).isValid)
    }
}
