import Backtest
import Evaluation
import Dataset
import Features
import Foundation
import Models
import Tensors
import Testing
import Workflow

@Suite("Rolling backtest and baselines")
struct BacktestTests {
    static let dataset = SyntheticVisitLog.generate(customers: 120, visits: 4000, days: 300, seed: 21)

    static func settings(_ contenders: [String], firstFold: Day) -> Backtest.Settings {
        var settings = Backtest.Settings(firstFold: firstFold)
        settings.folds = 2
        settings.contenders = contenders
        settings.list = .top(10)
        settings.training.training.epochs = 2
        settings.training.training.batchSize = 128
        settings.training.validationDates = 3
        return settings
    }

    static var firstFold: Day { Day(ordinal: dataset.visits.map(\.date.ordinal).max()! - 80).mondayOnOrBefore }

    /// The reps' rate, the list and its precision agree with a direct count on the visit log.
    @Test func foldFiguresMatchADirectCount() throws {
        let history = VisitHistory(dataset: Self.dataset)
        let backtest = Backtest(
            settings: Self.settings(["recency", "round_robin"], firstFold: Self.firstFold), history: history)
        let folds = try backtest.run()
        #expect(folds.count == 2 && folds[1].start == folds[0].start.advanced(by: 7))
        for fold in folds {
            let week = Self.dataset.visits.filter { $0.date >= fold.start && $0.date < fold.start.advanced(by: 7) }
            #expect(fold.repVisits == week.count && fold.repOrders == week.filter(\.isOrder).count)
            // Candidates: the customers visited that week (the study's evaluation set).
            #expect(Set(fold.customerIDs) == Set(week.map(\.customerID)))
            for (index, customer) in fold.customerIDs.enumerated() {
                let ordered = Self.dataset.visits.contains {
                    $0.customerID == customer && $0.isOrder && $0.date >= fold.start
                        && $0.date < fold.start.advanced(by: 28)
                }
                #expect(fold.labels[index] == (ordered ? 1 : 0))
            }
            for entry in fold.entries {
                // The list is the 10 best scores; its precision is the ordered share among them.
                let order = entry.scores.indices.sorted {
                    entry.scores[$0] != entry.scores[$1]
                        ? entry.scores[$0] > entry.scores[$1] : fold.customerIDs[$0] < fold.customerIDs[$1]
                }
                let listed = order.prefix(10)
                #expect(entry.listed == listed.count)
                #expect(entry.listedOrders == listed.filter { fold.labels[$0] == 1 }.count)
                if let rate = fold.repsRate, let precision = entry.listPrecision, rate > 0 {
                    #expect(abs(entry.liftOverReps! - (precision / rate - 1)) < 1e-12)
                }
            }
        }
        // Round-robin scores are days since the last visit d, squashed to d / (1 + d).
        let customer = folds[0].customerIDs[0]
        let last = Self.dataset.visits.filter { $0.customerID == customer && $0.date < folds[0].start }.map(\.date)
            .max()
        let roundRobin = folds[0].entries.first { $0.contender == "round_robin" }!
        let days = Float(last.map { $0.distance(to: folds[0].start) } ?? 0)
        #expect(roundRobin.scores[0] == (last == nil ? 0 : days / (1 + days)))
    }

