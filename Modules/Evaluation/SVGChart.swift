import Metrics
import Foundation

/// One line of a chart: a name for the legend and its points in data coordinates. Points with a
/// nil `y` (an undefined value) are skipped: the line joins the defined neighbours.
public struct ChartSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double?)]
    /// Draw dashed (a reference such as the reps or the ceiling).
    public var dashed: Bool

    public init(name: String, points: [(x: Double, y: Double?)], dashed: Bool = false) {
        self.name = name
        self.points = points
        self.dashed = dashed
    }
}

/// A line chart written as SVG by hand (no dependency): axes with ticks, one `<polyline>` per
/// series, a legend, an optional dotted y = x diagonal (ROC, reliability). Numbers are printed
/// with two decimals, so the same data always gives the same bytes.
public struct LineChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xRange: ClosedRange<Double>
    public var yRange: ClosedRange<Double>
    /// Tick positions and labels on each axis.
    public var xTicks: [Tick]
    public var yTicks: [Tick]
    public var series: [ChartSeries]
    /// Draw the diagonal y = x (a random ROC, perfect calibration).
    public var diagonal: Bool

    public struct Tick: Sendable, Hashable {
        public var value: Double
        public var label: String
        public init(_ value: Double, _ label: String) {
            self.value = value
            self.label = label
        }
    }

    public init(
        title: String, xLabel: String, yLabel: String, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
        xTicks: [Tick], yTicks: [Tick], series: [ChartSeries], diagonal: Bool = false
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xRange = xRange
        self.yRange = yRange
        self.xTicks = xTicks
        self.yTicks = yTicks
        self.series = series
        self.diagonal = diagonal
    }

    /// Ticks at 0, 0.2, …, 1 labelled with one decimal (or as percentages).
    public static func unitTicks(percent: Bool = false) -> [Tick] {
        (0...5).map { i in
            let v = Double(i) / 5
            return Tick(v, percent ? "\(i * 20)%" : String(format: "%.1f", v))
        }
    }

    /// A colour-blind-safe palette (Okabe–Ito), cycled.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    static let width = 720.0, height = 440.0
    static let left = 70.0, right = 190.0, top = 40.0, bottom = 60.0

    /// The SVG document.
    public func render() -> String {
        let plotWidth = Self.width - Self.left - Self.right
        let plotHeight = Self.height - Self.top - Self.bottom
        let xSpan = xRange.upperBound - xRange.lowerBound
        let ySpan = yRange.upperBound - yRange.lowerBound
        func px(_ x: Double) -> Double { Self.left + (xSpan == 0 ? 0.5 : (x - xRange.lowerBound) / xSpan) * plotWidth }
        func py(_ y: Double) -> Double {
            Self.top + plotHeight - (ySpan == 0 ? 0.5 : (y - yRange.lowerBound) / ySpan) * plotHeight
        }
        func f(_ v: Double) -> String { String(format: "%.2f", v) }

        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(Self.width))" height="\(f(Self.height))" \
            viewBox="0 0 \(f(Self.width)) \(f(Self.height))" font-family="sans-serif" font-size="12">

            """
        svg += "<title>\(Self.escape(title))</title>\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(f(Self.width))\" height=\"\(f(Self.height))\" fill=\"white\"/>\n"
        svg +=
            "<text x=\"\(f(Self.left))\" y=\"24\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        // Frame, grid and ticks.
        svg += "<g stroke=\"#cccccc\" stroke-width=\"1\">\n"
        for tick in xTicks where xRange.contains(tick.value) {
            svg +=
                "<line x1=\"\(f(px(tick.value)))\" y1=\"\(f(Self.top))\" x2=\"\(f(px(tick.value)))\" y2=\"\(f(Self.top + plotHeight))\"/>\n"
        }
        for tick in yTicks where yRange.contains(tick.value) {
            svg +=
                "<line x1=\"\(f(Self.left))\" y1=\"\(f(py(tick.value)))\" x2=\"\(f(Self.left + plotWidth))\" y2=\"\(f(py(tick.value)))\"/>\n"
        }
        svg += "</g>\n"
        svg +=
            "<rect x=\"\(f(Self.left))\" y=\"\(f(Self.top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333333\"/>\n"
        svg += "<g fill=\"#333333\">\n"
        for tick in xTicks where xRange.contains(tick.value) {
            svg +=
                "<text x=\"\(f(px(tick.value)))\" y=\"\(f(Self.top + plotHeight + 16))\" text-anchor=\"middle\">\(Self.escape(tick.label))</text>\n"
        }
        for tick in yTicks where yRange.contains(tick.value) {
            svg +=
                "<text x=\"\(f(Self.left - 6))\" y=\"\(f(py(tick.value) + 4))\" text-anchor=\"end\">\(Self.escape(tick.label))</text>\n"
        }
        svg +=
            "<text x=\"\(f(Self.left + plotWidth / 2))\" y=\"\(f(Self.height - 16))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        svg +=
            "<text x=\"18\" y=\"\(f(Self.top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(f(Self.top + plotHeight / 2)))\">\(Self.escape(yLabel))</text>\n"
        svg += "</g>\n"
        if diagonal {
            let low = max(xRange.lowerBound, yRange.lowerBound), high = min(xRange.upperBound, yRange.upperBound)
            svg +=
                "<line x1=\"\(f(px(low)))\" y1=\"\(f(py(low)))\" x2=\"\(f(px(high)))\" y2=\"\(f(py(high)))\" stroke=\"#999999\" stroke-dasharray=\"2 3\"/>\n"
        }
        // One polyline per series, then the legend. Past the palette's eight colours a colour
        // comes back dotted, so that no two series look alike (a backtest of every contender
        // and the ceiling draws eleven).
        func dash(_ index: Int, _ line: ChartSeries) -> String {
            if line.dashed { return " stroke-dasharray=\"6 4\"" }
            return index >= Self.palette.count ? " stroke-dasharray=\"1.5 3\" stroke-linecap=\"round\"" : ""
        }
        for (index, line) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let points = line.points.compactMap { point in point.y.map { "\(f(px(point.x))),\(f(py($0)))" } }
            let dash = dash(index, line)
            svg +=
                "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash) points=\"\(points.joined(separator: " "))\">"
            svg += "<title>\(Self.escape(line.name))</title></polyline>\n"
            // A point with no defined neighbour draws no line (a one-week report, a week
            // between two undefined ones): mark it, or the chart looks empty.
            for (i, point) in line.points.enumerated() {
                guard let y = point.y else { continue }
                let before = i > 0 ? line.points[i - 1].y : nil,
                    after = i + 1 < line.points.count ? line.points[i + 1].y : nil
                guard before == nil && after == nil else { continue }
                svg +=
                    "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(y)))\" r=\"4\" fill=\"\(colour)\"><title>\(Self.escape(line.name))</title></circle>\n"
            }
        }
        for (index, line) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let y = Self.top + 10 + Double(index) * 20
            let x = Self.left + plotWidth + 14
            let dash = dash(index, line)
            svg +=
                "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 24))\" y2=\"\(f(y))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
            svg += "<text x=\"\(f(x + 30))\" y=\"\(f(y + 4))\">\(Self.escape(line.name))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// XML-escapes text content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// The report's standard charts from any list of ``ModelResult``s (an audit's or a backtest's).
public enum ReportCharts {
    /// The study's Figure 6: weekly list precision of each model, and the reps' own success rate
    /// (dashed), by week. x is the week's index; ticks show dates.
    public static func weeklyPrecision(_ models: [ModelResult], topPerRep: Int) -> LineChart {
        weeklyPrecision(models, listLabel: "top \(topPerRep) per rep")
    }

    /// The same chart with the list named by `listLabel` ("top 3 per rep", "top 20%").
    public static func weeklyPrecision(
        _ models: [ModelResult], comparison: ComparisonBaseline = .reps, listLabel: String
    ) -> LineChart {
        let weeks = Set(models.flatMap { $0.weeks.map(\.asOf) }).sorted()
        let position = Dictionary(uniqueKeysWithValues: weeks.enumerated().map { ($1, Double($0)) })
        var series = models.map { model in
            ChartSeries(
                name: model.model,
                points: model.weeks.map { (x: position[$0.asOf]!, y: $0.metrics.listPrecision.value) })
        }
        var repsByWeek: [Double: Double?] = [:]
        for model in models {
            for week in model.weeks where week.reps != nil { repsByWeek[position[week.asOf]!] = week.repsRate.value }
        }
        series.append(
            ChartSeries(
                name: comparison == .reps ? "reps" : "random list",
                points: repsByWeek.keys.sorted().map { (x: $0, y: repsByWeek[$0]!) }, dashed: true))
        if comparison == .reps, let first = models.first {
            // The random list of the same candidates (the first model's; a backtest's models share them).
            series.append(
                ChartSeries(
                    name: "random list", points: first.weeks.map { (x: position[$0.asOf]!, y: $0.randomRate.value) },
                    dashed: true))
        }
        let highest = series.flatMap { $0.points.compactMap(\.y) }.max() ?? 0
        let top = max(0.05, (highest * 10).rounded(.up) / 10)
        let yTicks = (0...4).map { i -> LineChart.Tick in
            let v = top * Double(i) / 4
            return LineChart.Tick(v, String(format: "%.1f%%", v * 100))
        }
        // At most five date labels: a 10-character date needs about a sixth of the plot width.
        let step = max(1, (weeks.count + 4) / 5)
        let xTicks = stride(from: 0, to: weeks.count, by: step).map { LineChart.Tick(Double($0), weeks[$0].iso) }
        return LineChart(
            title: comparison == .reps
                ? "List precision (\(listLabel)) vs the reps and a random list"
                : "List precision (\(listLabel)) vs a random list (base rate)", xLabel: "week (as-of date)",
            yLabel: "share ordered", xRange: 0...Double(max(weeks.count - 1, 1)), yRange: 0...top, xTicks: xTicks,
            yTicks: yTicks, series: series)
    }

    /// ROC curves, one per model (models without a curve draw an empty line).
    public static func roc(_ models: [ModelResult]) -> LineChart {
        LineChart(
            title: "ROC curve", xLabel: "false-positive rate", yLabel: "true-positive rate", xRange: 0...1,
            yRange: 0...1,
            xTicks: LineChart.unitTicks(), yTicks: LineChart.unitTicks(),
            series: models.map { curve($0.model, $0.overall.rocCurve) }, diagonal: true)
    }

    /// Precision–recall curves, one per model.
    public static func precisionRecall(_ models: [ModelResult]) -> LineChart {
        LineChart(
            title: "Precision–recall curve", xLabel: "recall", yLabel: "precision", xRange: 0...1, yRange: 0...1,
            xTicks: LineChart.unitTicks(), yTicks: LineChart.unitTicks(),
            series: models.map { curve($0.model, $0.overall.precisionRecallCurve) })
    }

    /// Reliability diagram: observed order rate against mean predicted probability per non-empty bin.
    public static func reliability(_ models: [ModelResult]) -> LineChart {
        LineChart(
            title: "Reliability (calibration)", xLabel: "mean predicted probability", yLabel: "observed order rate",
            xRange: 0...1, yRange: 0...1, xTicks: LineChart.unitTicks(), yTicks: LineChart.unitTicks(),
            series: models.map { model in
                let bins = model.overall.reliability?.nonEmptyBins ?? []
                return ChartSeries(
                    name: model.model,
                    points: bins.compactMap { bin in bin.meanPredicted.value.map { (x: $0, y: bin.observedRate.value) }
                    })
            }, diagonal: true)
    }

    /// Reliability before (dashed) and after calibration, one pair of lines per model.
    public static func calibration(_ comparisons: [CalibrationComparison]) -> LineChart {
        func points(_ diagram: ReliabilityDiagram?) -> [(x: Double, y: Double?)] {
            (diagram?.nonEmptyBins ?? []).compactMap { bin in
                bin.meanPredicted.value.map { (x: $0, y: bin.observedRate.value) }
            }
        }
        return LineChart(
            title: "Reliability before (dashed) and after calibration", xLabel: "mean predicted probability",
            yLabel: "observed order rate", xRange: 0...1, yRange: 0...1, xTicks: LineChart.unitTicks(),
            yTicks: LineChart.unitTicks(),
            series: comparisons.flatMap { c in
                [
                    ChartSeries(name: "\(c.model) raw", points: points(c.before.reliability), dashed: true),
                    ChartSeries(name: "\(c.model) \(c.method)", points: points(c.after.reliability))
                ]
            }, diagonal: true)
    }

    /// P(order within d days) against d: each timing model's mean prediction (dashed, named by
    /// the model) and the observed share (solid; drawn once when every model was judged on the
    /// same rows, as in a backtest), from 0 at d = 0. The y axis stops a little above the
    /// highest value, so that curves of a few per cent are not flattened against the floor.
    public static func timing(_ evaluations: [TimingEvaluation]) -> LineChart {
        // The x axis ends at the last day count any row was followed for (later ones have nothing to draw).
        let judged = evaluations.flatMap { $0.cumulative.filter { $0.rows > 0 }.map(\.days) }
        let maximum = Double(judged.max() ?? evaluations.flatMap { $0.cumulative.map(\.days) }.max() ?? 28)
        let step = maximum <= 35 ? 7.0 : maximum <= 120 ? 14.0 : 28.0
        let ticks = stride(from: 0.0, through: maximum, by: step).map { LineChart.Tick($0, String(Int($0))) }
        func predicted(_ e: TimingEvaluation) -> [(x: Double, y: Double?)] {
            [(x: 0, y: 0)] + e.cumulative.map { (x: Double($0.days), y: $0.meanPredicted.value) }
        }
        func observed(_ e: TimingEvaluation) -> [(x: Double, y: Double?)] {
            [(x: 0, y: 0)] + e.cumulative.map { (x: Double($0.days), y: $0.observedRate.value) }
        }
        let observedCurves = evaluations.map { $0.cumulative.map(\.observedRate) }
        let shared = Set(observedCurves).count <= 1
        var series = evaluations.map { ChartSeries(name: $0.model, points: predicted($0), dashed: true) }
        series +=
            shared
            ? evaluations.prefix(1).map { ChartSeries(name: "observed", points: observed($0)) }
            : evaluations.map { ChartSeries(name: "\($0.model) observed", points: observed($0)) }
        let highest = series.flatMap { $0.points.compactMap(\.y) }.max() ?? 1
        let top = min(1, max(0.1, ((highest * 1.15) * 10).rounded(.up) / 10))
        let yStep = top <= 0.3 ? 0.05 : top <= 0.6 ? 0.1 : 0.2
        let yTicks = stride(from: 0.0, through: top + 1e-9, by: yStep).map {
            LineChart.Tick($0, String(format: "%.0f%%", $0 * 100))
        }
        return LineChart(
            title: "When the next order comes: P(order within d days)", xLabel: "days after the as-of date",
            yLabel: "P(order within d days)",
            xRange: 0...maximum, yRange: 0...top, xTicks: ticks, yTicks: yTicks, series: series)
    }

    /// Count calibration: per model, each group's mean observed order days against its mean
    /// predicted, with the diagonal a calibrated model lies on; both axes run from 0 to a little
    /// above the largest mean.
    public static func orderCounts(_ evaluations: [CountEvaluation]) -> LineChart {
        let highest =
            evaluations.flatMap { $0.calibration.flatMap { [$0.meanPredicted, $0.meanObserved] } }.filter(\.isFinite)
            .max() ?? 1
        let top = max(0.1, niceCeiling(highest * 1.1))
        let step = top / 5
        let ticks = stride(from: 0.0, through: top + step * 1e-6, by: step).map {
            LineChart.Tick($0, String(format: top < 1 ? "%.2f" : "%.1f", $0))
        }
        return LineChart(
            title: "How many orders: expected against observed", xLabel: "mean expected order days in [t, t + H)",
            yLabel: "mean observed order days", xRange: 0...top, yRange: 0...top, xTicks: ticks, yTicks: ticks,
            series: evaluations.map { e in
                ChartSeries(
                    name: e.model, points: e.calibration.map { (x: $0.meanPredicted, y: Optional($0.meanObserved)) })
            }, diagonal: true)
    }

    /// The smallest of 1, 2 or 5 times a power of ten that is ≥ `value` (> 0).
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let power = pow(10, (log10(value)).rounded(.down))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= value - 1e-12 }!
    }

    private static func curve(_ name: String, _ points: CurvePoints?) -> ChartSeries {
        ChartSeries(name: name, points: points.map { p in zip(p.x, p.y).map { (x: $0, y: Optional($1)) } } ?? [])
    }

    /// The four charts by file name: `weekly_precision.svg`, `roc.svg`, `pr.svg`, `reliability.svg`.
    public static func all(_ models: [ModelResult], topPerRep: Int) -> [(file: String, svg: String)] {
        all(models, listLabel: "top \(topPerRep) per rep")
    }

    /// The four charts, the list named by `listLabel`.
    public static func all(_ models: [ModelResult], comparison: ComparisonBaseline = .reps, listLabel: String) -> [(
        file: String, svg: String
    )] {
        [
            ("weekly_precision.svg", weeklyPrecision(models, comparison: comparison, listLabel: listLabel).render()),
            ("roc.svg", roc(models).render()),
            ("pr.svg", precisionRecall(models).render()),
            ("reliability.svg", reliability(models).render())
        ]
    }
}
