import Metrics
import Tensors
import Testing

@Suite("Seeded bootstrap intervals")
struct BootstrapTests {
    /// N seeded rows with an informative score: positives (30%) score higher on average.
    static func rows(_ count: Int, seed: UInt64) -> BinaryPredictions {
        var random = SeededRandom(seed: seed, stream: 3)
        let labels = (0..<count).map { _ in random.bernoulli(probability: 0.3) }
        let scores = labels.map { label in min(1, random.uniformDouble() * 0.7 + (label ? 0.3 : 0)) }
        return BinaryPredictions(scores: scores, labels: labels)
    }

    @Test func sameSeedSameInterval() {
        let predictions = Self.rows(300, seed: 1)
        var a = SeededRandom(seed: 42, stream: 9)
        var b = SeededRandom(seed: 42, stream: 9)
        var c = SeededRandom(seed: 43, stream: 9)
        let first = Bootstrap.interval(predictions, resamples: 200, random: &a) { $0.rocAUC() }
        let second = Bootstrap.interval(predictions, resamples: 200, random: &b) { $0.rocAUC() }
        let other = Bootstrap.interval(predictions, resamples: 200, random: &c) { $0.rocAUC() }
        #expect(first == second)
        #expect(first.lower != other.lower || first.upper != other.upper)
        // The generator advanced by exactly B · N draws.
        var fresh = SeededRandom(seed: 42, stream: 9)
        for _ in 0..<(200 * 300) { _ = fresh.int(below: 300) }
        #expect(fresh.nextUInt64() == a.nextUInt64())
    }

    @Test(arguments: ["roc_auc", "average_precision", "precision@150", "brier"])
    func intervalContainsTheEstimate(metricName: String) throws {
        let metric: (BinaryPredictions) -> MetricValue =
            switch metricName {
            case "roc_auc": { $0.rocAUC() }
            case "average_precision": { $0.averagePrecision() }
            case "precision@150": { $0.precision(atTop: 150) }
            default: { $0.brierScore() }
            }
        var random = SeededRandom(seed: 7)
        let predictions = Self.rows(500, seed: 2)
        let interval = Bootstrap.interval(
            predictions, resamples: 400, confidenceLevel: 0.9, random: &random, metric: metric)
        let estimate = try #require(interval.estimate.value)
        let lower = try #require(interval.lower.value)
        let upper = try #require(interval.upper.value)
        #expect(estimate == metric(predictions).value)
        #expect(lower <= estimate && estimate <= upper, "\(metricName): \(estimate) outside [\(lower), \(upper)]")
        #expect(lower < upper)
        #expect(interval.undefinedResamples == 0 && interval.resamples == 400 && interval.confidenceLevel == 0.9)
    }

    /// The percentile interval's width scales as 1/√N: 16× the rows, about a quarter the width.
    @Test func widthShrinksWithN() throws {
        var widths: [Double] = []
        for count in [150, 2400] {
            var random = SeededRandom(seed: 11)
            let interval = Bootstrap.interval(Self.rows(count, seed: 5), resamples: 300, random: &random) {
                $0.rocAUC()
            }
            widths.append(try #require(interval.upper.value) - (try #require(interval.lower.value)))
        }
        #expect(widths[1] < widths[0] / 2, "widths \(widths)")
        #expect(widths[1] > widths[0] / 8, "widths \(widths)")
    }

    @Test func pairedDifferenceOfAModelWithItselfIsZero() {
        let predictions = Self.rows(200, seed: 3)
        var random = SeededRandom(seed: 1)
        let interval = Bootstrap.pairedDifference(predictions, predictions, resamples: 100, random: &random) {
            $0.rocAUC()
        }
        #expect(interval.estimate == .defined(0) && interval.lower == .defined(0) && interval.upper == .defined(0))
    }

    /// An informative model against one whose scores are noise on the same rows: the paired
    /// interval of the AUC difference lies above 0 and contains the point difference.
    @Test func pairedDifferenceSeparatesAGoodModelFromNoise() throws {
        let good = Self.rows(400, seed: 4)
        var noise = SeededRandom(seed: 99)
        let random = BinaryPredictions(scores: good.labels.map { _ in noise.uniformDouble() }, labels: good.labels)
        var generator = SeededRandom(seed: 2)
        let interval = Bootstrap.pairedDifference(good, random, resamples: 300, random: &generator) { $0.rocAUC() }
        let estimate = try #require(interval.estimate.value)
        #expect(estimate == good.rocAUC().value! - random.rocAUC().value!)
        let lower = try #require(interval.lower.value)
        let upper = try #require(interval.upper.value)
        #expect(0 < lower && lower < estimate && estimate < upper)
    }

    /// Resamples without a positive have no ROC-AUC; they are counted and left out.
    @Test func undefinedResamplesAreCountedNotZeroed() {
        let rare = BinaryPredictions(scores: [0.9, 0.1, 0.2, 0.3, 0.4, 0.5], labels: [1, 0, 0, 0, 0, 0])
        var random = SeededRandom(seed: 5)
        let interval = Bootstrap.interval(rare, resamples: 500, random: &random) { $0.rocAUC() }
        // P(no positive in 6 draws) = (5/6)^6 ≈ 0.33, so about 167 of 500.
        #expect(interval.undefinedResamples > 100 && interval.undefinedResamples < 240)
        #expect(interval.lower == .defined(1) && interval.upper == .defined(1))
        var again = SeededRandom(seed: 5)
        let empty = BinaryPredictions(scores: [Double](), labels: [Bool]())
        let none = Bootstrap.interval(empty, resamples: 10, random: &again) { $0.rocAUC() }
        #expect(none.lower == .undefined && none.upper == .undefined && none.undefinedResamples == 10)
    }

    /// numpy: np.percentile([1, 2, 3, 4], [0, 25, 50, 97.5, 100]) = [1, 1.75, 2.5, 3.925, 4].
    @Test func percentilesInterpolateLinearlyAsNumpy() {
        let sorted: [Double] = [1, 2, 3, 4]
        #expect(Bootstrap.percentile(sorted: sorted, 0) == .defined(1))
        #expect(Bootstrap.percentile(sorted: sorted, 0.25) == .defined(1.75))
        #expect(Bootstrap.percentile(sorted: sorted, 0.5) == .defined(2.5))
        #expect(abs(Bootstrap.percentile(sorted: sorted, 0.975).value! - 3.925) <= 1e-15)
        #expect(Bootstrap.percentile(sorted: sorted, 1) == .defined(4))
        #expect(Bootstrap.percentile(sorted: [], 0.5) == .undefined)
    }
}
