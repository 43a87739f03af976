import Dataset
import Foundation
import Formats
import Metrics

/// The Markdown report, `report.md`, from an ``EvaluationReport`` of either mode.
public enum ReportMarkdown {
    /// The whole document: inputs, counts and exclusions, the per-week comparison with averages,
    /// the per-model metrics with confidence intervals, calibration, and the charts.
    public static func render(_ report: EvaluationReport) -> String {
        let settings = report.settings
        let results = report.allResults
        let comparison = settings.comparison
        var md = "# Revisit evaluation report (\(report.mode))\n\n"
        md += "## Verdict\n\n" + verdict(report) + "\n"
        md +=
            comparison == .reps
            ? "\n## Per-week comparison with the reps\n\n" : "\n## Per-week comparison with a random list\n\n"
        md += WeeklyComparison.table(results, comparison: comparison).render()
        md +=
            "\n![weekly list precision vs the \(comparison.shortName == "reps" ? "reps" : "random list")](weekly_precision.svg)\n\n"
        md += "Average lift is the mean of the weekly lifts over the weeks where it is defined; "
        md += "\"lift of averages\" is mean list precision / mean \(comparison.columnName) − 1.\n\n"
        if comparison == .reps {
            md +=
                "A random list of the same size from the same candidates would reach their base rate (\"random list\"); "
            md +=
                "\"over random\" is list precision / that rate − 1. The reps' visits convert less than the candidates they "
            md +=
                "visited order within \(settings.horizonDays) days, so even a random list shows a lift over the reps: read that lift "
            md += "beside the lift over random.\n\n"
        }
        let randomHeaders = comparison == .reps ? ["mean random list", "mean lift over random"] : []
        md += MarkdownTable(
            headers: [
                "model", "weeks", "weeks with lift", "mean list precision", "mean \(comparison.columnName)",
                "mean lift", "lift of averages"
            ]
                + randomHeaders,
            rows: results.map {
                [
                    ReportText.literal($0.model), String($0.averages.weeks), String($0.averages.weeksWithLift),
                    ReportText.percent($0.averages.listPrecision), ReportText.percent($0.averages.repsRate),
                    ReportText.signedPercent($0.averages.lift), ReportText.signedPercent($0.averages.liftOfAverages)
                ]
                    + (comparison == .reps
                        ? [
                            ReportText.percent($0.averages.randomRate),
                            ReportText.signedPercent($0.averages.liftOverRandom)
                        ] : [])
            }
        ).render()

        if let preview = report.listPreview, !preview.lines.isEmpty {
            md += listSection(preview, horizonDays: settings.horizonDays)
        }
        if let perRep = report.perRep, !perRep.reps.isEmpty { md += repSection(perRep) }
        let level = Int((settings.confidenceLevel * 100).rounded())
        md += "\n## Metrics over all evaluated rows\n\n"
        md += "Intervals: \(level)% percentile bootstrap, B = \(settings.bootstrapResamples), seed \(settings.seed) "
        md +=
            "(ROC-AUC: rows resampled; list precision: listed rows resampled; lift over random: the list's pooled precision / "
        md += "the candidates' pooled base rate − 1, all rows resampled).\n\n"
        var headers = ["model", "rows", "orders", "ROC-AUC [\(level)% CI]", "PR-AUC", "avg precision"]
        headers += settings.topK.map { "P@\($0)" }
        headers += ["list precision [\(level)% CI]", "lift over random [\(level)% CI]", "log loss", "Brier", "ECE"]
        md += MarkdownTable(
            headers: headers,
            rows: results.map { result in
                let m = result.overall.metrics
                return [
                    ReportText.literal(result.model), String(m.rows), String(m.positives),
                    ReportText.interval(result.overall.rocAucInterval)
                ]
                    + [ReportText.number(m.prAuc), ReportText.number(m.averagePrecision)]
                    + m.topK.map { ReportText.percent($0.precision) }
                    + [
                        ReportText.interval(result.overall.listPrecisionInterval, percent: true),
                        ReportText.signedInterval(result.overall.liftOverRandomInterval), ReportText.number(m.logLoss),
                        ReportText.number(m.brier), ReportText.number(result.overall.expectedCalibrationError)
                    ]
            }
        ).render()
        let undefinedResamples = results.filter {
            $0.overall.rocAucInterval.undefinedResamples > 0 || $0.overall.listPrecisionInterval.undefinedResamples > 0
        }
        for result in undefinedResamples {
            md +=
                "\n- \(ReportText.literal(result.model)): \(result.overall.rocAucInterval.undefinedResamples) ROC-AUC and "
            md +=
                "\(result.overall.listPrecisionInterval.undefinedResamples) list-precision resamples were undefined and left out.\n"
        }
        md += "\n![ROC curves](roc.svg)\n\n![precision-recall curves](pr.svg)\n\n"

        md += "## Per-week metrics\n\n"
        for result in results {
            md += "### \(ReportText.literal(result.model))\n\n"
            var weekHeaders = ["week", "rows", "orders", "ROC-AUC", "PR-AUC", "avg precision"]
            weekHeaders += settings.topK.map { "P@\($0)" }
            weekHeaders += [
                "R@\(settings.topK.first ?? 0)", "lift@\(settings.topK.first ?? 0)", "listed", "list precision",
                "log loss", "Brier"
            ]
            md += MarkdownTable(
                headers: weekHeaders,
                rows: result.weeks.map { week in
                    let m = week.metrics
                    return [week.asOf.iso, String(m.rows), String(m.positives), ReportText.number(m.rocAuc)]
                        + [ReportText.number(m.prAuc), ReportText.number(m.averagePrecision)]
                        + m.topK.map { ReportText.percent($0.precision) }
                        + [
                            ReportText.percent(m.topK.first?.recall ?? .undefined),
                            ReportText.number(m.topK.first?.lift ?? .undefined, digits: 2), String(m.listed),
                            ReportText.percent(m.listPrecision), ReportText.number(m.logLoss),
                            ReportText.number(m.brier)
                        ]
                }
            ).render()
            md += "\n"
        }

        for findings in report.findings where findings.headers.count > 0 {
            md += "## \(ReportText.literal(findings.title))\n\n"
            md += "From \(ReportText.literal(findings.model))'s fit of the last fold.\n\n"
            md +=
                MarkdownTable(
                    headers: findings.headers, rows: findings.rows.filter { $0.count == findings.headers.count }
                ).render() + "\n"
        }
        if !report.timing.isEmpty {
            md += "## When the next order comes\n\n"
            md +=
                "For the models that predict timing: Harrell's concordance index (C) of their expected days to the next order "
            md +=
                "against the days it took (an order not yet seen by the end of the data is censored there), and of their "
            md +=
                "P(order within H) alone; 0.5 is a random ranking, 1 a perfect one. Then P(order within d days), mean "
            md +=
                "predicted against observed, over the rows followed for at least d days (the data ends before that for later folds).\n\n"
            md +=
                MarkdownTable(
                    headers: ["model", "rows", "orders seen", "C (expected days)", "C (P within H)"],
                    rows: report.timing.map {
                        [
                            ReportText.literal($0.model), String($0.rows), String($0.observedOrders),
                            ReportText.number($0.concordanceExpectedDays),
                            ReportText.number($0.concordanceScore)
                        ]
                    }
                ).render() + "\n"
            let days = Array(Set(report.timing.flatMap { $0.cumulative.map(\.days) })).sorted()
            md += MarkdownTable(
                headers: ["within days"]
                    + report.timing.flatMap { ["\(ReportText.literal($0.model)) predicted", "observed", "rows"] },
                rows: days.map { d in
                    ["\(d)"]
                        + report.timing.flatMap { timing -> [String] in
                            guard let point = timing.cumulative.first(where: { $0.days == d }) else {
                                return ["—", "—", "—"]
                            }
                            return [
                                ReportText.percent(point.meanPredicted), ReportText.percent(point.observedRate),
                                String(point.rows)
                            ]
                        }
                }
            ).render()
            md += "\n![P(order within d days): predicted (dashed) and observed](timing.svg)\n\n"
        }
        if !report.orderCounts.isEmpty {
            md += "## How many orders\n\n"
            md +=
                "For the models that predict a count: the expected number of days with an order in [t, t + H) against the "
            md +=
                "number observed, per candidate. Mean Poisson deviance is the proper score of a predicted count (lower is better; "
            md +=
                "0 is perfect); repeat buyers are candidates with two or more order days in the window, and the ROC-AUC says "
            md +=
                "how well the expected count finds them. Then the calibration: candidates in equal groups by predicted count, "
            md += "the mean predicted against the mean observed, which a calibrated model keeps equal.\n\n"
            md +=
                MarkdownTable(
                    headers: [
                        "model", "rows", "repeat buyers", "mean predicted", "mean observed", "MAE", "RMSE",
                        "Poisson deviance", "ROC-AUC (repeat)"
                    ],
                    rows: report.orderCounts.map {
                        [
                            ReportText.literal($0.model), String($0.rows), String($0.repeatRows),
                            ReportText.number($0.meanPredicted),
                            ReportText.number($0.meanObserved), ReportText.number($0.meanAbsoluteError),
                            ReportText.number($0.rootMeanSquaredError),
                            ReportText.number($0.meanPoissonDeviance), ReportText.number($0.repeatRocAuc)
                        ]
                    }
                ).render() + "\n"
            let groups = report.orderCounts.map(\.calibration.count).max() ?? 0
            md += MarkdownTable(
                headers: ["group"]
                    + report.orderCounts.flatMap { ["\(ReportText.literal($0.model)) predicted", "observed", "rows"] },
                rows: (0..<groups).map { g in
                    ["\(g + 1)"]
                        + report.orderCounts.flatMap { counts -> [String] in
                            guard g < counts.calibration.count else { return ["—", "—", "—"] }
                            let bin = counts.calibration[g]
                            return [
                                ReportText.number(.defined(bin.meanPredicted)),
                                ReportText.number(.defined(bin.meanObserved)), String(bin.rows)
                            ]
                        }
                }
            ).render()
            md += "\n![Expected against observed order days, by group of predicted count](counts.svg)\n\n"
        }
        md += "## Calibration\n\n"
        for result in results {
            md += "### \(ReportText.literal(result.model))\n\n"
            guard let diagram = result.overall.reliability else {
                md += "No rows: no reliability diagram.\n\n"
                continue
            }
            md += MarkdownTable(
                headers: ["bin", "rows", "mean predicted", "observed rate"],
                rows: diagram.bins.map {
                    [
                        String(format: $0.index == 0 ? "[%.2f, %.2f]" : "(%.2f, %.2f]", $0.lowerEdge, $0.upperEdge),
                        String($0.count),
                        ReportText.number($0.meanPredicted), ReportText.number($0.observedRate)
                    ]
                }
            ).render()
            md += "\nECE \(ReportText.number(result.overall.expectedCalibrationError)).\n\n"
        }
        md += "![reliability diagram](reliability.svg)\n"
        if !report.calibration.isEmpty {
            md += "\n## Calibration before and after\n\n"
            md +=
                "Each fold's model is calibrated on its own validation split (the latest as-of dates before the fold); "
            md += "the table judges the raw and the calibrated probabilities on the same evaluated rows. "
            md +=
                "Calibration changes probabilities, not the ranking (Platt keeps the order; isotonic may tie scores).\n\n"
            md += MarkdownTable(
                headers: [
                    "model", "method", "rows", "observed rate", "mean p before", "mean p after", "ECE before",
                    "ECE after",
                    "Brier before", "Brier after"
                ],
                rows: report.calibration.map {
                    [
                        ReportText.literal($0.model), $0.method, String($0.rows), ReportText.number($0.observedRate),
                        ReportText.number($0.before.meanPredicted),
                        ReportText.number($0.after.meanPredicted),
                        ReportText.number($0.before.expectedCalibrationError),
                        ReportText.number($0.after.expectedCalibrationError), ReportText.number($0.before.brier),
                        ReportText.number($0.after.brier)
                    ]
                }
            ).render()
            md += "\n![reliability before (dashed) and after calibration](calibration.svg)\n"
        }
        md += "\n## Definitions\n\n"
        md +=
            "Label: the customer ordered (a visit whose result was an order) in [as-of, as-of + \(settings.horizonDays) days). "
        md += "List: \(settings.listDescription)\(settings.listRule == nil ? " by `rank_in_rep`" : "")."
        md += " \(comparison.definition) Lift = list precision / \(comparison.columnName) − 1. "
        md += "\(ReportText.undefined) = undefined (nothing to measure), never 0. Definitions: Docs/Evaluation.md.\n\n"

        md += "## Inputs\n\n"
        md += MarkdownTable(
            headers: ["role", "path", "bytes", "sha256"], alignments: [.left, .left, .right, .left],
            rows: report.inputs.map { [$0.role, ReportText.literal($0.path), String($0.bytes), "`\($0.sha256)`"] }
        ).render()
        md += "\n## Rows\n\n"
        let c = report.counts
        var countRows: [[String]] = [
            ["score rows", String(c.scoreRows)],
            ["evaluated (complete label window)", String(c.evaluatedRows)],
            ["excluded: window runs past the data", String(c.excludedIncompleteWindow)],
            ["excluded: scored inside the model's training period", String(c.excludedInSample)],
            ["as-of dates (complete / all)", "\(c.completeAsOfDates) / \(c.asOfDates)"],
            ["last day of data", c.dataEnd.map { $0.advanced(by: -1).iso } ?? ReportText.undefined],
            ["evaluated rows with customers unknown to the dataset", String(c.unknownCustomers)]
        ]
        if let missing = c.missingGroundTruth {
            countRows.append(["evaluated pairs without ground truth", String(missing)])
        }
        md += MarkdownTable(headers: ["", "count"], rows: countRows).render()
        if !report.notes.isEmpty { md += "\n" + report.notes.map { "- \(ReportText.literal($0))\n" }.joined() }

        return md
    }
}

