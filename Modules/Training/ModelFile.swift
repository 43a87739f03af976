import Foundation
import Layers
import Models
import Tensors

/// A trained model on disk: the safetensors layout (BRIEF §4), so PyTorch loads it with
/// `safetensors.torch.load_file` and `load_state_dict`.
///
/// Tensors: every parameter and buffer under the PyTorch reference's `state_dict` name
/// (`lstm.weight_ih_l0`, `bn_seq.running_mean`), plus `<bn>.num_batches_tracked` (I64) for
/// each batch norm, as PyTorch's state_dict has it. `__metadata__` (strings only, as the format
/// requires; structured values are JSON text):
///
/// | key | value |
/// |---|---|
/// | `format`, `format_version` | `revisit-model`, `1` |
/// | `architecture` | `cnn_lstm`, `lstm`, … (`Architecture`) |
/// | `shape` | `ModelShape` JSON: steps, sequence, static and aggregate feature counts |
/// | `pipeline` | the fitted feature pipeline's JSON (vocabularies, scaler ranges, L, H, …) |
/// | `training` | `TrainingSettings` JSON (objective, epochs, batch size, lr, seed…; not the thread count, which changes no number) |
/// | `history` | `EpochReport` JSON array; `best_epoch` the epoch whose weights these are |
/// | `validation` | JSON object of validation metrics of the saved weights |
/// | `dataset_sha256` | SHA-256 of the dataset's `manifest.json`; `train_until` the cut-off date |
/// | `model_id` | a short id (first 12 hex digits of the SHA-256 of the weights) for score files |
///
/// The same content gives the same bytes (TensorFile sorts names and metadata keys), which is
/// what "same data, settings and seed → byte-identical model file, on any thread count" rests on.
public struct ModelFile: Sendable {
    public static let format = "revisit-model"
    public static let formatVersion = 1

    public var architecture: Architecture
    public var shape: ModelShape
    public var tensors: [String: Tensor]
    public var steps: Int
    public var pipeline: String
    public var settings: TrainingSettings
    public var history: [EpochReport]
    public var validation: [String: Double?]
    public var datasetSHA256: String
    public var trainUntil: String
    public var extra: [String: String]

    public init(
        run: TrainingRun, pipeline: String, validation: [String: Double?], datasetSHA256: String, trainUntil: String,
        extra: [String: String] = [:]
    ) {
        architecture = run.settings.architecture
        shape = run.shape
        tensors = run.parameters.stateDictionary()
        steps = run.steps
        self.pipeline = pipeline
        settings = run.settings
        history = run.history
        self.validation = validation
        self.datasetSHA256 = datasetSHA256
        self.trainUntil = trainUntil
        self.extra = extra
    }

