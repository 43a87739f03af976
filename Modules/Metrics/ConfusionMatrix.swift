/// Counts of a binary decision at one threshold: a row is predicted positive when its
/// score ≥ threshold (scikit-learn's convention in `roc_curve`).
///
/// Matches `sklearn.metrics.confusion_matrix(y_true, y_score >= threshold, labels=[0, 1])`,
/// whose `ravel()` is (tn, fp, fn, tp).
public struct ConfusionMatrix: Sendable, Hashable, Codable {
    /// The threshold the decision was taken at.
    public let threshold: Double
    /// Positives predicted positive.
    public let truePositives: Int
    /// Negatives predicted positive.
    public let falsePositives: Int
    /// Negatives predicted negative.
    public let trueNegatives: Int
    /// Positives predicted negative.
    public let falseNegatives: Int

    /// A matrix from its four counts.
    public init(threshold: Double, truePositives: Int, falsePositives: Int, trueNegatives: Int, falseNegatives: Int) {
        self.threshold = threshold
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.trueNegatives = trueNegatives
        self.falseNegatives = falseNegatives
    }

    /// The number of rows counted.
    public var total: Int { truePositives + falsePositives + trueNegatives + falseNegatives }

    /// (TP + TN) / N; undefined when N = 0. Matches `sklearn.metrics.accuracy_score`.
    public var accuracy: MetricValue {
        MetricValue.ratio(Double(truePositives + trueNegatives), Double(total))
    }

    /// TP / (TP + FP); undefined when nothing is predicted positive.
    /// Matches `sklearn.metrics.precision_score(..., zero_division=np.nan)` (NaN ↔ undefined).
    public var precision: MetricValue {
        MetricValue.ratio(Double(truePositives), Double(truePositives + falsePositives))
    }

    /// TP / (TP + FN); undefined when there are no positives.
    /// Matches `sklearn.metrics.recall_score(..., zero_division=np.nan)`.
    public var recall: MetricValue {
        MetricValue.ratio(Double(truePositives), Double(truePositives + falseNegatives))
    }

    /// F1 = 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall written so that
    /// it stays defined (and 0) when one of them is undefined but the other side has rows;
    /// undefined only when TP = FP = FN = 0 (no positives and nothing predicted positive).
    /// Matches `sklearn.metrics.f1_score(..., zero_division=np.nan)`.
    public var f1: MetricValue {
        MetricValue.ratio(Double(2 * truePositives), Double(2 * truePositives + falsePositives + falseNegatives))
    }
}

extension BinaryPredictions {
    /// The confusion matrix when rows with score ≥ `threshold` are predicted positive.
    public func confusionMatrix(threshold: Double) -> ConfusionMatrix {
        var truePositives = 0
        var falsePositives = 0
        var trueNegatives = 0
        var falseNegatives = 0
        for (score, label) in zip(scores, labels) {
            switch (score >= threshold, label) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, false): trueNegatives += 1
            case (false, true): falseNegatives += 1
            }
        }
        return ConfusionMatrix(
            threshold: threshold, truePositives: truePositives, falsePositives: falsePositives,
            trueNegatives: trueNegatives, falseNegatives: falseNegatives)
    }
}
