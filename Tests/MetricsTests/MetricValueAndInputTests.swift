import Foundation
import Metrics
import Tensors
import Testing

@Suite("Undefined values, JSON, input forms and tie rules")
struct MetricValueAndInputTests {
    struct Report: Codable, Equatable {
        let rocAUC: MetricValue
        let precision: MetricValue
        let perWeek: [MetricValue]
    }

    @Test func undefinedEncodesAsJSONNullAndRoundTrips() throws {
        let report = Report(rocAUC: .undefined, precision: .defined(0.25), perWeek: [.defined(1), .undefined])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        #expect(json == #"{"perWeek":[1,null],"precision":0.25,"rocAUC":null}"#)
        #expect(try JSONDecoder().decode(Report.self, from: Data(json.utf8)) == report)
    }

    @Test func undefinedPrintsAsUndefined() {
        #expect(MetricValue.undefined.description == "undefined")
        #expect(MetricValue.defined(0.5).description == "0.5")
        #expect(MetricValue(nil) == .undefined && MetricValue(2) == .defined(2))
        #expect(MetricValue.ratio(1, 0) == .undefined && MetricValue.ratio(1, 4) == .defined(0.25))
        #expect(MetricValue.defined(3).subtracting(.undefined) == .undefined)
    }

    @Test func rocCurveWritesItsInfiniteThresholdAsNull() throws {
        let curve = try #require(BinaryPredictions(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]).rocCurve())
        #expect(curve.thresholds == [.infinity, 0.8, 0.4, 0.35, 0.1])
        let data = try JSONEncoder().encode(curve)
        let object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let thresholds = try #require(object["thresholds"] as? [Any])
        #expect(thresholds.first is NSNull)
        #expect(try JSONDecoder().decode(ROCCurve.self, from: data) == curve)
    }

    @Test func emptyInputIsUndefinedEverywhere() {
        let empty = BinaryPredictions(scores: [Double](), labels: [Bool]())
        let matrix = empty.confusionMatrix(threshold: 0.5)
        #expect(matrix.total == 0)
        for value in [
            matrix.accuracy, matrix.precision, matrix.recall, matrix.f1, empty.rocAUC(), empty.averagePrecision(),
            empty.precisionRecallAUC(), empty.logLoss(), empty.brierScore(), empty.precision(atTop: 3),
            empty.recall(atTop: 3), empty.lift(atTop: 3), empty.baseRate
        ] {
            #expect(value == .undefined)
        }
        #expect(empty.rocCurve() == nil && empty.precisionRecallCurve() == nil && empty.reliabilityDiagram() == nil)
    }

    @Test func floatBoolAndIntInputsGiveTheSameRows() {
        let floats: [Float] = [0.25, 0.5, 0.125, 0.75, 0.5]
        let doubles = floats.map(Double.init)
        let ints = [0, 1, 0, 1, 1]
        let bools = ints.map { $0 == 1 }
        let reference = BinaryPredictions(scores: doubles, labels: bools)
        #expect(BinaryPredictions(scores: floats, labels: ints) == reference)
        #expect(BinaryPredictions(scores: floats, labels: bools) == reference)
        #expect(BinaryPredictions(scores: doubles, labels: ints) == reference)
        #expect(reference.positiveCount == 3 && reference.negativeCount == 2 && reference.baseRate == .defined(0.6))
    }

    /// The Mann–Whitney form against the definition: a loop over every (positive, negative) pair
    /// on tie-heavy seeded data. Both are a count divided once by P·N, so they agree exactly.
    @Test(arguments: [1, 2, 7, 50, 301])
    func rocAUCEqualsThePairwiseDefinition(count: Int) {
        var random = SeededRandom(seed: 8, stream: UInt64(count))
        let labels = (0..<count).map { _ in random.bernoulli(probability: 0.3) }
        let scores = labels.map { Double(random.int(below: 6)) / 5 + ($0 ? 0.2 : 0) }
        let predictions = BinaryPredictions(scores: scores, labels: labels)
        var twiceWins = 0
        var pairs = 0
        for i in 0..<count where labels[i] {
            for j in 0..<count where !labels[j] {
                pairs += 1
                twiceWins += scores[i] > scores[j] ? 2 : (scores[i] == scores[j] ? 1 : 0)
            }
        }
        let expected: MetricValue = pairs == 0 ? .undefined : .defined(Double(twiceWins) / Double(2 * pairs))
        #expect(predictions.rocAUC() == expected)
        // And it is the trapezoidal area under the ROC curve (to summation rounding).
        if let curve = predictions.rocCurve(), let auc = expected.value {
            var area = 0.0
            for i in 1..<curve.thresholds.count {
                area +=
                    (curve.falsePositiveRates[i] - curve.falsePositiveRates[i - 1])
                    * (curve.truePositiveRates[i] + curve.truePositiveRates[i - 1]) / 2
            }
            #expect(abs(area - auc) <= 1e-12)
        }
    }

