import Metrics

/// How well a model says *how many* orders come in [t, t + H) (issue 17, item 2): its
/// expected number of order days against the observed number, per row. A backtest fills it for
/// every contender with a count head (`xgboost_timing`; `bgnbd`'s conditional expected
/// purchases are the reference). Docs/Evaluation.md, "Order counts".
public struct CountEvaluation: Sendable, Hashable, Codable {
    /// One group of rows with similar predictions (equal-count groups by predicted count): the
    /// mean predicted and the mean observed count, which a calibrated model keeps equal.
    public struct CalibrationBin: Sendable, Hashable, Codable {
        public var rows: Int
        public var meanPredicted: Double
        public var meanObserved: Double
    }

    public var model: String
    public var rows: Int
    /// Rows with at least two order days in the window: the e-commerce study's repeat buyers.
    public var repeatRows: Int
    public var meanPredicted: MetricValue
    public var meanObserved: MetricValue
    public var meanAbsoluteError: MetricValue
    public var rootMeanSquaredError: MetricValue
    /// The mean Poisson deviance, the proper score of a predicted mean count (lower is better).
    public var meanPoissonDeviance: MetricValue
    /// ROC-AUC of the expected count for "two or more order days": whether the model finds the
    /// repeat buyers, whatever its scale.
    public var repeatRocAuc: MetricValue
    public var calibration: [CalibrationBin]

    /// - Parameters:
    ///   - predicted / observed: per row, the expected and the observed order days in [t, t + H).
    ///   - bins: how many equal-count calibration groups (fewer when there are fewer rows).
    public init(model: String, predicted: [Double], observed: [Double], bins: Int = 10) {
        precondition(
            predicted.count == observed.count,
            "CountEvaluation: \(predicted.count) predictions for \(observed.count) rows")
        self.model = model
        rows = predicted.count
        repeatRows = observed.filter { $0 >= 2 }.count
        meanPredicted = .ratio(predicted.reduce(0, +), Double(rows))
        meanObserved = .ratio(observed.reduce(0, +), Double(rows))
        meanAbsoluteError = CountMetrics.meanAbsoluteError(predicted: predicted, observed: observed)
        rootMeanSquaredError = CountMetrics.rootMeanSquaredError(predicted: predicted, observed: observed)
        meanPoissonDeviance = CountMetrics.meanPoissonDeviance(predicted: predicted, observed: observed)
        repeatRocAuc = BinaryPredictions(scores: predicted, labels: observed.map { $0 >= 2 }).rocAUC()
        // Rows in ascending predicted order (ties by row, so the groups are reproducible), cut
        // into `groups` runs whose sizes differ by at most one.
        let order = predicted.indices.sorted {
            predicted[$0] != predicted[$1] ? predicted[$0] < predicted[$1] : $0 < $1
        }
        let n = predicted.count, groups = min(max(bins, 1), n)
        calibration = (0..<groups).map { g in
            let slice = order[(g * n / groups)..<((g + 1) * n / groups)]
            return CalibrationBin(
                rows: slice.count, meanPredicted: slice.reduce(0) { $0 + predicted[$1] } / Double(slice.count),
                meanObserved: slice.reduce(0) { $0 + observed[$1] } / Double(slice.count))
        }
    }
}
