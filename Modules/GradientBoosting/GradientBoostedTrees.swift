import CXGBoost
import Foundation

/// Gradient-boosted trees through XGBoost's C API (Chen & Guestrin 2016, *XGBoost: A Scalable
/// Tree Boosting System*, KDD; https://xgboost.readthedocs.io/en/stable/c.html): the contender
/// an analyst in this field would otherwise reach for (the JD e-commerce study used XGBoost).
/// Revisit does not hand-write a booster.
///
/// An ``Objective`` (binary logistic for P(order), Poisson for a count of orders) on dense
/// `[N, F]` Float32 features, the `hist` tree method, early stopping on the objective's
/// validation loss: boosting stops after `earlyStoppingRounds` rounds without a better
/// validation loss and the model keeps the best round's trees.
///
/// One booster is one XGBoost handle, freed with the object. XGBoost's errors become thrown
/// ``GradientBoostingError``s with its message.
public final class GradientBoostedTrees: @unchecked Sendable {
    /// What the trees predict, and the validation loss that stops them.
    public enum Objective: String, Sendable, Equatable {
        /// P(label = 1) for labels in {0, 1}; stops on the log loss.
        case binaryLogistic = "binary:logistic"
        /// The mean of a count for labels ≥ 0 (log link, XGBoost's `count:poisson`); stops on the
        /// Poisson negative log-likelihood. Its prediction is the expected count.
        case poisson = "count:poisson"

        var evaluationMetric: String {
            switch self {
            case .binaryLogistic: "logloss"
            case .poisson: "poisson-nloglik"
            }
        }
    }

    /// Everything that decides the trees; saved with the model.
    public struct Settings: Codable, Sendable, Equatable {
        /// Upper bound on boosting rounds (early stopping usually ends sooner).
        public var rounds = 1000
        public var learningRate = 0.05
        public var maxDepth = 6
        /// XGBoost's `min_child_weight`: the least hessian mass a leaf may hold. 1 is XGBoost's
        /// default; a larger value keeps leaves from chasing a handful of rare positives.
        public var minChildWeight = 5.0
        /// Row and column subsampling per tree (seeded).
        public var subsample = 0.8
        public var columnSample = 0.8
        /// L2 penalty on leaf weights.
        public var lambda = 1.0
        public var earlyStoppingRounds = 50
        public var seed: UInt64 = 1
        public init() {}

        enum CodingKeys: String, CodingKey {
            case rounds, learningRate = "learning_rate", maxDepth = "max_depth", minChildWeight = "min_child_weight"
            case subsample, columnSample = "column_sample", lambda, earlyStoppingRounds = "early_stopping_rounds", seed
        }

        /// The first setting that cannot work, or nil.
        public var problem: String? {
            if rounds < 1 { return "boosting rounds must be at least 1, got \(rounds)" }
            if !(learningRate > 0 && learningRate <= 1) {
                return "learning rate must be in (0, 1], got \(learningRate)"
            }
            if maxDepth < 1 || maxDepth > 30 { return "tree depth must be in 1...30, got \(maxDepth)" }
            if !(minChildWeight >= 0) { return "min child weight must be ≥ 0, got \(minChildWeight)" }
            if !(subsample > 0 && subsample <= 1) || !(columnSample > 0 && columnSample <= 1) {
                return "subsample and column sample must be in (0, 1], got \(subsample) and \(columnSample)"
            }
            if !(lambda >= 0) { return "lambda must be ≥ 0, got \(lambda)" }
            if earlyStoppingRounds < 1 { return "early stopping rounds must be at least 1, got \(earlyStoppingRounds)" }
            return nil
        }

