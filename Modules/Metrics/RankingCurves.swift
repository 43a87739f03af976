/// Cumulative counts at each distinct score, highest score first: row i of the result counts
/// the rows whose score is ≥ `thresholds[i]`. This is scikit-learn's `_binary_clf_curve`
/// (tied scores form one threshold, so the curves never split a tie).
struct ThresholdCounts {
    var thresholds: [Double] = []  // [K] distinct scores, descending
    var truePositives: [Int] = []  // [K] positives with score ≥ threshold
    var falsePositives: [Int] = []  // [K] negatives with score ≥ threshold

    init(_ predictions: BinaryPredictions) {
        var positives = 0
        var negatives = 0
        let order = predictions.rankedIndices()
        for (position, row) in order.enumerated() {
            if predictions.labels[row] { positives += 1 } else { negatives += 1 }
            let score = predictions.scores[row]
            let lastOfTie = position + 1 == order.count || predictions.scores[order[position + 1]] != score
            if lastOfTie {
                thresholds.append(score)
                truePositives.append(positives)
                falsePositives.append(negatives)
            }
        }
    }
}

/// The ROC curve in scikit-learn's layout: `sklearn.metrics.roc_curve(y, s, drop_intermediate=False)`.
///
/// Point 0 is (0, 0) at threshold +∞; point i ≥ 1 is at the i-th distinct score in descending
/// order, with FPR = FP(≥ t) / (N − P) and TPR = TP(≥ t) / P. K distinct scores give K + 1
/// points; the last is (1, 1). In JSON the +∞ threshold is written as `null`.
public struct ROCCurve: Sendable, Hashable, Codable {
    /// +∞, then the distinct scores in descending order. // [K + 1]
    public let thresholds: [Double]
    /// False-positive rate at each threshold. // [K + 1]
    public let falsePositiveRates: [Double]
    /// True-positive rate (recall) at each threshold. // [K + 1]
    public let truePositiveRates: [Double]

    /// A curve from its three arrays (equal lengths).
    public init(thresholds: [Double], falsePositiveRates: [Double], truePositiveRates: [Double]) {
        precondition(
            thresholds.count == falsePositiveRates.count && thresholds.count == truePositiveRates.count,
            "ROCCurve: \(thresholds.count) thresholds, \(falsePositiveRates.count) FPRs, \(truePositiveRates.count) TPRs"
        )
        self.thresholds = thresholds
        self.falsePositiveRates = falsePositiveRates
        self.truePositiveRates = truePositiveRates
    }

    private enum CodingKeys: String, CodingKey {
        case thresholds, falsePositiveRates, truePositiveRates
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let thresholds = try container.decode([Double?].self, forKey: .thresholds).map { $0 ?? .infinity }
        self.init(
            thresholds: thresholds,
            falsePositiveRates: try container.decode([Double].self, forKey: .falsePositiveRates),
            truePositiveRates: try container.decode([Double].self, forKey: .truePositiveRates))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // JSON has no infinity: the leading +∞ threshold is written as null.
        try container.encode(thresholds.map { $0.isFinite ? $0 : nil } as [Double?], forKey: .thresholds)
        try container.encode(falsePositiveRates, forKey: .falsePositiveRates)
        try container.encode(truePositiveRates, forKey: .truePositiveRates)
    }
}

/// The precision–recall curve in scikit-learn's layout:
/// `sklearn.metrics.precision_recall_curve(y, s, drop_intermediate=False)`.
///
/// Entry i < K is at the i-th distinct score in *ascending* order, with precision =
/// TP(≥ t) / (TP(≥ t) + FP(≥ t)) and recall = TP(≥ t) / P; entry K is the end point
/// (recall 0, precision 1), which has no threshold. So recall decreases along the arrays.
public struct PrecisionRecallCurve: Sendable, Hashable, Codable {
    /// Precision at each threshold, then 1. // [K + 1]
    public let precision: [Double]
    /// Recall at each threshold, then 0. // [K + 1]
    public let recall: [Double]
    /// The distinct scores in ascending order. // [K]
    public let thresholds: [Double]

    /// A curve from its arrays (precision and recall one longer than thresholds).
    public init(precision: [Double], recall: [Double], thresholds: [Double]) {
        precondition(
            precision.count == recall.count && recall.count == thresholds.count + 1,
            "PrecisionRecallCurve: \(precision.count) precisions, \(recall.count) recalls, \(thresholds.count) thresholds"
        )
        self.precision = precision
        self.recall = recall
        self.thresholds = thresholds
    }
}

