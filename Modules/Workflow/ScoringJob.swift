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

    /// Scores `history` with the model at `modelPath`.
    public static func run(modelPath: String, history: VisitHistory, options: Options) throws -> (rows: [ScoredCustomer], modelID: String) {
        let file = try ModelFile.read(from: modelPath)
        let pipeline: FeaturePipeline
        do {
            pipeline = try FeaturePipeline.decode(json: Array(file.pipeline.utf8))
        } catch {
            throw MismatchError(description: "\(modelPath): its feature pipeline cannot be read: \(error)")
        }
        let encoder: FeatureEncoder
        do {
            encoder = try pipeline.encoder(for: history)
        } catch {
            throw MismatchError(description: "\(modelPath): the model's feature pipeline does not fit this dataset: \(error)")
        }
        guard let last = history.days.max() else { throw MismatchError(description: "the dataset has no visits to score from") }
        let asOf = options.asOf ?? Day(ordinal: last + 1)
        let set = ExampleBuilder(history: history, settings: pipeline.settings).scoringExamples(asOf: asOf, candidates: options.candidates)
        var (model, parameters) = try file.instantiate()
        var rows: [ScoredCustomer] = []
        rows.reserveCapacity(set.count)
        var start = 0
        while start < set.count {
            let end = min(set.count, start + options.batchSize)
            let tensors = encoder.tensors(for: set, range: start..<end)
            let examples = TrainingJob.modelExamples(tensors)
            guard examples.shape == file.shape else {
                throw MismatchError(description: "\(modelPath): the model expects inputs \(file.shape), this dataset gives \(examples.shape)")
            }
            let probabilities = predictProbabilities(model: &model, parameters: parameters, examples: examples, batchSize: options.batchSize)
            for i in 0..<tensors.count {
                rows.append(ScoredCustomer(customerID: tensors.customerIDs[i], repID: tensors.repIDs[i], asOf: tensors.asOf[i],
                                           probability: probabilities[i], rankInRep: 0, rank: 0))
            }
            start = end
        }
        return (rank(rows, topPerRep: options.topPerRep), file.modelID)
    }

    /// Ranks overall and within each (as-of date, rep), highest probability first, ties by
    /// customer id; keeps each rep's top K when asked. Output order: as-of, rep, rank in rep.
    public static func rank(_ rows: [ScoredCustomer], topPerRep: Int?) -> [ScoredCustomer] {
        // The scores file's own ranking rule (`ScoresFile.ranks`), so scorer and evaluator agree.
        let asOf = rows.map(\.asOf), probabilities = rows.map { Double($0.probability) }, customers = rows.map(\.customerID)
        let inRep = ScoresFile.ranks(asOf: asOf, probabilities: probabilities, customers: customers, groups: rows.map(\.repID))
        let overall = ScoresFile.ranks(
            asOf: asOf, probabilities: probabilities, customers: customers, groups: [String](repeating: "", count: rows.count))
        var ranked = rows
        for index in ranked.indices {
            ranked[index].rankInRep = inRep[index]
            ranked[index].rank = overall[index]
        }
        if let k = topPerRep { ranked = ranked.filter { $0.rankInRep <= k } }
        ranked.sort {
            if $0.asOf != $1.asOf { return $0.asOf < $1.asOf }
            if $0.repID != $1.repID { return $0.repID < $1.repID }
            return $0.rankInRep < $1.rankInRep
        }
        return ranked
    }
}
