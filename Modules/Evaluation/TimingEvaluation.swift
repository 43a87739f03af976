import Metrics

/// How well a model says *when* the next order comes (issue 17, item 1): its concordance with
/// the observed times and its cumulative calibration, P(order within d) predicted against
/// observed at each of its bin edges. A backtest fills it for every contender that predicts
/// timing (`xgboost_timing`, `bgnbd`). Docs/Evaluation.md, "Purchase timing".
public struct TimingEvaluation: Sendable, Hashable, Codable {
    /// One day count d: the mean predicted P(order within d) and the observed share, over the
    /// rows followed for at least d days. Censoring here is the end of the data, so every row's
    /// follow-up is known in advance; keeping rows by follow-up, not by outcome, is what keeps
    /// the share unbiased (keeping "ordered before d, or seen for d days" would keep every early
    /// order of a short follow-up and drop its non-orders).
    public struct CumulativePoint: Sendable, Hashable, Codable {
        public var days: Int
        public var rows: Int
        public var meanPredicted: MetricValue
        public var observedRate: MetricValue
    }

    public var model: String
    /// Rows judged, and how many of them saw their next order (the rest are censored at the
    /// end of the data).
    public var rows: Int
    public var observedOrders: Int
    /// Harrell's C of the expected days to the next order against the observed times (lifelines'
    /// definition: ``concordanceIndex(times:predictedTimes:observed:)``).
    public var concordanceExpectedDays: MetricValue
    /// The same, ranking by P(order within H) alone (higher = sooner): whether the timing adds to
    /// the ranking the score already gives.
    public var concordanceScore: MetricValue
    public var cumulative: [CumulativePoint]

    /// - Parameters:
    ///   - edges: the day counts of `predictedCumulative`'s columns.
    ///   - predictedCumulative: per row, P(order within edges[k]).
    ///   - expectedDays: per row, the predicted expected days to the next order.
    ///   - scores: per row, P(order within H).
    ///   - times / observed: per row, days to the next order, or to the end of the data (censored).
    ///   - followUp: per row, days from its as-of date to the end of the data.
    public init(
        model: String, edges: [Int], predictedCumulative: [[Double]], expectedDays: [Double], scores: [Double],
        times: [Double],
        observed: [Bool], followUp: [Double]
    ) {
        precondition(
            [predictedCumulative.count, expectedDays.count, scores.count, observed.count, followUp.count].allSatisfy {
                $0 == times.count
            },
            "TimingEvaluation: lengths differ")
        self.model = model
        rows = times.count
        observedOrders = observed.filter { $0 }.count
        concordanceExpectedDays = concordanceIndex(times: times, predictedTimes: expectedDays, observed: observed)
        concordanceScore = concordanceIndex(times: times, predictedTimes: scores.map { -$0 }, observed: observed)
        cumulative = edges.enumerated().map { k, days in
            var n = 0, orders = 0, predicted = 0.0
            for row in times.indices {
                guard followUp[row] >= Double(days) else { continue }
                n += 1
                if observed[row] && times[row] < Double(days) { orders += 1 }
                predicted += predictedCumulative[row][k]
            }
            return CumulativePoint(
                days: days, rows: n, meanPredicted: .ratio(predicted, Double(n)),
                observedRate: .ratio(Double(orders), Double(n)))
        }
    }
}
