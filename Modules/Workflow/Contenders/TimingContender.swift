import BGNBD
import Calibration
import Dataset
import Features
import Foundation
import GradientBoosting
import Tensors
import Training

/// A discrete-time hazard model of the next order, fitted by gradient-boosted trees on
/// person-periods (Singer & Willett 1993; Tutz & Schmid 2016, ch. 3): each training example
/// becomes one row per ``TimingBins`` bin it was at risk in — its features, plus the bin's index
/// — labelled 1 in the bin of its next order and 0 before. The binary log loss over those rows
/// is exactly the censoring-aware likelihood of the discrete hazards h_k(x) = P(order in bin k
/// | none before, x): a censored example contributes only the bins it was seen through whole.
///
/// One model answers both questions: its score is P(order within H) = 1 − Π_{k: bins before
/// H}(1 − h_k(x)) (an H inside a bin takes the bin's daily hazard as constant), and
/// ``FittedModel/timing(_:range:)`` gives P(order within d) for any d, the expected and the
/// median days. Training targets are censored at the first validation date (so no training
/// target sees the validation weeks), validation targets at the cut-off T. Early stopping on
/// the validation person-periods' log loss. The scores are the model's own probabilities (no
/// calibration by default), so the timing and the score agree.
///
/// Beside the hazard, a count head: a second booster with XGBoost's Poisson objective (log
/// link) on the same features, fitted to the number of distinct order days in [t, t + H) —
/// fully observed for every training and validation example (their label windows close before
/// the validation dates and by T) — early-stopped on the validation Poisson log-likelihood. Its
/// prediction is ``FittedModel/expectedOrders(_:range:)``, the e-commerce study's "how many
/// orders within two weeks". The count trees boost from BG/NBD's conditional expected orders
/// (refitted at each as-of date on the orders before it): log μ = log E_BG/NBD + f(x), so they
/// learn where the buy-till-you-die posterior is wrong rather than the level and the slow death
/// it already models (``CountOffset``).
///
/// Model file: the U8 tensors `xgboost_timing.model` (XGBoost's UBJSON; the last feature column
/// is the bin index) and `xgboost_timing.count.model` (the count head; absent in files written
/// before it, which load without one), and metadata `xgboost_timing` = `{"settings": …,
/// "bin_edges": […], "survival_exponent": …, "count_offset": "bgnbd_expected_orders"}`
/// (`count_offset` absent: count trees without an offset, as files before it were written).
public struct GradientBoostingTimingContender: Contender {
    public init() {}
    public var name: String { "xgboost_timing" }
    public var summary: String {
        "a discrete-time hazard of the next order (XGBoost on person-periods): P(order within H) and when, with expected and median days"
    }
    public var kind: ContenderKind { .statistical }
    public var defaultStaticEncoding: StaticEncoding { .oneHot }
    public var usesFeaturePipeline: Bool { true }
    public var defaultCalibration: ProbabilityCalibration.Method { .none }

    struct Document: Codable {
        var settings: GradientBoostedTrees.Settings
        var binEdges: [Int]
        /// The hazard's level recalibration fitted on the validation weeks (``LevelCalibration``);
        /// absent in files written before it, which read as 1 (none).
        var survivalExponent: Double?
        /// What the count trees boost from (absent: nothing, files before it).
        var countOffset: CountOffset?
        enum CodingKeys: String, CodingKey {
            case settings
            case binEdges = "bin_edges"
            case survivalExponent = "survival_exponent"
            case countOffset = "count_offset"
        }
    }

    /// The prior the count trees add to on the log scale.
    ///
    /// Measured on the CDNOW sample's six quick folds (Docs/Quality.md): trees on the window
    /// counts alone over-predicted the total by 8.5% and lost to BG/NBD's Poisson deviance by 1%;
    /// the trees learn the level of a training window busier than the later weeks, which
    /// BG/NBD's per-customer posterior (refitted at every as-of date) follows by construction.
    enum CountOffset: String, Codable {
        case bgnbdExpectedOrders = "bgnbd_expected_orders"

        /// Expected orders below this are taken as it: log(0) has no step to boost from, and a
        /// customer BG/NBD gives one order in ten thousand windows is one the trees may still lift.
        static let floor = 1e-4

        /// The log-scale offset of each example of `set` at `horizon` days (an as-of date with
        /// no BG/NBD fit, when nobody has ordered yet, takes the floor).
        func margins(_ history: VisitHistory, _ set: ExampleSet, _ examples: some Collection<AsOfExample>, horizon: Int)
            -> [Float]
        {
            examples.map { example in
                Float(
                    Foundation.log(
                        max(history.bgnbdExpectedOrders(of: example, in: set, horizon: horizon) ?? 0, Self.floor)))
            }
        }
    }

