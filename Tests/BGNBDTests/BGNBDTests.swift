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

    /// A small, sparse log (61 customers of a 90-customer simulated export, synth seed 5, at
    /// 2018-12-08: `Tools/synth --customers 90 --reps 5 --weeks 40 --seed 5`) on which BOBYQA
    /// stops as NLOPT_ROUNDOFF_LIMITED. That used to be refused, and the refusal aborted the
    /// default model's training. The point it stops at is lifetimes' optimum
    /// (`BetaGeoFitter(penalizer_coef=0.001)`: r 3.428189444262597, α 566.224387394991, objective
    /// 0.5636410431900778; a and b both run to 0, a flat direction in which P(alive) does not
    /// move).
    @Test("A fit that stops roundoff-limited on a flat likelihood is kept, at lifetimes' optimum")
    func roundoffLimitedFitIsLifetimesOptimum() throws {
        let triples: [(Double, Double, Double)] = [
            (0, 0, 1), (0, 0, 9), (0, 0, 30), (0, 0, 52), (0, 0, 64), (0, 0, 66), (0, 0, 85), (0, 0, 92), (0, 0, 101),
            (0, 0, 106), (0, 0, 120), (0, 0, 135), (0, 0, 137), (0, 0, 143), (0, 0, 148), (0, 0, 162), (0, 0, 176),
            (0, 0, 193), (0, 0, 194), (0, 0, 212), (0, 0, 214), (0, 0, 249), (0, 0, 250), (0, 0, 254), (1, 7, 215),
            (1, 37, 250), (1, 40, 213), (1, 48, 95), (1, 49, 176), (1, 55, 122), (1, 59, 88), (1, 64, 163),
            (1, 90, 100),
            (1, 99, 208), (1, 108, 183), (1, 111, 169), (1, 125, 172), (1, 141, 228), (1, 149, 192), (1, 153, 176),
            (1, 156, 166), (1, 248, 253), (1, 258, 261), (2, 79, 164), (2, 92, 187), (2, 141, 250), (2, 176, 235),
            (2, 177, 270), (2, 210, 271), (2, 214, 225), (2, 221, 257), (2, 227, 235), (2, 245, 275), (2, 253, 264),
            (3, 160, 205), (3, 188, 207), (3, 211, 236), (4, 168, 177), (4, 174, 242), (4, 231, 248), (4, 251, 261)
        ]
        let observations = triples.map { BGNBD.Observation(x: $0.0, tx: $0.1, T: $0.2) }
        let (patterns, weights) = BGNBD.patterns(observations)
        let fit = try BGNBD.fit(patterns, weights: weights)
        #expect(fit.objective <= 0.5636410431900778 + 1e-9, "objective \(fit.objective)")
        #expect(abs(fit.parameters.r - 3.428189444262597) / 3.428189444262597 < 1e-3, "r \(fit.parameters.r)")
        #expect(abs(fit.parameters.alpha - 566.224387394991) / 566.224387394991 < 1e-3, "α \(fit.parameters.alpha)")
        // Where a and b differ (both near 0), the predictions do not.
        let reference = BGNBD.Parameters(
            r: 3.428189444262597, alpha: 566.224387394991, a: 4.409286286844623e-14, b: 1.4451290663934128e-07)
        for o in observations {
            #expect(abs(BGNBD.probabilityAlive(fit.parameters, o) - BGNBD.probabilityAlive(reference, o)) < 1e-4)
            #expect(
                abs(
                    BGNBD.probabilityOfPurchase(fit.parameters, o, horizon: 28)
                        - BGNBD.probabilityOfPurchase(reference, o, horizon: 28)) < 1e-4)
        }
    }

    @Test("Refusals: no purchases, inconsistent histories")
    func refusals() {
        #expect(throws: BGNBD.FitError.self) { try BGNBD.fit([]) }
        #expect(throws: BGNBD.FitError.self) { try BGNBD.fit([BGNBD.Observation(x: 1, tx: 5, T: 3)]) }
        #expect(throws: BGNBD.FitError.self) { try BGNBD.fit([BGNBD.Observation(x: 0, tx: 0, T: 0)]) }
        #expect(!BGNBD.Parameters(r: .nan, alpha: 1, a: 1, b: 1).isValid)
    }
}
