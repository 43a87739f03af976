import Dataset
import Metrics
import Random

/// A scored row with its outcome: the unit every number in a report is computed on. An audit
/// makes these from a scores file and a dataset; a backtest from each week's scoring.
public struct LabeledScore: Sendable, Hashable {
    public var customerID: String
    public var repID: String
    /// The as-of date t.
    public var asOf: Day
    /// The model's P(order in [t, t + H)).
    public var probability: Double
    /// 1 = first in the rep's list at t.
    public var rankInRep: Int
    /// Whether the customer ordered in [t, t + H).
    public var label: Bool

    public init(customerID: String, repID: String, asOf: Day, probability: Double, rankInRep: Int, label: Bool) {
        self.customerID = customerID
        self.repID = repID
        self.asOf = asOf
        self.probability = probability
        self.rankInRep = rankInRep
        self.label = label
    }
}

/// What each week's list is set beside.
public enum ComparisonBaseline: String, Sendable, Hashable, Codable {
    /// The reps' own success that week: orders per visit in [t, t + 7) (a visit log; the study's comparison).
    case reps
    /// A random list of the same candidates, whose expected precision is their base rate (a
    /// transaction log, where every row is an order and there are no reps to compare with).
    case randomList = "random_list"

    /// The comparison a dataset of `kind` gets: the reps for a visit log, a random list for a
    /// transaction log (every row an order, no reps).
    public init(kind: DatasetManifest.Kind) { self = kind == .transactions ? .randomList : .reps }

    /// The rate's name in progress lines (`reps 6.40%`, `base rate 5.20%`).
    public var rateName: String { self == .reps ? "reps" : "base rate" }

    /// The short name in the study's one-line form (`· reps 6.40% ·`).
    public var shortName: String { self == .reps ? "reps" : "random" }
    /// The column and legend name.
    public var columnName: String { self == .reps ? "reps' rate" : "random list (base rate)" }
    /// A sentence for reports.
    public var definition: String {
        switch self {
        case .reps: return "Reps' rate: the share of all visits in [as-of, as-of + 7 days) whose result was an order."
        case .randomList:
            return
                "Random list: the expected precision of a list drawn at random from the same candidates, i.e. their base rate "
                + "(a transaction log has no reps and every row is an order, so there is no reps' rate to compare with)."
        }
    }
}

/// The knobs of an evaluation; recorded in the report.
public struct EvaluationSettings: Sendable, Hashable, Codable {
    /// H: the label window [t, t + H) in days.
    public var horizonDays: Int
    /// K of the per-rep list: each rep's top K by `rank_in_rep` is "the list".
    public var topPerRep: Int
    /// The k of precision/recall/lift at k over all rows of a date.
    public var topK: [Int]
    /// B, bootstrap resamples for the confidence intervals.
    public var bootstrapResamples: Int
    /// Seed of the bootstrap's generator.
    public var seed: UInt64
    /// Nominal coverage of the intervals.
    public var confidenceLevel: Double
    /// Equal-width bins of the reliability diagram.
    public var reliabilityBins: Int
    /// At most this many points of each ROC/PR curve are kept in the report (evenly spaced).
    public var curvePoints: Int
    /// How the list was formed when it is not simply each rep's top K (a backtest's top N, top
    /// share or threshold list, encoded in `rank_in_rep` so that exactly the listed rows have
    /// `rank_in_rep ≤ topPerRep`); nil for the per-rep list. Shown in reports.
    public var listRule: String?
    /// What the weekly list is compared with: the reps' rate (visit logs) or a random list
    /// (transaction logs). ``Audit`` sets it from the dataset's kind.
    public var comparison: ComparisonBaseline = .reps

    /// The list as reports name it.
    public var listDescription: String { listRule ?? "each rep's top \(topPerRep)" }

