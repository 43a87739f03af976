import Dataset
import Evaluation
import Features
import Foundation
import Models
import Training

/// The scorer's work: a model file and a dataset → P(order within the model's horizon) for
/// every candidate customer at an as-of date, ranked within each rep's book (the call list)
/// and overall.
public enum ScoringJob {
    /// One customer's score at one as-of date.
    public struct ScoredCustomer: Sendable, Equatable {
        public var customerID: String
        /// The rep of the customer's last visit before the as-of date ("" when none): whose list it is on.
        public var repID: String
        public var asOf: Day
        public var probability: Float
        /// 1 = first call of that rep's list; ties broken by customer id.
        public var rankInRep: Int
        /// 1 = highest probability overall; ties broken by customer id.
        public var rank: Int
        /// When and how many, for a model that predicts them (empty otherwise).
        public var forecast = ScoreRow.Forecast()
        /// The model's label window H and training cut-off T (the scores file records both).
        public var horizonDays: Int?
        public var trainUntil: Day?
        /// Why the customer is listed, strongest first (``CallReasons``).
        public var reasons: [String] = []
    }

    /// What scoring produced: the ranked rows, the model's id, and how much of the model's
    /// ranking the reasons' surrogate captures (its R²; nil when it could not be fitted).
    public struct Result {
        public var rows: [ScoredCustomer]
        public var modelID: String
        public var reasonsRSquared: Double?
    }

    public struct Options: Sendable {
        /// nil: the day after the dataset's last record (tomorrow's list, in the nightly job).
        public var asOf: Day?
        public var candidates: CandidateSet = .withHistory
        /// Keep only each rep's top K (nil: every candidate).
        public var topPerRep: Int?
        public var batchSize = 4096
        public init() {}
    }

    /// A model whose feature pipeline cannot be applied to this dataset, with the reason.
    public struct MismatchError: Error, CustomStringConvertible {
        public let description: String
    }

    /// A loaded model: its file, its fitted contender, and its encoder for a history.
    public struct LoadedModel {
        public let file: ModelFile
        public let fitted: any FittedModel
        public let modelID: String

        /// Reads and checks the model file through its contender.
        public init(path: String) throws {
            file = try ModelFile.read(from: path)
            fitted = try Contenders.load(file, path: path)
            modelID = file.modelID
        }

        /// The scoring input of `set`: the model's encoder bound to `history` (built once: an
        /// encoder indexes the whole history), or none for a model without a pipeline.
        public func input(history: VisitHistory, set: ExampleSet, path: String) throws -> ScoringInput {
            do {
                return ScoringInput(history: history, set: set, encoder: try file.pipeline?.encoder(for: history))
            } catch {
                throw MismatchError(
                    description: "\(path): the model's feature pipeline does not fit this dataset: \(error)")
            }
        }

        /// Calibrated P(order) for `set` (built with `file.examples`), in batches of `batchSize`.
        public func probabilities(history: VisitHistory, set: ExampleSet, path: String, batchSize: Int = 4096) throws
            -> [Float]
        {
            try probabilities(try input(history: history, set: set, path: path), path: path, batchSize: batchSize)
        }

        /// Calibrated P(order) for `input`'s examples, in batches of `batchSize`.
        public func probabilities(_ input: ScoringInput, path: String, batchSize: Int = 4096) throws -> [Float] {
            try inBatches(input.set.count, batchSize: batchSize, path: path) {
                file.calibration.apply(to: try fitted.scores(input, range: $0))
            }
        }

        /// What the model predicts beside the probability, per example of `input`: its timing
        /// (expected and median days, P(order within 7/14/28 days)) and its expected order days
        /// in [t, t + H); empty forecasts for a model that predicts neither.
        public func forecasts(_ input: ScoringInput, path: String, batchSize: Int = 4096) throws -> [ScoreRow.Forecast]
        {
            try inBatches(input.set.count, batchSize: batchSize, path: path) { range in
                let timing = try fitted.timing(input, range: range),
                    counts = try fitted.expectedOrders(input, range: range)
                return (0..<range.count).map { ScoreRow.Forecast(timing: timing?[$0], expectedOrders: counts?[$0]) }
            }
        }

        /// `body` over `0..<count` in batches of `batchSize`, concatenated; a model that cannot
        /// score the examples (`JobError`) becomes a ``MismatchError`` naming `path`.
        private func inBatches<T>(_ count: Int, batchSize: Int, path: String, _ body: (Range<Int>) throws -> [T]) throws
            -> [T]
        {
            var result: [T] = []
            result.reserveCapacity(count)
            var start = 0
            while start < count {
                let end = min(count, start + batchSize)
                do {
                    result += try body(start..<end)
                } catch let error as TrainingJob.JobError {
                    throw MismatchError(description: "\(path): \(error.description)")
                }
                start = end
            }
            return result
        }
    }

    /// Scores `history` with the model at `modelPath`: ``score(modelPath:history:options:)``,
    /// then ``finish(_:topPerRep:)``.
    public static func run(modelPath: String, history: VisitHistory, options: Options) throws -> Result {
        finish(try score(modelPath: modelPath, history: history, options: options), topPerRep: options.topPerRep)
    }