        /// XGBoost's parameters for these settings, `objective` and `threads` threads.
        func parameters(objective: Objective, threads: Int) -> [(String, String)] {
            [
                ("objective", objective.rawValue), ("eval_metric", objective.evaluationMetric), ("tree_method", "hist"),
                ("eta", String(learningRate)), ("max_depth", String(maxDepth)),
                ("min_child_weight", String(minChildWeight)),
                ("subsample", String(subsample)), ("colsample_bytree", String(columnSample)),
                ("lambda", String(lambda)),
                ("seed", String(seed % UInt64(Int32.max))), ("nthread", String(threads)), ("verbosity", "0")
            ]
        }
    }

    /// Rows of a dense feature matrix, row-major.
    public struct Matrix: Sendable {
        public var values: [Float]
        public var rows: Int
        public var columns: Int
        public init(values: [Float], rows: Int, columns: Int) {
            precondition(
                values.count == rows * columns,
                "GradientBoostedTrees.Matrix: \(values.count) values for \(rows) × \(columns)")
            self.values = values
            self.rows = rows
            self.columns = columns
        }
    }

    /// One boosting round's validation loss.
    public struct Round: Sendable, Equatable, Codable {
        public var round: Int
        public var validationLoss: Double
    }

    private var handle: BoosterHandle?
    /// Features per row the trees were grown on.
    public let featureCount: Int
    /// Validation losses per round (empty for a loaded model).
    public private(set) var history: [Round] = []
    /// The round whose trees are kept (1-based; the count of trees).
    public private(set) var bestRound: Int

    deinit { if let handle { XGBoosterFree(handle) } }

    private init(handle: BoosterHandle, featureCount: Int, bestRound: Int) {
        self.handle = handle
        self.featureCount = featureCount
        self.bestRound = bestRound
    }

    /// XGBoost's version (major, minor, patch).
    public static var version: (Int, Int, Int) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        XGBoostVersion(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    static func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else {
            throw GradientBoostingError("XGBoost could not \(what): \(String(cString: XGBGetLastError()))")
        }
    }

    static func matrix(_ m: Matrix, labels: [Float]?, margin: [Float]? = nil) throws -> DMatrixHandle {
        var out: DMatrixHandle?
        // NaN marks a missing value, which Revisit's features never are; XGBoost then learns no default branch for it.
        try m.values.withUnsafeBufferPointer { buffer in
            try check(
                XGDMatrixCreateFromMat(buffer.baseAddress, UInt64(m.rows), UInt64(m.columns), .nan, &out),
                "load a feature matrix")
        }
        guard let out else { throw GradientBoostingError("XGBoost returned no feature matrix") }
        if let labels {
            try labels.withUnsafeBufferPointer {
                try check(XGDMatrixSetFloatInfo(out, "label", $0.baseAddress, UInt64($0.count)), "set labels")
            }
        }
        if let margin {
            precondition(margin.count == m.rows, "GradientBoostedTrees: \(margin.count) margins for \(m.rows) rows")
            try margin.withUnsafeBufferPointer {
                try check(
                    XGDMatrixSetFloatInfo(out, "base_margin", $0.baseAddress, UInt64($0.count)), "set base margins")
            }
        }
        return out
    }

