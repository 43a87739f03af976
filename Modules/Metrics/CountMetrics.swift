import Foundation

/// Errors of predicted counts against observed counts (the count head's "how many orders in
/// [t, t + H)"), as scikit-learn's `mean_absolute_error`, `mean_squared_error` (square-rooted)
/// and `mean_poisson_deviance` compute them (agreement tested against scikit-learn:
/// `Fixtures/metrics/generate_count_reference.py`). Undefined for no rows.
public enum CountMetrics {
    /// (1/n) Σ |y − μ|.
    public static func meanAbsoluteError(predicted: [Double], observed: [Double]) -> MetricValue {
        precondition(predicted.count == observed.count, "CountMetrics: lengths differ")
        return .ratio(zip(predicted, observed).reduce(0) { $0 + abs($1.1 - $1.0) }, Double(predicted.count))
    }

    /// √((1/n) Σ (y − μ)²).
    public static func rootMeanSquaredError(predicted: [Double], observed: [Double]) -> MetricValue {
        precondition(predicted.count == observed.count, "CountMetrics: lengths differ")
        guard
            case .defined(let mean) = MetricValue.ratio(
                zip(predicted, observed).reduce(0) { $0 + ($1.1 - $1.0) * ($1.1 - $1.0) }, Double(predicted.count))
        else { return .undefined }
        return .defined(mean.squareRoot())
    }

    /// The mean Poisson deviance (1/n) Σ 2 (y log(y/μ) − y + μ), with y log(y/μ) = 0 at y = 0:
    /// the proper scoring rule of a predicted mean count (McCullagh & Nelder 1989, §6.2), 0 for a
    /// perfect prediction. scikit-learn refuses μ ≤ 0; a model that predicts exactly 0 (BG/NBD
    /// for a customer it believes gone) is taken at `floor`, so one such row costs
    /// 2 y log(y / floor) rather than making the whole metric undefined.
    public static func meanPoissonDeviance(predicted: [Double], observed: [Double], floor: Double = 1e-9) -> MetricValue
    {
        precondition(predicted.count == observed.count, "CountMetrics: lengths differ")
        var total = 0.0
        for (mu, y) in zip(predicted, observed) {
            let m = max(mu, floor)
            total += 2 * ((y > 0 ? y * log(y / m) : 0) - y + m)
        }
        return .ratio(total, Double(predicted.count))
    }
}
