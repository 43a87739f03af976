import Dataset
import Features
import Foundation
import Tensors
import Testing
import Training
import Workflow

/// The timing models: the hazard trees' score is their own P(order within H), their file
/// carries the bins and refuses tampered ones, and BG/NBD's timing agrees with its score.
@Suite("Purchase timing models")
struct TimingContenderTests {
    static let history = ContenderTests.history

    @Test("xgboost_timing: score = P(order within H) of its distribution; monotone curves; the file gives the same timing")
    func hazardTrees() throws {
        let (path, fitted, options) = try ContenderTests.trained("xgboost_timing")
        let t = Day(ordinal: Self.history.days.max()! + 1)
        let set = ExampleBuilder(history: Self.history, settings: options.examples).scoringExamples(asOf: t)
        let input = ScoringInput(history: Self.history, set: set, encoder: try fitted.pipeline?.encoder(for: Self.history))
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
        for (edited, phrase) in [
            (text.replacingOccurrences(of: "[7,14,21,28,42,56,91]", with: "[7,7]"), "bin edges"),
            (text.replacingOccurrences(of: "[7,14,21,28,42,56,91]", with: "[7,14,21,28,42,56,91,5000]"), "bin edges"),
            ("{", "missing or malformed"),
        ] {
            var bad = file
            bad.metadata["xgboost_timing"] = edited
            let badPath = ContenderTests.temporaryPath("bad-timing.safetensors")
            try bad.write(to: badPath)
            #expect { try ScoringJob.LoadedModel(path: badPath) } throws: { String(describing: $0).contains(phrase) }
        }
    }

    @Test("BG/NBD's timing at H is its score; the other models say nothing about timing")
    func bgnbdTiming() throws {
        let (_, fitted, options) = try ContenderTests.trained("bgnbd")
        let t = Day(ordinal: Self.history.days.max()! + 1)
        let set = ExampleBuilder(history: Self.history, settings: options.examples).scoringExamples(asOf: t)
        let input = ScoringInput(history: Self.history, set: set, encoder: nil)
        let scores = try fitted.model.scores(input, range: 0..<set.count)
        let timing = try #require(try fitted.model.timing(input, range: 0..<set.count))
        let k = try #require(timing[0].bins.edges.firstIndex(of: options.examples.horizonDays))
        for (score, distribution) in zip(scores, timing) { #expect(abs(Double(score) - distribution.cumulative[k]) < 1e-6) }
        let (_, tree, _) = try ContenderTests.trained("decision_tree")
        let treeInput = ScoringInput(history: Self.history, set: set, encoder: try tree.pipeline?.encoder(for: Self.history))
        #expect(try tree.model.timing(treeInput, range: 0..<set.count) == nil)
    }
}
