import Evaluation
import Features

extension ScoreRow.Forecast {
    /// The scores file's forecast columns from a model's timing distribution and expected
    /// count (either may be nil): expected and median days, P(order within 7/14/28 days).
    public init(timing: PurchaseTiming?, expectedOrders: Double?) {
        self.init(expectedOrders: expectedOrders)
        if let timing {
            expectedDaysToOrder = timing.expectedDays
            medianDaysToOrder = timing.medianDays
            withinDays = Self.days.map { timing.probability(withinDays: Double($0)) }
        }
    }
}

extension ScoringJob {
    /// The scores file (`Evaluation.ScoresFile`, its current version) for `rows`; each
    /// probability is written as the shortest decimal of the Float the model produced.
    public static func encodeScores(_ rows: [ScoredCustomer], modelID: String) -> [UInt8] {
        ScoresFile.encode(rows: scoreRows(rows, modelID: modelID))
    }

    /// The scores file's rows for `rows`, scored by `modelID` (several runs' rows, each with
    /// its model, make one file: `scorer merge` of per-fold scores).
    public static func scoreRows(_ rows: [ScoredCustomer], modelID: String) -> [ScoreRow] {
        rows.map {
            var row = ScoreRow(
                customerID: $0.customerID, repID: $0.repID, asOf: $0.asOf, probability: $0.probability,
                rankInRep: $0.rankInRep,
                rank: $0.rank, modelID: modelID)
            row.forecast = $0.forecast.atFloatPrecision
            row.horizonDays = $0.horizonDays
            row.trainUntil = $0.trainUntil
            row.reasons = $0.reasons
            return row
        }
    }
}
