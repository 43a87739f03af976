import Evaluation
import Foundation

/// `make quality`'s table: Revisit's backtest report and `../shared/bench/quality_reference.py`'s
/// results on the same weekly folds of the same log, side by side (mean ROC-AUC, average
/// precision and Brier score over the folds), and the bars of issue 13 checked.
public struct QualityComparison {
    /// One model's means over the folds.
    public struct Row: Equatable {
        public var source: String
        public var model: String
        public var folds: Int
        public var rocAUC: Double?
        public var averagePrecision: Double?
        public var brier: Double?
    }

    public var rows: [Row]
    /// As-of dates in the Revisit report and in the reference, when they differ (else empty).
    public var foldMismatch: String?

    /// What the reference script writes (`--out quality.json`).
    struct ReferenceFile: Decodable {
        struct Summary: Decodable {
            var mean_auc: Double?
            var mean_ap: Double?
            var mean_brier: Double?
        }
        var folds_evaluated: [String]
        var summary: [String: Summary]
    }

    /// Per model of a backtest report: the plain means of its weekly figures where defined.
    public static func rows(of report: EvaluationReport, source: String) -> [Row] {
        report.allResults.map { model in
            func mean(_ values: [Double?]) -> Double? {
                let defined = values.compactMap { $0 }
                return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
            }
            return Row(
                source: source, model: model.model, folds: model.weeks.count,
                rocAUC: mean(model.weeks.map(\.metrics.rocAuc.value)),
                averagePrecision: mean(model.weeks.map(\.metrics.averagePrecision.value)),
                brier: model.model.hasPrefix("recency") || model.model.hasPrefix("frequency")
                    || model.model.hasPrefix("round_robin")
                    ? nil : mean(model.weeks.map(\.metrics.brier.value)))
        }
    }

    /// Reads both files.
    public init(revisitReport: String, reference: String) throws {
        let report = try EvaluationReport.decode(json: [UInt8](Data(contentsOf: URL(fileURLWithPath: revisitReport))))
        let referenceFile = try JSONDecoder().decode(
            ReferenceFile.self, from: Data(contentsOf: URL(fileURLWithPath: reference)))
        rows = Self.rows(of: report, source: "Revisit")
        let probabilistic: Set<String> = ["bgnbd", "lightgbm", "gru"]
        for (name, summary) in referenceFile.summary.sorted(by: { $0.key < $1.key }) {
            rows.append(
                Row(
                    source: "reference", model: name, folds: referenceFile.folds_evaluated.count,
                    rocAUC: summary.mean_auc,
                    averagePrecision: summary.mean_ap, brier: probabilistic.contains(name) ? summary.mean_brier : nil))
        }
        let ours = Set(report.allResults.flatMap { $0.weeks.map(\.asOf.iso) })
        let theirs = Set(referenceFile.folds_evaluated)
        foldMismatch =
            ours == theirs
            ? nil
            : "the folds differ: Revisit \(ours.count) as-of dates, reference \(theirs.count) (\(ours.symmetricDifference(theirs).sorted().prefix(5).joined(separator: ", "))…)"
    }

    /// On a report with a ground-truth ceiling: `model` against every tabular baseline
    /// (`xgboost`, `logreg`, `decision_tree`, `association_rules`, `bgnbd`) and the ceiling, by mean ROC-AUC.
    public static func sampleVerdict(_ rows: [Row], model: String = "cnn_lstm_bgnbd") -> [String] {
        guard let ours = rows.first(where: { $0.model == model }), let a = ours.rocAUC else { return [] }
        var lines: [String] = []
        for baseline in ["xgboost", "logreg", "decision_tree", "association_rules", "bgnbd"] {
            guard let row = rows.first(where: { $0.model == baseline }), let b = row.rocAUC else { continue }
            lines.append(
                "\(model) mean ROC-AUC \(number(a)) vs \(baseline) \(number(b)): \(a >= b ? "at or above" : "BELOW") by \(String(format: "%+.4f", a - b))"
            )
        }
        if let ceiling = rows.first(where: { $0.model == Audit.ceilingName }), let c = ceiling.rocAUC {
            lines.append(
                "\(model) mean ROC-AUC \(number(a)) vs the ceiling \(number(c)): \(String(format: "%.4f", c - a)) below it (the bar: within 0.02)"
            )
        }
        return lines
    }

    public static func number(_ value: Double?, _ digits: Int = 4) -> String {
        value.map { String(format: "%.\(digits)f", $0) } ?? "—"
    }

    /// The side-by-side table, best mean ROC-AUC first.
    public func table() -> String {
        var lines = [
            "| source | model | folds | mean ROC-AUC | mean AP | mean Brier |", "|---|---|---:|---:|---:|---:|"
        ]
        for row in rows.sorted(by: { ($0.rocAUC ?? -1) > ($1.rocAUC ?? -1) }) {
            lines.append(
                "| \(row.source) | \(row.model) | \(row.folds) | \(Self.number(row.rocAUC)) | \(Self.number(row.averagePrecision)) | \(Self.number(row.brier, 5)) |"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// The bars: each of `models` (the default model, then the CNN-LSTM alone) at or above the
    /// best reference model on ROC-AUC, AP and Brier, and `boosting` at or above LightGBM; one
    /// line each with the margin.
    public func verdict(models: [String] = ["cnn_lstm_bgnbd", "cnn_lstm"], boosting: String = "xgboost") -> [String] {
        let references = rows.filter { $0.source == "reference" && ["bgnbd", "lightgbm", "gru"].contains($0.model) }
        var lines: [String] = []
        for model in models {
            guard let ours = rows.first(where: { $0.source == "Revisit" && $0.model == model }) else { continue }
            for (name, key) in [("ROC-AUC", \Row.rocAUC), ("average precision", \Row.averagePrecision)] {
                guard let best = references.max(by: { ($0[keyPath: key] ?? -1) < ($1[keyPath: key] ?? -1) }),
                    let a = ours[keyPath: key], let b = best[keyPath: key]
                else { continue }
                lines.append(
                    "\(model) mean \(name) \(Self.number(a)) vs the best reference (\(best.model)) \(Self.number(b)): "
                        + "\(a >= b ? "at or above" : "BELOW") by \(String(format: "%+.4f", a - b))")
            }
            if let a = ours.brier, let best = references.filter({ $0.brier != nil }).min(by: { $0.brier! < $1.brier! }),
                let b = best.brier
            {
                lines.append(
                    "\(model) mean Brier \(Self.number(a, 5)) vs the best reference (\(best.model)) \(Self.number(b, 5)): "
                        + "\(a <= b ? "at or below (better)" : "ABOVE (worse)") by \(String(format: "%+.5f", a - b))")
            }
        }
        if let ours = rows.first(where: { $0.source == "Revisit" && $0.model == boosting }),
            let lightgbm = references.first(where: { $0.model == "lightgbm" })
        {
            for (name, key) in [("ROC-AUC", \Row.rocAUC), ("average precision", \Row.averagePrecision)] {
                guard let a = ours[keyPath: key], let b = lightgbm[keyPath: key] else { continue }
                lines.append(
                    "\(boosting) mean \(name) \(Self.number(a)) vs LightGBM \(Self.number(b)): "
                        + "\(a >= b ? "at or above" : "BELOW") by \(String(format: "%+.4f", a - b))")
            }
        }
        return lines
    }
}