extension ReportMarkdown {
    /// One paragraph that answers the question the report is read for: does the best model's
    /// list beat the reps and a random list of the same candidates, by how much, and is that
    /// more than noise (its bootstrap interval).
    static func verdict(_ report: EvaluationReport) -> String {
        let comparison = report.settings.comparison
        let defined = report.models.filter {
            if case .defined = $0.averages.listPrecision { return true } else { return false }
        }
        func value(_ m: MetricValue) -> Double { if case .defined(let v) = m { return v } else { return -.infinity } }
        guard let best = defined.max(by: { value($0.averages.listPrecision) < value($1.averages.listPrecision) }) else {
            return
                "No week has a complete outcome window yet, so no list can be judged: rerun when \(report.settings.horizonDays) days "
                + "have passed after the first as-of date.\n"
        }
        let a = best.averages, weeks = a.weeks
        var text =
            "Over \(weeks) week\(weeks == 1 ? "" : "s"), \(ReportText.literal(best.model))'s lists (\(report.settings.listDescription)) "
            + "converted \(ReportText.percent(a.listPrecision)) of the time"
        if comparison == .reps {
            text +=
                ", against \(ReportText.percent(a.repsRate)) for the reps' own visits (\(ReportText.signedPercent(a.liftOfAverages))) "
                + "and \(ReportText.percent(a.randomRate)) for a random list of the same candidates (\(ReportText.signedPercent(a.liftOverRandom)))."
        } else {
            text +=
                ", against \(ReportText.percent(a.repsRate)) for a random list of the same candidates (\(ReportText.signedPercent(a.liftOfAverages)))."
        }
        let interval = best.overall.liftOverRandomInterval
        text += " Pooled over the weeks, the lift over a random list is \(ReportText.signedInterval(interval))"
        if case .defined(let lower) = interval.lower {
            text +=
                lower > 0
                ? ": the model's choice adds more than chance would."
                : ": the interval includes no gain, so these weeks cannot tell the model from chance; more weeks or more candidates would."
        } else {
            text += "."
        }
        let others = report.models.filter { $0.model != best.model }
        if !others.isEmpty {
            text +=
                " The others: "
                + others.map { "\(ReportText.literal($0.model)) \(ReportText.percent($0.averages.listPrecision))" }
                .joined(separator: ", ") + "."
        }
        if let ceiling = report.ceiling {
            let what =
                ceiling.model == Audit.visitCeilingName
                ? "the simulator's true probability that a visit ends in an order, from the hidden needs no visit log shows"
                : "the simulator's true order probabilities, which no visit log shows whole"
            text += " The ceiling (\(what)) reached \(ReportText.percent(ceiling.averages.listPrecision))."
        }
        return text + "\n"
    }