    public init(
        horizonDays: Int = 28, topPerRep: Int = 10, topK: [Int] = [10, 50, 100], bootstrapResamples: Int = 1000,
        seed: UInt64 = 1, confidenceLevel: Double = 0.95, reliabilityBins: Int = 10, curvePoints: Int = 200
    ) {
        self.horizonDays = horizonDays
        self.topPerRep = topPerRep
        self.topK = topK
        self.bootstrapResamples = bootstrapResamples
        self.seed = seed
        self.confidenceLevel = confidenceLevel
        self.reliabilityBins = reliabilityBins
        self.curvePoints = curvePoints
    }
}

/// Precision, recall and lift of the top k rows by probability.
public struct TopKMetrics: Sendable, Hashable, Codable {
    public var k: Int
    public var precision: MetricValue
    public var recall: MetricValue
    public var lift: MetricValue
}

/// The metrics of one set of rows (one as-of date, or all of them). Undefined values are JSON null.
public struct MetricSummary: Sendable, Hashable, Codable {
    /// Rows evaluated (complete label windows only).
    public var rows: Int
    /// Rows whose customer ordered.
    public var positives: Int
    /// positives / rows.
    public var baseRate: MetricValue
    public var rocAuc: MetricValue
    /// Trapezoidal area under the PR curve.
    public var prAuc: MetricValue
    public var averagePrecision: MetricValue
    public var logLoss: MetricValue
    public var brier: MetricValue
    /// At each k of the settings.
    public var topK: [TopKMetrics]
    /// Rows in the reps' lists (rank_in_rep ≤ K).
    public var listed: Int
    /// Of those, rows whose customer ordered.
    public var listedOrdered: Int
    /// listedOrdered / listed: the list precision.
    public var listPrecision: MetricValue

    /// The metrics of `rows` (any order; the top-k tie rule keeps the order given).
    public init(_ rows: [LabeledScore], settings: EvaluationSettings) {
        let predictions = BinaryPredictions(scores: rows.map(\.probability), labels: rows.map(\.label))
        self.rows = rows.count
        positives = predictions.positiveCount
        baseRate = predictions.baseRate
        rocAuc = predictions.rocAUC()
        prAuc = predictions.precisionRecallAUC()
        averagePrecision = predictions.averagePrecision()
        logLoss = predictions.logLoss()
        brier = predictions.brierScore()
        topK = settings.topK.map {
            TopKMetrics(
                k: $0, precision: predictions.precision(atTop: $0), recall: predictions.recall(atTop: $0),
                lift: predictions.lift(atTop: $0))
        }
        let list = rows.filter { $0.rankInRep <= settings.topPerRep }
        listed = list.count
        listedOrdered = list.reduce(0) { $0 + ($1.label ? 1 : 0) }
        listPrecision = .ratio(Double(listedOrdered), Double(listed))
    }
}

/// One as-of date of one model: its metrics beside the reps' own week, in the study's form.
public struct WeekResult: Sendable, Hashable, Codable {
    /// t; the reps' week is [t, t + 7).
    public var asOf: Day
    public var metrics: MetricSummary
    /// The reps' visits and orders in [t, t + 7); absent when that week is not wholly in the data.
    public var reps: RepsWeek?
    /// reps.orders / reps.visits (for a transaction log: the candidates' positives / rows).
    public var repsRate: MetricValue
    /// listPrecision / repsRate − 1 (relative lift); undefined when either is undefined or the rate is 0.
    public var lift: MetricValue
    /// The expected precision of a random list of the same size from the same candidates: their
    /// base rate. A list must beat this before beating the reps means anything (the candidates
    /// a rep visited that week order more than the rep's visits convert).
    public var randomRate: MetricValue
    /// listPrecision / randomRate − 1.
    public var liftOverRandom: MetricValue

    public init(asOf: Day, metrics: MetricSummary, reps: RepsWeek?) {
        self.asOf = asOf
        self.metrics = metrics
        self.reps = reps
        repsRate = reps?.rate ?? .undefined
        lift = Self.relativeLift(metrics.listPrecision, over: repsRate)
        randomRate = metrics.baseRate
        liftOverRandom = Self.relativeLift(metrics.listPrecision, over: metrics.baseRate)
    }

