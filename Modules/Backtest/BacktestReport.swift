import Dataset
import Evaluation
import Features
import Workflow

extension Backtest {
    /// The folds as score rows (one "model" per contender), the form the evaluator's audit reads.
    ///
    /// The audit's list is "`rank_in_rep` ≤ K". For a per-rep list that is the true rank with
    /// K = the list's K. For a top-N, top-share or threshold list, K is the most any rep has on
    /// the list, and unlisted rows have their rank in rep raised by K, so exactly the listed rows
    /// satisfy `rank_in_rep` ≤ K while the order within each rep is kept (a list cut by score
    /// always holds each rep's best-ranked rows). Returns the rows and that K.
    public static func scoreRows(_ folds: [Fold], list: ListRule, horizon: Int? = nil) -> (rows: [ScoreRow], listK: Int)
    {
        var listK = 1
        if case .perRepTop(let k) = list {
            listK = k
        } else {
            for fold in folds {
                for entry in fold.entries {
                    for (i, listed) in entry.onList.enumerated() where listed {
                        listK = max(listK, entry.ranksInRep[i])
                    }
                }
            }
        }
        var rows: [ScoreRow] = []
        for fold in folds {
            for entry in fold.entries {
                // The overall rank (the scores file's `rank`), by the scorer's rule.
                let overall = ScoresFile.ranks(
                    asOf: [Day](repeating: fold.start, count: entry.scores.count),
                    probabilities: entry.scores.map(Double.init),
                    customers: fold.customerIDs, groups: [String](repeating: "", count: entry.scores.count))
                let bins = entry.timingEdges.flatMap(TimingBins.init(edges:))
                for index in fold.customerIDs.indices {
                    var rank = entry.ranksInRep[index]
                    if case .perRepTop = list {} else if !entry.onList[index] { rank += listK }
                    var row = ScoreRow(
                        customerID: fold.customerIDs[index], repID: fold.repIDs[index], asOf: fold.start,
                        probability: entry.scores[index], rankInRep: rank, rank: overall[index],
                        modelID: entry.contender)
                    // Each fold's models were trained on labels closing by its Monday.
                    row.horizonDays = horizon
                    row.trainUntil = fold.start
                    let timing = bins.flatMap { bins in
                        entry.timingCumulative.map { PurchaseTiming(bins: bins, cumulative: $0[index]) }
                    }
                    row.forecast =
                        ScoreRow.Forecast(timing: timing, expectedOrders: entry.expectedOrders?[index]).atFloatPrecision
                    row.reasons = entry.reasons?[index] ?? []
                    rows.append(row)
                }
            }
        }
        return (rows, listK)
    }

