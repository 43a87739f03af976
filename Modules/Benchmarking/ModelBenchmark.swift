import Foundation
import Layers
import Losses
import Models
import Optimizers
import Tensors
import Training

/// Training and inference throughput of the CNN-LSTM and the 2-layer LSTM, measured the way
/// `../shared/bench/torch_reference.py` measures PyTorch's: fixed random tensors (no data
/// loading), batch 64 for training (forward + focal loss + backward + Adam), inference at batch
/// 64 and 4096, repetitions of about 1.5 s (training) and 1 s (inference), median samples/s.
/// Inference goes through `ShardedInference` with one shard per thread (what the scorer does):
/// inputs in, P(order) out.
public enum ModelBenchmark {
    public struct Result: Codable {
        public let model: String
        public let threads: Int
        public let parameters: Int
        public let trainBatch64: Summary
        public let inferBatch64: Summary
        public let inferBatch4096: Summary
    }

    /// The benchmark's CNN-LSTM (initialised from seed 0) and a training step on fixed random
    /// data: forward, focal loss, backward, Adam.
    final class CNNLSTMTraining {
        var model: CNNLSTM
        let parameters: ParameterStore
        var random = SeededRandom(seed: 0)
        private var adam: Adam
        private let focal = FocalLoss()
        private let sequence: Tensor, statics: Tensor, labels: Tensor  // [B, T, 7], [B, T, 4], [B]
        private var logits = Tensor.zeros([]), gradient = Tensor.zeros([])

        init(batch: Int) {
            var layout = ParameterLayout()
            model = CNNLSTM(layout: &layout)
            parameters = ParameterStore(layout: layout)
            model.initialize(parameters, using: &random)
            adam = Adam(parameterCount: parameters.count)
            sequence = Tensor.normal([batch, 10, 7], using: &random)
            statics = Tensor.normal([batch, 10, 4], using: &random)
            labels = Tensor.bernoulli([batch], probability: 0.08, using: &random)
        }

        func step() {
            parameters.zeroGradients()
            model.forward(sequence: sequence, statics: statics, mode: .training, parameters, into: &logits)
            _ = focal(logits: logits, labels: labels, gradient: &gradient)
            model.backward(gradient, parameters)
            adam.update(values: parameters.values, gradients: parameters.gradients)
        }
    }

    public static func runCNNLSTM(threads: Int, repetitions: Int, progress: (String) -> Void) -> Result {
        BlockParallelism.useThreads(threads)
        let training = CNNLSTMTraining(batch: 64)
        let train = measure(samplesPerCall: 64, seconds: 1.5, repetitions: repetitions, training.step)
        progress(String(format: "cnn_lstm train b64: %.0f samples/s", train.median))

        let inference = [64, 4096].map { size in
            let summary = measureInference(
                model: training.model, parameters: training.parameters, batch: size, statics: 4,
                threads: threads, repetitions: repetitions, random: &training.random)
            progress(String(format: "cnn_lstm infer b%d: %.0f samples/s", size, summary.median))
            return summary
        }
        return Result(
            model: "cnn_lstm", threads: threads, parameters: training.parameters.count, trainBatch64: train,
            inferBatch64: inference[0], inferBatch4096: inference[1])
    }

    /// The 2-layer LSTM's training step (`lstm2` in torch_reference.py): BCE on the logit, Adam,
    /// dropout on, fixed random inputs `[batch, 10, 7]`.
    final class StackedLSTMTraining {
        var model: StackedLSTM
        let parameters: ParameterStore
        var random = SeededRandom(seed: 0)
        private var dropoutRandom = SeededRandom(seed: 0, stream: 1)
        private var adam: Adam
        private let bce = BinaryCrossEntropy()
        private let sequence: Tensor, labels: Tensor  // [B, T, 7], [B]
        private var logits = Tensor.zeros([]), gradient = Tensor.zeros([])

        init(batch: Int) {
            var layout = ParameterLayout()
            model = StackedLSTM(layout: &layout)
            parameters = ParameterStore(layout: layout)
            model.initialize(parameters, using: &random)
            adam = Adam(parameterCount: parameters.count)
            sequence = Tensor.normal([batch, 10, 7], using: &random)
            labels = Tensor.bernoulli([batch], probability: 0.08, using: &random)
        }

        func step() {
            parameters.zeroGradients()
            model.forward(sequence: sequence, mode: .training, random: &dropoutRandom, parameters, into: &logits)
            _ = bce(logits: logits, labels: labels, gradient: &gradient)
            model.backward(gradient, parameters)
            adam.update(values: parameters.values, gradients: parameters.gradients)
        }
    }

    /// The 2-layer LSTM (`lstm2` in torch_reference.py): BCE on the logit, Adam, dropout on.
    public static func runStackedLSTM(threads: Int, repetitions: Int, progress: (String) -> Void) -> Result {
        BlockParallelism.useThreads(threads)
        let training = StackedLSTMTraining(batch: 64)
        let train = measure(samplesPerCall: 64, seconds: 1.5, repetitions: repetitions, training.step)
        progress(String(format: "lstm2 train b64: %.0f samples/s", train.median))
        let inference = [64, 4096].map { size in
            let summary = measureInference(
                model: training.model, parameters: training.parameters, batch: size, statics: 0, threads: threads,
                repetitions: repetitions, random: &training.random)
            progress(String(format: "lstm2 infer b%d: %.0f samples/s", size, summary.median))
            return summary
        }
        return Result(
            model: "lstm2", threads: threads, parameters: training.parameters.count, trainBatch64: train,
            inferBatch64: inference[0], inferBatch4096: inference[1])
    }

