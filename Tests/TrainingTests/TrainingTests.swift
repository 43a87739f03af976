import Foundation
import Models
import Tensors
import TestSupport
import Testing
import Training
import Layers

/// The training loop, checkpoints and model files, on a learnable synthetic task.
@Suite("Training loop, checkpoints and model files")
struct TrainingTests {
    /// A learnable task: the label is 1 when recent sequence feature 0 plus static feature 0 is
    /// high (noisy), so every architecture family has a signal in the part it reads (the
    /// aggregates carry the same signal for the feed-forward models).
    static func examples(count: Int, seed: UInt64) -> ModelExamples {
        var random = SeededRandom(seed: seed, stream: 9)
        let t = 4, f = 3, s = 2, a = 3
        var sequence = [Float](), mask = [Float](), statics = [Float](), aggregates = [Float](), labels = [Float]()
        for _ in 0..<count {
            let padding = random.int(below: 3)
            var recent: Float = 0
            for step in 0..<t {
                for feature in 0..<f {
                    let value = step < padding ? 0 : random.uniform()
                    sequence.append(value)
                    if feature == 0 && step >= t - 2 { recent += value }
                }
                mask.append(step < padding ? 0 : 1)
            }
            let profile = random.uniform()
            statics += [profile, random.uniform()]
            aggregates += [recent, profile, random.uniform()]
            let score = recent + profile + 0.3 * random.normal()
            labels.append(score > 1.6 ? 1 : 0)
        }
        return ModelExamples(
            sequence: Tensor(shape: [count, t, f], scalars: sequence), mask: Tensor(shape: [count, t], scalars: mask),
            statics: Tensor(shape: [count, s], scalars: statics),
            aggregates: Tensor(shape: [count, a], scalars: aggregates),
            labels: Tensor(labels))
    }

    /// ROC-AUC by counting concordant pairs (ties ½): enough for a test's sanity figure.
    static func auc(_ p: [Float], _ y: [Float]) -> Double? {
        let positives = zip(p, y).filter { $0.1 == 1 }.map(\.0), negatives = zip(p, y).filter { $0.1 == 0 }.map(\.0)
        guard !positives.isEmpty, !negatives.isEmpty else { return nil }
        var concordant = 0.0
        for q in positives { for r in negatives { concordant += q > r ? 1 : q == r ? 0.5 : 0 } }
        return concordant / Double(positives.count * negatives.count)
    }

    static func settings(_ architecture: Architecture, epochs: Int = 3) -> TrainingSettings {
        var settings = TrainingSettings()
        settings.architecture = architecture
        settings.epochs = epochs
        settings.batchSize = 32
        settings.learningRate = 0.01
        settings.seed = 7
        settings.patience = 50
        return settings
    }

    @Test(arguments: [Architecture.logisticRegression, .mlp, .gru])
    func learnsTheSyntheticTask(architecture: Architecture) throws {
        let train = Self.examples(count: 1024, seed: 1), validation = Self.examples(count: 512, seed: 2)
        var settings = Self.settings(architecture, epochs: 8)
        settings.objective = .crossEntropy(positiveWeight: 1)
        let run = TrainingRun(settings: settings, shape: train.shape, validationScore: Self.auc)
        try run.fit(train: train, validation: validation)
        let best = try #require(run.bestEpoch)
        // The label is a noisy threshold of features every model sees: Bayes AUC ≈ 0.93 here.
        #expect(best.validationAUC ?? 0 > 0.85, "\(architecture): \(run.history)")
        #expect(run.history.first!.trainingLoss > run.history.last!.trainingLoss)
    }