    /// A poisoned future: altering every record dated on or after a fold's start (results,
    /// methods, purposes, reps) changes neither the fold's trained model's scores nor its list.
    @Test func aPoisonedFutureChangesNothing() throws {
        let contenders = ["logreg", "decision_tree", "xgboost", "xgboost_timing", "bgnbd", "recency", "frequency"]
        var settings = Self.settings(contenders, firstFold: Self.firstFold)
        settings.folds = 1
        settings.training.boosting.rounds = 40
        let clean = try Backtest(settings: settings, history: VisitHistory(dataset: Self.dataset)).run()
        var poisoned = Self.dataset
        for index in poisoned.visits.indices where poisoned.visits[index].date >= clean[0].start {
            poisoned.visits[index].isOrder.toggle()
            poisoned.visits[index].result = poisoned.visits[index].isOrder ? "order" : "no_demand"
            poisoned.visits[index].method = "telepathy"
            poisoned.visits[index].purpose = "poisoned"
            poisoned.visits[index].repID = "R999"
        }
        let dirty = try Backtest(settings: settings, history: VisitHistory(dataset: poisoned)).run()
        #expect(dirty[0].customerIDs == clean[0].customerIDs)
        for (a, b) in zip(clean[0].entries, dirty[0].entries) {
            #expect(a.contender == b.contender)
            #expect(a.scores == b.scores, "\(a.contender): scores changed when only the future changed")
            #expect(
                a.timingCumulative == b.timingCumulative && a.expectedOrders == b.expectedOrders,
                "\(a.contender): timing or counts changed when only the future changed")
        }
        // The outcomes themselves do change (they are the future), so the test is not vacuous.
        #expect(dirty[0].labels != clean[0].labels)
    }

    /// The timing and count predictions reach the report: each fold's observed order days equal
    /// a direct count of the log, and the report has a timing and a count evaluation for the
    /// models that make them (not for a heuristic), in its JSON, its Markdown and `counts.svg`.
    @Test func timingAndCountsReachTheReport() throws {
        let history = VisitHistory(dataset: Self.dataset)
        var settings = Self.settings(["xgboost_timing", "bgnbd", "recency"], firstFold: Self.firstFold)
        settings.training.boosting.rounds = 40
        let backtest = Backtest(settings: settings, history: history)
        let folds = try backtest.run()
        for fold in folds {
            for (index, customer) in fold.customerIDs.enumerated() {
                let days = Set(
                    Self.dataset.visits.filter {
                        $0.customerID == customer && $0.isOrder && $0.date >= fold.start
                            && $0.date < fold.start.advanced(by: 28)
                    }.map(\.date))
                #expect(fold.orderDays[index] == Double(days.count))
                #expect(
                    (fold.orderDays[index] > 0) == (fold.labels[index] == 1), "an order day in the window is the label")
            }
            let byName = Dictionary(uniqueKeysWithValues: fold.entries.map { ($0.contender, $0) })
            #expect(byName["xgboost_timing"]?.expectedOrders?.count == fold.candidates)
            #expect(byName["bgnbd"]?.expectedOrders?.count == fold.candidates)
            #expect(byName["recency"]?.expectedOrders == nil && byName["recency"]?.timingCumulative == nil)
        }
        let report = backtest.report(
            folds: folds, evaluation: EvaluationSettings(bootstrapResamples: 20), groundTruth: nil, inputs: [])
        #expect(report.timing.map(\.model) == ["xgboost_timing", "bgnbd"])
        #expect(report.orderCounts.map(\.model) == ["xgboost_timing", "bgnbd"])
        let rows = folds.map(\.candidates).reduce(0, +)
        let observed = folds.flatMap(\.orderDays)
        for counts in report.orderCounts {
            #expect(counts.rows == rows && counts.meanObserved == .ratio(observed.reduce(0, +), Double(rows)))
            #expect(counts.repeatRows == observed.filter { $0 >= 2 }.count)
        }
        let decoded = try EvaluationReport.decode(json: try report.jsonBytes())
        #expect(decoded == report && decoded.formatVersion == 7)
        // How the contenders were trained is recorded, numbers as numbers.
        let recorded = try #require(decoded.backtestSettings)
        #expect(recorded.contenders == backtest.settings.contenders && recorded.foldDates == folds.map(\.start))
        #expect(
            recorded.epochs == backtest.settings.training.training.epochs
                && recorded.horizonDays == backtest.settings.training.examples.horizonDays)
        let json = try JSONSerialization.jsonObject(with: Data(try report.jsonBytes())) as! [String: Any]
        let recordedJSON = try #require(json["backtest_settings"] as? [String: Any])
        #expect(
            recordedJSON["epochs"] is Int && recordedJSON["fold_dates"] is [String]
                && recordedJSON["warm_start"] is Bool, "\(recordedJSON)")
        let directory = NSTemporaryDirectory() + "revisit-backtest-counts-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ReportWriter.write(report, to: directory)
        let markdown = try String(contentsOfFile: directory + "/report.md", encoding: .utf8)
        #expect(markdown.contains("## How many orders") && markdown.contains("## When the next order comes"))
        let chart = try String(contentsOfFile: directory + "/counts.svg", encoding: .utf8)
        #expect(chart.contains("xgboost_timing") && chart.contains("bgnbd"))
    }

    @Test func decisionTreeSplitsASeparableRuleAndRespectsItsLimits() {
        var features: [Float] = [], labels: [Float] = []
        var random = SeededRandom(seed: 2)
        for _ in 0..<600 {
            let a = random.uniform(), b = random.uniform()
            features += [a, b]
            labels.append(a > 0.6 && b < 0.5 ? 1 : 0)
        }
        var settings = DecisionTree.Settings()
        settings.maxDepth = 3
        settings.minimumLeaf = 5
        let tree = DecisionTree(features: features, labels: labels, featureCount: 2, settings: settings)
        let predictions = tree.predict(features)
        #expect(
            zip(predictions, labels).allSatisfy { ($0 > 0.5) == ($1 == 1) },
            "an axis-aligned rule of depth 2 is learnt exactly")
        #expect(tree.leafCount <= 8)
        settings.minimumLeaf = 400
        #expect(
            DecisionTree(features: features, labels: labels, featureCount: 2, settings: settings).leafCount == 1,
            "no split can leave 400 rows on both sides of 600")
    }

    @Test func contenderNamesRoundTrip() {
        for name in [
            "cnn_lstm", "lstm", "gru", "rnn", "mlp", "logreg", "cnn_lstm_seq", "xgboost", "bgnbd", "decision_tree",
            "recency", "frequency", "round_robin"
        ] {
            #expect(Contenders.named(name)?.name == name)
        }
        #expect(Contenders.named("oracle") == nil)
        #expect(Set(Contenders.all.map(\.name)).count == Contenders.all.count, "names are unique")
    }
}