    /// Each rep's list precision beside the rep's own rate, largest gain first.
    static func repSection(_ perRep: PerRepResults) -> String {
        var md = "\n## Per rep\n\n"
        md +=
            "\(ReportText.literal(perRep.model))'s list for each rep, pooled over the evaluated weeks, beside the share of the rep's own "
        md +=
            "visits in those weeks that produced an order. Largest gain first: the reps the list helps most come first, and a rep "
        md += "whose own visits convert as well as the list is one whose judgement the list should not override.\n\n"
        md += MarkdownTable(
            headers: ["rep", "weeks", "listed", "ordered", "list precision", "own visits", "own rate", "lift"],
            rows: perRep.reps.map {
                [
                    ReportText.literal($0.rep), String($0.weeks), String($0.listed), String($0.listedOrdered),
                    ReportText.percent($0.listPrecision),
                    String($0.visits), ReportText.percent($0.repRate), ReportText.signedPercent($0.lift)
                ]
            }
        ).render()
        return md
    }

    /// The top of each rep's latest list with its reasons and outcome, and the history strips.
    static func listSection(_ preview: ListPreview, horizonDays: Int) -> String {
        var md = "\n## Who to call, and why: the latest list (\(preview.asOf.iso))\n\n"
        let shown = Set(preview.lines.map(\.rep)).count
        md +=
            "\(ReportText.literal(preview.model))'s first \(ListPreview.linesPerRep) lines for \(shown == preview.reps ? "each" : "\(shown) of the \(preview.reps)") "
        md +=
            "rep\(preview.reps == 1 ? "" : "s") (the scores file holds every line). \"Why\": the facts of the customer's history that raised "
        md +=
            "its score most (Docs/Features.md, \"Reasons\"); \"ordered\": whether it ordered within \(horizonDays) days (— while the window is open).\n\n"
        md += MarkdownTable(
            headers: ["rep", "#", "customer", "P(order)", "why", "ordered"],
            alignments: [.left, .right, .left, .right, .left, .left],
            rows: preview.lines.map { line in
                [
                    ReportText.literal(line.rep.isEmpty ? "—" : line.rep), String(line.rankInRep),
                    ReportText.literal(line.customer),
                    String(format: "%.1f%%", line.probability * 100),
                    line.reasons.isEmpty ? "—" : line.reasons.map(ReportText.literal).joined(separator: "; "),
                    line.ordered.map { $0 ? "yes" : "no" } ?? "—"
                ]
            }
        ).render()
        md += "\n![visits and orders before the as-of date, per listed customer](list_history.svg)\n\n"
        return md
    }
}

