import Calibration
import Dataset
import Evaluation
import Features
import Foundation
import Models
import Tensors
import Training

/// What a contender is; it decides how reports label it and which of the trainer's flags apply.
public enum ContenderKind: String, Sendable, Codable {
    /// Revisit's deep-learning models (Modules/Models), trained by `TrainingRun`.
    case neural
    /// Fitted statistical models: BG/NBD, gradient-boosted trees, the decision tree.
    case statistical
    /// Rules on the visit log with nothing to fit: the reps' own policies.
    case heuristic
}

/// One way of ranking customers, and everything the trainer, the scorer, the backtest and the
/// help text need to know about it. **Adding a model or a baseline is adding one type that
/// conforms to this protocol and one line in ``Contenders/all``** (CONTRIBUTING.md, "Add a
/// contender").
public protocol Contender: Sendable {
    /// The name users type (`trainer --model`, `evaluator backtest --models`) and model files record.
    var name: String { get }
    /// One line for `--help` and the docs.
    var summary: String { get }
    var kind: ContenderKind { get }
    /// The static encoding of its feature pipeline when the user names none.
    var defaultStaticEncoding: StaticEncoding { get }
    /// Whether it reads tensors from a fitted feature pipeline (false: it reads the visit
    /// history directly, and its model file has no pipeline).
    var usesFeaturePipeline: Bool { get }
    /// Whether its model reads the pipeline's static columns, where notes inputs go (an
    /// ensemble: whether a member may). A contender that does not is fitted without notes, so
    /// the notes check does not fit it twice for nothing.
    var readsStatics: Bool { get }
    /// How its raw scores are calibrated on the validation split when the user names no
    /// method: Platt scaling for learned scores, none for a probability model's own output
    /// (BG/NBD) and for rankings that are not probabilities (heuristics).
    var defaultCalibration: ProbabilityCalibration.Method { get }
    /// Fits on what `job` prepares. Returns nil when `job.shouldStop` interrupted it.
    func fit(_ job: FitJob) throws -> FitResult?
    /// Rebuilds the fitted model from a model file's contender part, checking it (untrusted input).
    func load(_ file: ModelFile, path: String) throws -> any FittedModel
}

/// A contender after fitting: it scores examples and writes itself into a model file.
public protocol FittedModel: AnyObject {
    /// The contender's name.
    var name: String { get }
    /// Raw scores in [0, 1] for `input.set.examples[range]`, before calibration: P(order in
    /// [t, t + H)) for the models, an order-preserving squash for heuristics.
    func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float]
    /// The contender's tensors and metadata keys for the model file (none of ``ModelFile/commonKeys``).
    func contents() throws -> TensorFile
    /// The training epochs behind the model (neural models; an ensemble's neural member), for
    /// the trainer's summary; empty for contenders that do not train in epochs.
    var epochs: [EpochReport] { get }
    /// What the model itself says for the report (an association-rules model's top rules); nil for most.
    var findings: ModelFindings? { get }
    /// When the next order comes, for `input.set.examples[range]`: a distribution per example
    /// over the model's ``TimingBins`` (Docs/Features.md, "Purchase timing"); nil for a model
    /// that predicts only whether.
    func timing(_ input: ScoringInput, range: Range<Int>) throws -> [PurchaseTiming]?
    /// How many orders, for `input.set.examples[range]`: the expected number of distinct days
    /// with an order in [t, t + H) per example (Docs/Features.md, "Order counts"); nil for a
    /// model without a count head.
    func expectedOrders(_ input: ScoringInput, range: Range<Int>) throws -> [Double]?
}

extension Contender {
    public var readsStatics: Bool { usesFeaturePipeline }
}

extension FittedModel {
    public var epochs: [EpochReport] { [] }
    public var findings: ModelFindings? { nil }
    public func timing(_ input: ScoringInput, range: Range<Int>) throws -> [PurchaseTiming]? { nil }
    public func expectedOrders(_ input: ScoringInput, range: Range<Int>) throws -> [Double]? { nil }
}

/// What a fitted model scores: examples cut from a history, and the pipeline's encoder when the
/// model has one.
public struct ScoringInput {
    public let history: VisitHistory
    public let set: ExampleSet
    public let encoder: FeatureEncoder?

    public init(history: VisitHistory, set: ExampleSet, encoder: FeatureEncoder?) {
        self.history = history
        self.set = set
        self.encoder = encoder
    }

    /// The model tensors of `range` (models with a pipeline only).
    public func modelExamples(_ range: Range<Int>) -> ModelExamples {
        guard let encoder else { preconditionFailure("ScoringInput: this model has no feature pipeline") }
        return TrainingJob.modelExamples(encoder.tensors(for: set, range: range))
    }
}

/// What fitting produced.
public struct FitResult {
    public var model: any FittedModel
    /// Raw scores of the validation examples when fitting computed them anyway (else the job
    /// scores them for calibration).
    public var validationScores: [Float]?
    /// Training rows (examples or customers) and epochs or rounds, for logs and reports.
    public var trainingRows: Int
    public var iterations: Int?
    /// Lines for the trainer's log (a fit's parameters, rounds…).
    public var notes: [String]

