import Calibration
import Features
import Formats
import Foundation
import Tensors
import Training

/// A trained model on disk, of any contender: the safetensors layout (BRIEF §4), so PyTorch
/// loads a neural model's weights with `safetensors.torch.load_file` and `load_state_dict`, and
/// any safetensors reader sees the rest.
///
/// `__metadata__` (strings; structured values are compact JSON with sorted keys) holds the part
/// every contender shares:
///
/// | key | value |
/// |---|---|
/// | `format`, `format_version` | `revisit-model`, `2` |
/// | `model` | the contender's name (`cnn_lstm`, `xgboost`, `bgnbd`, …: `Contenders.all`) |
/// | `examples` | `ExampleSettings` JSON: window length L, horizon H, padding, label |
/// | `pipeline` | the fitted feature pipeline's JSON (absent for contenders that read the history directly, BG/NBD) |
/// | `calibration` | `ProbabilityCalibration` JSON: `{"method":"platt","a":…,"b":…}`, isotonic points, or `none` |
/// | `validation` | validation metrics of the saved model, before (`raw_…`) and after calibration |
/// | `dataset_sha256` | SHA-256 of the dataset's `manifest.json`; `train_until` the cut-off date |
/// | `dataset_sample` | only for a model trained on a sample of a partitioned dataset: which partitions (`trainer --sample-partitions`) |
/// | `model_id` | `<model>-` + 12 hex digits of a hash of everything else in the file |
///
/// and the contender's own keys and tensors (a neural model's `architecture`, `shape`, weights;
/// XGBoost's trees as the U8 tensor `xgboost.model`; BG/NBD's parameters): see each contender.
/// Version 1 files (before the time-aware inputs and the contender registry) are refused with a
/// message that says to retrain.
public struct ModelFile: Sendable {
    public static let format = "revisit-model"
    public static let formatVersion = 2
    /// The metadata keys this type owns; the rest belong to the contender.
    public static let commonKeys: Set<String> = [
        "format", "format_version", "model", "examples", "pipeline", "calibration", "validation", "dataset_sha256",
        "dataset_sample", "train_until",
        "model_id", "revisit_version"
    ]

    public var model: String
    public var examples: ExampleSettings
    public var pipeline: FeaturePipeline?
    public var calibration: ProbabilityCalibration
    public var validation: [String: Double?]
    public var datasetSHA256: String
    public var trainUntil: String
    /// Which part of the dataset trained it, when not all of it: `partitions 0-3 of 16 (…)`
    /// (a sample of a partitioned dataset, Docs/ScaleOut.md); nil for the whole dataset, whose
    /// files then carry no such key (byte for byte what they were).
    public var datasetSample: String?
    /// The contender's tensors and metadata keys.
    public var contents: TensorFile

    public init(
        model: String, examples: ExampleSettings, pipeline: FeaturePipeline?, calibration: ProbabilityCalibration,
        validation: [String: Double?], datasetSHA256: String, trainUntil: String, datasetSample: String? = nil,
        contents: TensorFile
    ) {
        self.model = model
        self.examples = examples
        self.pipeline = pipeline
        self.calibration = calibration
        self.validation = validation
        self.datasetSHA256 = datasetSHA256
        self.trainUntil = trainUntil
        self.datasetSample = datasetSample
        self.contents = contents
    }

    /// The whole file without its id.
    func fileWithoutID() throws -> TensorFile {
        var file = contents
        func json<T: Encodable>(_ value: T) throws -> String { try TensorFile.metadataJSON(value) }
        precondition(
            Set(file.metadata.keys).isDisjoint(with: Self.commonKeys),
            "ModelFile: a contender wrote a common metadata key")
        file.metadata["format"] = Self.format
        file.metadata["format_version"] = String(Self.formatVersion)
        file.metadata["model"] = model
        file.metadata["examples"] = try json(examples)
        if let pipeline { file.metadata["pipeline"] = String(decoding: try pipeline.jsonBytes(), as: UTF8.self) }
        file.metadata["calibration"] = try json(calibration)
        file.metadata["validation"] = try json(validation)
        file.metadata["dataset_sha256"] = datasetSHA256
        file.metadata["train_until"] = trainUntil
        if let datasetSample { file.metadata["dataset_sample"] = datasetSample }
        // Which release wrote it (not checked on reading: the format version is what must match).
        file.metadata["revisit_version"] = RevisitVersion.current
        return file
    }