/// Writes a report directory: `report.json`, `report.md` and the SVG charts (and any extra
/// files, such as a backtest's `scores.csv`), as one commit: the files go into a temporary
/// directory beside the target and ``AtomicDirectory`` swaps it in, so a full disk or a kill
/// leaves the old report whole, never a mix of old and new files. A second writer of the same
/// directory waits for the first (``FileLock``).
public enum ReportWriter {
    /// The files written, in order; `calibration.svg` comes after `report.md` when the report
    /// compares calibrations.
    public static let files = [
        "report.md", "weekly_precision.svg", "roc.svg", "pr.svg", "reliability.svg", "report.json"
    ]

    /// Whether a directory's entries are a report's own (the only directory a report replaces).
    static func isReportDirectory(_ entries: [String]) -> Bool {
        entries.contains("report.json")
            || entries.allSatisfy {
                files.contains($0) || $0 == "calibration.svg" || $0 == "timing.svg" || $0 == "counts.svg"
                    || $0 == "list_history.svg" || $0 == "scores.csv"
            }
    }

    /// Writes every file of `report`, and `extra` (name, bytes) beside them, as `directory`;
    /// returns their paths.
    ///
    /// - Throws: `AtomicWriteError` or `FileLockError` naming the path; the old directory is
    ///   unchanged when it throws.
    @discardableResult
    public static func write(
        _ report: EvaluationReport, to directory: String, extra: [(name: String, bytes: [UInt8])] = [],
        waiting: (String) -> Void = { _ in }
    ) throws -> [String] {
        var contents: [(String, [UInt8])] = [("report.md", Array(ReportMarkdown.render(report).utf8))]
        if !report.calibration.isEmpty {
            contents.append(("calibration.svg", Array(ReportCharts.calibration(report.calibration).render().utf8)))
        }
        if !report.timing.isEmpty {
            contents.append(("timing.svg", Array(ReportCharts.timing(report.timing).render().utf8)))
        }
        if !report.orderCounts.isEmpty {
            contents.append(("counts.svg", Array(ReportCharts.orderCounts(report.orderCounts).render().utf8)))
        }
        if let preview = report.listPreview, !preview.lines.isEmpty {
            contents.append(("list_history.svg", Array(preview.historyChart().utf8)))
        }
        for chart in ReportCharts.all(
            report.allResults, comparison: report.settings.comparison,
            listLabel: report.settings.listRule ?? "top \(report.settings.topPerRep) per rep")
        {
            contents.append((chart.file, Array(chart.svg.utf8)))
        }
        contents.append(("report.json", try report.jsonBytes()))
        contents += extra.map { ($0.name, $0.bytes) }
        let lock = try FileLock.exclusive(for: directory, wait: true, waiting: waiting)
        defer { withExtendedLifetime(lock) {} }
        AtomicDirectory.recoverLeftovers(of: directory)
        try AtomicDirectory.write(to: directory, replacing: isReportDirectory) { temporary in
            for (name, bytes) in contents {
                try AtomicFile.write(Data(bytes), to: (temporary as NSString).appendingPathComponent(name))
            }
        }
        return contents.map { (directory as NSString).appendingPathComponent($0.0) }
    }
}