    /// a / b − 1, undefined unless both are defined and b > 0.
    public static func relativeLift(_ a: MetricValue, over b: MetricValue) -> MetricValue {
        guard let a = a.value, let b = b.value, b > 0 else { return .undefined }
        return .defined(a / b - 1)
    }
}

/// The per-week comparison summarised over weeks, as the study did: plain means of the weekly
/// values that are defined (a week with nothing to measure does not count as 0).
public struct WeeklyAverages: Sendable, Hashable, Codable {
    /// Weeks in the comparison.
    public var weeks: Int
    /// Mean weekly list precision (over weeks where it is defined).
    public var listPrecision: MetricValue
    /// Mean weekly reps' rate.
    public var repsRate: MetricValue
    /// Mean of the weekly relative lifts (the study's "average lift").
    public var lift: MetricValue
    /// Weeks whose lift is defined (the denominator of `lift`).
    public var weeksWithLift: Int
    /// Mean list precision / mean reps' rate − 1 (less sensitive to one week with a tiny rate).
    public var liftOfAverages: MetricValue
    /// Mean weekly random-list precision (the candidates' base rate) and mean weekly lift over it.
    public var randomRate: MetricValue
    public var liftOverRandom: MetricValue

    public init(_ weeks: [WeekResult]) {
        func mean(_ values: [MetricValue]) -> MetricValue {
            let defined = values.compactMap(\.value)
            return defined.isEmpty ? .undefined : .defined(defined.reduce(0, +) / Double(defined.count))
        }
        self.weeks = weeks.count
        listPrecision = mean(weeks.map(\.metrics.listPrecision))
        repsRate = mean(weeks.map(\.repsRate))
        lift = mean(weeks.map(\.lift))
        weeksWithLift = weeks.filter { $0.lift.isDefined }.count
        liftOfAverages = WeekResult.relativeLift(listPrecision, over: repsRate)
        randomRate = mean(weeks.map(\.randomRate))
        liftOverRandom = mean(weeks.map(\.liftOverRandom))
    }
}

/// A curve as parallel x and y arrays (ROC: FPR, TPR; PR: recall, precision), thinned to at most
/// `EvaluationSettings.curvePoints` points for the report and the charts.
public struct CurvePoints: Sendable, Hashable, Codable {
    public var x: [Double]
    public var y: [Double]

    public init(x: [Double], y: [Double]) {
        precondition(x.count == y.count, "CurvePoints: \(x.count) x values, \(y.count) y values")
        self.x = x
        self.y = y
    }

    /// Keeps `limit` evenly spaced points, always the first and last.
    public init(x: [Double], y: [Double], limit: Int) {
        precondition(x.count == y.count, "CurvePoints: \(x.count) x values, \(y.count) y values")
        guard x.count > limit, limit >= 2 else {
            self.init(x: x, y: y)
            return
        }
        let last = x.count - 1
        let picks = (0..<limit).map { ($0 * last + (limit - 1) / 2) / (limit - 1) }
        self.init(x: picks.map { x[$0] }, y: picks.map { y[$0] })
    }
}

/// Everything measured on all of one model's rows together.
public struct OverallResult: Sendable, Hashable, Codable {
    public var metrics: MetricSummary
    /// Percentile-bootstrap interval of ROC-AUC (rows resampled).
    public var rocAucInterval: BootstrapInterval
    /// Percentile-bootstrap interval of the list precision (listed rows resampled).
    public var listPrecisionInterval: BootstrapInterval
    /// Percentile-bootstrap interval of the pooled lift over a random list of the same
    /// candidates (all rows resampled; report version 5).
    public var liftOverRandomInterval: BootstrapInterval
    /// Absent when there are no rows.
    public var reliability: ReliabilityDiagram?
    public var expectedCalibrationError: MetricValue
    /// ROC curve (FPR, TPR); absent when a class is missing.
    public var rocCurve: CurvePoints?
    /// PR curve (recall, precision); absent without positives.
    public var precisionRecallCurve: CurvePoints?
}

