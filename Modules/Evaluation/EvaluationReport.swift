import Dataset
import Formats
import Foundation
import Metrics

/// An input file of a report (`scores`, `dataset`, `ground-truth`, …), identified by its SHA-256
/// so a reader can check they hold the same file. The same record as a dataset manifest's files.
public typealias InputFile = FileDigest

extension FileDigest {
    /// Reads `path` and records it. Throws ``EvaluationError/missingFile(path:)`` when unreadable.
    public static func read(role: String, path: String) throws -> InputFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError.missingFile(path: path)
        }
        return InputFile(role: role, path: path, contents: [UInt8](data))
    }

    /// The files of a dataset directory a report rests on: its manifest, visits and customers;
    /// for a partitioned dataset its top manifest alone, which records every partition's
    /// manifest SHA-256 (each recording its files'), so its digest names all of the data.
    public static func dataset(directory: String) throws -> [InputFile] {
        let files =
            Dataset.isPartitioned(directory: directory)
            ? [Dataset.manifestFile] : [Dataset.manifestFile, Dataset.visitsFile, Dataset.customersFile]
        return try files.map {
            try read(role: "dataset", path: (directory as NSString).appendingPathComponent($0))
        }
    }
}

/// How many rows went in and why some were left out. Every score row is either evaluated or
/// excluded for exactly one reason: `scoreRows == evaluatedRows + excludedIncompleteWindow +
/// excludedInSample`.
public struct RowCounts: Sendable, Hashable, Codable {
    /// Rows read from the scores (all models).
    public var scoreRows: Int
    /// Rows with a complete label window, used by the metrics.
    public var evaluatedRows: Int
    /// Rows whose window [t, t + H) runs past the end of the data: no label, excluded.
    public var excludedIncompleteWindow: Int
    /// Rows scored inside their model's training period (as_of before the file's train_until):
    /// in-sample, so excluded (report version 5).
    public var excludedInSample: Int = 0
    /// Distinct as-of dates in the scores, and those with complete windows.
    public var asOfDates: Int
    public var completeAsOfDates: Int
    /// Evaluated rows whose customer the dataset does not know (labelled "no order"; check the inputs match).
    public var unknownCustomers: Int
    /// Evaluated (customer, as-of) pairs that the ground truth lacks (left out of the ceiling only); nil without one.
    public var missingGroundTruth: Int?
    /// The first day after the data (t + H must not exceed it); nil for a dataset without visits.
    public var dataEnd: Day?

    public init(
        scoreRows: Int = 0, evaluatedRows: Int = 0, excludedIncompleteWindow: Int = 0, asOfDates: Int = 0,
        completeAsOfDates: Int = 0, unknownCustomers: Int = 0, missingGroundTruth: Int? = nil, dataEnd: Day? = nil
    ) {
        self.scoreRows = scoreRows
        self.evaluatedRows = evaluatedRows
        self.excludedIncompleteWindow = excludedIncompleteWindow
        self.asOfDates = asOfDates
        self.completeAsOfDates = completeAsOfDates
        self.unknownCustomers = unknownCustomers
        self.missingGroundTruth = missingGroundTruth
        self.dataEnd = dataEnd
    }
}

/// A table a fitted model offers about itself (an association-rules model's top rules by lift),
/// shown in the backtest's report from the last fold's fit.
public struct ModelFindings: Sendable, Hashable, Codable {
    public var model: String
    public var title: String
    public var headers: [String]
    public var rows: [[String]]
    public init(model: String, title: String, headers: [String], rows: [[String]]) {
        self.model = model
        self.title = title
        self.headers = headers
        self.rows = rows
    }
}

/// The settings of a backtest as `report.json` records them (version 7), numbers as numbers.
public struct BacktestSettingsRecord: Sendable, Hashable, Codable {
    public var contenders: [String]
    public var foldDates: [Day]
    public var stepDays: Int
    public var candidates: String
    public var list: String
    public var horizonDays: Int
    /// The rolling window in weeks; nil: all history before each fold.
    public var trainingWeeks: Int?
    public var trainingCandidates: String
    public var validationDates: Int
    public var features: String
    public var scaling: String
    public var notes: Bool
    /// The calibration forced on every contender; nil: each contender's default.
    public var calibration: String?
    public var epochs: Int
    public var warmStart: Bool
    public var warmEpochs: Int
    public var batchSize: Int
    public var monitor: String
    public var seed: UInt64

