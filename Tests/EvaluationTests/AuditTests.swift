import Dataset
import Evaluation
import Formats
import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import Metrics
import Tensors
import Testing

@Suite("audit")
struct AuditTests {
    @Test func labelsComeFromTheWindowAndIncompleteWindowsHaveNone() {
        let outcomes = Outcomes(dataset: HandMadeCase.dataset(), horizonDays: 28)
        let labels0 = (1...6).map { outcomes.label(customer: "C\($0)", asOf: HandMadeCase.day(0)) }
        let labels7 = (1...6).map { outcomes.label(customer: "C\($0)", asOf: HandMadeCase.day(7)) }
        #expect(labels0 == [true, true, false, false, true, false])
        #expect(labels7 == [false, true, true, false, true, false])
        #expect(outcomes.end == HandMadeCase.day(35))
        #expect(outcomes.isComplete(asOf: HandMadeCase.day(7)))  // 7 + 28 = 35 ≤ 35
        #expect(!outcomes.isComplete(asOf: HandMadeCase.day(8)))
        #expect(outcomes.label(customer: "C3", asOf: HandMadeCase.day(14)) == nil)
        #expect(outcomes.label(customer: "nobody", asOf: HandMadeCase.day(0)) == false)
        #expect(outcomes.repsWeek(starting: HandMadeCase.day(0)) == RepsWeek(visits: 5, orders: 2))
        #expect(outcomes.repsWeek(starting: HandMadeCase.day(7)) == RepsWeek(visits: 2, orders: 1))
        #expect(outcomes.repsWeek(starting: HandMadeCase.day(29)) == nil)  // [29, 36) runs past day 34
    }

