import Foundation
import TestSupport
import Testing

@testable import Metrics

/// Harrell's C against lifelines' `concordance_index` (`Fixtures/metrics/generate_concordance_reference.py`).
@Suite("Concordance index")
struct ConcordanceTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            var name: String
            var times: [Double]
            var predicted: [Double]
            var observed: [Int]
            var c_index: Double
        }
        var lifelines: String
        var cases: [Case]
    }

    static let reference: Reference = fixtureJSON("metrics/concordance_reference.json")

    @Test("Equals lifelines on censored, tied and coarse cases", arguments: 0..<4)
    func agreesWithLifelines(index: Int) throws {
        let c = Self.reference.cases[index]
        let value = concordanceIndex(times: c.times, predictedTimes: c.predicted, observed: c.observed.map { $0 == 1 })
        guard case .defined(let found) = value else { Issue.record("\(c.name): undefined"); return }
        // Both are ratios of the same integer (and half-integer) counts: only the last bit may differ.
        #expect(abs(found - c.c_index) <= 1e-12, "\(c.name): \(found) vs lifelines \(c.c_index)")
    }

    @Test("The pair rules by hand: a censored row at an event's time waits longer; tied events are not comparable")
    func pairRules() {
        #expect(concordanceIndex(times: [5, 5], predictedTimes: [1, 2], observed: [true, false]) == .defined(1))
        #expect(concordanceIndex(times: [5, 5], predictedTimes: [2, 1], observed: [true, false]) == .defined(0))
        #expect(concordanceIndex(times: [3, 5], predictedTimes: [1, 1], observed: [true, false]) == .defined(0.5))
        #expect(concordanceIndex(times: [5, 5], predictedTimes: [1, 2], observed: [true, true]) == .undefined)
        #expect(concordanceIndex(times: [2, 4], predictedTimes: [1, 2], observed: [false, false]) == .undefined)
        #expect(concordanceIndex(times: [], predictedTimes: [], observed: []) == .undefined)
    }
}