@Suite("Backtest reports")
struct BacktestReportTests {
    /// Whatever the list rule, the report's weekly list precision is the backtest's own: the
    /// rule is carried into the audit through `rank_in_rep` (see `Backtest.scoreRows`).
    @Test(arguments: [ListRule.perRepTop(2), .top(10), .topShare(0.25), .threshold(0.5)])
    func reportListPrecisionIsTheBacktests(rule: ListRule) throws {
        let history = VisitHistory(dataset: BacktestTests.dataset)
        var settings = BacktestTests.settings(
            ["recency", "round_robin", "frequency"], firstFold: BacktestTests.firstFold)
        settings.list = rule
        let backtest = Backtest(settings: settings, history: history)
        let folds = try backtest.run()
        let report = backtest.report(
            folds: folds, evaluation: EvaluationSettings(bootstrapResamples: 20), groundTruth: nil, inputs: [])
        #expect(report.mode == "backtest")
        #expect(report.models.map(\.model) == ["recency", "round_robin", "frequency"])
        for model in report.models {
            for (fold, week) in zip(folds, model.weeks) {
                #expect(week.asOf == fold.start)
                let entry = fold.entries.first { $0.contender == model.model }!
                #expect(
                    week.metrics.listPrecision.value == entry.listPrecision, "\(model.model) \(rule) week \(fold.start)"
                )
            }
        }
        if case .perRepTop = rule {
            #expect(report.settings.listRule == nil)
        } else {
            #expect(report.settings.listRule == rule.description)
        }
    }
}