extension BinaryPredictions {
    /// ROC-AUC, the probability that a random positive scores above a random negative, ties
    /// counting one half (the Mann–Whitney U statistic over P · (N − P)):
    ///
    ///     AUC = Σ_{pos p, neg n} ([s_p > s_n] + ½ [s_p = s_n]) / (P · (N − P))
    ///
    /// This equals the trapezoidal area under the ROC curve with tied scores as one point, i.e.
    /// `sklearn.metrics.roc_auc_score`. It is computed from integer counts per distinct score
    /// and rounded once, so it is exact to one rounding (scikit-learn's trapezoid sum carries a
    /// few ulps more). Undefined when there are no positives or no negatives (sklearn raises).
    public func rocAUC() -> MetricValue {
        let counts = ThresholdCounts(self)
        let positives = counts.truePositives.last ?? 0
        let negatives = counts.falsePositives.last ?? 0
        guard positives > 0 && negatives > 0 else { return .undefined }
        // Twice the U statistic: each (positive, negative) pair contributes 2 when the positive
        // ranks strictly higher, 1 when tied. Integers, so the sum is exact.
        var twiceU = 0
        var previousTP = 0
        var previousFP = 0
        for (tp, fp) in zip(counts.truePositives, counts.falsePositives) {
            let positivesHere = tp - previousTP
            let negativesHere = fp - previousFP
            let negativesBelow = negatives - fp
            twiceU += positivesHere * (2 * negativesBelow + negativesHere)
            previousTP = tp
            previousFP = fp
        }
        return .defined(Double(twiceU) / (2 * Double(positives) * Double(negatives)))
    }

    /// The ROC curve (see ``ROCCurve``); `nil` (undefined) when there are no positives or no
    /// negatives, where sklearn returns NaN rates with an `UndefinedMetricWarning`.
    public func rocCurve() -> ROCCurve? {
        let counts = ThresholdCounts(self)
        let positives = Double(counts.truePositives.last ?? 0)
        let negatives = Double(counts.falsePositives.last ?? 0)
        guard positives > 0 && negatives > 0 else { return nil }
        return ROCCurve(
            thresholds: [.infinity] + counts.thresholds,
            falsePositiveRates: [0] + counts.falsePositives.map { Double($0) / negatives },
            truePositiveRates: [0] + counts.truePositives.map { Double($0) / positives })
    }

    /// The precision–recall curve (see ``PrecisionRecallCurve``); `nil` (undefined) when there
    /// are no positives, where recall has no denominator (sklearn warns and sets it to 1).
    /// Defined without negatives (precision is then 1 everywhere).
    public func precisionRecallCurve() -> PrecisionRecallCurve? {
        let counts = ThresholdCounts(self)
        let positives = Double(counts.truePositives.last ?? 0)
        guard positives > 0 else { return nil }
        var precision = [Double]()  // [K + 1]
        var recall = [Double]()  // [K + 1]
        for (tp, fp) in zip(counts.truePositives, counts.falsePositives).reversed() {
            precision.append(Double(tp) / Double(tp + fp))
            recall.append(Double(tp) / positives)
        }
        precision.append(1)
        recall.append(0)
        return PrecisionRecallCurve(precision: precision, recall: recall, thresholds: counts.thresholds.reversed())
    }

    /// Average precision, the step-wise (not interpolated, not trapezoidal) area under the PR
    /// curve: with thresholds t_1 > t_2 > … (the distinct scores) and R_0 = 0,
    ///
    ///     AP = Σ_k (R_k − R_{k−1}) · P_k
    ///
    /// Matches `sklearn.metrics.average_precision_score`. Undefined when there are no positives.
    public func averagePrecision() -> MetricValue {
        guard let curve = precisionRecallCurve() else { return .undefined }
        // sklearn: max(0, −Σ diff(recall) · precision[:-1]) over the ascending-threshold arrays.
        var sum = 0.0
        for i in 0..<curve.thresholds.count {
            sum += (curve.recall[i] - curve.recall[i + 1]) * curve.precision[i]
        }
        return .defined(max(0, sum))
    }

    /// PR-AUC, the trapezoidal area under the PR curve including its end point (R 0, P 1):
    ///
    ///     PR-AUC = Σ_k (R_k − R_{k−1}) · (P_k + P_{k−1}) / 2,   (R_0, P_0) = (0, 1)
    ///
    /// Matches `sklearn.metrics.auc(recall, precision)` over `precision_recall_curve`. The
    /// trapezoid interpolates linearly between operating points, which overstates what a
    /// classifier can achieve; ``averagePrecision()`` is the estimator to prefer, and this one is
    /// reported because the related work does. Undefined when there are no positives.
    public func precisionRecallAUC() -> MetricValue {
        guard let curve = precisionRecallCurve() else { return .undefined }
        var area = 0.0
        for i in 0..<curve.thresholds.count {
            area += (curve.recall[i] - curve.recall[i + 1]) * (curve.precision[i] + curve.precision[i + 1]) / 2
        }
        return .defined(area)
    }
}
