import Foundation

extension BinaryPredictions {
    /// The clipping bound of ``logLoss()``: float64's machine epsilon, 2⁻⁵² ≈ 2.220446049250313e-16,
    /// which is what `sklearn.metrics.log_loss` uses for float64 probabilities. (Given float32
    /// arrays sklearn would clip at float32's epsilon, 1.19e-7; Revisit always computes in Double.)
    public static let logLossEpsilon = Double.ulpOfOne

    /// Mean binary cross-entropy of the scores as probabilities of a positive:
    ///
    ///     L = −(1/N) Σ_i [y_i log clip(p_i) + (1 − y_i) log clip(1 − p_i)],
    ///     clip(x) = min(max(x, ε), 1 − ε),  ε = ``logLossEpsilon``
    ///
    /// Natural logarithm. Matches `sklearn.metrics.log_loss(y, p, labels=[0, 1])`, which clips the
    /// two columns (1 − p, p) separately, as here. Defined for one-class inputs (a per-row
    /// average); undefined when there are no rows. Scores must lie in [0, 1].
    public func logLoss() -> MetricValue {
        requireProbabilities("logLoss")
        guard count > 0 else { return .undefined }
        let epsilon = BinaryPredictions.logLossEpsilon
        var sum = 0.0
        for (p, label) in zip(scores, labels) {
            let probabilityOfLabel = label ? p : 1 - p
            sum -= Foundation.log(min(max(probabilityOfLabel, epsilon), 1 - epsilon))
        }
        return .defined(sum / Double(count))
    }

    /// Brier score, the mean squared error of the scores as probabilities:
    ///
    ///     BS = (1/N) Σ_i (p_i − y_i)²
    ///
    /// Matches `sklearn.metrics.brier_score_loss(y, p, labels=[0, 1])`. Defined for one-class
    /// inputs; undefined when there are no rows. Scores must lie in [0, 1].
    public func brierScore() -> MetricValue {
        requireProbabilities("brierScore")
        guard count > 0 else { return .undefined }
        var sum = 0.0
        for (p, label) in zip(scores, labels) {
            let error = p - (label ? 1 : 0)
            sum += error * error
        }
        return .defined(sum / Double(count))
    }
}
