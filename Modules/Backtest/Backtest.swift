import Dataset
import Evaluation
import Features
import Foundation
import Metrics
import Models
import Tensors
import Training
import Workflow

/// What produces a ranking in the backtest: a trained model, or a baseline.
public enum Contender: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// One of Revisit's models, retrained for every fold on what was known before it.
    case model(Architecture)
    /// A classification tree on the aggregate features, refitted every fold.
    case decisionTree
    /// Most recent order first: 1 / (1 + days since the last order); never ordered → 0.
    case recency
    /// Most orders in the last 365 days first (ties: most recent visit).
    case frequency
    /// The reps' polling: the most overdue customer (longest since the last visit) first.
    case roundRobin

    public var description: String {
        switch self {
        case .model(let architecture): return architecture.rawValue
        case .decisionTree: return "decision_tree"
        case .recency: return "recency"
        case .frequency: return "frequency"
        case .roundRobin: return "round_robin"
        }
    }

    /// Parses `cnn_lstm`, `lstm`, …, `decision_tree`, `recency`, `frequency`, `round_robin`.
    public init?(name: String) {
        if let architecture = Architecture(rawValue: name) { self = .model(architecture); return }
        switch name {
        case "decision_tree": self = .decisionTree
        case "recency": self = .recency
        case "frequency": self = .frequency
        case "round_robin": self = .roundRobin
        default: return nil
        }
    }
}

/// How the call list is formed from a fold's ranked candidates.
public enum ListRule: Sendable, Equatable, CustomStringConvertible {
    /// Each rep's K highest-ranked candidates (the per-rep call list; the default).
    case perRepTop(Int)
    /// The N highest-ranked candidates.
    case top(Int)
    /// The highest-ranked share of the candidates (0…1).
    case topShare(Double)
    /// Every candidate whose score is at least the threshold (meaningful for the models'
    /// probabilities; the heuristics' scores are order-preserving squashes, not probabilities).
    case threshold(Double)

    public var description: String {
        switch self {
        case .perRepTop(let k): return "top \(k) per rep"
        case .top(let n): return "top \(n)"
        case .topShare(let share): return String(format: "top %.0f%%", share * 100)
        case .threshold(let p): return "p ≥ \(p)"
        }
    }

    /// How many of `scores` (sorted high to low) make the list.
    func length(sortedScores: [Double]) -> Int {
        switch self {
        case .perRepTop: preconditionFailure("ListRule.length: per-rep lists are cut by rank in rep")
        case .top(let n): return min(n, sortedScores.count)
        case .topShare(let share): return min(sortedScores.count, max(1, Int((share * Double(sortedScores.count)).rounded())))
        case .threshold(let p): return sortedScores.prefix { $0 >= p }.count
        }
    }
}

/// The study's rolling weekly backtest (BRIEF §1): for each fold start t (a Monday), train on
/// what was known before t (labels closing by t), score the fold's candidates at t (the
/// customers the reps visited in [t, t + 7), as the study did, or every customer with history),
/// form the list, and measure its precision against orders within [t, t + H) (T2 = 4 weeks by
/// default), next to the reps' own success rate that week. Every contender runs on the same
/// folds and candidates, so comparisons are paired.
public struct Backtest {
    public struct Settings: Sendable {
        /// The first fold's Monday; folds follow every `stepDays`.
        public var firstFold: Day
        public var folds = 4
        public var stepDays = 7
        public var candidates: CandidateSet = .visitedInWeek
        public var list: ListRule = .perRepTop(3)
        public var contenders: [Contender] = [.model(.cnnLSTM), .logisticRegression, .decisionTree, .recency, .roundRobin]
        /// Trainer options for the model contenders (horizon H = the outcome window T2).
        public var training = TrainingJob.Options()
        /// Training examples only from the last N weeks of as-of dates whose labels close by the fold start (nil: all).
        public var trainingWeeks: Int?
        /// Start each fold's model from the previous fold's weights (after the first fold, `warmEpochs` epochs).
        public var warmStart = true
        public var warmEpochs = 1
        public var tree = DecisionTree.Settings()
        public init(firstFold: Day) { self.firstFold = firstFold }
    }

    /// One contender on one fold.
    public struct Entry: Sendable, Codable, Equatable {
        public var contender: String
        public var listed: Int
        public var listedOrders: Int
        /// listedOrders / listed (nil for an empty list).
        public var listPrecision: Double?
        /// listPrecision / repsRate − 1 (nil when either is undefined).
        public var liftOverReps: Double?
        public var rocAUC: Double?
        public var averagePrecision: Double?
        public var brier: Double?
        /// The scores of every candidate (for curves and audits), in candidate order; in [0, 1]
        /// (heuristics are squashed monotonically, see `heuristicScores`).
        public var scores: [Float]
        /// Each candidate's rank in its rep's list (1 = first; ties by customer id).
        public var ranksInRep: [Int]
        /// Whether each candidate is on the list (per the backtest's `ListRule`).
        public var onList: [Bool]
        /// Training examples and epochs (models and trees), seconds spent.
        public var trainingExamples: Int?
        public var epochs: Int?
        public var seconds: Double
    }

