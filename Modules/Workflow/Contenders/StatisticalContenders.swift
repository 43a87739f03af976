import BGNBD
import Calibration
import Features
import Foundation
import GradientBoosting
import Tensors
import Training

/// Gradient-boosted trees through XGBoost's C API (Modules/GradientBoosting) on the static
/// features (one-hot profile and last-visit fields, numeric extras) and the aggregate features:
/// under the time-aware set the statics already carry the aggregates as the window summary, so
/// the matrix is the statics alone; under the study's set it is statics then aggregates.
/// Early stopping on the validation log loss. The trees go into the model file as the U8 tensor
/// `xgboost.model` (XGBoost's UBJSON: `xgboost.Booster().load_model(bytearray(t.numpy()))`),
/// the settings as the metadata key `xgboost`.
public struct GradientBoostingContender: Contender {
    public init() {}
    public var name: String { "xgboost" }
    public var summary: String { "gradient-boosted trees (XGBoost) on the static and aggregate features" }
    public var kind: ContenderKind { .statistical }
    public var defaultStaticEncoding: StaticEncoding { .oneHot }
    public var usesFeaturePipeline: Bool { true }
    public var defaultCalibration: ProbabilityCalibration.Method { .platt }

    /// The feature matrix of model examples under `pipeline`.
    static func matrix(_ examples: ModelExamples, featureSet: FeatureSet) -> GradientBoostedTrees.Matrix {
        let n = examples.count, s = examples.statics.shape[1], a = examples.aggregates.shape[1]
        guard !featureSet.windowSummaryInStatics else {
            return .init(values: examples.statics.scalars, rows: n, columns: s)
        }
        var values: [Float] = []
        values.reserveCapacity(n * (s + a))
        let statics = examples.statics.scalars, aggregates = examples.aggregates.scalars
        for row in 0..<n {
            values += statics[(row * s)..<((row + 1) * s)]
            values += aggregates[(row * a)..<((row + 1) * a)]
        }
        return .init(values: values, rows: n, columns: s + a)
    }

    static func width(_ pipeline: FeaturePipeline) -> Int {
        pipeline.staticWidth + (pipeline.featureSet.windowSummaryInStatics ? 0 : pipeline.aggregateFeatures.count)
    }

    public func fit(_ job: FitJob) throws -> FitResult? {
        let data = try job.prepared()
        let featureSet = data.pipeline.featureSet
        let validation = Self.matrix(data.validation, featureSet: featureSet)
        let trees = try GradientBoostedTrees.train(
            train: Self.matrix(data.train, featureSet: featureSet), labels: data.train.labels.scalars,
            validation: validation,
            validationLabels: data.validation.labels.scalars, settings: job.options.boosting,
            threads: BlockParallelism.threadCount,
            shouldStop: job.shouldStop)
        if job.shouldStop() { return nil }
        let scores = try trees.predict(validation)
        let lastLoss = trees.history.first { $0.round == trees.bestRound }?.validationLoss ?? .nan
        return FitResult(
            model: FittedGradientBoosting(trees: trees, settings: job.options.boosting, featureSet: featureSet),
            validationScores: scores,
            trainingRows: data.train.count, iterations: trees.bestRound,
            notes: [
                "xgboost: \(trees.bestRound) rounds kept of \(trees.history.count) (validation log loss \(String(format: "%.5f", lastLoss)))"
            ])
    }

    public func load(_ file: ModelFile, path: String) throws -> any FittedModel {
        func fail(_ reason: String) -> ModelFile.ReadError { .init(path: path, reason: reason) }
        guard let bytes = file.contents.byteTensors["xgboost.model"], let pipeline = file.pipeline else {
            throw fail("an xgboost model needs the U8 tensor 'xgboost.model' and a feature pipeline")
        }
        guard let text = file.contents.metadata["xgboost"],
            let settings = try? JSONDecoder().decode(GradientBoostedTrees.Settings.self, from: Data(text.utf8))
        else {
            throw fail("metadata 'xgboost' is missing or malformed")
        }
        do {
            let trees = try GradientBoostedTrees.load(bytes, featureCount: Self.width(pipeline))
            return FittedGradientBoosting(trees: trees, settings: settings, featureSet: pipeline.featureSet)
        } catch {
            throw fail("its trees cannot be read: \(error)")
        }
    }
}

