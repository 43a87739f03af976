import Dataset
import Features
import Foundation
import Models
import Tensors
import Testing
import Training
@testable import Workflow

/// The timing models: the hazard trees' score is their own P(order within H), their file
/// carries the bins and refuses tampered ones, and BG/NBD's timing agrees with its score.
@Suite("Purchase timing models")
struct TimingContenderTests {
    static let history = ContenderTests.history

    /// Tomorrow's candidates (as of the day after the data) and the scoring input of `fitted`.
    static func tomorrow(_ fitted: TrainingJob.Fitted, _ options: TrainingJob.Options) throws -> (
        set: ExampleSet, input: ScoringInput
    ) {
        let set = ExampleBuilder(history: history, settings: options.examples).scoringExamples(
            asOf: Day(ordinal: history.days.max()! + 1))
        return (set, ScoringInput(history: history, set: set, encoder: try fitted.pipeline?.encoder(for: history)))
    }

    @Test(
        "xgboost_timing: score = P(order within H) of its distribution; monotone curves; the file gives the same timing"
    )
    func hazardTrees() throws {
        let (path, fitted, options) = try ContenderTests.trained("xgboost_timing")
        let (set, input) = try Self.tomorrow(fitted, options)
        let scores = try fitted.model.scores(input, range: 0..<set.count)
        let timing = try #require(try fitted.model.timing(input, range: 0..<set.count))
        #expect(timing.count == set.count && set.count > 100)
        #expect(timing[0].bins == TimingBins(horizonDays: options.examples.horizonDays))
        for (score, distribution) in zip(scores, timing) {
            #expect(score == Float(distribution.probability(withinDays: Double(options.examples.horizonDays))))
            #expect(zip(distribution.cumulative, distribution.cumulative.dropFirst()).allSatisfy { $0 <= $1 })
            #expect(distribution.expectedDays > 0 && distribution.expectedDays <= PurchaseTiming.cap)
            #expect(distribution.medianDays >= 1 && distribution.medianDays <= PurchaseTiming.cap)
        }
        // Customers differ: the model is not a constant curve.
        #expect(Set(timing.map { $0.cumulative[0] }).count > 10)
        let loaded = try ScoringJob.LoadedModel(path: path)
        #expect(try loaded.fitted.timing(input, range: 0..<set.count) == timing)

        let file = try TensorFile.read(from: path)
        let text = try #require(file.metadata["xgboost_timing"])
        #expect(text.contains("\"bin_edges\":[7,14,21,28,42,56,91]"))
        #expect(text.contains("\"survival_exponent\":"))
        for (edited, phrase) in [
            (text.replacingOccurrences(of: "[7,14,21,28,42,56,91]", with: "[7,7]"), "bin edges"),
            (
                text.replacingOccurrences(of: "\"survival_exponent\":", with: "\"survival_exponent\":1e9,\"x\":"),
                "level calibration"
            ),
            (text.replacingOccurrences(of: "[7,14,21,28,42,56,91]", with: "[7,14,21,28,42,56,91,5000]"), "bin edges"),
            ("{", "missing or malformed")
        ] {
            var bad = file
            bad.metadata["xgboost_timing"] = edited
            let badPath = ContenderTests.temporaryPath("bad-timing.safetensors")
            try bad.write(to: badPath)
            #expect { try ScoringJob.LoadedModel(path: badPath) } throws: { String(describing: $0).contains(phrase) }
        }
    }

