import Dataset

extension ScoringJob {
    /// The header of a scores file, format version 1 (Docs/FileFormats.md, "Scores").
    public static let scoresHeader = ["customer_id", "rep_id", "as_of", "probability", "rank_in_rep", "rank", "model_id", "format_version"]
    public static let scoresFormatVersion = 1

    /// The scores CSV for `rows`: the header, then one line per row; probabilities in shortest
    /// round-trip form, so a reader gets back exactly the Float the model produced.
    public static func encodeScores(_ rows: [ScoredCustomer], modelID: String) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(rows.count * 64 + 128)
        DelimitedText.appendRecord(scoresHeader, to: &output)
        let version = String(scoresFormatVersion)
        for row in rows {
            DelimitedText.appendRecord(
                [row.customerID, row.repID, row.asOf.iso, "\(row.probability)", String(row.rankInRep), String(row.rank), modelID, version],
                to: &output)
        }
        return output
    }
}