final class FittedGradientBoosting: FittedModel {
    let trees: GradientBoostedTrees
    let settings: GradientBoostedTrees.Settings
    let featureSet: FeatureSet
    var name: String { "xgboost" }

    init(trees: GradientBoostedTrees, settings: GradientBoostedTrees.Settings, featureSet: FeatureSet) {
        self.trees = trees
        self.settings = settings
        self.featureSet = featureSet
    }

    func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
        guard !range.isEmpty else { return [] }
        return try trees.predict(GradientBoostingContender.matrix(input.modelExamples(range), featureSet: featureSet))
    }

    func contents() throws -> TensorFile {
        let (major, minor, patch) = GradientBoostedTrees.version
        return TensorFile(
            byteTensors: ["xgboost.model": try trees.serialized()],
            metadata: [
                "xgboost": try TensorFile.metadataJSON(settings),
                "xgboost_rounds": String(trees.bestRound), "xgboost_version": "\(major).\(minor).\(patch)"
            ])
    }
}

/// BG/NBD (Modules/BGNBD), the field's standard buy-till-you-die model, as `lifetimes` fits it:
/// maximum likelihood on every customer's (x, tₓ, T) from the distinct order days before the
/// cut-off T (the fold's Monday in a backtest, the day after the data for the trainer), scoring
/// the exact P(≥ 1 order in (T, T + H]) at any later as-of date from the history before it.
///
/// It reads the visit history directly: no feature pipeline, no training window, no validation
/// split (its probabilities are the model's own, not calibrated). On a visit log only the order
/// visits are purchases; a customer with no order before t (a prospect) is scored as alive with
/// x = 0 and T = the days since its first visit — the model's view of someone who has not
/// bought yet. Model file: metadata `bgnbd` = `{"parameters": {r, alpha, a, b}, "fit": {…}}`.
public struct BGNBDContender: Contender {
    public init() {}
    public var name: String { "bgnbd" }
    public var summary: String { "BG/NBD (Fader, Hardie & Lee 2005), as lifetimes fits it" }
    public var kind: ContenderKind { .statistical }
    public var defaultStaticEncoding: StaticEncoding { .oneHot }
    public var usesFeaturePipeline: Bool { false }
    public var defaultCalibration: ProbabilityCalibration.Method { .none }

    struct Document: Codable {
        struct FitRecord: Codable {
            var customers: Int
            var patterns: Int
            var objective: Double
            var evaluations: Int
            var settings: BGNBD.FitSettings
        }
        var parameters: BGNBD.Parameters
        var fit: FitRecord
    }

    public func fit(_ job: FitJob) throws -> FitResult? {
        let cutoff = job.trainUntil
        let set = ExampleBuilder(history: job.history, settings: job.options.examples).scoringExamples(asOf: cutoff)
        let observations = set.examples.compactMap { job.history.purchaseSummary(of: $0, in: set) }
        let (patterns, weights) = BGNBD.patterns(observations)
        let fit: BGNBD.Fit
        do {
            fit = try BGNBD.fit(patterns, weights: weights, settings: job.options.bgnbd)
        } catch let error as BGNBD.FitError {
            throw TrainingJob.JobError("BG/NBD at \(cutoff.iso): \(error.description)")
        }
        let p = fit.parameters
        let document = Document(
            parameters: p,
            fit: .init(
                customers: observations.count, patterns: patterns.count, objective: fit.objective,
                evaluations: fit.evaluations,
                settings: job.options.bgnbd))
        return FitResult(
            model: FittedBGNBD(document: document), trainingRows: observations.count, iterations: fit.evaluations,
            notes: [
                String(
                    format: "bgnbd: r %.4g, alpha %.4g days, a %.4g, b %.4g from %d customers (%d patterns) before %@",
                    p.r, p.alpha, p.a, p.b, observations.count, patterns.count, cutoff.iso)
            ])
    }

