import Formats
import Foundation
import Metrics

/// How reports print numbers: fixed digits (so the bytes never depend on the platform's float
/// printing), and "—" for an undefined value, never 0.
public enum ReportText {
    /// The mark of an undefined value in Markdown and on the terminal.
    public static let undefined = "—"

    /// `0.8123` (4 decimals by default), or "—".
    public static func number(_ value: MetricValue, digits: Int = 4) -> String {
        value.value.map { String(format: "%.\(digits)f", $0) } ?? undefined
    }

    /// `16.80%`, or "—".
    public static func percent(_ value: MetricValue, digits: Int = 2) -> String {
        value.value.map { String(format: "%.\(digits)f%%", $0 * 100) } ?? undefined
    }

    /// `+162.5%` / `-12.0%` (a relative change), or "—".
    public static func signedPercent(_ value: MetricValue, digits: Int = 1) -> String {
        value.value.map { String(format: "%+.\(digits)f%%", $0 * 100) } ?? undefined
    }

    /// `0.81 [0.78, 0.84]` (estimate and interval), or "—" parts where undefined.
    public static func interval(_ interval: BootstrapInterval, percent: Bool = false) -> String {
        let format: (MetricValue) -> String = percent ? { ReportText.percent($0) } : { ReportText.number($0) }
        return "\(format(interval.estimate)) [\(format(interval.lower)), \(format(interval.upper))]"
    }

    /// `+63.7% [+21.0%, +110.2%]`: a relative lift and its interval.
    public static func signedInterval(_ interval: BootstrapInterval) -> String {
        "\(signedPercent(interval.estimate)) [\(signedPercent(interval.lower)), \(signedPercent(interval.upper))]"
    }