/// One model's evaluation: per as-of date, overall, and the weekly averages.
public struct ModelResult: Sendable, Hashable, Codable {
    /// The model id (or a label such as the ground-truth ceiling).
    public var model: String
    /// Per as-of date, ascending.
    public var weeks: [WeekResult]
    public var overall: OverallResult
    public var averages: WeeklyAverages

    /// Evaluates one model's labelled rows.
    ///
    /// - Parameters:
    ///   - model: the name shown in the report.
    ///   - rows: every labelled row of the model (complete windows only), any as-of dates.
    ///   - repsWeek: the reps' week starting at an as-of date (``Outcomes/repsWeek(starting:)``).
    ///   - settings: list length, k values, bootstrap.
    ///
    /// The bootstrap draws from `SeededRandom(seed: settings.seed, stream: 0)` for ROC-AUC and
    /// stream 1 for the list precision, fresh for each model, so a model's intervals do not
    /// depend on which other models are in the report.
    public init(
        model: String, rows: [LabeledScore], repsWeek: (Day) -> RepsWeek?, settings: EvaluationSettings
    ) {
        // A fixed row order (date, then rank in rep, rep, customer) makes every top-k tie rule
        // and every bootstrap resample independent of the input order.
        let sorted = rows.sorted {
            ($0.asOf, $0.rankInRep, $0.repID, $0.customerID) < ($1.asOf, $1.rankInRep, $1.repID, $1.customerID)
        }
        self.model = model
        var weeks: [WeekResult] = []
        var start = sorted.startIndex
        while start < sorted.endIndex {
            var stop = start
            while stop < sorted.endIndex && sorted[stop].asOf == sorted[start].asOf { stop += 1 }
            let day = sorted[start].asOf
            weeks.append(
                WeekResult(
                    asOf: day, metrics: MetricSummary(Array(sorted[start..<stop]), settings: settings),
                    reps: repsWeek(day)))
            start = stop
        }
        self.weeks = weeks
        averages = WeeklyAverages(weeks)

        let labels = sorted.map(\.label), listed = sorted.map { $0.rankInRep <= settings.topPerRep }
        let predictions = BinaryPredictions(scores: sorted.map(\.probability), labels: labels)
        let listedLabels = zip(labels, listed).filter(\.1).map(\.0)
        var aucRandom = SeededRandom(seed: settings.seed, stream: 0)
        var listRandom = SeededRandom(seed: settings.seed, stream: 1)
        var liftRandom = SeededRandom(seed: settings.seed, stream: 2)
        let reliability = predictions.reliabilityDiagram(binCount: settings.reliabilityBins)
        let roc = predictions.rocCurve()
        let pr = predictions.precisionRecallCurve()
        overall = OverallResult(
            metrics: MetricSummary(sorted, settings: settings),
            rocAucInterval: ResampledStatistics.rocAUCInterval(
                predictions, resamples: settings.bootstrapResamples, confidenceLevel: settings.confidenceLevel,
                random: &aucRandom),
            listPrecisionInterval: ResampledStatistics.proportionInterval(
                labels: listedLabels, resamples: settings.bootstrapResamples, confidenceLevel: settings.confidenceLevel,
                random: &listRandom),
            liftOverRandomInterval: ResampledStatistics.liftOverRandomInterval(
                labels: labels, listed: listed,
                resamples: settings.bootstrapResamples, confidenceLevel: settings.confidenceLevel, random: &liftRandom),
            reliability: reliability,
            expectedCalibrationError: reliability?.expectedCalibrationError ?? .undefined,
            rocCurve: roc.map {
                CurvePoints(x: $0.falsePositiveRates, y: $0.truePositiveRates, limit: settings.curvePoints)
            },
            precisionRecallCurve: pr.map { CurvePoints(x: $0.recall, y: $0.precision, limit: settings.curvePoints) })
    }
}