    /// At the cut, tied rows are taken in input order: reordering a tie changes precision@k.
    @Test func topKBreaksTiesByInputOrder() {
        let first = BinaryPredictions(scores: [0.9, 0.5, 0.5, 0.5, 0.1], labels: [1, 1, 0, 0, 0])
        let second = BinaryPredictions(scores: [0.9, 0.5, 0.5, 0.5, 0.1], labels: [1, 0, 0, 1, 0])
        #expect(first.rankedIndices() == [0, 1, 2, 3, 4])
        #expect(first.precision(atTop: 2) == .defined(1))
        #expect(second.precision(atTop: 2) == .defined(0.5))
        #expect(second.precision(atTop: 4) == .defined(0.5))
        #expect(second.recall(atTop: 2) == .defined(0.5))
        #expect(second.lift(atTop: 2) == .defined(0.5 / 0.4))
        // k beyond N lists every row.
        #expect(second.precision(atTop: 50) == second.baseRate)
    }

    @Test func f1StaysDefinedWhenPrecisionIsNot() {
        // Positives exist but nothing is predicted positive: precision undefined, recall 0, F1 0.
        let matrix = BinaryPredictions(scores: [0.1, 0.2, 0.3], labels: [1, 0, 1]).confusionMatrix(threshold: 0.5)
        #expect(matrix.precision == .undefined && matrix.recall == .defined(0) && matrix.f1 == .defined(0))
        // No positives and nothing predicted positive: F1 undefined too.
        let none = BinaryPredictions(scores: [0.1, 0.2], labels: [0, 0]).confusionMatrix(threshold: 0.5)
        #expect(none.f1 == .undefined && none.accuracy == .defined(1))
    }

    @Test func logLossClipsAtFloat64Epsilon() {
        let confidentlyWrong = BinaryPredictions(scores: [0.0, 1.0], labels: [1, 0])
        #expect(confidentlyWrong.logLoss() == .defined(-Foundation.log(Double.ulpOfOne)))
        let confidentlyRight = BinaryPredictions(scores: [1.0, 0.0], labels: [1, 0])
        #expect(confidentlyRight.logLoss() == .defined(-Foundation.log(1 - Double.ulpOfOne)))
    }

    @Test func reliabilityBinsUseNumpysEdges() throws {
        // 0.3 is below the third edge 3 · 0.1 = 0.30000000000000004, so it is in bin 2; 0.1 equals
        // the first inner edge exactly and belongs to bin 0 (bins are closed on the right).
        let diagram = try #require(
            BinaryPredictions(scores: [0.0, 0.1, 0.3, 1.0], labels: [0, 0, 1, 1]).reliabilityDiagram(binCount: 10))
        #expect(diagram.nonEmptyBins.map(\.index) == [0, 2, 9])
        #expect(diagram.bins[0].count == 2 && diagram.bins[3].upperEdge == 0.4 && diagram.bins[9].upperEdge == 1)
        #expect(diagram.bins[2].upperEdge == 3 * 0.1)
    }

    @Test func badLabelsStopTheProgram() async {
        await #expect(processExitsWith: .failure) {
            _ = BinaryPredictions(scores: [0.1, 0.2], labels: [0, 2])
        }
        await #expect(processExitsWith: .failure) {
            _ = BinaryPredictions(scores: [0.1, .nan], labels: [0, 1])
        }
        await #expect(processExitsWith: .failure) {
            _ = BinaryPredictions(scores: [1.5], labels: [1]).brierScore()
        }
    }
}