    @Test(
        "xgboost_timing's count head: expected order days in [t, t + H) near the observed mean and ranked with them; the file keeps it; a file without it loads without one; bad count trees are refused"
    )
    func countHead() throws {
        let (path, fitted, options) = try ContenderTests.trained("xgboost_timing")
        let horizon = options.examples.horizonDays
        // Six as-of dates four weeks apart whose windows closed inside the data (the counts are
        // observed), pooled: one date's 150 customers give a mean count that swings by ±30%
        // between dates.
        let last = Self.history.days.max()! + 1 - Int32(horizon)
        var expected: [Double] = [], observed: [Double] = []
        for weeksBack in stride(from: 0, through: 20, by: 4) {
            let set = ExampleBuilder(history: Self.history, settings: options.examples).scoringExamples(
                asOf: Day(ordinal: last - Int32(7 * weeksBack)))
            let input = ScoringInput(
                history: Self.history, set: set, encoder: try fitted.pipeline?.encoder(for: Self.history))
            let counts = try #require(try fitted.model.expectedOrders(input, range: 0..<set.count))
            #expect(counts.count == set.count)
            expected += counts
            observed += set.examples.map { Double(Self.history.orderDays(of: $0, before: $0.asOf + Int32(horizon))) }
        }
        #expect(expected.allSatisfy { $0 > 0 && $0.isFinite })
        let ratio = expected.reduce(0, +) / observed.reduce(0, +)
        #expect(abs(ratio - 1) < 0.15, "expected/observed orders \(ratio) over \(expected.count) examples")
        // Customers expected to order more do: the top fifth by expected count orders more than
        // twice as often as the bottom fifth.
        let ranked = zip(expected, observed).sorted { $0.0 > $1.0 }.map(\.1), fifth = expected.count / 5
        #expect(ranked.prefix(fifth).reduce(0, +) > 2 * ranked.suffix(fifth).reduce(0, +))

        let (set, input) = try Self.tomorrow(fitted, options)
        let scoring = try #require(try fitted.model.expectedOrders(input, range: 0..<set.count))
        let loaded = try ScoringJob.LoadedModel(path: path)
        #expect(try loaded.fitted.expectedOrders(input, range: 0..<set.count) == scoring)
        #expect(try loaded.fitted.expectedOrders(input, range: 0..<0) == [])

        let file = try TensorFile.read(from: path)
        #expect(file.byteTensors["xgboost_timing.count.model"] != nil)
        var older = file
        older.byteTensors["xgboost_timing.count.model"] = nil
        let olderPath = ContenderTests.temporaryPath("timing-without-counts.safetensors")
        try older.write(to: olderPath)
        let withoutCounts = try ScoringJob.LoadedModel(path: olderPath)
        #expect(try withoutCounts.fitted.expectedOrders(input, range: 0..<set.count) == nil)
        #expect(
            try withoutCounts.fitted.timing(input, range: 0..<set.count)
                == (try fitted.model.timing(input, range: 0..<set.count)))
        var bad = file
        bad.byteTensors["xgboost_timing.count.model"] = file.byteTensors["xgboost_timing.model"]
        let badPath = ContenderTests.temporaryPath("timing-bad-counts.safetensors")
        try bad.write(to: badPath)
        #expect { try ScoringJob.LoadedModel(path: badPath) } throws: { String(describing: $0).contains("count trees") }