    static func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "revisit-training-\(UUID().uuidString)-\(name)"
    }

    static func modelBytes(_ run: TrainingRun) throws -> Data {
        let path = temporaryPath("model.safetensors")
        try NeuralModel(run: run).fileEntries().write(to: path)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Same data, settings, seed and threads → the same model file, byte for byte; another seed differs.
    ///
    /// Under `BLASThreads.with(1)`, the tools' configuration: the OpenBLAS thread count is
    /// process-wide, and a test running beside this one that changes it (`BlockParallelismTests`
    /// sets 3) can move a product to another OpenBLAS code path between the two runs, which
    /// rounds differently (seen once in CI: the two files differed). The lock it holds keeps
    /// such tests out for the duration. The comparison is a Bool, so that a failure reports at
    /// once rather than after Swift Testing diffs two megabyte-long blobs.
    @Test func sameSeedGivesByteIdenticalModelFiles() throws {
        let train = Self.examples(count: 96, seed: 1), validation = Self.examples(count: 64, seed: 2)
        func trained(seed: UInt64) throws -> Data {
            var settings = Self.settings(.cnnLSTM, epochs: 2)
            settings.seed = seed
            let run = TrainingRun(settings: settings, shape: train.shape, validationScore: Self.auc)
            try run.fit(train: train, validation: validation)
            return try Self.modelBytes(run)
        }
        let (first, second, other) = try BLASThreads.with(1) {
            (try trained(seed: 7), try trained(seed: 7), try trained(seed: 8))
        }
        let same = first == second, differs = first != other
        #expect(same, "the same seed gave two different model files (\(first.count) and \(second.count) bytes)")
        #expect(differs, "another seed gave the same model file")
    }

    /// Stopping after epoch 1 and resuming from its checkpoint gives exactly the uninterrupted run.
    /// Holds the OpenBLAS thread-count lock, as the same-seed test does: a concurrent test that
    /// sets another count moves a product to another OpenBLAS path between the two runs.
    @Test func resumingFromACheckpointMatchesAnUninterruptedRun() throws {
        try BLASThreads.with(1) { try resumingMatches() }
    }

    private func resumingMatches() throws {
        let train = Self.examples(count: 96, seed: 3), validation = Self.examples(count: 64, seed: 4)
        let settings = Self.settings(.lstm, epochs: 3)
        let uninterrupted = TrainingRun(settings: settings, shape: train.shape, validationScore: Self.auc)
        try uninterrupted.fit(train: train, validation: validation)

        let checkpointPath = Self.temporaryPath("checkpoint.safetensors")
        let interrupted = TrainingRun(settings: settings, shape: train.shape, validationScore: Self.auc)
        var batches = 0
        let finished = try interrupted.fit(
            train: train, validation: validation, progress: { _ in batches += 1 },
            checkpoint: { try $0.checkpoint().write(to: checkpointPath) },
            shouldStop: { batches >= 4 })  // 3 batches an epoch: stops inside epoch 2
        #expect(!finished)
        #expect(interrupted.history.count == 1)

        let resumed = TrainingRun(settings: settings, shape: train.shape, validationScore: Self.auc)
        try resumed.restore(TensorFile.read(from: checkpointPath), source: checkpointPath)
        #expect(resumed.history.count == 1)
        try resumed.fit(train: train, validation: validation)
        #expect(
            resumed.history
                == uninterrupted.history.map {
                    var r = $0; r.seconds = resumed.history[$0.epoch - 1].seconds; return r
                })
        let sameBytes = try Self.modelBytes(resumed) == Self.modelBytes(uninterrupted)
        #expect(sameBytes, "the resumed run's model file differs from the uninterrupted run's")

        var other = settings
        other.learningRate = 0.5
        let mismatched = TrainingRun(settings: other, shape: train.shape, validationScore: Self.auc)
        #expect {
            try mismatched.restore(TensorFile.read(from: checkpointPath), source: checkpointPath)
        } throws: { String(describing: $0).contains("other training settings") }
    }

    /// Early stopping keeps the best epoch's weights: the saved model's validation loss is the minimum.
    @Test func earlyStoppingRestoresTheBestEpoch() throws {
        let train = Self.examples(count: 128, seed: 5), validation = Self.examples(count: 64, seed: 6)
        var settings = Self.settings(.mlp, epochs: 30)
        settings.patience = 2
        settings.learningRate = 0.05
        let run = TrainingRun(settings: settings, shape: train.shape, validationScore: Self.auc)
        try run.fit(train: train, validation: validation)
        let best = run.history.map(\.validationLoss).min()!
        let tail = run.history.suffix(2)
        if run.history.count < 30 {
            #expect(tail.allSatisfy { !$0.improved }, "stopped after \(settings.patience) epochs without improvement")
        }
        let (loss, _) = run.evaluate(validation)
        #expect(abs(loss - best) <= 1e-9 * max(1, best), "restored weights give \(loss), best epoch \(best)")
    }

    /// Early stopping on the validation ROC-AUC keeps the epoch with the highest AUC.
    @Test func monitoringROCAUCKeepsTheBestRankingEpoch() throws {
        let train = Self.examples(count: 256, seed: 7), validation = Self.examples(count: 128, seed: 8)
        var settings = Self.settings(.mlp, epochs: 12)
        settings.patience = 4
        settings.monitor = .rocAUC
        settings.learningRate = 0.05
        let run = TrainingRun(settings: settings, shape: train.shape, validationScore: Self.auc)
        try run.fit(train: train, validation: validation)
        let aucs = run.history.compactMap(\.validationAUC)
        let best = try #require(run.bestEpoch)
        #expect(
            best.validationAUC == aucs.max(),
            "kept epoch \(best.epoch) of \(run.history.map { ($0.epoch, $0.validationAUC ?? -1) })")
        #expect(Self.auc(run.evaluate(validation).probabilities, validation.labels.scalars) == best.validationAUC)
    }

    /// A network's part of a model file reads back to the same predictions; NaN weights, a
    /// missing tensor and an absurd shape are refused with the reason (untrusted files).
    @Test func neuralModelsRoundTripAndRefuseBadFiles() throws {
        let train = Self.examples(count: 96, seed: 1), validation = Self.examples(count: 64, seed: 2)
        let run = TrainingRun(
            settings: Self.settings(.cnnLSTM, epochs: 1), shape: train.shape, validationScore: Self.auc)
        try run.fit(train: train, validation: validation)
        let path = Self.temporaryPath("model.safetensors")
        try NeuralModel(run: run).fileEntries().write(to: path)
        let raw = try TensorFile.read(from: path)
        let loaded = try NeuralModel.decode(raw, source: path)
        // Wall times are not stored (byte-identical reruns): compare everything else.
        #expect(loaded.architecture == .cnnLSTM && loaded.settings == run.settings)
        #expect(
            loaded.history.map(\.validationLoss) == run.history.map(\.validationLoss)
                && loaded.history.map(\.improved) == run.history.map(\.improved))
        #expect(raw.integerTensors["bn_seq.num_batches_tracked"]?.scalars == [Int64(run.steps)])
        var (model, parameters) = try loaded.instantiate()
        let reloaded = predictProbabilities(model: &model, parameters: parameters, examples: validation)
        #expect(reloaded == run.evaluate(validation).probabilities)

        var poisoned = raw
        var weights = poisoned.tensors["head.weight"]!
        weights.withUnsafeMutableBufferPointer { $0[0] = .nan }
        poisoned.tensors["head.weight"] = weights
        #expect { try NeuralModel.decode(poisoned, source: path) } throws: {
            String(describing: $0).contains("NaN or infinite")
        }
        var missing = raw
        missing.tensors["head.weight"] = nil
        #expect { try NeuralModel.decode(missing, source: path) } throws: {
            String(describing: $0).contains("do not fit")
        }
        var absurd = raw
        absurd.metadata["shape"] =
            #"{"aggregateFeatures":1,"sequenceFeatures":7,"staticFeatures":4,"steps":1000000000}"#
        #expect { try NeuralModel.decode(absurd, source: path) } throws: { String(describing: $0).contains("outside") }
    }
}

