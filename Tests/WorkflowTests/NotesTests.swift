import Dataset
import Features
import Foundation
import Metrics
import Testing
import Training
import Workflow

/// Visit notes as inputs (issue 17, item 4): a planted phrase that precedes orders is learned,
/// notes with no signal add no inputs (so they cannot make a model worse), and a model with
/// notes writes, reads back and scores like any other.
@Suite("Visit notes as model inputs")
struct NotesTests {
    static let base = SyntheticVisitLog.generate(customers: 300, visits: 6000, days: 365, seed: 41)

    /// Trains `model` on `dataset` up to 120 days before its end and returns the ROC-AUC of its
    /// scores on three later as-of dates (labels complete), and the fitted model.
    static func outOfSample(_ dataset: Dataset, model: String, notes: Bool) throws -> (
        auc: Double, fitted: TrainingJob.Fitted
    ) {
        let history = VisitHistory(dataset: dataset)
        let last = history.days.max()!
        var options = TrainingJob.Options()
        options.model = model
        options.notes = notes
        options.trainUntil = Day(ordinal: last - 120)
        options.validationDates = 4
        options.boosting.rounds = 200
        let fitted = try #require(try TrainingJob.fit(FitJob(history: history, options: options)))
        var scores: [Float] = [], labels: [Int] = []
        for back in [100, 70, 40] {
            let set = ExampleBuilder(history: history, settings: options.examples).scoringExamples(
                asOf: Day(ordinal: last - Int32(back)))
            let input = ScoringInput(history: history, set: set, encoder: try fitted.pipeline?.encoder(for: history))
            scores += fitted.calibration.apply(to: try fitted.model.scores(input, range: 0..<set.count))
            labels += set.examples.map { Int($0.label) }
        }
        let auc = try #require(BinaryPredictions(scores: scores, labels: labels).rocAUC().value)
        return (auc, fitted)
    }

    @Test("A planted phrase before orders: the pipeline keeps its n-grams and the trees gain ROC-AUC from them")
    func plantedPhraseIsLearned() throws {
        let dataset = SyntheticVisitLog.withNotes(Self.base, signal: 0.7, seed: 5)
        let with = try Self.outOfSample(dataset, model: "xgboost", notes: true)
        let without = try Self.outOfSample(dataset, model: "xgboost", notes: false)
        let notes = try #require(with.fitted.pipeline?.notes)
        #expect(notes.names.contains { $0.contains("proj") }, "\(notes.names)")
        #expect(with.fitted.pipeline?.formatVersion == 4 && without.fitted.pipeline?.notes == nil)
        #expect(without.fitted.pipeline?.formatVersion == 3, "a pipeline without notes stays version 3")
        #expect(with.auc > without.auc + 0.03, "with notes \(with.auc), without \(without.auc)")
    }

    @Test(
        "Notes with no signal: what survives the χ² test is dropped by the validation check, and the scores are those without notes"
    )
    func noSignalAddsNothing() throws {
        let dataset = SyntheticVisitLog.withNotes(Self.base, signal: 0, seed: 5)
        let with = try Self.outOfSample(dataset, model: "xgboost", notes: true)
        let without = try Self.outOfSample(dataset, model: "xgboost", notes: false)
        // Random phrases still say "visited recently" (a customer with notes in [t − H, t) was
        // visited), which the χ² test on presence can find significant; the validation weeks
        // then show the trees gain nothing from it.
        #expect(with.fitted.pipeline?.notes == nil)
        #expect(with.auc == without.auc)
    }

    @Test(
        "A model with notes round-trips through its file; the file's notes are checked; a dataset without the column is refused"
    )
    func fileRoundTrip() throws {
        let dataset = SyntheticVisitLog.withNotes(Self.base, signal: 0.7, seed: 5)
        let history = VisitHistory(dataset: dataset)
        var options = TrainingJob.Options()
        options.model = "xgboost"
        options.boosting.rounds = 100
        options.validationDates = 4
        let job = FitJob(history: history, options: options)
        let fitted = try #require(try TrainingJob.fit(job))
        #expect(fitted.pipeline?.notes != nil)
        let path = NSTemporaryDirectory() + "revisit-notes-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try TrainingJob.modelFile(fitted, options: options, trainUntil: job.trainUntil, datasetSHA256: "test").write(
            to: path)
        let loaded = try ScoringJob.LoadedModel(path: path)
        let set = ExampleBuilder(history: history, settings: options.examples).scoringExamples(
            asOf: Day(ordinal: history.days.max()! + 1))
        let input = ScoringInput(history: history, set: set, encoder: try fitted.pipeline?.encoder(for: history))
        #expect(
            try loaded.probabilities(history: history, set: set, path: path)
                == fitted.calibration.apply(to: try fitted.model.scores(input, range: 0..<set.count)))
        // The same export without its notes column cannot feed this model.
        let plain = VisitHistory(dataset: Self.base)
        #expect(throws: FeatureError.self) { try loaded.file.pipeline!.encoder(for: plain) }
        // A tampered vocabulary is refused on reading.
        var pipeline = try #require(fitted.pipeline)
        pipeline.notes!.model.idf[0] = -1
        #expect(throws: FeatureError.self) { try FeaturePipeline.decode(json: try pipeline.jsonBytes()) }
    }

    /// A model that reads no statics (logistic regression reads the aggregates) is fitted
    /// without notes, once, whatever the dataset holds.
    @Test func aModelThatReadsNoStaticsIsFittedWithoutNotes() throws {
        let history = VisitHistory(dataset: SyntheticVisitLog.withNotes(Self.base, signal: 0.7, seed: 5))
        var options = TrainingJob.Options()
        options.model = "logreg"
        options.training.epochs = 1
        options.validationDates = 4
        var lines: [String] = []
        let fitted = try #require(
            try TrainingJob.fit(FitJob(history: history, options: options, log: { lines.append($0) })))
        #expect(fitted.pipeline?.notes == nil && fitted.pipeline?.formatVersion == 3)
        #expect(!lines.contains { $0.contains("notes kept") || $0.contains("notes dropped") }, "\(lines)")
    }

    /// Inputs that change between fits (here the window length; in a backtest, notes inputs
    /// one fold keeps and the next drops) make a warm start impossible: the fit starts afresh
    /// and says so, instead of failing.
    @Test func aWarmStartForOtherInputsFallsBackToAFreshFit() throws {
        let history = VisitHistory(dataset: Self.base)
        var options = TrainingJob.Options()
        options.model = "logreg"
        options.training.epochs = 1
        options.validationDates = 4
        options.examples.sequenceLength = 5
        let first = try #require(try TrainingJob.fit(FitJob(history: history, options: options)))
        options.examples.sequenceLength = 10
        var lines: [String] = []
        let second = try TrainingJob.fit(
            FitJob(history: history, options: options, warmStart: first.model, log: { lines.append($0) }))
        #expect(second != nil)
        #expect(
            lines.contains {
                $0.contains("cannot warm-start logreg") && $0.contains("training from scratch")
                    && $0.contains("5 steps")
            }, "\(lines)")
    }
}