    public init(
        model: any FittedModel, validationScores: [Float]? = nil, trainingRows: Int, iterations: Int? = nil,
        notes: [String] = []
    ) {
        self.model = model
        self.validationScores = validationScores
        self.trainingRows = trainingRows
        self.iterations = iterations
        self.notes = notes
    }
}

/// One fit's inputs: the history, the options, and the hooks of the calling tool. The training
/// and validation examples and the fitted pipeline are prepared on first use (``prepared()``)
/// and shared by whoever asks again.
public final class FitJob {
    public let history: VisitHistory
    public let options: TrainingJob.Options
    /// The previous model of the same contender to start from (warm start), if any.
    public let warmStart: (any FittedModel)?
    /// Where a neural run writes its checkpoint after every epoch, and whether to resume from it.
    public let checkpointPath: String?
    public let resume: Bool
    public let log: (String) -> Void
    public let progress: (BatchProgress) -> Void
    public let epochFinished: (EpochReport) -> Void
    public let shouldStop: () -> Bool
    /// Contenders already fitted on the same data and options (a backtest fold): an ensemble
    /// takes its members from here instead of fitting them again (same inputs, same result).
    public var alreadyFitted: [String: TrainingJob.Fitted] = [:]
    private var preparedData: TrainingJob.PreparedData?

    public init(
        history: VisitHistory, options: TrainingJob.Options, warmStart: (any FittedModel)? = nil,
        checkpointPath: String? = nil, resume: Bool = false, log: @escaping (String) -> Void = { _ in },
        progress: @escaping (BatchProgress) -> Void = { _ in },
        epochFinished: @escaping (EpochReport) -> Void = { _ in },
        shouldStop: @escaping () -> Bool = { false }
    ) {
        self.history = history
        self.options = options
        self.warmStart = warmStart
        self.checkpointPath = checkpointPath
        self.resume = resume
        self.log = log
        self.progress = progress
        self.epochFinished = epochFinished
        self.shouldStop = shouldStop
    }

    /// The same job under other options (nothing prepared yet, the same hooks and members).
    /// `secondFit`: a second fit beside this job's own, so without a checkpoint (it would
    /// overwrite the first's) and with silent epochs (the trainer's count and progress are the
    /// kept fit's).
    func with(options: TrainingJob.Options, secondFit: Bool = false) -> FitJob {
        let copy =
            secondFit
            ? FitJob(history: history, options: options, warmStart: warmStart, log: log, shouldStop: shouldStop)
            : FitJob(
                history: history, options: options, warmStart: warmStart, checkpointPath: checkpointPath,
                resume: resume, log: log,
                progress: progress, epochFinished: epochFinished, shouldStop: shouldStop)
        copy.alreadyFitted = alreadyFitted
        return copy
    }

    /// The cut-off T: only examples whose label window closes by T train.
    public var trainUntil: Day {
        options.trainUntil ?? Day(ordinal: (history.days.max() ?? 0) + 1)
    }

    /// The time-split examples and the pipeline fitted on the training part (built once).
    public func prepared() throws -> TrainingJob.PreparedData {
        if let preparedData { return preparedData }
        let data = try TrainingJob.prepare(history: history, options: options)
        preparedData = data
        return data
    }

    /// The prepared data if a contender asked for it (its pipeline goes into the model file).
    public var preparedIfBuilt: TrainingJob.PreparedData? { preparedData }
}

/// The registry: every contender this build offers, in the order help texts list them.
public enum Contenders {
    /// Every contender. To add one, append it here (and nowhere else).
    public static let all: [any Contender] =
        Architecture.allCases.map { NeuralContender(architecture: $0) } + [
            EnsembleContender(name: "cnn_lstm_bgnbd", members: ["cnn_lstm", "bgnbd"]),
            GradientBoostingContender(), GradientBoostingTimingContender(), BGNBDContender(), DecisionTreeContender(),
            AssociationRulesContender(),
            HeuristicContender(rule: .recency), HeuristicContender(rule: .frequency),
            HeuristicContender(rule: .roundRobin)
        ]

    /// The product's default model: the CNN-LSTM at its core with BG/NBD beside it (the mean of
    /// their calibrated probabilities), which beats every reference model of `make quality` on
    /// the CDNOW log and every baseline on `Fixtures/sample` (Docs/Quality.md). `cnn_lstm` alone
    /// is the study's model.
    public static let defaultModel = "cnn_lstm_bgnbd"

    /// The contender called `name`, if any.
    public static func named(_ name: String) -> (any Contender)? { all.first { $0.name == name } }

    /// Every name, for messages.
    public static var trainableNames: [String] { all.map(\.name) }

    /// `name (summary)` lines for help texts.
    public static var helpList: String {
        all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")
    }

    /// Rebuilds a model file's fitted model through its contender.
    public static func load(_ file: ModelFile, path: String) throws -> any FittedModel {
        guard let contender = named(file.model) else {
            throw ModelFile.ReadError(path: path, reason: "unknown model '\(file.model)'")
        }
        if contender.usesFeaturePipeline && file.pipeline == nil {
            throw ModelFile.ReadError(
                path: path, reason: "a \(file.model) model needs a feature pipeline and the file has none")
        }
        return try contender.load(file, path: path)
    }
}