    /// Grows trees on `train`, stopping early on `validation`'s loss under `objective`, keeping
    /// the best round. `shouldStop` is polled between rounds; stopping keeps the best round so far.
    ///
    /// `margins`, when given, is a per-row offset on the link scale (log μ for Poisson, logit for
    /// the logistic) that the trees add to instead of a global intercept: boosting from a prior
    /// model's prediction (XGBoost's `base_margin`), so the trees learn only its correction and
    /// early stopping at a few rounds leaves the prior as it was. Prediction then needs the same
    /// offsets (``predict(_:margins:)``).
    public static func train(
        train: Matrix, labels: [Float], validation: Matrix, validationLabels: [Float], settings: Settings,
        objective: Objective = .binaryLogistic, margins: (train: [Float], validation: [Float])? = nil, threads: Int = 1,
        roundFinished: (Round) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws -> GradientBoostedTrees {
        precondition(settings.problem == nil, "GradientBoostedTrees: \(settings.problem!)")
        precondition(
            labels.count == train.rows && validationLabels.count == validation.rows,
            "GradientBoostedTrees: labels and rows differ")
        precondition(train.columns == validation.columns, "GradientBoostedTrees: training and validation widths differ")
        if objective == .poisson {
            precondition(
                (labels + validationLabels).allSatisfy { $0 >= 0 && $0.isFinite },
                "GradientBoostedTrees: Poisson labels must be finite counts ≥ 0")
        }
        guard train.rows > 0, validation.rows > 0 else {
            throw GradientBoostingError("gradient boosting needs training and validation rows")
        }
        if let margins {
            precondition(
                margins.train.count == train.rows && margins.validation.count == validation.rows,
                "GradientBoostedTrees: margins and rows differ")
            precondition(
                (margins.train + margins.validation).allSatisfy(\.isFinite),
                "GradientBoostedTrees: margins must be finite")
        }
        let trainMatrix = try matrix(train, labels: labels, margin: margins?.train)
        defer { XGDMatrixFree(trainMatrix) }
        let validationMatrix = try matrix(validation, labels: validationLabels, margin: margins?.validation)
        defer { XGDMatrixFree(validationMatrix) }
        var booster: BoosterHandle?
        var cached: [DMatrixHandle?] = [trainMatrix, validationMatrix]
        try check(XGBoosterCreate(&cached, 2, &booster), "create a booster")
        guard let booster else { throw GradientBoostingError("XGBoost returned no booster") }
        let model = GradientBoostedTrees(handle: booster, featureCount: train.columns, bestRound: 0)
        var parameters = settings.parameters(objective: objective, threads: threads)
        if objective == .poisson && margins == nil {
            // XGBoost 1.7 starts every model at base_score 0.5 and caps each Poisson step
            // (max_delta_step 0.7), so a mean count far from 0.5 takes many rounds just to reach
            // the intercept; starting at the training mean (the fitted intercept of a log-link
            // model with no features) leaves the trees the customer-to-customer differences.
            // Clamped above 0 because log(0) has no step to start from.
            let mean = Double(labels.reduce(0, +)) / Double(labels.count)
            parameters.append(("base_score", String(max(mean, 1e-6))))
        }
        for (name, value) in parameters {
            try check(XGBoosterSetParam(booster, name, value), "set \(name) = \(value)")
        }
        var best = Double.infinity, sinceBest = 0
        var evaluated: [DMatrixHandle?] = [validationMatrix]
        let names = ["validation"]
        for round in 0..<settings.rounds {
            if shouldStop() { break }
            try check(XGBoosterUpdateOneIter(booster, Int32(round), trainMatrix), "boost round \(round + 1)")
            var text: UnsafePointer<CChar>?
            try names.withCStrings { cNames in
                var pointers = cNames
                try check(
                    XGBoosterEvalOneIter(booster, Int32(round), &evaluated, &pointers, 1, &text),
                    "evaluate round \(round + 1)")
            }
            // "[7]\tvalidation-logloss:0.21342" (or "validation-poisson-nloglik:…")
            guard let text, let loss = String(cString: text).split(separator: ":").last.flatMap({ Double($0) }) else {
                throw GradientBoostingError("XGBoost's evaluation of round \(round + 1) could not be read")
            }
            let entry = Round(round: round + 1, validationLoss: loss)
            model.history.append(entry)
            roundFinished(entry)
            if loss < best {
                best = loss
                sinceBest = 0
                model.bestRound = round + 1
            } else {
                sinceBest += 1
                if sinceBest >= settings.earlyStoppingRounds { break }
            }
        }
        guard model.bestRound > 0 else {
            throw GradientBoostingError("gradient boosting stopped before its first round")
        }
        if model.bestRound < model.history.count {
            var sliced: BoosterHandle?
            try check(
                XGBoosterSlice(booster, 0, Int32(model.bestRound), 1, &sliced),
                "keep the best \(model.bestRound) rounds")
            guard let sliced else { throw GradientBoostingError("XGBoost returned no sliced booster") }
            XGBoosterFree(booster)
            model.handle = sliced
        }
        return model
    }

    /// The objective's prediction per row: P(positive) for ``Objective/binaryLogistic``, the
    /// expected count for ``Objective/poisson``. `margins` are the per-row offsets of a model
    /// trained with them (nil for one trained without).
    public func predict(_ features: Matrix, margins: [Float]? = nil) throws -> [Float] {
        precondition(
            features.columns == featureCount,
            "GradientBoostedTrees.predict: \(features.columns) columns, trained on \(featureCount)")
        guard features.rows > 0 else { return [] }
        if let margins {
            precondition(margins.allSatisfy(\.isFinite), "GradientBoostedTrees.predict: margins must be finite")
        }
        let dmatrix = try Self.matrix(features, labels: nil, margin: margins)
        defer { XGDMatrixFree(dmatrix) }
        var shape: UnsafePointer<UInt64>?
        var dimensions: UInt64 = 0
        var result: UnsafePointer<Float>?
        let config =
            "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false}"
        try Self.check(XGBoosterPredictFromDMatrix(handle, dmatrix, config, &shape, &dimensions, &result), "predict")
        guard let result else { throw GradientBoostingError("XGBoost returned no predictions") }
        return Array(UnsafeBufferPointer(start: result, count: features.rows))
    }

    /// The model in XGBoost's Universal Binary JSON format (`xgboost.Booster().load_model(bytearray(…))` reads it).
    public func serialized() throws -> [UInt8] {
        var length: UInt64 = 0
        var bytes: UnsafePointer<CChar>?
        try Self.check(
            XGBoosterSaveModelToBuffer(handle, "{\"format\": \"ubj\"}", &length, &bytes), "serialise the model")
        guard let bytes else { throw GradientBoostingError("XGBoost returned no model bytes") }
        return bytes.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            Array(UnsafeBufferPointer(start: $0, count: Int(length)))
        }
    }

