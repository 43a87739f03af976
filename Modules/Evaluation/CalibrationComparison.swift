import Metrics

/// One model's probabilities before and after the calibration its training fitted on the
/// validation split (Platt or isotonic, stored in the model file), judged on the evaluated rows:
/// the report's "reliability and ECE before and after".
public struct CalibrationComparison: Sendable, Hashable, Codable {
    public struct Side: Sendable, Hashable, Codable {
        public var expectedCalibrationError: MetricValue
        public var brier: MetricValue
        public var logLoss: MetricValue
        public var meanPredicted: MetricValue
        public var reliability: ReliabilityDiagram?

        public init(_ predictions: BinaryPredictions, bins: Int) {
            let diagram = predictions.reliabilityDiagram(binCount: bins)
            reliability = diagram
            expectedCalibrationError = diagram?.expectedCalibrationError ?? .undefined
            brier = predictions.brierScore()
            logLoss = predictions.logLoss()
            meanPredicted =
                predictions.scores.isEmpty
                ? .undefined : .defined(predictions.scores.reduce(0, +) / Double(predictions.scores.count))
        }
    }

    public var model: String
    /// `platt`, `isotonic` or `none` (several when folds differ, joined by "/").
    public var method: String
    /// Rows judged, and their observed order rate.
    public var rows: Int
    public var observedRate: MetricValue
    public var before: Side
    public var after: Side

    /// Compares raw and calibrated scores of the same rows.
    public init(model: String, method: String, raw: [Double], calibrated: [Double], labels: [Bool], bins: Int = 10) {
        precondition(raw.count == calibrated.count && raw.count == labels.count, "CalibrationComparison: rows differ")
        self.model = model
        self.method = method
        rows = labels.count
        observedRate = labels.isEmpty ? .undefined : .defined(Double(labels.filter { $0 }.count) / Double(labels.count))
        before = Side(BinaryPredictions(scores: raw, labels: labels), bins: bins)
        after = Side(BinaryPredictions(scores: calibrated, labels: labels), bins: bins)
    }
}