    /// The short id score files carry: the model's name and the first 12 hex digits of an
    /// FNV-1a hash of the file's bytes without the id (stable and cheap; not a security hash).
    public var modelID: String {
        let bytes = (try? fileWithoutID().encoded()) ?? Data()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return "\(model)-" + String((String(repeating: "0", count: 16 - hex.count) + hex).prefix(12))
    }

    /// The tensor file: the contender's content, the common metadata and the id.
    public func tensorFile() throws -> TensorFile {
        var file = try fileWithoutID()
        file.metadata["model_id"] = modelID
        return file
    }

    /// Writes the model file atomically.
    public func write(to path: String) throws {
        try tensorFile().write(to: path)
    }

    /// A model file that cannot be used, naming the file and the reason.
    public struct ReadError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Reads a model file and checks the common part: format, version, the contender's name
    /// (known to this build), examples, pipeline and calibration. The contender's part is
    /// checked when it is loaded (``Contenders/load(_:path:)``).
    public static func read(from path: String) throws -> ModelFile {
        let file: TensorFile
        do {
            file = try TensorFile.read(from: path)
        } catch let error as TensorFileError {
            throw ReadError(path: path, reason: error.reason)
        }
        func fail(_ reason: String) -> ReadError { ReadError(path: path, reason: reason) }
        guard file.metadata["format"] == format else {
            throw fail(
                "not a Revisit model file (metadata format is \(file.metadata["format"].map { "'\($0)'" } ?? "missing")); train one with `trainer`"
            )
        }
        guard file.metadata["format_version"] == String(formatVersion) else {
            throw fail(
                "model format version \(file.metadata["format_version"] ?? "missing"); this build reads version \(formatVersion) "
                    + "(time-aware inputs, calibration, any contender) — retrain the model with this build's trainer")
        }
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = file.metadata[key] else { throw fail("metadata '\(key)' is missing") }
            do {
                return try decoder.decode(type, from: Data(text.utf8))
            } catch {
                throw fail("metadata '\(key)' is malformed: \(error)")
            }
        }
        guard let model = file.metadata["model"], Contenders.named(model) != nil else {
            throw fail(
                "unknown model '\(file.metadata["model"] ?? "")'; this build knows \(Contenders.trainableNames.joined(separator: ", "))"
            )
        }
        let examples = try decode(ExampleSettings.self, "examples")
        guard (1...FeaturePipeline.maximumSequenceLength).contains(examples.sequenceLength),
            (1...FeaturePipeline.maximumHorizonDays).contains(examples.horizonDays)
        else {
            throw fail(
                "metadata 'examples' has a window of \(examples.sequenceLength) visits and a horizon of \(examples.horizonDays) days; "
                    + "this build accepts 1...\(FeaturePipeline.maximumSequenceLength) and 1...\(FeaturePipeline.maximumHorizonDays)"
            )
        }
        var pipeline: FeaturePipeline? = nil
        if let text = file.metadata["pipeline"] {
            do {
                pipeline = try FeaturePipeline.decode(json: Array(text.utf8))
            } catch {
                throw fail("its feature pipeline cannot be read: \(error)")
            }
            guard pipeline!.settings == examples else {
                throw fail("its pipeline's example settings differ from metadata 'examples'")
            }
        }
        var contents = TensorFile(
            tensors: file.tensors, integerTensors: file.integerTensors, byteTensors: file.byteTensors)
        for (key, value) in file.metadata where !commonKeys.contains(key) { contents.metadata[key] = value }
        return ModelFile(
            model: model, examples: examples, pipeline: pipeline,
            calibration: try decode(ProbabilityCalibration.self, "calibration"),
            validation: try decode([String: Double?].self, "validation"),
            datasetSHA256: file.metadata["dataset_sha256"] ?? "",
            trainUntil: file.metadata["train_until"] ?? "", datasetSample: file.metadata["dataset_sample"],
            contents: contents)
    }
}
