import Dataset
import Evaluation
import Features
import Foundation
import Metrics
import Models
import Tensors
import Training
import Workflow

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
        case .topShare(let share):
            return min(sortedScores.count, max(1, Int((share * Double(sortedScores.count)).rounded())))
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
        /// Contender names (``Contenders``), in report order.
        public var contenders = Settings.defaultContenders
        /// The contenders a backtest runs unless told otherwise: the default model, the study's,
        /// the strong baselines and the heuristics.
        public static let defaultContenders = [
            Contenders.defaultModel, "cnn_lstm", "xgboost", "bgnbd", "logreg", "decision_tree", "association_rules",
            "recency", "round_robin"
        ]
        /// Trainer options for the fitted contenders (horizon H = the outcome window T2); the
        /// rolling window is `training.trainingWeeks`.
        public var training = TrainingJob.Options()
        /// Start each fold's neural model from the previous fold's weights (after the first fold, `warmEpochs` epochs).
        public var warmStart = true
        public var warmEpochs = 1
        /// Explicit fold dates (Mondays) instead of `folds` weekly steps from `firstFold`.
        public var foldDates: [Day]?
        public init(firstFold: Day) { self.firstFold = firstFold }

        /// The first contender name the registry does not know, or nil.
        public var unknownContender: String? { contenders.first { Contenders.named($0) == nil } }
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
        /// (heuristics are squashed monotonically, see `HeuristicContender`). Calibrated.
        public var scores: [Float]
        /// The scores before calibration (equal to `scores` for uncalibrated contenders).
        public var rawScores: [Float]
        /// The calibration fitted on this fold's validation split.
        public var calibration: String
        /// Each candidate's rank in its rep's list (1 = first; ties by customer id).
        public var ranksInRep: [Int]
        /// Whether each candidate is on the list (per the backtest's `ListRule`).
        public var onList: [Bool]
        /// Training examples and epochs (models and trees), seconds spent.
        public var trainingExamples: Int?
        public var epochs: Int?
        public var seconds: Double
        /// What the fitted model says about itself (``FittedModel/findings``).
        public var findings: ModelFindings? = nil
        /// For a model that predicts timing (``FittedModel/timing(_:range:)``): its bin edges, and
        /// per candidate P(order within each edge) and the expected days to the next order.
        public var timingEdges: [Int]? = nil
        public var timingCumulative: [[Double]]? = nil
        public var expectedDays: [Double]? = nil
        /// For a model with a count head (``FittedModel/expectedOrders(_:range:)``): per
        /// candidate, the expected order days in [t, t + H).
        public var expectedOrders: [Double]? = nil
        /// The notes inputs the fold's model kept (`notes:<n-gram>` names; nil: none, or a model
        /// without a feature pipeline).
        public var notesColumns: [String]? = nil
        /// Per candidate, why it ranks where it does in plain words (``CallReasons``; nil before
        /// they were computed).
        public var reasons: [[String]]? = nil
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
        /// Visits dated in [t, t + 7) and the share of them that produced an order (the reps'
        /// rate); for a transaction log, the candidates' base rate instead (what a random list
        /// of them would reach).
        public var repVisits: Int
        public var repOrders: Int
        public var repsRate: Double?
        /// Per candidate, days from t to its next order, or to the end of the data when none
        /// came (`orderObserved` false): what timing predictions are judged on.
        public var daysToOrder: [Double] = []
        public var orderObserved: [Bool] = []
        /// Days from t to the end of the data (the same for every candidate of the fold).
        public var followUpDays: Double = 0
        /// Per candidate, the distinct days with an order in [t, t + H) (complete: candidates'
        /// label windows close inside the data): what count predictions are judged on.
        public var orderDays: [Double] = []
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
        if let dates = settings.foldDates { return dates }
        let first =
            settings.firstFold.weekday == 1 ? settings.firstFold : settings.firstFold.mondayOnOrBefore.advanced(by: 7)
        return (0..<settings.folds).map { first.advanced(by: $0 * settings.stepDays) }
    }

    /// Runs every fold; `progress` gets one line per contender and fold (with the time left),
    /// `status` where the run is: at the start of every fit, every batch of a neural fit and every
    /// epoch's end (for a redrawn status line; it must be cheap).
    public func run(progress: (String) -> Void = { _ in }, status: @escaping (BacktestProgress) -> Void = { _ in })
        throws -> [Fold]
    {
        if let unknown = settings.unknownContender { throw TrainingJob.JobError("unknown contender '\(unknown)'") }
        var previous: [String: any FittedModel] = [:]
        var folds: [Fold] = []
        let clock = ContinuousClock(), runBegan = clock.now
        var estimate = BacktestTimeEstimate()
        let starts = foldStarts
        for (foldIndex, start) in starts.enumerated() {
            var fold = try prepareFold(start: start)
            let candidates = candidateSet(start: start)
            var fittedThisFold: [String: TrainingJob.Fitted] = [:]
            var entries: [String: Entry] = [:]
            // Ensembles last, so that they take their members from this fold's fits.
            let order =
                settings.contenders.filter { !(Contenders.named($0) is EnsembleContender) }
                + settings.contenders.filter { Contenders.named($0) is EnsembleContender }
            for (contenderIndex, name) in order.enumerated() {
                let began = clock.now
                let contender = Contenders.named(name)!
                let currentEstimate = estimate
                func report(epoch: Int? = nil, batch: Int? = nil, batches: Int? = nil) {
                    let now = clock.now
                    status(
                        BacktestProgress(
                            fold: foldIndex, folds: starts.count, foldStart: start, contender: name,
                            contenderIndex: contenderIndex,
                            contenders: order.count, epoch: epoch, batch: batch, batches: batches,
                            elapsedSeconds: (now - runBegan) / .seconds(1),
                            remainingSeconds: currentEstimate.remaining(
                                order: order, folds: starts.count, fold: foldIndex, contenderIndex: contenderIndex,
                                runningSeconds: (now - began) / .seconds(1))))
                }
                report()
                var options = settings.training
                options.model = name
                options.trainUntil = start
                options.warmEpochs = settings.warmEpochs
                // Neural models (alone or in an ensemble) start from the previous fold's weights; the others ignore it.
                let warm = settings.warmStart && contender.kind != .heuristic ? previous[name] : nil
                let job = FitJob(
                    history: history, options: options, warmStart: warm,
                    progress: { report(epoch: $0.epoch, batch: $0.batch, batches: $0.batches) },
                    epochFinished: { _ in report() })
                job.alreadyFitted = fittedThisFold
                guard let fitted = try TrainingJob.fit(job) else {
                    throw TrainingJob.JobError("the fit of \(name) was interrupted")
                }
                previous[name] = fitted.model
                fittedThisFold[name] = fitted
                let input = ScoringInput(
                    history: history, set: candidates, encoder: try fitted.pipeline?.encoder(for: history))
                let raw = candidates.count == 0 ? [] : try fitted.model.scores(input, range: 0..<candidates.count)
                let scores = fitted.calibration.apply(to: raw)
                var entry = evaluate(name, scores: scores, fold: fold)
                entry.rawScores = raw
                entry.calibration = fitted.calibration.method.rawValue
                entry.trainingExamples = contender.kind == .heuristic ? nil : fitted.result.trainingRows
                entry.epochs = fitted.result.iterations
                entry.seconds = (clock.now - began) / .seconds(1)
                entry.findings = fitted.model.findings
                if let timing = try fitted.model.timing(input, range: 0..<candidates.count), let first = timing.first {
                    entry.timingEdges = first.bins.edges
                    entry.timingCumulative = timing.map(\.cumulative)
                    entry.expectedDays = timing.map(\.expectedDays)
                }
                entry.expectedOrders = try fitted.model.expectedOrders(input, range: 0..<candidates.count)
                entry.notesColumns = fitted.pipeline?.notes?.names
                entry.reasons = CallReasons.explain(history: history, set: candidates, scores: scores).reasons
                entries[name] = entry
                estimate.finished(name, seconds: entry.seconds)
                let left =
                    contenderIndex + 1 < order.count || foldIndex + 1 < starts.count
                    ? estimate.remaining(
                        order: order, folds: starts.count,
                        fold: contenderIndex + 1 < order.count ? foldIndex : foldIndex + 1,
                        contenderIndex: contenderIndex + 1 < order.count ? contenderIndex + 1 : 0, runningSeconds: 0)
                    : 0
                progress(
                    "backtest: week of \(start.iso): \(name) list precision \(Self.percent(entry.listPrecision)), "
                        + "\(comparison.rateName) \(Self.percent(fold.repsRate)), ROC-AUC \(entry.rocAUC.map { String(format: "%.4f", $0) } ?? "—") "
                        + "(\(String(format: "%.1f", entry.seconds)) s; fold \(foldIndex + 1)/\(starts.count), "
                        + "contender \(contenderIndex + 1)/\(order.count)\(left.map { ", about \(BacktestProgress.duration($0)) left" } ?? ""))"
                )
            }
            fold.entries = settings.contenders.map { entries[$0]! }
            folds.append(fold)
        }
        return folds
    }

    /// What the list is set beside: the reps' rate of a visit log, the base rate of the
    /// candidates for a transaction log (where every row is an order).
    var comparison: ComparisonBaseline { ComparisonBaseline(kind: history.dataset.manifest.kind) }

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
        let positives = complete.filter { $0.label == 1 }.count
        // A transaction log has no reps and every row is an order: the list is set beside the
        // expected precision of a random list of the same candidates, their base rate.
        let comparisonRate: Double? =
            comparison == .randomList
            ? (complete.isEmpty ? nil : Double(positives) / Double(complete.count))
            : (repVisits == 0 ? nil : Double(repOrders) / Double(repVisits))
        let dataEnd = (history.days.max() ?? start.ordinal) + 1
        let times = complete.map { history.timeToOrder(of: $0, censoredAt: dataEnd) }
        let horizon = Int32(settings.training.examples.horizonDays)
        return Fold(
            start: start, candidates: complete.count, excludedIncomplete: all.examples.count - complete.count,
            positives: positives, customerIDs: complete.map { history.customerID(of: $0) },
            repIDs: complete.map { history.repID(of: $0, in: set) }, labels: complete.map(\.label),
            repVisits: repVisits,
            repOrders: repOrders, repsRate: comparisonRate, daysToOrder: times.map { Double($0.days) },
            orderObserved: times.map(\.observed), followUpDays: Double(dataEnd - start.ordinal),
            orderDays: complete.map { Double(history.orderDays(of: $0, before: $0.asOf + horizon)) }, entries: [])
    }

    func evaluate(_ contender: String, scores: [Float], fold: Fold) -> Entry {
        precondition(
            scores.count == fold.labels.count, "Backtest: \(scores.count) scores for \(fold.labels.count) candidates")
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
            contender: contender, listed: length, listedOrders: listedOrders, listPrecision: precision,
            liftOverReps: lift,
            rocAUC: predictions.rocAUC().value, averagePrecision: predictions.averagePrecision().value,
            brier: isProbability ? predictions.brierScore().value : nil, scores: scores, rawScores: scores,
            calibration: "none",
            ranksInRep: ranksInRep, onList: onList, trainingExamples: nil, epochs: nil, seconds: 0)
    }

    // MARK: Formatting

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.2f%%", $0 * 100) } ?? "—" }
    static func signedPercent(_ value: Double?) -> String { value.map { String(format: "%+.1f%%", $0 * 100) } ?? "—" }
}
