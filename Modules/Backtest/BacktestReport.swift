import Dataset
import Evaluation

extension Backtest {
    /// The folds as score rows (one "model" per contender), the form the evaluator's audit reads.
    public static func scoreRows(_ folds: [Fold]) -> [ScoreRow] {
        var rows: [ScoreRow] = []
        for fold in folds {
            for entry in fold.entries {
                for index in fold.customerIDs.indices {
                    rows.append(ScoreRow(
                        customerID: fold.customerIDs[index], repID: fold.repIDs[index], asOf: fold.start,
                        probability: entry.scores[index], rankInRep: entry.ranksInRep[index], rank: 0, modelID: entry.contender))
                }
            }
        }
        return rows
    }

    /// The backtest's report: every contender's weekly rows judged exactly as `evaluator audit`
    /// judges a scores file (same labels, lists, reps' rate, intervals, charts), with the
    /// backtest's settings recorded in the notes. `settings.topPerRep` should equal the list's K.
    public func report(
        folds: [Fold], evaluation: EvaluationSettings, groundTruth: [GroundTruthRow]?, inputs: [InputFile]
    ) -> EvaluationReport {
        var report = Audit.run(
            scores: Self.scoreRows(folds),
            outcomes: Outcomes(dataset: history.dataset, horizonDays: settings.training.examples.horizonDays),
            groundTruth: groundTruth, settings: evaluation, inputs: inputs)
        report.mode = "backtest"
        let order = self.settings.contenders.map(\.description)
        report.models.sort { (order.firstIndex(of: $0.model) ?? .max) < (order.firstIndex(of: $1.model) ?? .max) }
        let candidates = self.settings.candidates == .visitedInWeek ? "the customers the reps visited that week (the study's evaluation set)"
            : "every customer with an earlier visit"
        report.notes.insert(
            "Rolling backtest: \(folds.count) weekly folds from \(folds.first?.start.iso ?? "—"); each model retrained per fold on "
                + "labels closing by the fold's Monday\(self.settings.warmStart ? " (warm-started from the previous fold)" : ""); "
                + "candidates: \(candidates); list: \(self.settings.list).", at: 0)
        if self.settings.contenders.contains(where: { [.recency, .frequency, .roundRobin].contains($0) }) {
            report.notes.append("Heuristic baselines (recency, frequency, round-robin) are rankings, not probabilities: their "
                + "scores are squashed into [0, 1) without changing the order, so their Brier score and calibration mean little.")
        }
        return report
    }
}
