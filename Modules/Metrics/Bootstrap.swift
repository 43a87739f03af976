import Random

/// A bootstrap confidence interval for a metric (or for a difference of two models' metrics).
///
/// `lower` and `upper` are percentiles of the metric over the resamples on which it was defined;
/// `undefinedResamples` says how many resamples gave no value (e.g. a resample of a rare class
/// that drew no positive has no ROC-AUC). Those are left out rather than counted as 0; when more
/// than a few percent are undefined the interval describes "resamples that contain both classes",
/// and a report should say so. When every resample is undefined, so are both bounds.
public struct BootstrapInterval: Sendable, Hashable, Codable {
    /// The metric on the original rows (not the mean of the resamples).
    public let estimate: MetricValue
    /// The (1 − confidenceLevel)/2 percentile of the resampled values.
    public let lower: MetricValue
    /// The (1 + confidenceLevel)/2 percentile of the resampled values.
    public let upper: MetricValue
    /// The nominal coverage, e.g. 0.95.
    public let confidenceLevel: Double
    /// The number of resamples drawn, B.
    public let resamples: Int
    /// How many of the B resamples gave an undefined metric (left out of the percentiles).
    public let undefinedResamples: Int
}

/// Seeded nonparametric bootstrap (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993,
/// ch. 13: the percentile interval).
///
/// Each of the B resamples draws N row indices uniformly with replacement, in order, each by one
/// `SeededRandom.int(below: N)` call, so the same generator state and inputs give the same
/// interval on every machine. The metric is any closure from rows to a ``MetricValue``, e.g.
/// `{ $0.rocAUC() }` or `{ $0.precision(atTop: 50) }`.
///
/// **Percentiles** use linear interpolation between order statistics (numpy's default
/// `np.percentile(method="linear")`): for sorted defined values v_0 ≤ … ≤ v_{m−1} and level q,
/// h = q · (m − 1) and the percentile is v_⌊h⌋ + (h − ⌊h⌋) · (v_⌊h⌋+1 − v_⌊h⌋).
public enum Bootstrap {
    /// The percentile-bootstrap interval of `metric` on `predictions`.
    ///
    /// - Parameters:
    ///   - predictions: the rows (N of them).
    ///   - resamples: B, at least 1 (1000 or more for a 95% interval).
    ///   - confidenceLevel: in (0, 1).
    ///   - random: the generator to draw row indices from (advanced by B · N draws when N > 0).
    ///   - metric: the statistic.
    public static func interval(
        _ predictions: BinaryPredictions, resamples: Int = 1000, confidenceLevel: Double = 0.95,
        random: inout SeededRandom, metric: (BinaryPredictions) -> MetricValue
    ) -> BootstrapInterval {
        precondition(resamples >= 1, "Bootstrap.interval: resamples must be at least 1, got \(resamples)")
        precondition(
            confidenceLevel > 0 && confidenceLevel < 1,
            "Bootstrap.interval: confidenceLevel must be in (0, 1), got \(confidenceLevel)")
        var values = [Double]()  // [≤ B]
        values.reserveCapacity(resamples)
        if predictions.count > 0 {
            var indices = [Int](repeating: 0, count: predictions.count)  // [N]
            for _ in 0..<resamples {
                for i in indices.indices { indices[i] = random.int(below: predictions.count) }
                if let value = metric(predictions.rows(at: indices)).value { values.append(value) }
            }
        }
        return summarise(
            estimate: metric(predictions), values: values, resamples: resamples, confidenceLevel: confidenceLevel)
    }

    /// The percentile-bootstrap interval of metric(A) − metric(B), two models scored on the same
    /// rows: each resample draws one set of row indices and evaluates both models on it, so the
    /// interval reflects the *paired* variation (much narrower than two separate intervals when
    /// the models agree on which rows are easy). A resample counts as undefined when either
    /// model's metric is. An interval that excludes 0 says A and B differ at that level.
    ///
    /// - Parameters:
    ///   - first: model A's rows.
    ///   - second: model B's scores on the same rows, with the same labels in the same order.
    ///   - resamples, confidenceLevel, random, metric: as in ``interval(_:resamples:confidenceLevel:random:metric:)``.
    public static func pairedDifference(
        _ first: BinaryPredictions, _ second: BinaryPredictions, resamples: Int = 1000,
        confidenceLevel: Double = 0.95, random: inout SeededRandom, metric: (BinaryPredictions) -> MetricValue
    ) -> BootstrapInterval {
        precondition(
            first.labels == second.labels,
            "Bootstrap.pairedDifference: the two models must be scored on the same rows with the same labels "
                + "(\(first.count) and \(second.count) rows)")
        precondition(resamples >= 1, "Bootstrap.pairedDifference: resamples must be at least 1, got \(resamples)")
        precondition(
            confidenceLevel > 0 && confidenceLevel < 1,
            "Bootstrap.pairedDifference: confidenceLevel must be in (0, 1), got \(confidenceLevel)")
        var values = [Double]()  // [≤ B]
        values.reserveCapacity(resamples)
        if first.count > 0 {
            var indices = [Int](repeating: 0, count: first.count)  // [N]
            for _ in 0..<resamples {
                for i in indices.indices { indices[i] = random.int(below: first.count) }
                let difference = metric(first.rows(at: indices)).subtracting(metric(second.rows(at: indices)))
                if let value = difference.value { values.append(value) }
            }
        }
        return summarise(
            estimate: metric(first).subtracting(metric(second)), values: values, resamples: resamples,
            confidenceLevel: confidenceLevel)
    }

    /// The linear-interpolation percentile of ascending `sorted` at level `q` ∈ [0, 1]
    /// (numpy's `np.percentile(..., 100 q)`); undefined for no values.
    public static func percentile(sorted: [Double], _ q: Double) -> MetricValue {
        guard !sorted.isEmpty else { return .undefined }
        let h = q * Double(sorted.count - 1)
        let below = Int(h.rounded(.down))
        let above = min(below + 1, sorted.count - 1)
        return .defined(sorted[below] + (h - Double(below)) * (sorted[above] - sorted[below]))
    }

    private static func summarise(
        estimate: MetricValue, values: [Double], resamples: Int, confidenceLevel: Double
    ) -> BootstrapInterval {
        let sorted = values.sorted()
        let tail = (1 - confidenceLevel) / 2
        return BootstrapInterval(
            estimate: estimate, lower: percentile(sorted: sorted, tail), upper: percentile(sorted: sorted, 1 - tail),
            confidenceLevel: confidenceLevel, resamples: resamples, undefinedResamples: resamples - values.count)
    }
}
