import Foundation
import Testing

@testable import GradientBoosting

/// The XGBoost wrapper: it learns, stops early on the validation loss, keeps the best round,
/// gives the same bytes for the same data and seed on any thread count, and refuses bad bytes.
@Suite("Gradient-boosted trees (XGBoost C API)")
struct GradientBoostedTreesTests {
    /// A seeded two-feature problem: P(1) = σ(3a − 2b − 1) plus a noise feature.
    static func data(rows: Int, seed: UInt64) -> (GradientBoostedTrees.Matrix, [Float]) {
        let (matrix, labels, _) = dataWithTruth(rows: rows, seed: seed)
        return (matrix, labels)
    }

    /// The rows, their labels and the true P(1) of each row.
    static func dataWithTruth(rows: Int, seed: UInt64) -> (GradientBoostedTrees.Matrix, [Float], [Float]) {
        var state = seed
        func uniform() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
        var values: [Float] = [], labels: [Float] = [], truth: [Float] = []
        for _ in 0..<rows {
            let a = uniform(), b = uniform(), noise = uniform()
            values += [a, b, noise]
            let p = 1 / (1 + exp(-(3 * a - 2 * b - 1)))
            truth.append(p)
            labels.append(uniform() < p ? 1 : 0)
        }
        return (GradientBoostedTrees.Matrix(values: values, rows: rows, columns: 3), labels, truth)
    }

    static func auc(_ scores: [Float], _ labels: [Float]) -> Double {
        let positives = zip(scores, labels).filter { $0.1 == 1 }.map(\.0),
            negatives = zip(scores, labels).filter { $0.1 == 0 }.map(\.0)
        var wins = 0.0
        for p in positives { for n in negatives { wins += p > n ? 1 : (p == n ? 0.5 : 0) } }
        return wins / Double(positives.count * negatives.count)
    }

    @Test func learnsStopsEarlyAndKeepsTheBestRound() throws {
        let (train, labels) = Self.data(rows: 3000, seed: 1)
        let (validation, validationLabels, truth) = Self.dataWithTruth(rows: 1000, seed: 2)
        var settings = GradientBoostedTrees.Settings()
        settings.rounds = 400
        settings.learningRate = 0.3
        settings.earlyStoppingRounds = 10
        let trees = try GradientBoostedTrees.train(
            train: train, labels: labels, validation: validation, validationLabels: validationLabels, settings: settings
        )
        #expect(trees.history.count < 400, "early stopping ends before the round budget")
        let best = trees.history.min { $0.validationLoss < $1.validationLoss }!
        #expect(trees.bestRound == best.round && trees.history.count == best.round + 10)
        let scores = try trees.predict(validation)
        #expect(scores.allSatisfy { $0 > 0 && $0 < 1 })
        // Within 0.02 of the ROC-AUC of the true probabilities (the best any model can reach here).
        #expect(Self.auc(scores, validationLabels) > Self.auc(truth, validationLabels) - 0.02)
        // The kept model predicts the best round's loss (it was sliced to that round).
        let loss =
            zip(scores, validationLabels).map { s, y in -Double(y == 1 ? log(s) : log(1 - s)) }.reduce(0, +)
            / Double(scores.count)
        #expect(abs(loss - best.validationLoss) < 1e-4)
    }

    /// Seeded counts: y ~ Poisson(λ) with λ = exp(1.5a − b − 0.5), plus a noise feature.
    static func countData(rows: Int, seed: UInt64) -> (GradientBoostedTrees.Matrix, [Float], [Float]) {
        var state = seed
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var values: [Float] = [], labels: [Float] = [], means: [Float] = []
        for _ in 0..<rows {
            let a = uniform(), b = uniform(), noise = uniform()
            values += [Float(a), Float(b), Float(noise)]
            let mean = exp(1.5 * a - b - 0.5)
            means.append(Float(mean))
            // Knuth's product-of-uniforms draw (λ < 3 here, so the loop is short).
            var count = 0, product = uniform()
            while product > exp(-mean) { count += 1; product *= uniform() }
            labels.append(Float(count))
        }
        return (GradientBoostedTrees.Matrix(values: values, rows: rows, columns: 3), labels, means)
    }

    /// The mean Poisson deviance (scikit-learn's `mean_poisson_deviance`).
    static func poissonDeviance(_ predicted: [Float], _ observed: [Float]) -> Double {
        var total = 0.0
        for (mu, y) in zip(predicted, observed) {
            let m = Double(mu), count = Double(y)
            total += 2 * ((count > 0 ? count * log(count / m) : 0) - count + m)
        }
        return total / Double(predicted.count)
    }

