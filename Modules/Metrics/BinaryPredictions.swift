/// The rows a binary-classification metric is computed on: one score and one 0/1 label per row.
///
/// Scores are any finite real numbers for the ranking metrics (ROC, PR, top-k), and
/// probabilities in [0, 1] for the probabilistic ones (log loss, Brier score, reliability); those
/// check their range. `Float` scores are widened to `Double` exactly, so every metric is computed
/// in `Double` whatever the model's precision.
///
/// A NaN or infinite score, a label other than 0/1, or a count mismatch is a programming error
/// (a precondition naming the row): readers of score files validate rows before they get here.
public struct BinaryPredictions: Sendable, Hashable {
    /// The score of each row. // [N]
    public let scores: [Double]
    /// Whether each row is a positive (an order). // [N]
    public let labels: [Bool]

    /// Rows from `Double` scores and `Bool` labels.
    public init(scores: [Double], labels: [Bool]) {
        precondition(
            scores.count == labels.count,
            "BinaryPredictions: \(scores.count) scores but \(labels.count) labels")
        for (row, score) in scores.enumerated() {
            precondition(score.isFinite, "BinaryPredictions: the score of row \(row) is \(score), not a finite number")
        }
        self.scores = scores
        self.labels = labels
    }

    /// Rows from `Float` scores (widened exactly) and `Bool` labels.
    public init(scores: [Float], labels: [Bool]) {
        self.init(scores: scores.map(Double.init), labels: labels)
    }

    /// Rows from `Double` scores and 0/1 integer labels.
    public init(scores: [Double], labels: [Int]) {
        self.init(scores: scores, labels: BinaryPredictions.booleans(labels))
    }

    /// Rows from `Float` scores (widened exactly) and 0/1 integer labels.
    public init(scores: [Float], labels: [Int]) {
        self.init(scores: scores.map(Double.init), labels: BinaryPredictions.booleans(labels))
    }

    private static func booleans(_ labels: [Int]) -> [Bool] {
        labels.enumerated().map { row, label in
            precondition(label == 0 || label == 1, "BinaryPredictions: the label of row \(row) is \(label), not 0 or 1")
            return label == 1
        }
    }

    /// The number of rows, N.
    public var count: Int { scores.count }
    /// The number of positive rows, P.
    public var positiveCount: Int { labels.reduce(0) { $0 + ($1 ? 1 : 0) } }
    /// The number of negative rows, N − P.
    public var negativeCount: Int { count - positiveCount }

    /// The share of positive rows, P / N (the base rate; precision of a random list);
    /// undefined when there are no rows.
    public var baseRate: MetricValue { MetricValue.ratio(Double(positiveCount), Double(count)) }

    /// The rows at `indices`, in that order, repeats allowed (a bootstrap resample).
    public func rows(at indices: [Int]) -> BinaryPredictions {
        var resampledScores = [Double]()  // [indices.count]
        var resampledLabels = [Bool]()  // [indices.count]
        resampledScores.reserveCapacity(indices.count)
        resampledLabels.reserveCapacity(indices.count)
        for index in indices {
            resampledScores.append(scores[index])
            resampledLabels.append(labels[index])
        }
        return BinaryPredictions(uncheckedScores: resampledScores, labels: resampledLabels)
    }

    /// Rows already validated (a subset of a checked instance).
    private init(uncheckedScores: [Double], labels: [Bool]) {
        self.scores = uncheckedScores
        self.labels = labels
    }

    /// Row indices by score, highest first; rows with equal scores keep their input order.
    ///
    /// This is the ranking order of every top-k metric (the tie rule at the cut) and equals
    /// numpy's `np.argsort(-scores, kind="stable")`.
    public func rankedIndices() -> [Int] {
        scores.indices.sorted { a, b in
            scores[a] != scores[b] ? scores[a] > scores[b] : a < b
        }
    }

    /// Checks that every score is a probability (the probabilistic metrics need it).
    func requireProbabilities(_ operation: String) {
        for (row, score) in scores.enumerated() {
            precondition(
                score >= 0 && score <= 1,
                "\(operation): the score of row \(row) is \(score), not a probability in [0, 1]")
        }
    }
}
