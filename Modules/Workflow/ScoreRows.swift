import Evaluation

extension ScoringJob {
    /// The scores file (`Evaluation.ScoresFile`, its current version) for `rows`; each
    /// probability is written as the shortest decimal of the Float the model produced.
    public static func encodeScores(_ rows: [ScoredCustomer], modelID: String) -> [UInt8] {
        ScoresFile.encode(rows: rows.map {
            var row = ScoreRow(customerID: $0.customerID, repID: $0.repID, asOf: $0.asOf, probability: $0.probability, rankInRep: $0.rankInRep,
                               rank: $0.rank, modelID: modelID)
            row.forecast = $0.forecast.atFloatPrecision
            row.horizonDays = $0.horizonDays
            row.trainUntil = $0.trainUntil
            return row
        })
    }
}