    public init(
        contenders: [String], foldDates: [Day], stepDays: Int, candidates: String, list: String, horizonDays: Int,
        trainingWeeks: Int?,
        trainingCandidates: String, validationDates: Int, features: String, scaling: String, notes: Bool,
        calibration: String?,
        epochs: Int, warmStart: Bool, warmEpochs: Int, batchSize: Int, monitor: String, seed: UInt64
    ) {
        self.contenders = contenders
        self.foldDates = foldDates
        self.stepDays = stepDays
        self.candidates = candidates
        self.list = list
        self.horizonDays = horizonDays
        self.trainingWeeks = trainingWeeks
        self.trainingCandidates = trainingCandidates
        self.validationDates = validationDates
        self.features = features
        self.scaling = scaling
        self.notes = notes
        self.calibration = calibration
        self.epochs = epochs
        self.warmStart = warmStart
        self.warmEpochs = warmEpochs
        self.batchSize = batchSize
        self.monitor = monitor
        self.seed = seed
    }
}

/// The evaluator's report, `report.json`: format `revisit-evaluation-report`, version 7
/// (2: `settings.comparison`, the random-list baseline of transaction logs, and `calibration`;
/// 3: `findings`, what models say about themselves; 4: `timing`, when the next order comes;
/// 5: `order_counts`, how many orders come; 6: `list_preview`, the top of each rep's latest list
/// with its reasons and history, and `per_rep`, each rep's results; 7: `backtest_settings`, how
/// a backtest trained its contenders).
///
/// The same type serves the audit (one scores file, possibly several models) and the rolling
/// backtest (`mode` = `backtest`, one ``ModelResult`` per model built from its weekly rows).
/// JSON keys are snake_case; undefined metrics are `null`; nothing in it depends on the clock or
/// the machine, so identical inputs give identical bytes. Docs/Evaluation.md.
public struct EvaluationReport: Sendable, Hashable, Codable {
    /// The `format` value of every report.
    public static let formatName = "revisit-evaluation-report"
    /// The version this build writes.
    public static let currentVersion = 7

    public var format: String
    public var formatVersion: Int
    /// The release that wrote it (`RevisitVersion`; version 5).
    public var revisitVersion: String = RevisitVersion.current
    /// `audit` or `backtest`.
    public var mode: String
    public var settings: EvaluationSettings
    /// Every input file with its SHA-256.
    public var inputs: [InputFile]
    public var counts: RowCounts
    /// One per model, in the order given (an audit: by model id).
    public var models: [ModelResult]
    /// The synth ground truth's `p_order` scored on the same rows (the best any model could do); nil without one.
    public var ceiling: ModelResult?
    /// Plain-language remarks for the reader (exclusions, mismatches).
    public var notes: [String]
    /// Per calibrated model, its probabilities before and after calibration (a backtest; empty in an audit of scores).
    public var calibration: [CalibrationComparison] = []
    /// Per model that has them, its own findings from the last fold (a backtest; empty in an audit).
    public var findings: [ModelFindings] = []
    /// Per model that predicts when the next order comes, its concordance and cumulative calibration (a backtest).
    public var timing: [TimingEvaluation] = []
    /// Per model with a count head, its expected order days in [t, t + H) against the observed (a backtest).
    public var orderCounts: [CountEvaluation] = []
    /// The top of each rep's latest list with its reasons and recent history (``ListPreview``);
    /// nil without score rows.
    public var listPreview: ListPreview?
    /// Each rep's list precision beside the rep's own visits' rate, for the first model (a visit
    /// log; nil for a transaction log or without evaluated rows).
    public var perRep: PerRepResults?
    /// How a backtest trained and scored its contenders (nil for an audit): what a reader needs
    /// to rerun it, beside the evaluation `settings`.
    public var backtestSettings: BacktestSettingsRecord?

    public init(
        mode: String, settings: EvaluationSettings, inputs: [InputFile], counts: RowCounts, models: [ModelResult],
        ceiling: ModelResult? = nil, notes: [String] = []
    ) {
        format = Self.formatName
        formatVersion = Self.currentVersion
        self.mode = mode
        self.settings = settings
        self.inputs = inputs
        self.counts = counts
        self.models = models
        self.ceiling = ceiling
        self.notes = notes
    }

    /// The models, then the ceiling when there is one: what tables and charts draw.
    public var allResults: [ModelResult] { models + (ceiling.map { [$0] } ?? []) }

    /// Pretty JSON with sorted snake_case keys and a final newline (stable bytes).
    public func jsonBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return [UInt8](try encoder.encode(self)) + [0x0A]
    }

    /// Reads `report.json` bytes back (the inverse of ``jsonBytes()``).
    public static func decode(json: [UInt8]) throws -> EvaluationReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(EvaluationReport.self, from: Data(json))
    }
}