    /// `text` as literal Markdown: every character Markdown or HTML would read as markup
    /// (`<`, `*`, `_`, `#`, backticks, brackets…; `-`, `+`, `.` and `=` only mark up at the
    /// start of a line, where a value never stands) backslash-escaped, `&` as `&amp;`, and line
    /// breaks and other control characters folded to spaces, so a value from an input file
    /// (a model id, a path) can neither inject HTML nor start a new heading.
    public static func literal(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\", "`", "*", "_", "{", "}", "[", "]", "<", ">", "#", "!", "~":
                out += "\\"
                out.unicodeScalars.append(scalar)
            case "&": out += "&amp;"
            default:
                if Snippet.isControl(scalar) {
                    out += " "
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Escapes `|` and newlines so a value stays inside one Markdown table cell.
    public static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

/// A GitHub-flavoured Markdown table from headers and string cells.
public struct MarkdownTable: Sendable, Hashable {
    public enum Alignment: Sendable, Hashable { case left, right }

    public var headers: [String]
    public var alignments: [Alignment]
    public var rows: [[String]]

    /// A table; `alignments` defaults to the first column left, the others right (numbers).
    public init(headers: [String], alignments: [Alignment]? = nil, rows: [[String]]) {
        precondition(
            alignments == nil || alignments!.count == headers.count,
            "MarkdownTable: \(headers.count) headers, \(alignments!.count) alignments")
        for (index, row) in rows.enumerated() {
            precondition(
                row.count == headers.count,
                "MarkdownTable: row \(index) has \(row.count) cells, \(headers.count) headers")
        }
        self.headers = headers
        self.alignments = alignments ?? headers.indices.map { $0 == 0 ? .left : .right }
        self.rows = rows
    }

    /// The table's lines, each ending in `\n`.
    public func render() -> String {
        func line(_ cells: [String]) -> String { "| " + cells.map(ReportText.cell).joined(separator: " | ") + " |\n" }
        let rule = "|" + alignments.map { $0 == .left ? "---|" : "---:|" }.joined() + "\n"
        return line(headers) + rule + rows.map(line).joined()
    }
}

/// The study's per-week comparison (BRIEF §1): the list precision of each model beside the reps'
/// own success rate in the same week, and the relative lift; rendered as a Markdown table and
/// as the study's one-line form, `2019-06-03 · algorithm 16.80% · reps 6.40% · lift +162.5%`.
///
/// Takes any number of ``ModelResult``s (an audit's models, a backtest's models); weeks are the
/// union of their as-of dates, and a model without a week shows "—".
public enum WeeklyComparison {
    /// One row per week, then the averages: `week | <model> precision | <model> lift | … | reps`.
    public static func table(_ models: [ModelResult], comparison: ComparisonBaseline = .reps) -> MarkdownTable {
        let weeks = Set(models.flatMap { $0.weeks.map(\.asOf) }).sorted()
        // Beside the reps, a random list of the same candidates (their base rate): what a list
        // must beat before its lift over the reps says anything. A transaction log's comparison
        // already is that random list.
        let withRandom = comparison == .reps
        var headers = ["week"]
        for model in models {
            headers += ["\(ReportText.literal(model.model)) list precision", "\(ReportText.literal(model.model)) lift"]
            if withRandom { headers.append("\(ReportText.literal(model.model)) over random") }
        }
        headers +=
            comparison == .reps ? ["reps' rate", "reps' visits", "random list"] : [comparison.columnName, "candidates"]
        var rows: [[String]] = []
        for week in weeks {
            var row = [week.iso]
            var reps: WeekResult? = nil
            var random: WeekResult? = nil
            for model in models {
                let result = model.weeks.first { $0.asOf == week }
                if reps == nil, let result, result.reps != nil { reps = result }
                if random == nil { random = result }
                row += [
                    result.map { ReportText.percent($0.metrics.listPrecision) } ?? ReportText.undefined,
                    result.map { ReportText.signedPercent($0.lift) } ?? ReportText.undefined
                ]
                if withRandom {
                    row.append(result.map { ReportText.signedPercent($0.liftOverRandom) } ?? ReportText.undefined)
                }
            }
            row += [
                reps.map { ReportText.percent($0.repsRate) } ?? ReportText.undefined,
                reps?.reps.map { String($0.visits) } ?? ReportText.undefined
            ]
            if withRandom { row.append(random.map { ReportText.percent($0.randomRate) } ?? ReportText.undefined) }
            rows.append(row)
        }
        var average = ["**average**"]
        for model in models {
            average += [ReportText.percent(model.averages.listPrecision), ReportText.signedPercent(model.averages.lift)]
            if withRandom { average.append(ReportText.signedPercent(model.averages.liftOverRandom)) }
        }
        average += [ReportText.percent(models.first?.averages.repsRate ?? .undefined), ""]
        if withRandom { average.append(ReportText.percent(models.first?.averages.randomRate ?? .undefined)) }
        rows.append(average)
        return MarkdownTable(headers: headers, rows: rows)
    }

    /// The study's lines: one per week and model, then one average line per model.
    /// The `--json` summary of an audit or a backtest: the tool and command, ``json(_:comparison:)``
    /// of the report's models, its notes and where `report.json` is, then `extra` members.
    public static func summary(
        _ report: EvaluationReport, command: String, reportPath: String, extra: [(String, JSONLine)] = []
    ) -> JSONLine {
        .object(
            [
                ("tool", .string("evaluator")), ("command", .string(command)),
                ("models", json(report.allResults, comparison: report.settings.comparison)),
                ("notes", .array(report.notes.map { .string($0) })), ("report", .string(reportPath))
            ] + extra)
    }

    /// `evaluator audit|backtest --json`: what ``lines(_:comparison:)`` prints, as one JSON
    /// object per model (each week's list size, precision, comparison rate, random rate and
    /// lifts, then the averages); rates are fractions, undefined ones `null`.
    public static func json(_ models: [ModelResult], comparison: ComparisonBaseline = .reps) -> JSONLine {
        func value(_ metric: MetricValue) -> JSONLine { .number(metric.value) }
        let rateKey = comparison == .reps ? "reps_rate" : "base_rate"
        return .array(
            models.map { model in
                .object([
                    ("model", .string(model.model)),
                    (
                        "weeks",
                        .array(
                            model.weeks.map { week in
                                .object([
                                    ("as_of", .string(week.asOf.iso)), ("listed", .int(week.metrics.listed)),
                                    ("listed_ordered", .int(week.metrics.listedOrdered)),
                                    ("list_precision", value(week.metrics.listPrecision)),
                                    (rateKey, value(week.repsRate)), ("lift", value(week.lift)),
                                    ("random_rate", value(week.randomRate)),
                                    ("lift_over_random", value(week.liftOverRandom)),
                                    ("roc_auc", value(week.metrics.rocAuc))
                                ])
                            })
                    ),
                    (
                        "average",
                        .object([
                            ("weeks", .int(model.averages.weeks)),
                            ("list_precision", value(model.averages.listPrecision)),
                            (rateKey, value(model.averages.repsRate)), ("lift", value(model.averages.lift)),
                            ("random_rate", value(model.averages.randomRate)),
                            ("lift_over_random", value(model.averages.liftOverRandom))
                        ])
                    )
                ])
            })
    }

    public static func lines(_ models: [ModelResult], comparison: ComparisonBaseline = .reps) -> [String] {
        var lines: [String] = []
        let weeks = Set(models.flatMap { $0.weeks.map(\.asOf) }).sorted()
        for week in weeks {
            for model in models {
                guard let result = model.weeks.first(where: { $0.asOf == week }) else { continue }
                lines.append(
                    "\(week.iso) · \(model.model) \(ReportText.percent(result.metrics.listPrecision)) · \(comparison.shortName) "
                        + "\(ReportText.percent(result.repsRate)) · lift \(ReportText.signedPercent(result.lift))"
                        + (comparison == .reps
                            ? " · random \(ReportText.percent(result.randomRate)) · over random \(ReportText.signedPercent(result.liftOverRandom))"
                            : ""))
            }
        }
        for model in models {
            lines.append(
                "average (\(model.averages.weeks) weeks) · \(model.model) \(ReportText.percent(model.averages.listPrecision)) "
                    + "· \(comparison.shortName) \(ReportText.percent(model.averages.repsRate)) · lift \(ReportText.signedPercent(model.averages.lift))"
                    + (comparison == .reps
                        ? " · random \(ReportText.percent(model.averages.randomRate)) · over random \(ReportText.signedPercent(model.averages.liftOverRandom))"
                        : ""))
        }
        return lines
    }
}