    /// One fold: its candidates, their outcomes, the reps' own rate, and every contender's list.
    public struct Fold: Sendable, Codable, Equatable {
        public var start: Day
        public var candidates: Int
        /// Candidates whose label window was not fully observed are excluded (counted here).
        public var excludedIncomplete: Int
        public var positives: Int
        public var customerIDs: [String]
        public var repIDs: [String]
        public var labels: [Float]
        /// Visits dated in [t, t + 7) and the share of them that produced an order.
        public var repVisits: Int
        public var repOrders: Int
        public var repsRate: Double?
        public var entries: [Entry]
    }

    public let settings: Settings
    public let history: VisitHistory

    public init(settings: Settings, history: VisitHistory) {
        self.settings = settings
        self.history = history
    }

    /// The fold start dates (Mondays).
    public var foldStarts: [Day] {
        let first = settings.firstFold.weekday == 1 ? settings.firstFold : settings.firstFold.mondayOnOrBefore.advanced(by: 7)
        return (0..<settings.folds).map { first.advanced(by: $0 * settings.stepDays) }
    }

    /// Runs every fold; `progress` gets one line per contender and fold.
    public func run(progress: (String) -> Void = { _ in }) throws -> [Fold] {
        var previousWeights: [Architecture: [String: Tensor]] = [:]
        var folds: [Fold] = []
        for start in foldStarts {
            var fold = try prepareFold(start: start)
            for contender in settings.contenders {
                let clock = ContinuousClock(), began = clock.now
                var entry: Entry
                switch contender {
                case .model(let architecture):
                    let (scores, examples, epochs, weights) = try trainAndScore(
                        architecture: architecture, start: start, warm: settings.warmStart ? previousWeights[architecture] : nil)
                    previousWeights[architecture] = weights
                    entry = evaluate(contender, scores: scores, fold: fold)
                    entry.trainingExamples = examples
                    entry.epochs = epochs
                case .decisionTree:
                    let (scores, examples) = try treeScores(start: start)
                    entry = evaluate(contender, scores: scores, fold: fold)
                    entry.trainingExamples = examples
                case .recency, .frequency, .roundRobin:
                    entry = evaluate(contender, scores: heuristicScores(contender, start: start), fold: fold)
                }
                entry.seconds = (clock.now - began) / .seconds(1)
                fold.entries.append(entry)
                progress("backtest: week of \(start.iso): \(contender) list precision \(Self.percent(entry.listPrecision)), "
                         + "reps \(Self.percent(fold.repsRate)), lift \(Self.signedPercent(entry.liftOverReps)) (\(String(format: "%.1f", entry.seconds)) s)")
            }
            folds.append(fold)
        }
        return folds
    }

    // MARK: Folds

    /// The fold's candidate examples at `start` (labels complete only) and the reps' week.
    func candidateSet(start: Day) -> ExampleSet {
        let builder = ExampleBuilder(history: history, settings: settings.training.examples)
        var set = builder.build(grid: .dates([start]), candidates: settings.candidates)
        set.examples = set.examples.filter(\.labelComplete)
        return set
    }

    func prepareFold(start: Day) throws -> Fold {
        let builder = ExampleBuilder(history: history, settings: settings.training.examples)
        let all = builder.build(grid: .dates([start]), candidates: settings.candidates)
        let complete = all.examples.filter(\.labelComplete)
        var repVisits = 0, repOrders = 0
        let end = start.ordinal + 7
        for (index, day) in history.days.enumerated() where day >= start.ordinal && day < end {
            repVisits += 1
            if history.orders[index] { repOrders += 1 }
        }
        var set = all
        set.examples = complete
        return Fold(
            start: start, candidates: complete.count, excludedIncomplete: all.examples.count - complete.count,
            positives: complete.filter { $0.label == 1 }.count, customerIDs: complete.map { history.customerID(of: $0) },
            repIDs: complete.map { history.repID(of: $0, in: set) }, labels: complete.map(\.label), repVisits: repVisits,
            repOrders: repOrders, repsRate: repVisits == 0 ? nil : Double(repOrders) / Double(repVisits), entries: [])
    }

