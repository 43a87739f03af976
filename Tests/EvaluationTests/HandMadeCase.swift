import Dataset
import Evaluation
import Foundation
import TestSupport

/// A six-customer, two-rep dataset and a scores file whose labels, lists, reps' rates and lifts
/// are computed by hand in the comments (H = 28 days, K = 2 per rep).
///
/// Day n is 2024-01-01 + n. The last visit is on day 34 (2024-02-04), so the data end is day 35:
/// as-of day 0 (window [0, 28)) and day 7 ([7, 35)) are complete; day 14 ([14, 42)) is not.
///
/// | customer | rep | visits (day: result)        | label at day 0 | label at day 7 |
/// |---|---|---|---|---|
/// | C1 | R1 | 3: order, 20: no_demand            | 1 | 0 |
/// | C2 | R1 | 10: order                          | 1 | 1 |
/// | C3 | R1 | 2: no_answer, 34: order            | 0 (34 ≥ 28) | 1 |
/// | C4 | R2 | 5: no_demand, 8: no_demand         | 0 | 0 |
/// | C5 | R2 | 1: order, 30: order                | 1 | 1 |
/// | C6 | R2 | 4: no_answer                       | 0 | 0 |
///
/// Reps' week [0, 7): visits on days 1, 2, 3, 4, 5 — 5 visits, 2 orders (C5, C1): 40%.
/// Reps' week [7, 14): days 8, 10 — 2 visits, 1 order (C2): 50%.
enum HandMadeCase {
    static let start = Day(year: 2024, month: 1, day: 1)!
    static func day(_ n: Int) -> Day { start.advanced(by: n) }

    static func dataset() -> Dataset {
        let raw: [(String, String, Int, Bool)] = [
            ("C1", "R1", 3, true), ("C1", "R1", 20, false), ("C2", "R1", 10, true), ("C3", "R1", 2, false),
            ("C3", "R1", 34, true), ("C4", "R2", 5, false), ("C4", "R2", 8, false), ("C5", "R2", 1, true),
            ("C5", "R2", 30, true), ("C6", "R2", 4, false)
        ]
        let visits = raw.enumerated().map { index, v in
            Visit(
                visitID: String(format: "V%03d", index + 1), customerID: v.0, repID: v.1, date: day(v.2),
                method: "phone",
                target: "active", purpose: "follow_up", result: v.3 ? "order" : "no_demand", isOrder: v.3)
        }.sorted(by: Visit.datasetOrder)
        let customers = (1...6).map {
            Customer(customerID: "C\($0)", customerType: "trader", industry: "consumer", tag: "key")
        }
        let manifest = DatasetManifest(
            kind: .visits, firstDate: day(1), lastDate: day(34), customerCount: 6, repCount: 2)
        return Dataset(manifest: manifest, visits: visits, customers: customers)
    }

    /// Writes the dataset as a directory (manifest, visits, customers) and returns its path.
    static func writeDataset(to directory: String) throws {
        try DatasetFiles.write(dataset(), to: directory)
    }

    /// Model M's scores.
    ///
    /// Day 0: R1 C1 0.9 (1), C3 0.6 (2), C2 0.3 (3); R2 C4 0.8 (1), C5 0.5 (2), C6 0.1 (3).
    ///   List (top 2): C1 ✓, C3 ✗, C4 ✗, C5 ✓ → 2/4 = 50%; reps 40% → lift 50/40 − 1 = +25%.
    ///   ROC-AUC: positives 0.9, 0.3, 0.5 vs negatives 0.6, 0.8, 0.1: 3 + 1 + 1 = 5 of 9 pairs.
    /// Day 7: R1 C2 0.7 (1), C3 0.4 (2), C1 0.2 (3); R2 C5 0.9 (1), C6 0.6 (2), C4 0.35 (3).
    ///   List: C2 ✓, C3 ✓, C5 ✓, C6 ✗ → 3/4 = 75%; reps 50% → lift +50%.
    ///   ROC-AUC: positives 0.7, 0.4, 0.9 vs negatives 0.2, 0.6, 0.35: 3 + 2 + 3 = 8 of 9.
    /// Day 14: three rows, window incomplete → excluded.
    /// Averages: list precision (50 + 75)/2 = 62.5%, reps (40 + 50)/2 = 45%, lift (25 + 50)/2 = +37.5%.
    static func scores(model: String = "M") -> [ScoreRow] {
        let rows: [(String, String, Int, Double, Int)] = [
            ("C1", "R1", 0, 0.9, 1), ("C3", "R1", 0, 0.6, 2), ("C2", "R1", 0, 0.3, 3),
            ("C4", "R2", 0, 0.8, 1), ("C5", "R2", 0, 0.5, 2), ("C6", "R2", 0, 0.1, 3),
            ("C2", "R1", 7, 0.7, 1), ("C3", "R1", 7, 0.4, 2), ("C1", "R1", 7, 0.2, 3),
            ("C5", "R2", 7, 0.9, 1), ("C6", "R2", 7, 0.6, 2), ("C4", "R2", 7, 0.35, 3),
            ("C1", "R1", 14, 0.5, 1), ("C4", "R2", 14, 0.5, 1), ("C5", "R2", 14, 0.4, 2)
        ]
        return rows.map { r in
            ScoreRow(
                customerID: r.0, repID: r.1, asOf: day(r.2), probability: r.3, rankInRep: r.4, rank: 1, modelID: model)
        }
    }

    static let settings = EvaluationSettings(topPerRep: 2, topK: [1, 3], bootstrapResamples: 200, seed: 7)

    static func report(scores: [ScoreRow] = scores(), groundTruth: [GroundTruthRow]? = nil) -> EvaluationReport {
        Audit.run(
            scores: scores, outcomes: Outcomes(dataset: dataset(), horizonDays: 28), groundTruth: groundTruth,
            settings: settings,
            inputs: [InputFile(role: "scores", path: "scores.csv", contents: ScoresFile.encode(rows: scores))])
    }

    static func temporaryDirectory(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("evaluation-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: path)
        return path
    }
}
