import Foundation
import Metrics
import TestSupport
import Testing

/// Every metric against scikit-learn on the cases of `Fixtures/metrics/metrics_reference.json`.
///
/// Tolerance: 1e-12 relative. Revisit and sklearn evaluate the same formulas in float64 on the
/// same inputs; they differ only in summation order (numpy sums pairwise, Revisit left to right)
/// and in how ROC-AUC is assembled (sklearn: a trapezoid over rates; Revisit: one division of an
/// exact integer count). For N ≤ 1000 positive terms, sequential summation's relative error is
/// at most N·ε/2 ≈ 1.1e-13, so 1e-12 leaves a margin of ten and still catches any wrong formula,
/// tie rule or bin edge (those move results by 1e-3 or more). Counts, bin indices and
/// undefinedness are compared exactly. An expected 0 must be met within 1e-15 absolute.
@Suite("Metrics against scikit-learn")
struct MetricsReferenceTests {
    struct Reference: Decodable {
        let sklearn_version: String
        let numpy_version: String
        let log_loss_eps: Double
        let cases: [Case]
    }

    struct Case: Decodable {
        let name: String
        let scores: [Double]
        let labels: [Int]
        let threshold: Double
        let k: [Int]
        let n_bins: Int
        let has_curves: Bool
        let expected: Expected
    }

    struct Expected: Decodable {
        struct Confusion: Decodable { let tp: Int, fp: Int, tn: Int, fn: Int }
        struct Reliability: Decodable {
            let bin_index: [Int], count: [Int], observed: [Double], predicted: [Double]
        }
        struct ROC: Decodable { let fpr: [Double], tpr: [Double], thresholds: [Double?] }
        struct PR: Decodable { let precision: [Double], recall: [Double], thresholds: [Double] }
        let confusion: Confusion
        let accuracy: Double?, precision: Double?, recall: Double?, f1: Double?
        let roc_auc: Double?, average_precision: Double?, pr_auc: Double?
        let log_loss: Double?, brier: Double?
        let precision_at_k: [Double?], recall_at_k: [Double?], lift_at_k: [Double?]
        let reliability: Reliability?
        let ece: Double?
        let roc_curve: ROC?
        let pr_curve: PR?
    }

