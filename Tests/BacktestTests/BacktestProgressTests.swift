import Backtest
import Dataset
import Testing

@Suite("backtest progress")
struct BacktestProgressTests {
    @Test func theTimeLeftComesFromEachContendersLatestFit() {
        var estimate = BacktestTimeEstimate()
        let order = ["recency", "xgboost", "cnn_lstm"]
        // Nothing finished, or a contender still to run never seen: no estimate.
        #expect(estimate.remaining(order: order, folds: 3, fold: 0, contenderIndex: 0, runningSeconds: 0) == nil)
        estimate.finished("recency", seconds: 0.1)
        estimate.finished("xgboost", seconds: 10)
        #expect(estimate.remaining(order: order, folds: 3, fold: 0, contenderIndex: 2, runningSeconds: 5) == nil)
        estimate.finished("cnn_lstm", seconds: 30)
        // Fold 2 of 3, xgboost running for 4 s: 6 s of it, 30 s of cnn_lstm, then a whole fold (40.1 s).
        let left = estimate.remaining(order: order, folds: 3, fold: 1, contenderIndex: 1, runningSeconds: 4)!
        #expect(abs(left - (6 + 30 + 40.1)) < 1e-9)
        // A fit running past its estimate counts as done, not negative.
        #expect(estimate.remaining(order: order, folds: 3, fold: 2, contenderIndex: 2, runningSeconds: 99) == 0)
        // The latest fit is the estimate (later folds are warm-started and faster).
        estimate.finished("cnn_lstm", seconds: 12)
        #expect(estimate.remaining(order: order, folds: 3, fold: 2, contenderIndex: 2, runningSeconds: 0) == 12)
    }

    @Test func theStatusLineSaysFoldContenderEpochAndTime() {
        var progress = BacktestProgress(
            fold: 1, folds: 4, foldStart: Day(iso: "2019-06-03")!, contender: "xgboost", contenderIndex: 2,
            contenders: 9,
            epoch: nil, batch: nil, batches: nil, elapsedSeconds: 80, remainingSeconds: 185)
        #expect(progress.line == "fold 2/4 (2019-06-03) · xgboost 3/9 · 1m20s, about 3m05s left")
        progress.epoch = 1; progress.batch = 12; progress.batches = 40; progress.remainingSeconds = nil
        progress.elapsedSeconds = 7_620
        #expect(progress.line == "fold 2/4 (2019-06-03) · xgboost 3/9 · epoch 1 12/40 · 2h07m")
        #expect(BacktestProgress.duration(44.6) == "45s")
    }
}