    @Test func poissonObjectivePredictsTheMeanCountAndStopsOnItsOwnLoss() throws {
        let (train, labels, _) = Self.countData(rows: 4000, seed: 11)
        let (validation, validationLabels, means) = Self.countData(rows: 2000, seed: 12)
        var settings = GradientBoostedTrees.Settings()
        settings.rounds = 600
        settings.learningRate = 0.1
        settings.earlyStoppingRounds = 20
        let trees = try GradientBoostedTrees.train(
            train: train, labels: labels, validation: validation,
            validationLabels: validationLabels, settings: settings, objective: .poisson)
        #expect(trees.history.count < 600, "early stopping on the Poisson loss ends before the budget")
        let predicted = try trees.predict(validation)
        #expect(predicted.allSatisfy { $0 > 0 && $0.isFinite }, "a Poisson mean is positive")
        // The total predicted count matches the observed total within a few percent (the log
        // link's intercept is fitted), and the trees close most of the deviance gap between a
        // constant mean and the true means (the best any model can do on these draws; 4,000
        // training rows leave some estimation error, measured 87% of the gap with these seeds).
        let ratio = Double(predicted.reduce(0, +)) / Double(validationLabels.reduce(0, +))
        #expect(abs(ratio - 1) < 0.05, "predicted/observed total \(ratio)")
        let deviance = Self.poissonDeviance(predicted, validationLabels),
            best = Self.poissonDeviance(means, validationLabels)
        let constant = Self.poissonDeviance(
            Array(repeating: labels.reduce(0, +) / Float(labels.count), count: validationLabels.count), validationLabels
        )
        let captured = (constant - deviance) / (constant - best)
        #expect(captured > 0.75, "deviance \(deviance), truth \(best), constant \(constant): \(captured) of the gap")
        // Poisson's evaluation metric is the negative log-likelihood, not the log loss: the best
        // round's recorded loss is the mean of μ − y log μ + log y! over the validation rows.
        var nll = 0.0
        for (mu, y) in zip(predicted, validationLabels) {
            let m = Double(mu), count = Double(y)
            nll += m - count * log(m) + lgamma(count + 1)
        }
        nll /= Double(predicted.count)
        let bestLoss = trees.history.first { $0.round == trees.bestRound }!
        #expect(abs(nll - bestLoss.validationLoss) < 1e-3)
    }

    /// Boosting from a per-row offset (XGBoost's `base_margin`): the trees see only `b` and the
    /// noise column, and the offset carries the part of log λ that depends on the hidden `a`.
    /// With the offset, training and prediction add it, so the model reaches nearly the true
    /// means; without it, the same columns cannot explain `a`'s share of the deviance.
    @Test func poissonTreesBoostFromPerRowMargins() throws {
        func hidingA(_ m: GradientBoostedTrees.Matrix) -> (GradientBoostedTrees.Matrix, [Float]) {
            var values: [Float] = [], margins: [Float] = []
            for row in 0..<m.rows {
                values += [m.values[row * 3 + 1], m.values[row * 3 + 2]]
                margins.append(1.5 * m.values[row * 3] - 0.5)
            }
            return (.init(values: values, rows: m.rows, columns: 2), margins)
        }
        let (fullTrain, labels, _) = Self.countData(rows: 4000, seed: 21)
        let (fullValidation, validationLabels, means) = Self.countData(rows: 2000, seed: 22)
        let (train, trainMargins) = hidingA(fullTrain), (validation, validationMargins) = hidingA(fullValidation)
        var settings = GradientBoostedTrees.Settings()
        settings.rounds = 400
        settings.learningRate = 0.1
        settings.earlyStoppingRounds = 20
        let offset = try GradientBoostedTrees.train(
            train: train, labels: labels, validation: validation, validationLabels: validationLabels,
            settings: settings,
            objective: .poisson, margins: (trainMargins, validationMargins))
        let plain = try GradientBoostedTrees.train(
            train: train, labels: labels, validation: validation, validationLabels: validationLabels,
            settings: settings, objective: .poisson)
        let withOffset = try offset.predict(validation, margins: validationMargins)
        let best = Self.poissonDeviance(means, validationLabels)
        let offsetDeviance = Self.poissonDeviance(withOffset, validationLabels)
        let plainDeviance = Self.poissonDeviance(try plain.predict(validation), validationLabels)
        // Measured with these seeds: the offset model 0.028 above the truth's deviance (1.042), the
        // plain one 0.21 above.
        #expect(offsetDeviance - best < 0.05, "offset \(offsetDeviance), truth \(best)")
        #expect(plainDeviance - offsetDeviance > 0.1, "plain \(plainDeviance), offset \(offsetDeviance)")
        // The prediction adds the margin: without it, XGBoost starts from its global intercept
        // instead (base_score 0.5, the default the offset path leaves alone, on the log scale),
        // so each row is off by exactly 0.5 · exp(−margin).
        let bare = try offset.predict(validation)
        for row in [0, 7, 1999] {
            let expected = Double(withOffset[row]) * 0.5 * exp(-Double(validationMargins[row]))
            #expect(abs(Double(bare[row]) - expected) < 1e-4 * expected, "row \(row): \(bare[row]) against \(expected)")
        }
    }

    @Test func sameDataSameBytesOnOneAndTwoThreadsAndTheBytesLoadBack() throws {
        let (train, labels) = Self.data(rows: 2000, seed: 3)
        let (validation, validationLabels) = Self.data(rows: 500, seed: 4)
        var settings = GradientBoostedTrees.Settings()
        settings.rounds = 60
        let one = try GradientBoostedTrees.train(
            train: train, labels: labels, validation: validation, validationLabels: validationLabels,
            settings: settings, threads: 1)
        let two = try GradientBoostedTrees.train(
            train: train, labels: labels, validation: validation, validationLabels: validationLabels,
            settings: settings, threads: 2)
        let bytes = try one.serialized()
        #expect(bytes == (try two.serialized()))
        let loaded = try GradientBoostedTrees.load(bytes, featureCount: 3)
        #expect(try loaded.predict(validation) == (try one.predict(validation)))
        #expect(loaded.bestRound == one.bestRound)
    }

    @Test func refusesBytesThatAreNotAModelAndTheWrongWidth() throws {
        #expect(throws: GradientBoostingError.self) {
            try GradientBoostedTrees.load(Array("not a model".utf8), featureCount: 3)
        }
        let (train, labels) = Self.data(rows: 500, seed: 5)
        var settings = GradientBoostedTrees.Settings()
        settings.rounds = 5
        let trees = try GradientBoostedTrees.train(
            train: train, labels: labels, validation: train, validationLabels: labels, settings: settings)
        #expect(throws: GradientBoostingError.self) {
            try GradientBoostedTrees.load(try trees.serialized(), featureCount: 4)
        }
        var bad = settings
        bad.learningRate = 0
        #expect(bad.problem != nil)
    }
}