    static let reference: Reference = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixturePath("metrics/metrics_reference.json")))
        return try! JSONDecoder().decode(Reference.self, from: data)
    }()

    static let caseNames = reference.cases.map(\.name)

    static func referenceCase(_ name: String) -> (Case, BinaryPredictions) {
        let c = reference.cases.first { $0.name == name }!
        return (c, BinaryPredictions(scores: c.scores, labels: c.labels))
    }

    /// `actual` is undefined exactly when `expected` is nil, and otherwise within 1e-12 relative.
    static func expectAgrees(
        _ actual: MetricValue, _ expected: Double?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let expected else {
            #expect(actual == .undefined, "\(what): expected undefined, got \(actual)", sourceLocation: sourceLocation)
            return
        }
        guard let value = actual.value else {
            Issue.record("\(what): expected \(expected), got undefined", sourceLocation: sourceLocation)
            return
        }
        let bound = expected == 0 ? 1e-15 : 1e-12 * abs(expected)
        #expect(
            abs(value - expected) <= bound, "\(what): \(value) vs sklearn \(expected)", sourceLocation: sourceLocation)
    }

    static func expectAgrees(
        _ actual: [Double], _ expected: [Double], _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            actual.count == expected.count, "\(what): \(actual.count) points vs sklearn \(expected.count)",
            sourceLocation: sourceLocation)
        guard actual.count == expected.count else { return }
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            expectAgrees(.defined(a), e, "\(what)[\(i)]", sourceLocation: sourceLocation)
        }
    }

    @Test func fixtureRecordsItsVersions() {
        #expect(Self.reference.sklearn_version.split(separator: ".").count >= 2)
        #expect(Self.reference.numpy_version.split(separator: ".").count >= 2)
        #expect(Self.reference.log_loss_eps == BinaryPredictions.logLossEpsilon)
        #expect(Self.reference.cases.count >= 10)
    }

    @Test(arguments: caseNames)
    func thresholdMetrics(name: String) {
        let (c, predictions) = Self.referenceCase(name)
        let matrix = predictions.confusionMatrix(threshold: c.threshold)
        #expect(matrix.truePositives == c.expected.confusion.tp)
        #expect(matrix.falsePositives == c.expected.confusion.fp)
        #expect(matrix.trueNegatives == c.expected.confusion.tn)
        #expect(matrix.falseNegatives == c.expected.confusion.fn)
        Self.expectAgrees(matrix.accuracy, c.expected.accuracy, "\(name) accuracy")
        Self.expectAgrees(matrix.precision, c.expected.precision, "\(name) precision")
        Self.expectAgrees(matrix.recall, c.expected.recall, "\(name) recall")
        Self.expectAgrees(matrix.f1, c.expected.f1, "\(name) f1")
    }

    @Test(arguments: caseNames)
    func rankingMetrics(name: String) {
        let (c, predictions) = Self.referenceCase(name)
        Self.expectAgrees(predictions.rocAUC(), c.expected.roc_auc, "\(name) roc_auc")
        Self.expectAgrees(predictions.averagePrecision(), c.expected.average_precision, "\(name) average_precision")
        Self.expectAgrees(predictions.precisionRecallAUC(), c.expected.pr_auc, "\(name) pr_auc")
    }

    @Test(arguments: caseNames)
    func probabilisticMetrics(name: String) {
        let (c, predictions) = Self.referenceCase(name)
        Self.expectAgrees(predictions.logLoss(), c.expected.log_loss, "\(name) log_loss")
        Self.expectAgrees(predictions.brierScore(), c.expected.brier, "\(name) brier")
    }

    @Test(arguments: caseNames)
    func topKMetrics(name: String) {
        let (c, predictions) = Self.referenceCase(name)
        #expect(c.k.count == c.expected.precision_at_k.count)
        for (i, k) in c.k.enumerated() {
            Self.expectAgrees(predictions.precision(atTop: k), c.expected.precision_at_k[i], "\(name) precision@\(k)")
            Self.expectAgrees(predictions.recall(atTop: k), c.expected.recall_at_k[i], "\(name) recall@\(k)")
            Self.expectAgrees(predictions.lift(atTop: k), c.expected.lift_at_k[i], "\(name) lift@\(k)")
        }
    }

    @Test(arguments: caseNames)
    func reliabilityAndCalibrationError(name: String) {
        let (c, predictions) = Self.referenceCase(name)
        let diagram = predictions.reliabilityDiagram(binCount: c.n_bins)
        guard let expected = c.expected.reliability else {
            #expect(diagram == nil, "\(name): expected no reliability diagram")
            #expect(c.expected.ece == nil)
            return
        }
        guard let diagram else {
            Issue.record("\(name): expected a reliability diagram")
            return
        }
        #expect(diagram.bins.count == c.n_bins)
        #expect(diagram.bins.map(\.count).reduce(0, +) == c.scores.count)
        let nonEmpty = diagram.nonEmptyBins
        #expect(nonEmpty.map(\.index) == expected.bin_index)
        #expect(nonEmpty.map(\.count) == expected.count)
        guard nonEmpty.count == expected.bin_index.count else { return }
        for (i, bin) in nonEmpty.enumerated() {
            Self.expectAgrees(bin.observedRate, expected.observed[i], "\(name) observed[\(bin.index)]")
            Self.expectAgrees(bin.meanPredicted, expected.predicted[i], "\(name) predicted[\(bin.index)]")
        }
        for bin in diagram.bins where bin.count == 0 {
            #expect(bin.observedRate == .undefined && bin.meanPredicted == .undefined)
        }
        Self.expectAgrees(diagram.expectedCalibrationError, c.expected.ece, "\(name) ece")
    }

    @Test(arguments: reference.cases.filter(\.has_curves).map(\.name))
    func curvePoints(name: String) {
        let (c, predictions) = Self.referenceCase(name)
        if let expected = c.expected.roc_curve {
            if let curve = predictions.rocCurve() {
                Self.expectAgrees(curve.falsePositiveRates, expected.fpr, "\(name) roc fpr")
                Self.expectAgrees(curve.truePositiveRates, expected.tpr, "\(name) roc tpr")
                #expect(curve.thresholds == expected.thresholds.map { $0 ?? .infinity }, "\(name) roc thresholds")
            } else {
                Issue.record("\(name): expected a ROC curve")
            }
        } else {
            #expect(predictions.rocCurve() == nil, "\(name): expected no ROC curve")
        }
        if let expected = c.expected.pr_curve {
            if let curve = predictions.precisionRecallCurve() {
                Self.expectAgrees(curve.precision, expected.precision, "\(name) pr precision")
                Self.expectAgrees(curve.recall, expected.recall, "\(name) pr recall")
                #expect(curve.thresholds == expected.thresholds, "\(name) pr thresholds")
            } else {
                Issue.record("\(name): expected a PR curve")
            }
        } else {
            #expect(predictions.precisionRecallCurve() == nil, "\(name): expected no PR curve")
        }
    }

    /// The fixture covers every case the brief names, so the agreement above means something.
    @Test func fixtureCoversTheDegenerateCases() {
        let names = Set(Self.caseNames)
        for required in [
            "random_n1000", "heavy_ties_n1000", "all_equal_n60", "perfect_n40", "inverted_n40",
            "tiny_n4", "no_positives_n20", "no_negatives_n20", "empty"
        ] {
            #expect(names.contains(required), "missing case \(required)")
        }
        let (_, noPositives) = Self.referenceCase("no_positives_n20")
        #expect(noPositives.rocAUC() == .undefined && noPositives.averagePrecision() == .undefined)
        let (_, noNegatives) = Self.referenceCase("no_negatives_n20")
        #expect(noNegatives.rocAUC() == .undefined)
        // Precision is 1 at every threshold, so AP = Σ ΔR = 1 up to the rounding of the recall steps.
        #expect(abs((noNegatives.averagePrecision().value ?? 0) - 1) <= 1e-15)
        let (_, perfect) = Self.referenceCase("perfect_n40")
        #expect(perfect.rocAUC() == .defined(1))
        let (_, inverted) = Self.referenceCase("inverted_n40")
        #expect(inverted.rocAUC() == .defined(0))
        let (_, allEqual) = Self.referenceCase("all_equal_n60")
        #expect(allEqual.rocAUC() == .defined(0.5))
    }
}