    /// Rows scored inside their model's training period are left out and counted; the label
    /// window comes from the file unless asked, and a different one is refused.
    @Test func inSampleRowsAreExcludedAndTheFilesWindowIsUsed() throws {
        var scores = HandMadeCase.scores()
        // The model was trained on labels up to day 7: the day-0 rows are in-sample.
        for i in scores.indices {
            scores[i].trainUntil = HandMadeCase.day(7)
            scores[i].horizonDays = 28
        }
        let report = HandMadeCase.report(scores: scores)
        let inSample = scores.filter { $0.asOf < HandMadeCase.day(7) }.count
        #expect(inSample == 6 && report.counts.excludedInSample == inSample)
        #expect(
            report.counts.scoreRows == report.counts.evaluatedRows + report.counts.excludedIncompleteWindow
                + report.counts.excludedInSample)
        #expect(report.models.first?.weeks.map(\.asOf) == [HandMadeCase.day(7)])
        #expect(
            report.notes.contains {
                $0.hasPrefix("6 of 15 score rows excluded: they were scored inside their model's training period")
            })
        #expect(ReportMarkdown.render(report).contains("excluded: scored inside the model's training period | 6"))

        #expect(try Audit.horizon(for: scores, requested: nil, path: "s.csv") == 28)
        #expect(
            try Audit.horizon(for: HandMadeCase.scores(), requested: nil, path: "s.csv") == 28, "no record: the default"
        )
        #expect(try Audit.horizon(for: HandMadeCase.scores(), requested: 14, path: "s.csv") == 14)
        var fourteen = scores
        for i in fourteen.indices { fourteen[i].horizonDays = 14 }
        #expect(try Audit.horizon(for: fourteen, requested: nil, path: "s.csv") == 14)
        #expect { try Audit.horizon(for: fourteen, requested: 28, path: "s.csv") } throws: {
            String(describing: $0)
                == "s.csv: the scores were made for a 14-day window (horizon_days); --horizon 28 would judge them on another: drop --horizon, or pass --horizon 14"
        }
        fourteen[0].horizonDays = 28
        #expect { try Audit.horizon(for: fourteen, requested: nil, path: "s.csv") } throws: {
            String(describing: $0).contains("different label windows (horizon_days 14, 28)")
        }
    }

    @Test func listPrecisionRepsRateAndLiftMatchTheHandComputation() throws {
        let report = HandMadeCase.report()
        #expect(report.counts.scoreRows == 15)
        #expect(report.counts.evaluatedRows == 12)
        #expect(report.counts.excludedIncompleteWindow == 3)
        #expect(report.counts.asOfDates == 3 && report.counts.completeAsOfDates == 2)
        #expect(report.notes.first?.hasPrefix("3 of 15 score rows excluded") == true)
        let model = try #require(report.models.first)
        #expect(report.models.count == 1 && model.model == "M")
        #expect(model.weeks.map(\.asOf) == [HandMadeCase.day(0), HandMadeCase.day(7)])
        let (w0, w7) = (model.weeks[0], model.weeks[1])
        #expect(w0.metrics.listed == 4 && w0.metrics.listedOrdered == 2)
        #expect(w0.metrics.listPrecision == .defined(0.5))
        #expect(w0.repsRate == .defined(0.4))
        #expect(abs(w0.lift.value! - 0.25) < 1e-12)
        #expect(w0.metrics.rocAuc == .defined(5.0 / 9.0))
        #expect(w7.metrics.listPrecision == .defined(0.75))
        #expect(w7.repsRate == .defined(0.5))
        #expect(w7.lift == .defined(0.5))
        #expect(w7.metrics.rocAuc == .defined(8.0 / 9.0))
        // P@1 at day 0 is C1 (0.9, ordered); P@3 is C1, C4, C3 → 1/3.
        #expect(w0.metrics.topK.map(\.precision) == [.defined(1), .defined(1.0 / 3.0)])
        #expect(model.averages.listPrecision == .defined(0.625))
        #expect(abs(model.averages.repsRate.value! - 0.45) < 1e-12)
        #expect(abs(model.averages.lift.value! - 0.375) < 1e-12)
        #expect(model.averages.weeksWithLift == 2)
        // Pooled over both weeks: 5 of 8 listed rows ordered.
        #expect(model.overall.metrics.listPrecision == .defined(0.625))
        #expect(model.overall.metrics.rows == 12 && model.overall.metrics.positives == 6)
        #expect(model.overall.listPrecisionInterval.estimate == .defined(0.625))
        #expect(model.overall.listPrecisionInterval.resamples == 200)
        // Pooled lift over a random list of the same candidates: 5/8 listed rows ordered, 6/12
        // of all rows: 0.625 / 0.5 − 1 = +25%, with its interval around it.
        let lift = model.overall.liftOverRandomInterval
        #expect(lift.estimate == .defined(0.25) && lift.resamples == 200)
        #expect(lift.lower.value! <= 0.25 && lift.upper.value! >= 0.25 && lift.lower.value! < lift.upper.value!)
        #expect(ReportMarkdown.render(report).contains("+25.0% ["))
        let lines = WeeklyComparison.lines(report.models)
        // Beside the reps, a random list of the same candidates: half of each week's evaluated
        // candidates ordered (3 of 6 on 2024-01-01 and on 2024-01-08), so 50%, and the lists'
        // lift over it (50% / 50% − 1 = 0; 75% / 50% − 1 = +50%).
        #expect(lines[0] == "2024-01-01 · M 50.00% · reps 40.00% · lift +25.0% · random 50.00% · over random +0.0%")
        #expect(lines[1] == "2024-01-08 · M 75.00% · reps 50.00% · lift +50.0% · random 50.00% · over random +50.0%")
        #expect(
            lines[2] == "average (2 weeks) · M 62.50% · reps 45.00% · lift +37.5% · random 50.00% · over random +25.0%")
    }

    /// A week of negatives only, with no reps' visits that week: ROC-AUC, the reps' rate and the
    /// lift are undefined — `null` in JSON and "—" in Markdown — while list precision is a real 0.
    @Test func undefinedValuesAreNullInJSONAndADashInMarkdown() throws {
        let rows = [
            ScoreRow(
                customerID: "C4", repID: "R2", asOf: HandMadeCase.day(-7), probability: 0.7, rankInRep: 1, rank: 1,
                modelID: "M"),
            ScoreRow(
                customerID: "C6", repID: "R2", asOf: HandMadeCase.day(-7), probability: 0.2, rankInRep: 2, rank: 2,
                modelID: "M")
        ]
        let report = HandMadeCase.report(scores: rows)
        let week = try #require(report.models.first?.weeks.first)
        #expect(week.metrics.rocAuc == .undefined)
        #expect(week.metrics.listPrecision == .defined(0))
        #expect(week.reps == RepsWeek(visits: 0, orders: 0))
        #expect(week.repsRate == .undefined && week.lift == .undefined)
        let json = try JSONSerialization.jsonObject(with: Data(try report.jsonBytes())) as! [String: Any]
        let model = (json["models"] as! [[String: Any]])[0]
        let jsonWeek = (model["weeks"] as! [[String: Any]])[0]
        #expect(jsonWeek["lift"] is NSNull)
        #expect(jsonWeek["reps_rate"] is NSNull)
        #expect((jsonWeek["metrics"] as! [String: Any])["roc_auc"] is NSNull)
        #expect((jsonWeek["metrics"] as! [String: Any])["list_precision"] as? Double == 0)
        let markdown = ReportMarkdown.render(report)
        let weekRow = try #require(markdown.split(separator: "\n").first { $0.hasPrefix("| 2023-12-25 | 0.00% |") })
        #expect(weekRow == "| 2023-12-25 | 0.00% | — | — | — | 0 | 0.00% |")
        #expect(
            WeeklyComparison.lines(report.models)[0]
                == "2023-12-25 · M 0.00% · reps — · lift — · random 0.00% · over random —")
    }

    @Test func reportJSONRoundTripsAndCarriesItsFormat() throws {
        let report = HandMadeCase.report(groundTruth: Self.groundTruth())
        let bytes = try report.jsonBytes()
        let decoded = try EvaluationReport.decode(json: bytes)
        #expect(decoded == report)
        #expect(try decoded.jsonBytes() == bytes)
        let json = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
        #expect(json["format"] as? String == "revisit-evaluation-report")
        #expect(
            json["format_version"] as? Int == EvaluationReport.currentVersion && EvaluationReport.currentVersion == 7)
        #expect(json["mode"] as? String == "audit")
        let input = (json["inputs"] as! [[String: Any]])[0]
        #expect(input["sha256"] as? String == SHA256.hex(ScoresFile.encode(rows: HandMadeCase.scores())))
    }

    /// Ground truth that ranks perfectly at day 0 and inverts day 7, so the ceiling's numbers are known.
    static func groundTruth() -> [GroundTruthRow] {
        let p0: [Double] = [0.9, 0.8, 0.1, 0.2, 0.7, 0.3]  // C1…C6 at day 0; labels 1 1 0 0 1 0
        let p7: [Double] = [0.6, 0.2, 0.5, 0.1, 0.9, 0.3]  // labels 0 1 1 0 1 0
        return (0..<6).map {
            GroundTruthRow(customerID: "C\($0 + 1)", asOf: HandMadeCase.day(0), probability: p0[$0], ordered: false)
        }
            + (0..<5).map {
                GroundTruthRow(customerID: "C\($0 + 1)", asOf: HandMadeCase.day(7), probability: p7[$0], ordered: false)
            }
    }

    @Test func groundTruthCeilingIsScoredOnTheSameRows() throws {
        let report = HandMadeCase.report(groundTruth: Self.groundTruth())
        let ceiling = try #require(report.ceiling)
        #expect(ceiling.model == Audit.ceilingName)
        #expect(report.counts.missingGroundTruth == 1)  // C6 at day 7
        #expect(ceiling.overall.metrics.rows == 11)
        #expect(ceiling.weeks[0].metrics.rocAuc == .defined(1))
        // Day 0 lists by p_order: R1 C1, C2 (both ordered); R2 C5, C6 (1 of 2) → 3/4.
        #expect(ceiling.weeks[0].metrics.listPrecision == .defined(0.75))
        // Pooled ROC-AUC by hand: positives 0.9, 0.8, 0.7 (day 0), 0.2, 0.5, 0.9 (day 7) against negatives
        // 0.1, 0.2, 0.3, 0.6, 0.1: 5 + 5 + 5 + (2 + ½) + 4 + 5 = 26.5 of 30 pairs.
        #expect(ceiling.overall.metrics.rocAuc == .defined(26.5 / 30))
        #expect(
            ReportMarkdown.render(report).contains("| ceiling (p\\_order) | 11 | 6 | 0.8833 ["),
            "model names are Markdown-escaped")
        #expect(WeeklyComparison.table(report.allResults).headers.contains("ceiling (p\\_order) list precision"))
    }

    /// A synth version 2 ground truth: the ceiling of a visit log is the visit-order probability
    /// (the label it is judged on), with no fallback note; a version 1 file says what it lacks.
    @Test func theCeilingOfAVisitLogPredictsTheVisitOrderLabel() throws {
        let old = HandMadeCase.report(groundTruth: Self.groundTruth())
        #expect(old.notes.contains { $0.contains("no p_visit_order (synth format 1)") })
        // Visit-order probabilities that list R2's C6 and C4 on day 0, neither of which ordered.
        let visit: [String: Double] = ["C1": 0.2, "C2": 0.6, "C3": 0.1, "C4": 0.15, "C5": 0.1, "C6": 0.4]
        let truth = Self.groundTruth().map { row in
            var row = row
            row.visitProbability = visit[row.customerID]!
            row.visitOrdered = false
            return row
        }
        let report = HandMadeCase.report(groundTruth: truth)
        let ceiling = try #require(report.ceiling)
        #expect(ceiling.model == Audit.visitCeilingName)
        #expect(!report.notes.contains { $0.contains("p_visit_order") })
        // Day 0, top 2 per rep by p_visit_order: R1 C2, C1 (both ordered); R2 C6, C4 (neither) → 2/4.
        #expect(ceiling.weeks[0].metrics.listPrecision == .defined(0.5))
    }

    /// Scores that hold only each rep's top K (the published list) are said to be compared with
    /// themselves; every candidate's scores are not.
    @Test func aCutListIsSaidToBeComparedWithItself() {
        let full = HandMadeCase.report()
        #expect(!full.notes.contains { $0.contains("hold no row ranked below the list length") })
        let list = HandMadeCase.report(
            scores: HandMadeCase.scores().filter { $0.rankInRep <= HandMadeCase.settings.topPerRep })
        #expect(
            list.notes.contains {
                $0.contains("hold no row ranked below the list length (2 per rep)")
                    && $0.contains("scorer --all-scores")
            })
    }

    @Test func identicalInputsGiveIdenticalReportBytes() throws {
        let first = HandMadeCase.temporaryDirectory("same-1")
        let second = HandMadeCase.temporaryDirectory("same-2")
        try ReportWriter.write(HandMadeCase.report(groundTruth: Self.groundTruth()), to: first)
        try ReportWriter.write(HandMadeCase.report(groundTruth: Self.groundTruth()), to: second)
        for name in ReportWriter.files {
            let a = FileManager.default.contents(atPath: "\(first)/\(name)")
            #expect(a != nil && a == FileManager.default.contents(atPath: "\(second)/\(name)"), "\(name) differs")
        }
        // A different seed changes the intervals (and so the bytes): the seed is really used.
        var other = HandMadeCase.settings
        other.seed = 8
        let reseeded = Audit.run(
            scores: HandMadeCase.scores(), outcomes: Outcomes(dataset: HandMadeCase.dataset()), settings: other,
            inputs: [])
        #expect(reseeded.models[0].overall.rocAucInterval != HandMadeCase.report().models[0].overall.rocAucInterval)
    }
}

