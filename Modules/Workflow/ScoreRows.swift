import Evaluation

extension ScoringJob {
    /// The scores file (format version 1, `Evaluation.ScoresFile`) for `rows`; each probability
    /// is written as the shortest decimal of the Float the model produced.
    public static func encodeScores(_ rows: [ScoredCustomer], modelID: String) -> [UInt8] {
        ScoresFile.encode(rows: rows.map {
            ScoreRow(customerID: $0.customerID, repID: $0.repID, asOf: $0.asOf, probability: $0.probability, rankInRep: $0.rankInRep,
                     rank: $0.rank, modelID: modelID)
        })
    }
}
