import Foundation
import Testing

@testable import Calibration

/// Agreement with scikit-learn's Platt scaling and isotonic regression on three seeded score
/// sets (`Fixtures/calibration/generate_calibration_reference.py`).
@Suite("Probability calibration against scikit-learn")
struct CalibrationTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            struct Platt: Decodable { var a: Double; var b: Double }
            struct Isotonic: Decodable { var thresholds: [Double]; var values: [Double] }
            var name: String
            var scores: [Double]
            var labels: [Int]
            var platt: Platt
            var isotonic: Isotonic
            var probe: [Double]
            var isotonic_probe: [Double]
            var platt_probe: [Double]
        }
        var cases: [Case]
    }

    static let reference: Reference = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Fixtures/calibration/calibration_reference.json")
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    @Test("Platt scaling reaches scikit-learn's parameters", arguments: [0, 1, 2])
    func platt(index: Int) throws {
        let c = Self.reference.cases[index]
        let fitted = ProbabilityCalibration.fit(.platt, scores: c.scores, labels: c.labels.map { $0 == 1 })
        guard case .platt(let a, let b) = fitted else {
            Issue.record("\(c.name): expected a Platt fit, got \(fitted)")
            return
        }
        // scikit-learn stops L-BFGS at gtol 1e-6; Newton here converges to machine precision.
        #expect(
            abs(a - c.platt.a) < 1e-4 && abs(b - c.platt.b) < 1e-4,
            "\(c.name): (\(a), \(b)) vs (\(c.platt.a), \(c.platt.b))")
        for (x, expected) in zip(c.probe, c.platt_probe) {
            #expect(abs(fitted.apply(x) - expected) < 1e-4, "\(c.name) at \(x)")
        }
        #expect(a > 0, "an informative score keeps its order")
    }

    @Test("Isotonic regression gives scikit-learn's points and predictions", arguments: [0, 1, 2])
    func isotonic(index: Int) throws {
        let c = Self.reference.cases[index]
        let fitted = ProbabilityCalibration.fit(.isotonic, scores: c.scores, labels: c.labels.map { $0 == 1 })
        guard case .isotonic(let thresholds, let values) = fitted else {
            Issue.record("\(c.name): expected an isotonic fit, got \(fitted)")
            return
        }
        #expect(thresholds == c.isotonic.thresholds, "\(c.name): thresholds")
        #expect(
            zip(values, c.isotonic.values).allSatisfy { abs($0 - $1) < 1e-12 }
                && values.count == c.isotonic.values.count, "\(c.name): values")
        for (x, expected) in zip(c.probe, c.isotonic_probe) {
            #expect(abs(fitted.apply(x) - expected) < 1e-12, "\(c.name) at \(x)")
        }
    }

    @Test("One class, no rows and 'none' leave the scores as they are; JSON round-trips and refuses nonsense")
    func edgesAndJSON() throws {
        #expect(ProbabilityCalibration.fit(.platt, scores: [0.2, 0.4], labels: [false, false]) == .none)
        #expect(ProbabilityCalibration.fit(.isotonic, scores: [], labels: []) == .none)
        #expect(ProbabilityCalibration.fit(.none, scores: [0.2, 0.4], labels: [false, true]) == .none)
        #expect(ProbabilityCalibration.none.apply(0.37) == 0.37)
        for value in [
            ProbabilityCalibration.none, .platt(a: 1.25, b: -0.5),
            .isotonic(thresholds: [0.1, 0.5], values: [0.02, 0.3])
        ] {
            let data = try JSONEncoder().encode(value)
            #expect(try JSONDecoder().decode(ProbabilityCalibration.self, from: data) == value)
        }
        for bad in [
            #"{"method":"platt","a":1}"#, #"{"method":"isotonic","thresholds":[0.5,0.1],"values":[0,1]}"#,
            #"{"method":"isotonic","thresholds":[0.1],"values":[2]}"#, #"{"method":"magic"}"#
        ] {
            #expect(throws: DecodingError.self) {
                try JSONDecoder().decode(ProbabilityCalibration.self, from: Data(bad.utf8))
            }
        }
    }
}