@Suite("charts")
struct ChartTests {
    final class PolylineCounter: NSObject, XMLParserDelegate {
        var polylines = 0
        var root: String?
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            if root == nil { root = name }
            if name == "polyline" { polylines += 1 }
        }
    }

    static func parse(_ svg: String) -> (ok: Bool, root: String?, polylines: Int, error: String) {
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = PolylineCounter()
        parser.delegate = counter
        let ok = parser.parse()
        return (ok, counter.root, counter.polylines, parser.parserError.map { "\($0)" } ?? "")
    }

    /// Past the palette's eight colours a series comes back dotted, so that eleven series (a
    /// backtest of every contender with the ceiling) are told apart; dashed baselines stay dashed.
    @Test func seriesPastThePaletteAreDotted() {
        let series = (0..<11).map {
            ChartSeries(name: "s\($0)", points: [(x: 0, y: 0), (x: 1, y: Double($0) / 10)], dashed: $0 == 10)
        }
        let svg = LineChart(
            title: "t", xLabel: "x", yLabel: "y", xRange: 0...1, yRange: 0...1, xTicks: [], yTicks: [], series: series
        ).render()
        let lines = svg.split(separator: "\n").filter { $0.hasPrefix("<polyline") }
        #expect(lines.count == 11)
        #expect(lines.prefix(8).allSatisfy { !$0.contains("stroke-dasharray") })
        #expect(lines[8].contains("stroke-dasharray=\"1.5 3\"") && lines[9].contains("stroke-dasharray=\"1.5 3\""))
        #expect(lines[10].contains("stroke-dasharray=\"6 4\""), "a dashed series keeps its dashes")
        #expect(lines[0].contains("#0072B2") && lines[8].contains("#0072B2"), "the colour comes back, dotted")
    }

    @Test func everyChartIsWellFormedWithOnePolylinePerModel() throws {
        // Two models (the second one's ids renamed) plus the ceiling: three results.
        let scores = HandMadeCase.scores(model: "m<1>&") + HandMadeCase.scores(model: "m2")
        let report = HandMadeCase.report(scores: scores, groundTruth: AuditTests.groundTruth())
        #expect(report.allResults.count == 3)
        for (file, svg) in ReportCharts.all(report.allResults, topPerRep: 2) {
            let parsed = Self.parse(svg)
            #expect(parsed.ok, "\(file): \(parsed.error)")
            #expect(parsed.root == "svg", "\(file)")
            // The weekly chart adds the reps' line and the random list's.
            #expect(parsed.polylines == (file == "weekly_precision.svg" ? 5 : 3), "\(file)")
            #expect(svg.contains("m&lt;1&gt;&amp;"), "\(file) does not escape the model name")
        }
    }

    @Test func markdownTablesTakeAnyNumberOfModels() {
        let report = HandMadeCase.report(scores: HandMadeCase.scores(model: "a") + HandMadeCase.scores(model: "b|c"))
        let table = WeeklyComparison.table(report.models).render()
        let lines = table.split(separator: "\n")
        #expect(
            lines[0]
                == "| week | a list precision | a lift | a over random | b\\|c list precision | b\\|c lift | b\\|c over random | reps' rate | reps' visits | random list |"
        )
        #expect(lines[1] == "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        #expect(lines[2] == "| 2024-01-01 | 50.00% | +25.0% | +0.0% | 50.00% | +25.0% | +0.0% | 40.00% | 5 | 50.00% |")
        #expect(
            lines.last == "| **average** | 62.50% | +37.5% | +25.0% | 62.50% | +37.5% | +25.0% | 45.00% |  | 50.00% |")
    }
}

