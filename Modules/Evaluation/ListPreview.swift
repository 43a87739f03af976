import Dataset
import Foundation

/// The top of each rep's latest list, as a sales manager reads it: who, how likely, why (the
/// scores file's `reason_1…3`), whether they ordered (once the window has closed), and each
/// customer's recent history as a strip of visits and orders (`list_history.svg`).
///
/// The latest as-of date of the first model in the scores (the scorer's one model; a
/// backtest's first contender), each rep's first ``linesPerRep`` lines, at most ``maximumReps``
/// reps (the first by rep id): a preview, not the list (the scores file is the list).
public struct ListPreview: Sendable, Codable, Hashable {
    public var model: String
    public var asOf: Day
    /// Days of history each strip shows before the as-of date.
    public var historyDays: Int
    public var lines: [Line]
    /// Reps with a list on that date, shown or not.
    public var reps: Int

    public static let linesPerRep = 3
    public static let maximumReps = 12
    public static let historyDays = 182

    public struct Line: Sendable, Codable, Hashable {
        public var rep: String
        public var rankInRep: Int
        public var customer: String
        public var probability: Double
        public var reasons: [String]
        /// Whether the customer ordered in [t, t + H); nil while the window is open.
        public var ordered: Bool?
        /// Days before t of the customer's visits and orders within ``ListPreview/historyDays``.
        public var visitDaysBefore: [Int]
        public var orderDaysBefore: [Int]
    }

    /// The preview of `scores` (nil when there are none).
    public static func make(_ scores: [ScoreRow], outcomes: Outcomes) -> ListPreview? {
        guard let model = scores.first?.modelID else { return nil }
        let mine = scores.filter { $0.modelID == model }
        guard let asOf = mine.map(\.asOf).max() else { return nil }
        let latest = mine.filter { $0.asOf == asOf }
        let byRep = Dictionary(grouping: latest, by: \.repID)
        let from = asOf.advanced(by: -historyDays)
        var lines: [Line] = []
        for rep in byRep.keys.sorted().prefix(maximumReps) {
            for row in byRep[rep]!.sorted(by: { $0.rankInRep < $1.rankInRep }).prefix(linesPerRep) {
                let history = outcomes.history(customer: row.customerID, from: from, to: asOf)
                lines.append(
                    Line(
                        rep: rep, rankInRep: row.rankInRep, customer: row.customerID, probability: row.probability,
                        reasons: row.reasons,
                        ordered: outcomes.label(customer: row.customerID, asOf: asOf),
                        visitDaysBefore: history.visits.map { Int(asOf.ordinal - $0.ordinal) },
                        orderDaysBefore: history.orders.map { Int(asOf.ordinal - $0.ordinal) }))
            }
        }
        return ListPreview(model: model, asOf: asOf, historyDays: historyDays, lines: lines, reps: byRep.count)
    }

    /// The history strips: one row per line, the last ``historyDays`` days to the as-of date
    /// (right edge), a grey tick per visit and a taller blue one per order, with month marks.
    public func historyChart() -> String {
        let rowHeight = 26.0, labelWidth = 200.0, plotWidth = 480.0, top = 46.0, right = 20.0
        let width = labelWidth + plotWidth + right, height = top + Double(max(lines.count, 1)) * rowHeight + 34
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        func x(_ daysBefore: Int) -> Double { labelWidth + plotWidth * (1 - Double(daysBefore) / Double(historyDays)) }
        let title = "Visits and orders in the \(historyDays) days before \(asOf.iso)"
        let subtitle =
            "top of each rep's list (\(String(model.prefix(40)))) · grey: a visit · blue: a visit with an order"
        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" \
            font-family="sans-serif" font-size="12">
            <title>\(LineChart.escape(title))</title>
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="20" font-size="14" font-weight="bold">\(LineChart.escape(title))</text>
            <text x="10" y="36" fill="#555">\(LineChart.escape(subtitle))</text>

            """
        for (i, line) in lines.enumerated() {
            let y = top + Double(i) * rowHeight
            let label = "\(line.rep.isEmpty ? "—" : line.rep) #\(line.rankInRep) \(line.customer)"
            svg += "<text x=\"10\" y=\"\(f(y + 16))\">\(LineChart.escape(String(label.prefix(30))))</text>\n"
            svg +=
                "<line x1=\"\(f(labelWidth))\" y1=\"\(f(y + 12))\" x2=\"\(f(labelWidth + plotWidth))\" y2=\"\(f(y + 12))\" stroke=\"#ddd\"/>\n"
            for day in line.visitDaysBefore {
                svg +=
                    "<line x1=\"\(f(x(day)))\" y1=\"\(f(y + 6))\" x2=\"\(f(x(day)))\" y2=\"\(f(y + 18))\" stroke=\"#999\" stroke-width=\"1.5\"/>\n"
            }
            for day in line.orderDaysBefore {
                svg +=
                    "<line x1=\"\(f(x(day)))\" y1=\"\(f(y + 1))\" x2=\"\(f(x(day)))\" y2=\"\(f(y + 23))\" stroke=\"#0072B2\" stroke-width=\"3\"/>\n"
            }
        }
        let axisY = top + Double(lines.count) * rowHeight + 4
        svg +=
            "<line x1=\"\(f(labelWidth))\" y1=\"\(f(axisY))\" x2=\"\(f(labelWidth + plotWidth))\" y2=\"\(f(axisY))\" stroke=\"#333\"/>\n"
        for daysBefore in stride(from: 0, through: historyDays, by: 30) {
            let text = daysBefore == 0 ? "as of" : "−\(daysBefore) d"
            svg +=
                "<line x1=\"\(f(x(daysBefore)))\" y1=\"\(f(axisY))\" x2=\"\(f(x(daysBefore)))\" y2=\"\(f(axisY + 5))\" stroke=\"#333\"/>\n"
            svg +=
                "<text x=\"\(f(x(daysBefore)))\" y=\"\(f(axisY + 18))\" text-anchor=\"\(daysBefore == 0 ? "end" : "middle")\">\(text)</text>\n"
        }
        return svg + "</svg>\n"
    }
}