    /// The backtest's report: every contender's weekly rows judged exactly as `evaluator audit`
    /// judges a scores file (same labels, lists, reps' rate, intervals, charts), with the
    /// backtest's settings recorded in the notes. The list is the backtest's `ListRule`
    /// (`evaluation.topPerRep` and `listRule` are set from it). The ground-truth ceiling is
    /// listed per rep by `rank_in_rep` with that K.
    public func report(
        folds: [Fold], evaluation: EvaluationSettings, groundTruth: [GroundTruthRow]?, inputs: [InputFile]
    ) -> EvaluationReport {
        let (rows, listK) = Self.scoreRows(folds, list: settings.list, horizon: settings.training.examples.horizonDays)
        var evaluation = evaluation
        evaluation.topPerRep = listK
        if case .perRepTop = settings.list {} else { evaluation.listRule = settings.list.description }
        var report = Audit.run(
            scores: rows,
            outcomes: Outcomes(dataset: history.dataset, horizonDays: settings.training.examples.horizonDays),
            groundTruth: groundTruth, settings: evaluation, inputs: inputs)
        report.mode = "backtest"
        let training = settings.training
        report.backtestSettings = BacktestSettingsRecord(
            contenders: settings.contenders, foldDates: folds.map(\.start), stepDays: settings.stepDays,
            candidates: settings.candidates.rawValue, list: settings.list.description,
            horizonDays: training.examples.horizonDays,
            trainingWeeks: training.trainingWeeks, trainingCandidates: training.trainingCandidates.rawValue,
            validationDates: training.validationDates, features: training.featureSet.rawValue,
            scaling: training.scaling.rawValue,
            notes: training.notes, calibration: training.calibration?.rawValue, epochs: training.training.epochs,
            warmStart: settings.warmStart, warmEpochs: settings.warmEpochs, batchSize: training.training.batchSize,
            monitor: training.training.monitor.rawValue, seed: training.training.seed)
        let order = self.settings.contenders
        report.models.sort { (order.firstIndex(of: $0.model) ?? .max) < (order.firstIndex(of: $1.model) ?? .max) }
        let candidates =
            self.settings.candidates == .visitedInWeek
            ? "the customers the reps visited that week (the study's evaluation set)"
            : "every customer with an earlier visit"
        report.notes.insert(
            "Rolling backtest: \(folds.count) weekly folds from \(folds.first?.start.iso ?? "—"); each model retrained per fold on "
                + "labels closing by the fold's Monday\(self.settings.warmStart ? " (warm-started from the previous fold)" : ""); "
                + "candidates: \(candidates); list: \(self.settings.list).", at: 0)
        for name in self.settings.contenders {
            let entries = folds.flatMap { fold in fold.entries.filter { $0.contender == name }.map { (fold, $0) } }
            let methods = Array(Set(entries.map(\.1.calibration))).sorted()
            guard !entries.isEmpty, methods != ["none"] else { continue }
            report.calibration.append(
                CalibrationComparison(
                    model: name, method: methods.joined(separator: "/"),
                    raw: entries.flatMap { $0.1.rawScores.map(Double.init) },
                    calibrated: entries.flatMap { $0.1.scores.map(Double.init) },
                    labels: entries.flatMap { $0.0.labels.map { $0 == 1 } }, bins: evaluation.reliabilityBins))
        }
        report.timing = self.settings.contenders.compactMap { name in
            let entries = folds.flatMap { fold in
                fold.entries.filter { $0.contender == name && $0.timingCumulative != nil }.map { (fold, $0) }
            }
            guard let edges = entries.first?.1.timingEdges, entries.allSatisfy({ $0.1.timingEdges == edges }) else {
                return nil
            }
            return TimingEvaluation(
                model: name, edges: edges, predictedCumulative: entries.flatMap { $0.1.timingCumulative! },
                expectedDays: entries.flatMap { $0.1.expectedDays! },
                scores: entries.flatMap { $0.1.scores.map(Double.init) },
                times: entries.flatMap { $0.0.daysToOrder }, observed: entries.flatMap { $0.0.orderObserved },
                followUp: entries.flatMap { [Double](repeating: $0.0.followUpDays, count: $0.0.daysToOrder.count) })
        }
        report.orderCounts = self.settings.contenders.compactMap { name in
            let entries = folds.flatMap { fold in
                fold.entries.filter { $0.contender == name && $0.expectedOrders != nil }.map { (fold, $0) }
            }
            guard !entries.isEmpty else { return nil }
            return CountEvaluation(
                model: name, predicted: entries.flatMap { $0.1.expectedOrders! },
                observed: entries.flatMap { $0.0.orderDays },
                bins: evaluation.reliabilityBins)
        }
        if history.dataset.manifest.visitColumns.text.isEmpty == false {
            // The models whose own pipeline may hold notes (an ensemble's members are listed
            // when they run as contenders of their own; models that read no statics never do).
            for name in self.settings.contenders
            where Contenders.named(name).map({ $0.usesFeaturePipeline && $0.readsStatics }) == true {
                let kept = folds.compactMap { fold in fold.entries.first { $0.contender == name }?.notesColumns }
                let grams = Dictionary(kept.flatMap { $0 }.map { ($0, 1) }, uniquingKeysWith: +).sorted {
                    $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key
                }
                report.notes.append(
                    self.settings.training.notes
                        ? "Visit notes: \(name) kept notes inputs in \(kept.count) of \(folds.count) folds"
                            + (grams.isEmpty
                                ? " (no n-gram was significant, or the validation weeks preferred the model without them)."
                                : "; most often "
                                    + grams.prefix(8).map { "'\($0.key.dropFirst("notes:".count))' (\($0.value))" }
                                    .joined(separator: ", ") + ".")
                        : "Visit notes: ignored (--no-notes).")
                if !self.settings.training.notes { break }
            }
        }
        report.findings = self.settings.contenders.compactMap { name in
            folds.last?.entries.first { $0.contender == name }?.findings
        }
        if self.settings.contenders.contains(where: { Contenders.named($0)?.kind == .heuristic }) {
            report.notes.append(
                "Heuristic baselines (recency, frequency, round-robin) are rankings, not probabilities: their "
                    + "scores are squashed into [0, 1) without changing the order, so their Brier score and calibration mean little."
            )
        }
        return report
    }
}