        // The count trees boost from BG/NBD's expected orders, recorded in the metadata; the
        // prior is applied at scoring (removing it from the file changes every expected count),
        // and an offset this release does not know is refused rather than ignored.
        let metadata = try #require(file.metadata["xgboost_timing"])
        #expect(metadata.contains("\"count_offset\":\"bgnbd_expected_orders\""), "\(metadata)")
        var noOffset = file
        noOffset.metadata["xgboost_timing"] = metadata.replacingOccurrences(
            of: ",\"count_offset\":\"bgnbd_expected_orders\"", with: "")
        let noOffsetPath = ContenderTests.temporaryPath("timing-no-offset.safetensors")
        try noOffset.write(to: noOffsetPath)
        let withoutPrior = try #require(
            try ScoringJob.LoadedModel(path: noOffsetPath).fitted.expectedOrders(input, range: 0..<set.count))
        #expect(zip(withoutPrior, scoring).filter { abs($0 - $1) > 1e-6 }.count == set.count)
        var unknown = file
        unknown.metadata["xgboost_timing"] = metadata.replacingOccurrences(
            of: "bgnbd_expected_orders", with: "pareto_nbd")
        let unknownPath = ContenderTests.temporaryPath("timing-unknown-offset.safetensors")
        try unknown.write(to: unknownPath)
        #expect { try ScoringJob.LoadedModel(path: unknownPath) } throws: {
            String(describing: $0).contains("xgboost_timing")
        }
    }

    @Test(
        "BG/NBD's expected orders are its conditional expected purchases over H; the default ensemble passes them through; models without a count head say nothing"
    )
    func bgnbdCounts() throws {
        let (_, fitted, options) = try ContenderTests.trained("bgnbd")
        let (set, input) = try Self.tomorrow(fitted, options)
        let expected = try #require(try fitted.model.expectedOrders(input, range: 0..<set.count))
        let scores = try fitted.model.scores(input, range: 0..<set.count)
        // E[orders] ≥ P(≥ 1 order), with equality only when nobody orders twice.
        for (count, score) in zip(expected, scores) { #expect(count >= Double(score) - 1e-6 && count.isFinite) }
        #expect(zip(expected, scores).contains { $0.0 > Double($0.1) + 1e-3 })
        // The default ensemble passes its BG/NBD member's counts through (BG/NBD's fit is
        // deterministic, so the member equals the model fitted alone), and no timing.
        let (_, ensemble, _) = try ContenderTests.trained("cnn_lstm_bgnbd")
        let ensembleInput = ScoringInput(history: Self.history, set: set, encoder: nil)
        #expect(try ensemble.model.expectedOrders(ensembleInput, range: 0..<set.count) == expected)
        #expect(try ensemble.model.timing(ensembleInput, range: 0..<set.count) == nil)
        let (_, xgboost, _) = try ContenderTests.trained("xgboost")
        let treeInput = ScoringInput(
            history: Self.history, set: set, encoder: try xgboost.pipeline?.encoder(for: Self.history))
        #expect(try xgboost.model.expectedOrders(treeInput, range: 0..<set.count) == nil)
    }

    @Test(
        "Level calibration: the survival exponent recovers a known power of the survival, and 1 for a calibrated hazard"
    )
    func levelCalibration() {
        var random = SeededRandom(seed: 3)
        var hazards: [Float] = [], labels: [Float] = []
        for _ in 0..<40_000 {
            let h = 0.02 + 0.3 * random.uniformDouble()
            hazards.append(Float(h))
            // The true hazard is 1 − (1 − h)²: the model's survival should be squared.
            labels.append(random.uniformDouble() < 1 - (1 - h) * (1 - h) ? 1 : 0)
        }
        let s = GradientBoostingTimingContender.LevelCalibration.survivalExponent(hazards: hazards, labels: labels)
        #expect(abs(s - 2) < 0.05, "fitted exponent \(s)")
        let calibrated = GradientBoostingTimingContender.LevelCalibration.survivalExponent(
            hazards: hazards, labels: hazards.map { random.uniformDouble() < Double($0) ? 1 : 0 })
        #expect(abs(calibrated - 1) < 0.05, "a calibrated hazard keeps exponent \(calibrated)")
    }

    @Test(
        "cnn_lstm_timing: the network's hazard head gives a score that is its own P(order within H); the file gives the same timing and refuses a tampered head"
    )
    func neuralHazardHead() throws {
        let (path, fitted, options) = try ContenderTests.trained("cnn_lstm_timing")
        let (set, input) = try Self.tomorrow(fitted, options)
        let scores = try fitted.model.scores(input, range: 0..<set.count)
        let timing = try #require(try fitted.model.timing(input, range: 0..<set.count))
        #expect(timing.count == set.count && set.count > 100)
        #expect(timing[0].bins == TimingBins(horizonDays: options.examples.horizonDays))
        for (score, distribution) in zip(scores, timing) {
            // The score is read from the logits in Double, the timing from Float hazards: a few ulps apart.
            #expect(
                abs(Double(score) - distribution.probability(withinDays: Double(options.examples.horizonDays))) < 1e-5)
            #expect(zip(distribution.cumulative, distribution.cumulative.dropFirst()).allSatisfy { $0 <= $1 })
            #expect(distribution.expectedDays > 0 && distribution.medianDays >= 1)
        }
        #expect(Set(timing.map { $0.cumulative[0] }).count > 10, "customers differ")
        #expect(fitted.calibration.method == .none, "the score is the timing's own P(order within H)")
        let loaded = try ScoringJob.LoadedModel(path: path)
        #expect(try loaded.fitted.timing(input, range: 0..<set.count) == timing)

        let file = try TensorFile.read(from: path)
        let exponent = try #require(file.metadata["timing_survival_exponent"])
        #expect(Double(exponent) != nil)
        let training = try #require(file.metadata["training"])
        #expect(training.contains("\"bin_edges\":[7,14,21,28,42,56,91]"))
        for (key, edited, phrase) in [
            ("timing_survival_exponent", "1e9", "level calibration"),
            ("timing_survival_exponent", "nan", "level calibration"),
            ("training", training.replacingOccurrences(of: "[7,14,21,28,42,56,91]", with: "[7,7]"), "hazard head"),
            (
                "training", training.replacingOccurrences(of: "\"horizon_days\":28", with: "\"horizon_days\":500"),
                "hazard head"
            )
        ] {
            var bad = file
            bad.metadata[key] = edited
            let badPath = ContenderTests.temporaryPath("bad-neural-timing.safetensors")
            try bad.write(to: badPath)
            #expect { try ScoringJob.LoadedModel(path: badPath) } throws: { String(describing: $0).contains(phrase) }
        }
    }

    @Test("The hazard head's P(order within H) is PurchaseTiming's at H, on a bin end or inside a bin")
    func hazardReadoutAgreesWithTiming() {
        var random = SeededRandom(seed: 9)
        let bins = TimingBins(horizonDays: 30)
        for horizon in [3, 7, 28, 30, 34, 35, 60, bins.maximumDays] {
            let readout = HazardReadout(binEdges: bins.edges, horizonDays: horizon)
            #expect(readout.problem == nil)
            for _ in 0..<20 {
                let logits = Tensor.uniform([bins.count], in: -6..<3, using: &random).scalars
                let timing = PurchaseTiming(bins: bins, hazards: logits.map { 1 / (1 + exp(-Double($0))) })
                let p = logits.withUnsafeBufferPointer { readout.probabilityWithinHorizon(logits: $0) }
                #expect(abs(Double(p) - timing.probability(withinDays: Double(horizon))) < 1e-6, "H = \(horizon)")
            }
        }
        #expect(HazardReadout(binEdges: [7, 14], horizonDays: 15).problem != nil)
        #expect(HazardReadout(binEdges: [14, 7], horizonDays: 7).problem != nil)
    }

    @Test("BG/NBD's timing at H is its score; the other models say nothing about timing")
    func bgnbdTiming() throws {
        let (_, fitted, options) = try ContenderTests.trained("bgnbd")
        let (set, input) = try Self.tomorrow(fitted, options)
        let scores = try fitted.model.scores(input, range: 0..<set.count)
        let timing = try #require(try fitted.model.timing(input, range: 0..<set.count))
        let k = try #require(timing[0].bins.edges.firstIndex(of: options.examples.horizonDays))
        for (score, distribution) in zip(scores, timing) {
            #expect(abs(Double(score) - distribution.cumulative[k]) < 1e-6)
        }
        let (_, tree, _) = try ContenderTests.trained("decision_tree")
        let treeInput = ScoringInput(
            history: Self.history, set: set, encoder: try tree.pipeline?.encoder(for: Self.history))
        #expect(try tree.model.timing(treeInput, range: 0..<set.count) == nil)
    }
}