    /// The level of the hazard head, refitted on the validation weeks. The trees learn the order
    /// rate of the training window; when the later weeks are quieter (CDNOW's cohort thins out),
    /// they over-predict: P(order within 28 d) 8.3% against 6.6% observed. The survival curves
    /// are raised to a power s (S_k → S_k^s, so each bin's hazard becomes 1 − (1 − h_k)^s), s
    /// maximising the likelihood of the validation person-periods, which are later than every
    /// training row; within a fold no ranking changes. The count head is left as the trees give
    /// it: a uniform scale and a Poisson recalibration exp(a) · μ^b on the same weeks were both
    /// tried, and both made CDNOW's mean Poisson deviance worse (Docs/Quality.md).
    enum LevelCalibration {
        /// s in [1/8, 8] by golden-section search on the log scale of the concave log-likelihood
        /// Σ y log(1 − (1 − h)^s) + (1 − y) s log(1 − h).
        static func survivalExponent(hazards: [Float], labels: [Float]) -> Double {
            func logLikelihood(_ s: Double) -> Double {
                var total = 0.0
                for (h, y) in zip(hazards, labels) {
                    let survive = log1p(-min(max(Double(h), 1e-12), 1 - 1e-12))
                    total += y == 1 ? log(-expm1(s * survive)) : s * survive
                }
                return total
            }
            var (low, high) = (log(1.0 / 8), log(8.0))
            let ratio = (5.0.squareRoot() - 1) / 2
            for _ in 0..<60 {
                let a = high - ratio * (high - low), b = low + ratio * (high - low)
                if logLikelihood(exp(a)) < logLikelihood(exp(b)) { low = a } else { high = b }
            }
            return exp((low + high) / 2)
        }

        /// A probability of an order (a bin's hazard, or P(order within d)) at exponent s:
        /// 1 − (1 − p)^s, the survival raised to the power s.
        static func leveled(_ p: Double, exponent s: Double) -> Double {
            s == 1 ? p : -expm1(s * log1p(-min(max(p, 0), 1)))
        }

        /// The distributions of `rows` examples from their per-bin hazards (row-major `[rows, K]`),
        /// each hazard leveled at exponent s: what both timing heads (trees and network) report.
        static func distributions(bins: TimingBins, hazards: [Float], rows: Int, exponent s: Double) -> [PurchaseTiming]
        {
            let k = bins.count
            precondition(
                hazards.count == rows * k,
                "LevelCalibration.distributions: \(hazards.count) hazards for \(rows) rows of \(k) bins")
            return (0..<rows).map { row in
                PurchaseTiming(
                    bins: bins, hazards: hazards[(row * k)..<((row + 1) * k)].map { leveled(Double($0), exponent: s) })
            }
        }
    }

    /// Person-period rows of `examples` (their feature matrix `base`), with their 0/1 labels.
    static func personPeriods(
        base: GradientBoostedTrees.Matrix, targets: [(target: TimeToOrder, followUp: Int)], bins: TimingBins
    ) -> (matrix: GradientBoostedTrees.Matrix, labels: [Float]) {
        let width = base.columns + 1
        var values: [Float] = []
        var labels: [Float] = []
        for (row, target) in targets.enumerated() {
            let (atRisk, eventBin) = bins.personPeriods(target.target, followUpDays: target.followUp)
            for k in 0..<atRisk {
                values += base.values[(row * base.columns)..<((row + 1) * base.columns)]
                values.append(Float(k))
                labels.append(k == eventBin ? 1 : 0)
            }
        }
        return (.init(values: values, rows: labels.count, columns: width), labels)
    }

