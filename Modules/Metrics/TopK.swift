/// Metrics of the list of the k highest-scored rows: the study's "top N call list".
///
/// **Tie rule at the cut.** Rows are ranked by score, highest first, and rows with equal scores
/// keep their input order (``BinaryPredictions/rankedIndices()``, = numpy's
/// `argsort(-score, kind="stable")`). So when a tie straddles position k, the earlier input rows
/// are in the list. Callers who want a tie-independent figure should feed rows in a meaningful
/// order (e.g. by customer id) or break ties in the score itself.
///
/// **k larger than N.** The list is then every row (a week with fewer customers than the list
/// length lists them all), so k is clamped to N. k must be at least 1.
extension BinaryPredictions {
    /// The number of positives among the top `k` rows, and the list length used (min(k, N)).
    func topCounts(_ k: Int, operation: String) -> (positives: Int, length: Int) {
        precondition(k >= 1, "\(operation): k must be at least 1, got \(k)")
        let length = min(k, count)
        let order = rankedIndices()
        var positives = 0
        for row in order.prefix(length) where labels[row] { positives += 1 }
        return (positives, length)
    }

    /// precision@k = (positives in the top min(k, N)) / min(k, N); undefined when N = 0.
    /// Equals `sklearn.metrics.precision_score(y, top_k_indicator)`.
    public func precision(atTop k: Int) -> MetricValue {
        let (positives, length) = topCounts(k, operation: "precision(atTop:)")
        return MetricValue.ratio(Double(positives), Double(length))
    }

    /// recall@k = (positives in the top min(k, N)) / P; undefined when there are no positives.
    /// Equals `sklearn.metrics.recall_score(y, top_k_indicator)`.
    public func recall(atTop k: Int) -> MetricValue {
        let (positives, _) = topCounts(k, operation: "recall(atTop:)")
        return MetricValue.ratio(Double(positives), Double(positiveCount))
    }

    /// lift@k = precision@k / (P / N), how many times better than a random list of the same
    /// length; undefined when N = 0 or there are no positives (base rate 0).
    public func lift(atTop k: Int) -> MetricValue {
        guard let precision = precision(atTop: k).value, let base = baseRate.value, base > 0 else {
            return .undefined
        }
        return .defined(precision / base)
    }
}
