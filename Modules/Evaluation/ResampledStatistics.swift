import Metrics
import Random

/// Bootstrap intervals of ROC-AUC and of a proportion that give exactly
/// `Bootstrap.interval(predictions, …) { $0.rocAUC() }` (resp. `{ $0.baseRate }`), without
/// sorting each resample.
///
/// `Bootstrap.interval` sorts every resample inside `rocAUC()`: O(B · N log N), about a minute
/// for B = 1000 over 100,000 audit rows in release mode. A resample is a multiset of the original
/// rows, so its Mann–Whitney statistic is a weighted sweep over the rows sorted once by score:
/// O(B · N). The same generator draws the same indices (the rows handed to `Bootstrap.interval`
/// carry each row's index as its score, so the draws and the percentile code are the module's
/// own), and the statistic is the same integer sum divided once, so the intervals are identical
/// bit for bit (`Tests/EvaluationTests`: `fastIntervalsEqualTheMetricsBootstrap`).
public enum ResampledStatistics {
    /// The percentile interval of ROC-AUC, equal to `Bootstrap.interval(predictions) { $0.rocAUC() }`.
    public static func rocAUCInterval(
        _ predictions: BinaryPredictions, resamples: Int, confidenceLevel: Double, random: inout SeededRandom
    ) -> BootstrapInterval {
        let n = predictions.count
        let order = predictions.rankedIndices()  // [N] by score descending
        // Group starts: positions in `order` where a new distinct score begins.
        var groupStarts: [Int] = []
        for (position, index) in order.enumerated()
        where position == 0 || predictions.scores[order[position - 1]] != predictions.scores[index] {
            groupStarts.append(position)
        }
        groupStarts.append(n)
        let labels = predictions.labels
        var weights = [Int](repeating: 0, count: n)  // [N] times each row was drawn
        let indexed = BinaryPredictions(scores: (0..<n).map(Double.init), labels: labels)
        return Bootstrap.interval(indexed, resamples: resamples, confidenceLevel: confidenceLevel, random: &random) {
            resample in
            for i in weights.indices { weights[i] = 0 }
            for score in resample.scores { weights[Int(score)] += 1 }
            var positives = 0, negatives = 0
            for i in 0..<n {
                if labels[i] { positives += weights[i] } else { negatives += weights[i] }
            }
            guard positives > 0 && negatives > 0 else { return .undefined }
            // As BinaryPredictions.rocAUC: twice the U statistic over groups of tied scores.
            var twiceU = 0
            var negativesAbove = 0
            for g in 0..<(groupStarts.count - 1) {
                var positivesHere = 0, negativesHere = 0
                for position in groupStarts[g]..<groupStarts[g + 1] {
                    let index = order[position]
                    if labels[index] { positivesHere += weights[index] } else { negativesHere += weights[index] }
                }
                negativesAbove += negativesHere
                twiceU += positivesHere * (2 * (negatives - negativesAbove) + negativesHere)
            }
            return .defined(Double(twiceU) / (2 * Double(positives) * Double(negatives)))
        }
    }

    /// The percentile interval of the share of positive rows, equal to
    /// `Bootstrap.interval(predictions) { $0.baseRate }` (only the labels matter).
    public static func proportionInterval(
        labels: [Bool], resamples: Int, confidenceLevel: Double, random: inout SeededRandom
    ) -> BootstrapInterval {
        let indexed = BinaryPredictions(scores: labels.indices.map(Double.init), labels: labels)
        return Bootstrap.interval(indexed, resamples: resamples, confidenceLevel: confidenceLevel, random: &random) {
            $0.baseRate
        }
    }

    /// The percentile interval of the pooled lift of the list over a random list of the same
    /// candidates: (orders among listed rows / listed rows) / (orders / rows) − 1, all rows
    /// resampled together (so the list and its candidates move with each other). A resample with
    /// no listed row or no order is undefined and left out.
    public static func liftOverRandomInterval(
        labels: [Bool], listed: [Bool], resamples: Int, confidenceLevel: Double, random: inout SeededRandom
    ) -> BootstrapInterval {
        precondition(
            labels.count == listed.count, "liftOverRandomInterval: \(labels.count) labels, \(listed.count) list flags")
        let indexed = BinaryPredictions(scores: labels.indices.map(Double.init), labels: labels)
        return Bootstrap.interval(indexed, resamples: resamples, confidenceLevel: confidenceLevel, random: &random) {
            resample in
            var rows = 0, orders = 0, listedRows = 0, listedOrders = 0
            for score in resample.scores {
                let i = Int(score)
                rows += 1
                if labels[i] { orders += 1 }
                if listed[i] {
                    listedRows += 1
                    if labels[i] { listedOrders += 1 }
                }
            }
            guard listedRows > 0, orders > 0 else { return .undefined }
            return .defined((Double(listedOrders) / Double(listedRows)) / (Double(orders) / Double(rows)) - 1)
        }
    }
}