@Suite("resampled statistics")
struct ResampledStatisticsTests {
    /// The O(B·N) intervals must be the Metrics bootstrap's, bit for bit: same draws, same statistic.
    @Test func fastIntervalsEqualTheMetricsBootstrap() {
        var data = SeededRandom(seed: 11)
        for n in [1, 2, 7, 60, 300] {
            // Scores on a coarse grid, so many ties; about a fifth positive.
            let scores = (0..<n).map { _ in Double(data.int(below: 12)) / 11 }
            let labels = (0..<n).map { _ in data.int(below: 5) == 0 }
            let predictions = BinaryPredictions(scores: scores, labels: labels)
            var a = SeededRandom(seed: 5, stream: 3), b = SeededRandom(seed: 5, stream: 3)
            let fast = ResampledStatistics.rocAUCInterval(predictions, resamples: 150, confidenceLevel: 0.9, random: &a)
            let reference = Bootstrap.interval(predictions, resamples: 150, confidenceLevel: 0.9, random: &b) {
                $0.rocAUC()
            }
            #expect(fast == reference, "n = \(n)")
            var c = SeededRandom(seed: 5, stream: 4), d = SeededRandom(seed: 5, stream: 4)
            let share = ResampledStatistics.proportionInterval(
                labels: labels, resamples: 150, confidenceLevel: 0.9, random: &c)
            let shareReference = Bootstrap.interval(predictions, resamples: 150, confidenceLevel: 0.9, random: &d) {
                $0.baseRate
            }
            #expect(share == shareReference, "n = \(n)")
        }
    }
}
