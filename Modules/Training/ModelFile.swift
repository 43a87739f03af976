import Foundation
import Layers
import Models
import Tensors

/// The neural part of a model file: a trained network's weights under the PyTorch
/// reference's `state_dict` names and the metadata that rebuilds it. The file itself (format,
/// pipeline, calibration, provenance) is `Workflow.ModelFile`; this is what a neural contender
/// puts into it and reads back.
///
/// Tensors: every parameter and buffer under the PyTorch reference's `state_dict` name
/// (`lstm.weight_ih_l0`, `bn_seq.running_mean`), plus `<bn>.num_batches_tracked` (I64) for
/// each batch norm, as PyTorch's state_dict has it, so `safetensors.torch.load_file` and
/// `load_state_dict(strict=True)` read the file as it is. Metadata keys (strings; structured
/// values are JSON text):
///
/// | key | value |
/// |---|---|
/// | `architecture` | `cnn_lstm`, `lstm`, … (`Architecture`) |
/// | `shape` | `ModelShape` JSON: steps, sequence, static and aggregate feature counts |
/// | `training` | `TrainingSettings` JSON (objective, epochs, batch size, lr, seed…; not the thread count, which changes no number) |
/// | `history` | `EpochReport` JSON array; `best_epoch` the epoch whose weights these are |
/// | `steps` | optimizer steps taken |
public struct NeuralModel: Sendable {
    public var architecture: Architecture
    public var shape: ModelShape
    public var tensors: [String: Tensor]
    public var steps: Int
    public var settings: TrainingSettings
    public var history: [EpochReport]

    /// The metadata keys this part owns.
    public static let metadataKeys: Set<String> = [
        "architecture", "shape", "training", "history", "best_epoch", "steps"
    ]

    public init(run: TrainingRun) {
        architecture = run.settings.architecture
        shape = run.shape
        tensors = run.parameters.stateDictionary()
        steps = run.steps
        settings = run.settings
        history = run.history
    }

    /// The tensor file entries of this part: weights, batch-norm counters and metadata.
    public func fileEntries() throws -> TensorFile {
        var file = TensorFile(tensors: tensors)
        for name in tensors.keys where name.hasSuffix(".running_mean") {
            let layer = name.dropLast(".running_mean".count)
            file.integerTensors["\(layer).num_batches_tracked"] = Int64Tensor(shape: [], scalars: [Int64(steps)])
        }
        func json<T: Encodable>(_ value: T) throws -> String { try TensorFile.metadataJSON(value) }
        file.metadata = [
            "architecture": architecture.rawValue, "shape": try json(shape), "training": try json(settings),
            "history": try json(history), "best_epoch": String(history.filter(\.improved).last?.epoch ?? 0),
            "steps": String(steps)
        ]
        return file
    }

    /// Reads and checks the neural part of a tensor file: architecture, settings, and every
    /// tensor's name, shape and value against the architecture it declares (a file from outside
    /// is untrusted: NaN or infinite weights are refused, never run).
    public static func decode(_ file: TensorFile, source path: String) throws -> NeuralModel {
        func fail(_ reason: String) -> TrainingError { .modelFile(path: path, reason: reason) }
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = file.metadata[key], let value = try? decoder.decode(type, from: Data(text.utf8)) else {
                throw fail("metadata '\(key)' is missing or malformed")
            }
            return value
        }
        guard let architecture = Architecture(rawValue: file.metadata["architecture"] ?? "") else {
            throw fail(
                "unknown architecture '\(file.metadata["architecture"] ?? "")'; known: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let shape = try decode(ModelShape.self, "shape")
        guard let problem = shape.problem else {
            let model = NeuralModel(
                architecture: architecture, shape: shape, tensors: file.tensors,
                steps: Int(file.metadata["steps"] ?? "0") ?? 0,
                settings: try decode(TrainingSettings.self, "training"),
                history: try decode([EpochReport].self, "history"))
            for (name, tensor) in file.tensors where !tensor.scalars.allSatisfy(\.isFinite) {
                throw fail("tensor '\(name)' holds NaN or infinite values; the model cannot score (retrain it)")
            }
            if architecture.hasHazardHead, let problem = model.settings.timing.map({ $0.problem }) ?? "no timing bins" {
                throw fail("its hazard head cannot be used: \(problem)")
            }
            do {
                _ = try model.instantiate()
            } catch {
                throw fail("its weights do not fit a \(architecture.rawValue) model of shape \(shape): \(error)")
            }
            return model
        }
        throw fail("its input shape is not usable: \(problem)")
    }

    private init(
        architecture: Architecture, shape: ModelShape, tensors: [String: Tensor], steps: Int,
        settings: TrainingSettings,
        history: [EpochReport]
    ) {
        self.architecture = architecture
        self.shape = shape
        self.tensors = tensors
        self.steps = steps
        self.settings = settings
        self.history = history
    }

    /// The model with these weights, ready for inference.
    public func instantiate() throws -> (model: any Classifier, parameters: ParameterStore) {
        var layout = ParameterLayout()
        let model = makeClassifier(architecture, shape: shape, timing: settings.timing, layout: &layout)
        let parameters = ParameterStore(layout: layout)
        try parameters.load(tensors)
        return (model, parameters)
    }
}

/// P(order) for every example, in inference mode, in batches of `batchSize`, each batch cut into
/// shards by its size (`ShardedInference.defaultShardCount`) that run on `BlockParallelism`'s
/// threads: the result does not depend on the thread count.
public func predictProbabilities(
    model: inout any Classifier, parameters: ParameterStore, examples: ModelExamples, batchSize: Int = 4096
) -> [Float] {
    var probabilities = [Float](repeating: 0, count: examples.count)
    let inference = ShardedInference(
        model: model, parameters: parameters, shardCount: ShardedInference.defaultShardCount)
    var part: [Float] = []
    forEachBatch(of: examples.count, size: batchSize) { rows in
        inference.probabilities(examples, rows: rows, into: &part)
        probabilities.replaceSubrange(rows, with: part)
    }
    return probabilities
}

/// `body` on consecutive row ranges of at most `size` rows that cover `0..<count`: the batches
/// inference runs in, so that memory stays bounded by the batch, not the number of examples.
func forEachBatch(of count: Int, size: Int, _ body: (Range<Int>) -> Void) {
    var start = 0
    while start < count {
        let end = min(count, start + size)
        body(start..<end)
        start = end
    }
}

/// The per-bin hazards σ(z_k) of a hazard head for every example, row-major `[N, K]`, in
/// inference mode, sharded as ``predictProbabilities(model:parameters:examples:batchSize:)``.
public func predictHazards(
    model: any Classifier, parameters: ParameterStore, examples: ModelExamples, bins: Int, batchSize: Int = 4096
) -> [Float] {
    precondition(model.outputForm == .hazardLogits, "predictHazards: \(model.architecture.rawValue) has no hazard head")
    var hazards = [Float](repeating: 0, count: examples.count * bins)
    let inference = ShardedInference(
        model: model, parameters: parameters, shardCount: ShardedInference.defaultShardCount)
    var part: [Float] = []
    forEachBatch(of: examples.count, size: batchSize) { rows in
        inference.logits(examples, rows: rows, width: bins, into: &part)
        for (offset, z) in part.enumerated() { hazards[rows.lowerBound * bins + offset] = UnaryFunction.sigmoid(z) }
    }
    return hazards
}