    public func fit(_ job: FitJob) throws -> FitResult? {
        let data = try job.prepared()
        let featureSet = data.pipeline.featureSet
        let bins = TimingBins(horizonDays: job.options.examples.horizonDays)
        let trainBase = GradientBoostingContender.matrix(data.train, featureSet: featureSet)
        let train = Self.personPeriods(
            base: trainBase,
            targets: job.history.timingTargets(of: data.trainSet, censoredAt: data.validationFrom.ordinal), bins: bins)
        let validationBase = GradientBoostingContender.matrix(data.validation, featureSet: featureSet)
        let validation = Self.personPeriods(
            base: validationBase,
            targets: job.history.timingTargets(of: data.validationSet, censoredAt: data.trainUntil.ordinal), bins: bins)
        guard train.labels.contains(1) else {
            throw TrainingJob.JobError(
                "xgboost_timing: no training example has an order within \(bins.maximumDays) days before \(data.validationFrom.iso)"
            )
        }
        let trees = try GradientBoostedTrees.train(
            train: train.matrix, labels: train.labels, validation: validation.matrix,
            validationLabels: validation.labels,
            settings: job.options.boosting, threads: BlockParallelism.threadCount, shouldStop: job.shouldStop)
        if job.shouldStop() { return nil }
        let counts = try Self.fitCounts(
            job, data: data, trainBase: trainBase, validationBase: validationBase, offset: .bgnbdExpectedOrders)
        if job.shouldStop() { return nil }
        let exponent = LevelCalibration.survivalExponent(
            hazards: try trees.predict(validation.matrix), labels: validation.labels)
        let model = FittedTimingTrees(
            trees: trees, counts: counts, countOffset: .bgnbdExpectedOrders, settings: job.options.boosting, bins: bins,
            featureSet: featureSet, survivalExponent: exponent)
        let scores = try model.probabilities(validationBase, horizonDays: job.options.examples.horizonDays)
        func bestLoss(_ trees: GradientBoostedTrees) -> String {
            String(format: "%.5f", trees.history.first { $0.round == trees.bestRound }?.validationLoss ?? .nan)
        }
        return FitResult(
            model: model, validationScores: scores, trainingRows: data.train.count, iterations: trees.bestRound,
            notes: [
                "xgboost_timing: \(train.labels.count) person-periods from \(data.train.count) examples over bins ending at "
                    + "\(bins.edges.map(String.init).joined(separator: ", ")) days; \(trees.bestRound) rounds kept of \(trees.history.count) "
                    + "(validation log loss \(bestLoss(trees))); count head: \(counts.bestRound) rounds kept of \(counts.history.count) "
                    + "(validation Poisson log-likelihood \(bestLoss(counts))); level on the validation weeks: survival exponent "
                    + String(format: "%.3f", exponent)
            ])
    }

    /// The count head: Poisson trees on the order days in [t, t + H) of each example, boosting
    /// from `offset`.
    static func fitCounts(
        _ job: FitJob, data: TrainingJob.PreparedData, trainBase: GradientBoostedTrees.Matrix,
        validationBase: GradientBoostedTrees.Matrix,
        offset: CountOffset
    ) throws -> GradientBoostedTrees {
        let horizon = job.options.examples.horizonDays
        func counts(_ set: ExampleSet) -> [Float] {
            set.examples.map { Float(job.history.orderDays(of: $0, before: $0.asOf + Int32(horizon))) }
        }
        func margins(_ set: ExampleSet) -> [Float] { offset.margins(job.history, set, set.examples, horizon: horizon) }
        return try GradientBoostedTrees.train(
            train: trainBase, labels: counts(data.trainSet),
            validation: validationBase, validationLabels: counts(data.validationSet), settings: job.options.boosting,
            objective: .poisson, margins: (margins(data.trainSet), margins(data.validationSet)),
            threads: BlockParallelism.threadCount, shouldStop: job.shouldStop)
    }

    public func load(_ file: ModelFile, path: String) throws -> any FittedModel {
        func fail(_ reason: String) -> ModelFile.ReadError { .init(path: path, reason: reason) }
        guard let bytes = file.contents.byteTensors["xgboost_timing.model"], let pipeline = file.pipeline else {
            throw fail("an xgboost_timing model needs the U8 tensor 'xgboost_timing.model' and a feature pipeline")
        }
        guard let text = file.contents.metadata["xgboost_timing"],
            let document = try? JSONDecoder().decode(Document.self, from: Data(text.utf8))
        else {
            throw fail("metadata 'xgboost_timing' is missing or malformed")
        }
        guard let bins = TimingBins(edges: document.binEdges) else {
            throw fail("its bin edges \(document.binEdges.prefix(70)) are not 1…64 increasing days within 1…3660")
        }
        let width = GradientBoostingContender.width(pipeline)
        let trees: GradientBoostedTrees
        do {
            trees = try GradientBoostedTrees.load(bytes, featureCount: width + 1)
        } catch {
            throw fail("its trees cannot be read: \(error)")
        }
        var counts: GradientBoostedTrees?
        if let countBytes = file.contents.byteTensors["xgboost_timing.count.model"] {
            do {
                counts = try GradientBoostedTrees.load(countBytes, featureCount: width)
            } catch {
                throw fail("its count trees cannot be read: \(error)")
            }
        }
        let exponent = document.survivalExponent ?? 1
        guard exponent.isFinite, (1.0 / 64...64).contains(exponent) else {
            throw fail("its level calibration (survival exponent \(exponent)) is outside 1/64…64")
        }
        return FittedTimingTrees(
            trees: trees, counts: counts, countOffset: document.countOffset, settings: document.settings, bins: bins,
            featureSet: pipeline.featureSet, survivalExponent: exponent)
    }
}