    public func load(_ file: ModelFile, path: String) throws -> any FittedModel {
        guard let text = file.contents.metadata["bgnbd"],
            let document = try? JSONDecoder().decode(Document.self, from: Data(text.utf8))
        else {
            throw ModelFile.ReadError(path: path, reason: "metadata 'bgnbd' is missing or malformed")
        }
        guard document.parameters.isValid else {
            throw ModelFile.ReadError(
                path: path, reason: "its BG/NBD parameters are not all positive and finite: \(document.parameters)")
        }
        return FittedBGNBD(document: document)
    }
}

final class FittedBGNBD: FittedModel {
    let document: BGNBDContender.Document
    var name: String { "bgnbd" }
    init(document: BGNBDContender.Document) { self.document = document }

    func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
        let horizon = Double(input.set.settings.horizonDays)
        return input.set.examples[range].map { example in
            Float(
                BGNBD.probabilityOfPurchase(
                    document.parameters, input.history.bgnbdObservation(of: example, in: input.set), horizon: horizon))
        }
    }

    func contents() throws -> TensorFile {
        TensorFile(metadata: ["bgnbd": try TensorFile.metadataJSON(document)])
    }
}

/// A CART classification tree on the aggregate features (``DecisionTree``), the classic
/// tabular baseline. Model file: `tree.nodes`, `tree.values`, metadata `tree` (its settings).
public struct DecisionTreeContender: Contender {
    public init() {}
    public var name: String { "decision_tree" }
    public var summary: String { "a CART decision tree on the aggregate features" }
    public var kind: ContenderKind { .statistical }
    public var defaultStaticEncoding: StaticEncoding { .oneHot }
    public var usesFeaturePipeline: Bool { true }
    public var defaultCalibration: ProbabilityCalibration.Method { .platt }

    public func fit(_ job: FitJob) throws -> FitResult? {
        let data = try job.prepared()
        let width = data.train.aggregates.shape[1]
        let tree = DecisionTree(
            features: data.train.aggregates.scalars, labels: data.train.labels.scalars, featureCount: width,
            settings: job.options.tree)
        return FitResult(
            model: FittedDecisionTree(tree: tree), validationScores: tree.predict(data.validation.aggregates.scalars),
            trainingRows: data.train.count, notes: ["decision_tree: \(tree.leafCount) leaves"])
    }

    public func load(_ file: ModelFile, path: String) throws -> any FittedModel {
        guard let pipeline = file.pipeline, let text = file.contents.metadata["tree"],
            let settings = try? JSONDecoder().decode(DecisionTree.Settings.self, from: Data(text.utf8))
        else {
            throw ModelFile.ReadError(
                path: path, reason: "a decision tree needs a feature pipeline and the metadata 'tree'")
        }
        do {
            return FittedDecisionTree(
                tree: try DecisionTree(
                    tensors: file.contents, featureCount: pipeline.aggregateFeatures.count, settings: settings))
        } catch {
            throw ModelFile.ReadError(path: path, reason: "\(error)")
        }
    }
}

final class FittedDecisionTree: FittedModel {
    let tree: DecisionTree
    var name: String { "decision_tree" }
    init(tree: DecisionTree) { self.tree = tree }

    func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
        guard !range.isEmpty else { return [] }
        return tree.predict(input.modelExamples(range).aggregates.scalars)
    }

    func contents() throws -> TensorFile {
        var file = tree.tensors()
        file.metadata["tree"] = try TensorFile.metadataJSON(tree.settings)
        return file
    }
}
