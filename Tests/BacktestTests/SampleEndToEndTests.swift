import Backtest
import Dataset
import ERPImport
import Features
import Foundation
import Metrics
import Models
import Testing

/// End to end on the bundled sample (`Fixtures/sample`): import → train the CNN-LSTM on what
/// was known before each fold → score the customers the reps visited that week (the study's
/// evaluation set) at the fold's Monday. On those later weeks, which no training label
/// reached, the CNN-LSTM ranks the customers who go on to order better than the recency
/// heuristic does (ROC-AUC pooled over both folds).
@Suite("Fixtures/sample end to end")
struct SampleEndToEndTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func theCNNLSTMBeatsRecencyOnLaterWeeks() throws {
        let sample = Self.repositoryRoot.appendingPathComponent("Fixtures/sample").path
        let directory = NSTemporaryDirectory() + "revisit-sample-\(UUID().uuidString)"
        let report = try DatasetImport.run(
            ImportOptions(
                visitsPath: sample + "/visits.csv", customersPath: sample + "/customers.csv",
                outputDirectory: directory,
                timestamp: "2026-01-01T00:00:00Z"))
        #expect(
            report.visitCounts.read == 23_100 && report.visitCounts.rejected == 0 && report.customerCounts.read == 1_000
        )
        let history = VisitHistory(dataset: try Dataset.load(directory: directory))

        var settings = Backtest.Settings(firstFold: Day(iso: "2020-01-20")!)
        settings.folds = 2
        settings.candidates = .visitedInWeek
        settings.contenders = ["cnn_lstm", "recency"]
        settings.training.trainingWeeks = 10
        settings.training.training.epochs = 2
        settings.training.validationDates = 3
        let folds = try Backtest(settings: settings, history: history).run()
        #expect(folds.count == 2 && folds.allSatisfy { $0.candidates > 150 && $0.positives > 10 })

        func pooledAUC(_ contender: String) -> Double? {
            var scores: [Double] = [], labels: [Int] = []
            for fold in folds {
                let entry = fold.entries.first { $0.contender == contender }!
                scores += entry.scores.map(Double.init)
                labels += fold.labels.map { Int($0) }
            }
            return BinaryPredictions(scores: scores, labels: labels).rocAUC().value
        }
        let model = try #require(pooledAUC("cnn_lstm")), recency = try #require(pooledAUC("recency"))
        #expect(model > recency, "CNN-LSTM ROC-AUC \(model) vs recency \(recency)")
        print("sample end to end: CNN-LSTM ROC-AUC \(model), recency \(recency)")
    }
}