final class FittedTimingTrees: FittedModel {
    let trees: GradientBoostedTrees
    /// The count head (nil in a model file written before it).
    let counts: GradientBoostedTrees?
    /// What the count trees boost from (nil: nothing, as in files written before it).
    let countOffset: GradientBoostingTimingContender.CountOffset?
    let settings: GradientBoostedTrees.Settings
    let bins: TimingBins
    let featureSet: FeatureSet
    var name: String { "xgboost_timing" }

    /// The hazard's level recalibration (``GradientBoostingTimingContender/LevelCalibration``; 1 = none).
    let survivalExponent: Double

    init(
        trees: GradientBoostedTrees, counts: GradientBoostedTrees?,
        countOffset: GradientBoostingTimingContender.CountOffset?,
        settings: GradientBoostedTrees.Settings, bins: TimingBins, featureSet: FeatureSet, survivalExponent: Double = 1
    ) {
        self.trees = trees
        self.counts = counts
        self.countOffset = countOffset
        self.survivalExponent = survivalExponent
        self.settings = settings
        self.bins = bins
        self.featureSet = featureSet
    }

    /// The distribution of each row of `base`: one prediction per bin.
    func distributions(_ base: GradientBoostedTrees.Matrix) throws -> [PurchaseTiming] {
        let K = bins.count, width = base.columns + 1
        var values = [Float](repeating: 0, count: base.rows * K * width)
        for row in 0..<base.rows {
            for k in 0..<K {
                let offset = (row * K + k) * width
                for c in 0..<base.columns { values[offset + c] = base.values[row * base.columns + c] }
                values[offset + base.columns] = Float(k)
            }
        }
        let hazards = try trees.predict(.init(values: values, rows: base.rows * K, columns: width))
        return GradientBoostingTimingContender.LevelCalibration.distributions(
            bins: bins, hazards: hazards, rows: base.rows, exponent: survivalExponent)
    }

    func probabilities(_ base: GradientBoostedTrees.Matrix, horizonDays: Int) throws -> [Float] {
        try distributions(base).map { Float($0.probability(withinDays: Double(horizonDays))) }
    }

    func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
        guard !range.isEmpty else { return [] }
        return try probabilities(
            GradientBoostingContender.matrix(input.modelExamples(range), featureSet: featureSet),
            horizonDays: input.set.settings.horizonDays)
    }

    func timing(_ input: ScoringInput, range: Range<Int>) throws -> [PurchaseTiming]? {
        guard !range.isEmpty else { return [] }
        return try distributions(GradientBoostingContender.matrix(input.modelExamples(range), featureSet: featureSet))
    }

    func expectedOrders(_ input: ScoringInput, range: Range<Int>) throws -> [Double]? {
        guard let counts else { return nil }
        guard !range.isEmpty else { return [] }
        let margins = countOffset?.margins(
            input.history, input.set, input.set.examples[range], horizon: input.set.settings.horizonDays)
        return try counts.predict(
            GradientBoostingContender.matrix(input.modelExamples(range), featureSet: featureSet), margins: margins
        )
        .map(Double.init)
    }

    func contents() throws -> TensorFile {
        let (major, minor, patch) = GradientBoostedTrees.version
        var tensors = ["xgboost_timing.model": try trees.serialized()]
        if let counts { tensors["xgboost_timing.count.model"] = try counts.serialized() }
        return TensorFile(
            byteTensors: tensors,
            metadata: [
                "xgboost_timing": try TensorFile.metadataJSON(
                    GradientBoostingTimingContender.Document(
                        settings: settings, binEdges: bins.edges, survivalExponent: survivalExponent,
                        countOffset: countOffset)),
                "xgboost_rounds": String(trees.bestRound), "xgboost_version": "\(major).\(minor).\(patch)"
            ])
    }
}

extension FittedBGNBD {
    /// BG/NBD's own timing: P(≥ 1 order in (t, t + d]) at each bin edge, from the same
    /// posterior its score uses.
    func timing(_ input: ScoringInput, range: Range<Int>) throws -> [PurchaseTiming]? {
        let bins = TimingBins(horizonDays: input.set.settings.horizonDays)
        return input.set.examples[range].map { example in
            let observation = input.history.bgnbdObservation(of: example, in: input.set)
            return PurchaseTiming(
                bins: bins,
                cumulative: bins.edges.map {
                    BGNBD.probabilityOfPurchase(document.parameters, observation, horizon: Double($0))
                })
        }
    }

    /// BG/NBD's conditional expected purchases in (t, t + H] (Fader, Hardie & Lee 2005, eq. 10),
    /// the reference the count head is judged against.
    func expectedOrders(_ input: ScoringInput, range: Range<Int>) throws -> [Double]? {
        let horizon = Double(input.set.settings.horizonDays)
        return input.set.examples[range].map { example in
            BGNBD.expectedPurchases(
                document.parameters, input.history.bgnbdObservation(of: example, in: input.set), horizon: horizon)
        }
    }
}
