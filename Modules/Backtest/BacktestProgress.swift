import Dataset
import Foundation

/// Where a running backtest is: which fold and contender, the epoch and batch of a neural fit,
/// the time spent and an estimate of the time left. `Backtest.run(progress:status:)` reports
/// one at the start of every fit, at every batch and at every epoch's end; the evaluator draws
/// it as one redrawn line on a terminal.
public struct BacktestProgress: Sendable, Equatable {
    /// 0-based fold and contender positions, of `folds` and `contenders`.
    public var fold: Int
    public var folds: Int
    public var foldStart: Day
    public var contender: String
    public var contenderIndex: Int
    public var contenders: Int
    /// The epoch and batch of a neural fit in progress (nil for the others, and between fits).
    public var epoch: Int?
    public var batch: Int?
    public var batches: Int?
    public var elapsedSeconds: Double
    /// The estimated seconds left (nil until a fit has finished to estimate from).
    public var remainingSeconds: Double?

    public init(
        fold: Int, folds: Int, foldStart: Day, contender: String, contenderIndex: Int, contenders: Int,
        epoch: Int?, batch: Int?, batches: Int?, elapsedSeconds: Double, remainingSeconds: Double?
    ) {
        self.fold = fold
        self.folds = folds
        self.foldStart = foldStart
        self.contender = contender
        self.contenderIndex = contenderIndex
        self.contenders = contenders
        self.epoch = epoch
        self.batch = batch
        self.batches = batches
        self.elapsedSeconds = elapsedSeconds
        self.remainingSeconds = remainingSeconds
    }

    /// `fold 2/4 (2019-06-03) · xgboost 3/9 · epoch 1 12/40 · 1m20s, about 3m05s left`
    public var line: String {
        var parts = ["fold \(fold + 1)/\(folds) (\(foldStart.iso))", "\(contender) \(contenderIndex + 1)/\(contenders)"]
        if let epoch, let batch, let batches { parts.append("epoch \(epoch) \(batch)/\(batches)") }
        parts.append(
            Self.duration(elapsedSeconds) + (remainingSeconds.map { ", about \(Self.duration($0)) left" } ?? ""))
        return parts.joined(separator: " · ")
    }

    /// `45s`, `3m05s`, `2h07m`.
    public static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3_600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3_600, (total % 3_600) / 60)
    }
}

/// The time left of a backtest from the fits done so far: each remaining (fold, contender) is
/// expected to take as long as that contender's latest fit (later folds warm-start, so the
/// latest is the better guess than the first), the fit in progress its estimate less the time
/// it has run. While a contender still to run has not finished a fit, there is no estimate
/// (nil): a heuristic's milliseconds say nothing about a neural network's minutes.
public struct BacktestTimeEstimate: Sendable {
    private var latest: [String: Double] = [:]
    public init() {}

    public mutating func finished(_ contender: String, seconds: Double) { latest[contender] = seconds }

    /// Seconds left, with `order` the contenders of every fold, the current one at
    /// (`fold`, `contenderIndex`) running for `runningSeconds`; nil before any fit finished.
    public func remaining(order: [String], folds: Int, fold: Int, contenderIndex: Int, runningSeconds: Double)
        -> Double?
    {
        guard order.indices.contains(contenderIndex), order[contenderIndex...].allSatisfy({ latest[$0] != nil }),
            fold + 1 >= folds || order.allSatisfy({ latest[$0] != nil })
        else { return nil }
        func estimate(_ name: String) -> Double { latest[name]! }
        var total = max(0, estimate(order[contenderIndex]) - runningSeconds)
        for index in (contenderIndex + 1)..<order.count { total += estimate(order[index]) }
        total += Double(max(0, folds - fold - 1)) * order.map(estimate).reduce(0, +)
        return total
    }
}