@Suite("Sharded inference")
struct ShardedInferenceTests {
    /// Splitting a batch across threads gives the single pass's probabilities to within a few
    /// Float32 roundings, for every architecture (rows never interact in inference mode). Not
    /// bit for bit: OpenBLAS handles a product's edge rows with other micro-kernels than its
    /// interior, so a row's dot products may be accumulated in another order when the batch is
    /// cut elsewhere (measured: at most 6.0e-8 here, one ulp at p ≈ 0.5; logistic regression
    /// 0). The bound, 2e-6, leaves room for deeper models and other machines and still catches
    /// any real error (a misplaced row or shard is off by far more). The same split is
    /// reproducible exactly.
    @Test(arguments: Architecture.allCases)
    func shardsReproduceTheSinglePass(architecture: Architecture) throws {
        let examples = TrainingTests.examples(count: 203, seed: 12)
        var layout = ParameterLayout()
        let timing = architecture.hasHazardHead ? HazardReadout(binEdges: [7, 14, 21, 28, 42], horizonDays: 30) : nil
        let model = makeClassifier(architecture, shape: examples.shape, timing: timing, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        var random = SeededRandom(seed: 5)
        model.initialize(parameters, using: &random)
        var single: [Float] = [], sharded: [Float] = [], again: [Float] = []
        ShardedInference(model: model, parameters: parameters, shardCount: 1).probabilities(examples, into: &single)
        let inference = ShardedInference(model: model, parameters: parameters, shardCount: 3)
        // The shards run concurrently.
        BlockParallelism.withThreads(2) { inference.probabilities(examples, into: &sharded) }
        #expect(single.count == 203 && sharded.count == 203)
        let worst = zip(single, sharded).map { abs($0 - $1) }.max()!
        #expect(worst <= 2e-6, "\(architecture): max |single − sharded| = \(worst)")
        BlockParallelism.withThreads(1) { inference.probabilities(examples, into: &again) }  // the same shards, in turn
        #expect(again == sharded, "the same split gives the same bits, whatever the thread count")
        // Reused buffers and a sub-range.
        inference.probabilities(examples, rows: 17..<150, into: &sharded)
        #expect(zip(sharded, single[17..<150]).allSatisfy { abs($0 - $1) <= 2e-6 })
    }
}