    /// Every candidate's score before the steps that look across candidates: the ranks and
    /// the reasons (whose surrogate is fitted over all candidates of a date). Each row depends
    /// on its own customer's history alone, so the partitions of a dataset scored one by one
    /// (`scorer --partial`) and finished together (`scorer merge`) give the lists of the whole
    /// dataset scored at once, byte for byte (Docs/ScaleOut.md).
    public struct PartialResult: Sendable {
        /// Unranked (ranks 0), without reasons, in candidate order (as-of, customer id bytes).
        public var rows: [ScoredCustomer]
        /// Per row, what its reasons are built from (``CallReasons/Facts``).
        public var facts: [CallReasons.Facts?]
        public var modelID: String

        public init(rows: [ScoredCustomer], facts: [CallReasons.Facts?], modelID: String) {
            precondition(rows.count == facts.count, "PartialResult: \(rows.count) rows, \(facts.count) facts")
            self.rows = rows
            self.facts = facts
            self.modelID = modelID
        }
    }

    /// The per-candidate half of scoring (``PartialResult``).
    public static func score(modelPath: String, history: VisitHistory, options: Options) throws -> PartialResult {
        let model = try LoadedModel(path: modelPath)
        guard let asOf = options.asOf ?? history.days.max().map({ Day(ordinal: $0 + 1) }) else {
            throw MismatchError(description: "the dataset has no visits to score from")
        }
        // A partition can hold no visits (few customers, many partitions): no candidates.
        if history.days.isEmpty { return PartialResult(rows: [], facts: [], modelID: model.modelID) }
        let set = ExampleBuilder(history: history, settings: model.file.examples).scoringExamples(
            asOf: asOf, candidates: options.candidates)
        let input = try model.input(history: history, set: set, path: modelPath)
        let probabilities = try model.probabilities(input, path: modelPath, batchSize: options.batchSize)
        let forecasts = try model.forecasts(input, path: modelPath, batchSize: options.batchSize)
        var rows: [ScoredCustomer] = []
        rows.reserveCapacity(set.count)
        let trainUntil = Day(iso: model.file.trainUntil)
        for (i, example) in set.examples.enumerated() {
            rows.append(
                ScoredCustomer(
                    customerID: history.customerID(of: example), repID: history.repID(of: example, in: set), asOf: asOf,
                    probability: probabilities[i], rankInRep: 0, rank: 0, forecast: forecasts[i],
                    horizonDays: model.file.examples.horizonDays, trainUntil: trainUntil))
        }
        return PartialResult(
            rows: rows, facts: set.examples.map { CallReasons.facts(of: $0, in: history) }, modelID: model.modelID)
    }

    /// The across-candidates half: reasons from a surrogate fitted over each date's candidates,
    /// then ranks (and each rep's top K when asked). `partial`'s rows must be in candidate
    /// order (as ``score(modelPath:history:options:)`` and ``PartialScoresFile/merge(_:)`` give them).
    public static func finish(_ partial: PartialResult, topPerRep: Int?) -> Result {
        let explanation = CallReasons.explain(
            facts: partial.facts, asOf: partial.rows.map(\.asOf), scores: partial.rows.map(\.probability))
        var rows = partial.rows
        for index in rows.indices { rows[index].reasons = explanation.reasons[index] }
        return Result(
            rows: rank(rows, topPerRep: topPerRep), modelID: partial.modelID, reasonsRSquared: explanation.rSquared)
    }

    /// The warning for a list scored inside its model's training period (as-of before the
    /// cut-off T), or nil: such a list is in-sample, and an audit of it would measure how well
    /// the model remembers, not how well it predicts (the audit leaves these rows out).
    public static func inSampleWarning(asOf: Day, trainUntil: Day?) -> String? {
        guard let trainUntil, asOf < trainUntil else { return nil }
        return "--as-of \(asOf.iso) is inside the model's training period (its labels run to \(trainUntil.iso)): "
            + "this list is in-sample; evaluator audit leaves such rows out"
    }

    /// Each rep's top K of ranked rows (their order kept): the call list cut from the scores of
    /// every candidate, so that one scoring run gives both the list the CRM reads and the full
    /// scores an audit needs (a random list and the ceiling are drawn from all candidates, not
    /// from the list itself).
    public static func callList(_ ranked: [ScoredCustomer], topPerRep k: Int) -> [ScoredCustomer] {
        ranked.filter { $0.rankInRep <= k }
    }

    /// Ranks overall and within each (as-of date, rep), highest probability first, ties by
    /// customer id; keeps each rep's top K when asked. Output order: as-of, rep, rank in rep.
    public static func rank(_ rows: [ScoredCustomer], topPerRep: Int?) -> [ScoredCustomer] {
        // The scores file's own ranking rule (`ScoresFile.ranks`), so scorer and evaluator agree.
        let asOf = rows.map(\.asOf), probabilities = rows.map { Double($0.probability) },
            customers = rows.map(\.customerID)
        let inRep = ScoresFile.ranks(
            asOf: asOf, probabilities: probabilities, customers: customers, groups: rows.map(\.repID))
        let overall = ScoresFile.ranks(
            asOf: asOf, probabilities: probabilities, customers: customers,
            groups: [String](repeating: "", count: rows.count))
        var ranked = rows
        for index in ranked.indices {
            ranked[index].rankInRep = inRep[index]
            ranked[index].rank = overall[index]
        }
        if let k = topPerRep { ranked = callList(ranked, topPerRep: k) }
        ranked.sort {
            if $0.asOf != $1.asOf { return $0.asOf < $1.asOf }
            if $0.repID != $1.repID { return $0.repID < $1.repID }
            return $0.rankInRep < $1.rankInRep
        }
        return ranked
    }
}