    /// Runs one CNN-LSTM measure alone for about `seconds`, for a profiler (`perf record`,
    /// `valgrind --tool=callgrind`) to attribute: `training` (batch 64, forward + focal loss +
    /// backward + Adam) or inference at `batch`. Returns samples/s.
    public static func profileCNNLSTM(training: Bool, batch: Int, threads: Int, seconds: Double) -> Double {
        BlockParallelism.useThreads(threads)
        let bench = CNNLSTMTraining(batch: batch)
        guard training else {
            return measureInference(
                model: bench.model, parameters: bench.parameters, batch: batch, statics: 4, threads: threads,
                repetitions: 1, seconds: seconds, random: &bench.random
            ).median
        }
        return measure(samplesPerCall: batch, seconds: seconds, repetitions: 1, bench.step).median
    }

    /// ``profileCNNLSTM(training:batch:threads:seconds:)`` for the 2-layer LSTM.
    public static func profileStackedLSTM(training: Bool, batch: Int, threads: Int, seconds: Double) -> Double {
        BlockParallelism.useThreads(threads)
        let bench = StackedLSTMTraining(batch: batch)
        guard training else {
            return measureInference(
                model: bench.model, parameters: bench.parameters, batch: batch, statics: 0, threads: threads,
                repetitions: 1, seconds: seconds, random: &bench.random
            ).median
        }
        return measure(samplesPerCall: batch, seconds: seconds, repetitions: 1, bench.step).median
    }

    /// Inference samples/s on fixed random inputs `[batch, 10, 7]` (and `[batch, statics]`),
    /// one shard per thread.
    static func measureInference(
        model: any Classifier, parameters: ParameterStore, batch: Int, statics: Int, threads: Int, repetitions: Int,
        seconds: Double = 1, random: inout SeededRandom
    ) -> Summary {
        let examples = ModelExamples(
            sequence: Tensor.normal([batch, 10, 7], using: &random), mask: Tensor.filled([batch, 10], with: 1),
            statics: Tensor.normal([batch, statics], using: &random), aggregates: Tensor.zeros([batch, 0]),
            labels: Tensor.zeros([batch]))
        let inference = ShardedInference(
            model: model, parameters: parameters, shardCount: ShardedInference.defaultShardCount)
        var probabilities: [Float] = []
        return measure(samplesPerCall: batch, seconds: seconds, repetitions: repetitions) {
            inference.probabilities(examples, into: &probabilities)
        }
    }

    /// Median samples/s over `repetitions` of about `seconds` each, after a warm-up.
    static func measure(samplesPerCall: Int, seconds: Double, repetitions: Int, _ body: () -> Void) -> Summary {
        let calls = Measurement.iterations(toFill: seconds, body)
        _ = Measurement.time(Swift.max(calls / 4, 2), body)
        let rates = (0..<repetitions).map { _ in Double(samplesPerCall * calls) / Measurement.time(calls, body) }
        return Summary(rates)
    }

    /// PyTorch's medians from `torch_reference.py --json`: model → (train64, infer64, infer4096).
    public static func referenceMedians(fromJSON data: Data) throws -> [String: [String: Double]] {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let results = root["results"] as? [[String: Any]]
        else {
            throw BenchmarkError(
                "torch reference JSON has no `results` array (was it written by torch_reference.py --json?)")
        }
        var medians: [String: [String: Double]] = [:]
        for result in results {
            guard let model = result["model"] as? String else { continue }
            var row: [String: Double] = [:]
            for key in ["train_b64", "infer_b64", "infer_b4096"] {
                if let entry = result[key] as? [String: Any], let median = entry["median"] as? Double {
                    row[key] = median
                }
            }
            medians[model] = row
        }
        return medians
    }

    /// The side-by-side table, as Markdown. `runs` holds one list of results per Revisit run
    /// (one result per model); each model's runs are pooled by median.
    public static func table(swift runs: [[Result]], reference: [String: [String: Double]]?) -> String {
        var lines = [
            "| model | measure | Revisit samples/s | PyTorch samples/s | Revisit / PyTorch |",
            "|---|---|---:|---:|---:|"
        ]
        guard let first = runs.first else { return lines.joined(separator: "\n") }
        let measures: [(String, String, (Result) -> Summary)] = [
            ("training, batch 64", "train_b64", { $0.trainBatch64 }),
            ("inference, batch 64", "infer_b64", { $0.inferBatch64 }),
            ("inference, batch 4096", "infer_b4096", { $0.inferBatch4096 })
        ]
        for (index, result) in first.enumerated() {
            for (label, key, pick) in measures {
                let revisit = Summary(runs.map { pick($0[index]).median }).median
                var line = String(format: "| %@ | %@ | %.0f |", result.model, label, revisit)
                if let torch = reference?[result.model]?[key] {
                    line += String(format: " %.0f | %.2f |", torch, revisit / torch)
                } else {
                    line += " – | – |"
                }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }
}