    /// The short id score files carry: the first 12 hex digits of a hash of the weights.
    public var modelID: String {
        // FNV-1a over names and raw bits, in name order: stable and cheap; not a security hash.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        for name in tensors.keys.sorted() {
            for byte in name.utf8 { mix(byte) }
            for value in tensors[name]!.scalars {
                var bits = value.bitPattern
                for _ in 0..<4 { mix(UInt8(truncatingIfNeeded: bits)); bits >>= 8 }
            }
        }
        let hex = String(hash, radix: 16)
        return "\(architecture.rawValue)-" + String(repeating: "0", count: 16 - hex.count) + hex.prefix(12 - max(0, 16 - hex.count))
    }

    /// The tensor file: weights, batch-norm counters and metadata.
    public func tensorFile() throws -> TensorFile {
        var file = TensorFile(tensors: tensors)
        for name in tensors.keys where name.hasSuffix(".running_mean") {
            let layer = name.dropLast(".running_mean".count)
            file.integerTensors["\(layer).num_batches_tracked"] = Int64Tensor(shape: [], scalars: [Int64(steps)])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        file.metadata = [
            "format": Self.format, "format_version": String(Self.formatVersion), "architecture": architecture.rawValue,
            "shape": try json(shape), "pipeline": pipeline, "training": try json(settings), "history": try json(history),
            "best_epoch": String(history.filter(\.improved).last?.epoch ?? 0), "validation": try json(validation),
            "dataset_sha256": datasetSHA256, "train_until": trainUntil, "model_id": modelID, "steps": String(steps),
        ]
        for (key, value) in extra { file.metadata[key] = value }
        return file
    }

    /// Writes the model file atomically.
    public func write(to path: String) throws {
        try tensorFile().write(to: path)
    }

    /// Reads and checks a model file: format, version, architecture and every tensor's name and
    /// shape against the architecture it declares.
    public static func read(from path: String) throws -> ModelFile {
        let file = try TensorFile.read(from: path)
        func fail(_ reason: String) -> TrainingError { .modelFile(path: path, reason: reason) }
        guard file.metadata["format"] == format else {
            throw fail("not a Revisit model file (metadata format is \(file.metadata["format"].map { "'\($0)'" } ?? "missing")); train one with `trainer`")
        }
        guard file.metadata["format_version"] == String(formatVersion) else {
            throw fail("model format version \(file.metadata["format_version"] ?? "missing"); this build reads version \(formatVersion) — retrain the model with this build's trainer")
        }
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = file.metadata[key], let value = try? decoder.decode(type, from: Data(text.utf8)) else {
                throw fail("metadata '\(key)' is missing or malformed")
            }
            return value
        }
        guard let architecture = Architecture(rawValue: file.metadata["architecture"] ?? "") else {
            throw fail("unknown architecture '\(file.metadata["architecture"] ?? "")'; known: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var model = ModelFile(
            architecture: architecture, shape: try decode(ModelShape.self, "shape"), tensors: file.tensors,
            steps: Int(file.metadata["steps"] ?? "0") ?? 0, pipeline: file.metadata["pipeline"] ?? "",
            settings: try decode(TrainingSettings.self, "training"), history: try decode([EpochReport].self, "history"),
            validation: try decode([String: Double?].self, "validation"), datasetSHA256: file.metadata["dataset_sha256"] ?? "",
            trainUntil: file.metadata["train_until"] ?? "", extra: [:])
        let known: Set<String> = ["format", "format_version", "architecture", "shape", "pipeline", "training", "history", "best_epoch",
                                  "validation", "dataset_sha256", "train_until", "model_id", "steps"]
        for (key, value) in file.metadata where !known.contains(key) { model.extra[key] = value }
        do {
            _ = try model.instantiate()
        } catch {
            throw fail("its weights do not fit a \(architecture.rawValue) model of shape \(model.shape): \(error)")
        }
        return model
    }

    private init(
        architecture: Architecture, shape: ModelShape, tensors: [String: Tensor], steps: Int, pipeline: String,
        settings: TrainingSettings, history: [EpochReport], validation: [String: Double?], datasetSHA256: String,
        trainUntil: String, extra: [String: String]
    ) {
        self.architecture = architecture
        self.shape = shape
        self.tensors = tensors
        self.steps = steps
        self.pipeline = pipeline
        self.settings = settings
        self.history = history
        self.validation = validation
        self.datasetSHA256 = datasetSHA256
        self.trainUntil = trainUntil
        self.extra = extra
    }

    /// The model with these weights, ready for inference.
    public func instantiate() throws -> (model: any Classifier, parameters: ParameterStore) {
        var layout = ParameterLayout()
        let model = makeClassifier(architecture, shape: shape, layout: &layout)
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
    let inference = ShardedInference(model: model, parameters: parameters, shardCount: ShardedInference.defaultShardCount)
    var part: [Float] = []
    var start = 0
    while start < examples.count {
        let end = min(examples.count, start + batchSize)
        inference.probabilities(examples, rows: start..<end, into: &part)
        probabilities.replaceSubrange(start..<end, with: part)
        start = end
    }
    return probabilities
}