    func evaluate(_ contender: Contender, scores: [Float], fold: Fold) -> Entry {
        precondition(scores.count == fold.labels.count, "Backtest: \(scores.count) scores for \(fold.labels.count) candidates")
        // Rank: score descending, ties by customer id (the scorer's rule).
        let order = scores.indices.sorted {
            scores[$0] != scores[$1] ? scores[$0] > scores[$1] : fold.customerIDs[$0] < fold.customerIDs[$1]
        }
        let ranksInRep = ScoresFile.ranks(
            asOf: [Day](repeating: fold.start, count: scores.count), probabilities: scores.map(Double.init),
            customers: fold.customerIDs, groups: fold.repIDs)
        let listed: [Int]
        if case .perRepTop(let k) = settings.list {
            listed = order.filter { ranksInRep[$0] <= k }
        } else {
            listed = Array(order.prefix(settings.list.length(sortedScores: order.map { Double(scores[$0]) })))
        }
        let length = listed.count
        let listedOrders = listed.reduce(0) { $0 + Int(fold.labels[$1]) }
        var onList = [Bool](repeating: false, count: scores.count)
        for index in listed { onList[index] = true }
        let precision = length == 0 ? nil : Double(listedOrders) / Double(length)
        let predictions = BinaryPredictions(scores: scores, labels: fold.labels.map { Int($0) })
        let lift: Double? = {
            guard let precision, let reps = fold.repsRate, reps > 0 else { return nil }
            return precision / reps - 1
        }()
        let isProbability = scores.allSatisfy { $0 >= 0 && $0 <= 1 }
        return Entry(
            contender: contender.description, listed: length, listedOrders: listedOrders, listPrecision: precision, liftOverReps: lift,
            rocAUC: predictions.rocAUC().value, averagePrecision: predictions.averagePrecision().value,
            brier: isProbability ? predictions.brierScore().value : nil, scores: scores, ranksInRep: ranksInRep, onList: onList, trainingExamples: nil, epochs: nil, seconds: 0)
    }

    // MARK: Contenders

    /// Training options for the fold at `start`: labels close by `start`, optionally only recent as-of dates.
    func foldOptions(start: Day, architecture: Architecture?) -> TrainingJob.Options {
        var options = settings.training
        options.trainUntil = start
        if let architecture { options.training.architecture = architecture }
        return options
    }

    func trainAndScore(architecture: Architecture, start: Day, warm: [String: Tensor]?) throws
        -> (scores: [Float], examples: Int, epochs: Int, weights: [String: Tensor])
    {
        var options = foldOptions(start: start, architecture: architecture)
        if warm != nil { options.training.epochs = settings.warmEpochs }
        let data = try TrainingJob.prepare(history: history, options: options, earliestAsOf: earliestAsOf(start))
        let run = TrainingRun(settings: options.training, shape: data.train.shape, validationScore: TrainingJob.rocAUC)
        if let warm { try run.loadWeights(warm) }
        try run.fit(train: data.train, validation: data.validation)
        let encoder = try data.pipeline.encoder(for: history)
        let examples = TrainingJob.modelExamples(encoder.tensors(for: candidateSet(start: start)))
        var model = run.model
        let scores = examples.count == 0 ? [] : predictProbabilities(model: &model, parameters: run.parameters, examples: examples)
        return (scores, data.train.count, run.history.count, run.parameters.stateDictionary())
    }

    /// The rolling window: as-of dates whose labels close by the fold start, the last N weeks of them.
    func earliestAsOf(_ start: Day) -> Day? {
        settings.trainingWeeks.map { start.advanced(by: -7 * $0 - settings.training.examples.horizonDays) }
    }

    func treeScores(start: Day) throws -> (scores: [Float], examples: Int) {
        let options = foldOptions(start: start, architecture: .logisticRegression)
        let data = try TrainingJob.prepare(history: history, options: options, earliestAsOf: earliestAsOf(start))
        let width = data.train.aggregates.shape[1]
        let tree = DecisionTree(features: data.train.aggregates.scalars, labels: data.train.labels.scalars, featureCount: width,
                                settings: settings.tree)
        let encoder = try data.pipeline.encoder(for: history)
        let candidates = encoder.tensors(for: candidateSet(start: start))
        return (candidates.count == 0 ? [] : tree.predict(candidates.aggregates.scalars), data.train.count)
    }

    /// Scores from the visit log alone, in candidate order, squashed into [0, 1) by s / (1 + s)
    /// where they are unbounded (an order-preserving map, so every ranking figure is the
    /// heuristic's own; their Brier scores are not those of calibrated probabilities).
    func heuristicScores(_ contender: Contender, start: Day) -> [Float] {
        let set = candidateSet(start: start)
        return set.examples.map { example in
            let range = history.customers[Int(example.customer)].visits
            let first = range.lowerBound, end = Int(example.historyEnd)
            let t = example.asOf
            guard end > first else { return 0 }
            switch contender {
            case .recency:
                guard let lastOrder = (first..<end).last(where: { history.orders[$0] }) else { return 0 }
                return 1 / Float(1 + t - history.days[lastOrder])
            case .frequency:
                let orders = (first..<end).filter { history.orders[$0] && history.days[$0] >= t - 365 }.count
                // Ties broken towards the most recent visit: a fraction below one order.
                let value = Float(orders) + 1 / Float(2 + t - history.days[end - 1])
                return value / (1 + value)
            case .roundRobin:
                let days = Float(t - history.days[end - 1])
                return days / (1 + days)
            default:
                preconditionFailure("heuristicScores: \(contender) is not a heuristic")
            }
        }
    }

    // MARK: Formatting

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.2f%%", $0 * 100) } ?? "—" }
    static func signedPercent(_ value: Double?) -> String { value.map { String(format: "%+.1f%%", $0 * 100) } ?? "—" }
}

extension Contender {
    /// Logistic regression on aggregate features (a model contender).
    public static let logisticRegression = Contender.model(.logisticRegression)
}