    /// Loads a model from ``serialized()`` bytes, checking that it has `featureCount` features
    /// and at least one tree (the bytes come from a file: untrusted).
    public static func load(_ bytes: [UInt8], featureCount: Int, threads: Int = 1) throws -> GradientBoostedTrees {
        var booster: BoosterHandle?
        try check(XGBoosterCreate(nil, 0, &booster), "create a booster")
        guard let booster else { throw GradientBoostingError("XGBoost returned no booster") }
        let model = GradientBoostedTrees(handle: booster, featureCount: featureCount, bestRound: 0)
        try bytes.withUnsafeBytes { raw in
            try check(XGBoosterLoadModelFromBuffer(booster, raw.baseAddress, UInt64(raw.count)), "read the model")
        }
        try check(XGBoosterSetParam(booster, "nthread", String(threads)), "set nthread")
        var features: UInt64 = 0
        try check(XGBoosterGetNumFeature(booster, &features), "read the feature count")
        guard Int(features) == featureCount else {
            throw GradientBoostingError(
                "the trees were grown on \(features) features, the model file's pipeline gives \(featureCount)")
        }
        var rounds: Int32 = 0
        try check(XGBoosterBoostedRounds(booster, &rounds), "read the number of rounds")
        guard rounds > 0 else { throw GradientBoostingError("the model holds no trees") }
        model.bestRound = Int(rounds)
        return model
    }
}

/// An XGBoost failure, with its message.
public struct GradientBoostingError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Array where Element == String {
    /// Runs `body` with the strings as C strings (valid only inside it).
    func withCStrings<R>(_ body: ([UnsafePointer<CChar>?]) throws -> R) throws -> R {
        let storage = map { strdup($0) }
        defer { storage.forEach { free($0) } }
        return try body(storage.map { UnsafePointer($0) })
    }
}
