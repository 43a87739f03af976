import Dataset
import Features
import Foundation
import Models
import Tensors
import Testing
import Training
import Workflow

/// A trained Revisit model file loads into PyTorch (`load_state_dict(strict=True)`) and gives
/// Revisit's probabilities within 1e-5 (`Fixtures/models/check_model_file_parity.py`). Runs
/// where a Python with PyTorch is present: `REVISIT_TORCH_PYTHON`, or the reference-benchmark
/// venv of `../shared/bench/setup.sh`.
@Suite("Model files in PyTorch")
struct ModelParityTests {
    static let torchPython: String? = {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["REVISIT_TORCH_PYTHON"], !explicit.isEmpty {
            candidates.append(explicit)
        }
        candidates.append(NSHomeDirectory() + "/.cache/revisit-bench/venv/bin/python")
        return candidates.first { path in
            guard FileManager.default.isExecutableFile(atPath: path) else { return false }
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: path)
            probe.arguments = ["-c", "import torch, safetensors"]
            probe.standardOutput = FileHandle.nullDevice
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { return false }
            probe.waitUntilExit()
            return probe.terminationStatus == 0
        }
    }()

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test(
        .enabled(
            if: torchPython != nil, "needs a Python with PyTorch (REVISIT_TORCH_PYTHON or ../shared/bench/setup.sh)"),
        arguments: Architecture.allCases)
    func pyTorchReproducesRevisitProbabilities(architecture: Architecture) throws {
        let dataset = SyntheticVisitLog.generate(customers: 60, visits: 1500, days: 240, seed: 4)
        let history = VisitHistory(dataset: dataset)
        var options = TrainingJob.Options()
        options.model = architecture.rawValue
        options.training.architecture = architecture
        options.training.epochs = 1
        options.training.batchSize = 128
        options.validationDates = 3
        let job = FitJob(history: history, options: options)
        let fitted = try #require(try TrainingJob.fit(job))
        let data = try job.prepared()

        let directory = NSTemporaryDirectory() + "revisit-parity-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let modelPath = directory + "/model.safetensors", inputsPath = directory + "/inputs.safetensors"
        try TrainingJob.modelFile(fitted, options: options, trainUntil: data.trainUntil, datasetSHA256: "").write(
            to: modelPath)

        // Revisit's probabilities (before calibration: PyTorch reproduces the network) from the
        // model file as the scorer reads it, on the validation rows (left-padded ones included).
        let loaded = try #require(
            try Contenders.load(ModelFile.read(from: modelPath), path: modelPath) as? FittedNeuralModel)
        var (model, parameters) = try loaded.model.instantiate()
        let rows = Array(0..<min(48, data.validation.count))
        let examples = data.validation.selecting(rows)
        #expect(examples.mask.scalars.contains(0), "the rows include left-padded histories")
        let probabilities = predictProbabilities(model: &model, parameters: parameters, examples: examples)
        try TensorFile(tensors: [
            "x_seq": examples.sequence, "mask": examples.mask, "statics": examples.statics,
            "aggregates": examples.aggregates,
            "probabilities": Tensor(probabilities)
        ]).write(to: inputsPath)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.torchPython!)
        process.arguments = [
            Self.repositoryRoot.appendingPathComponent("Fixtures/models/check_model_file_parity.py").path, modelPath,
            inputsPath
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
    }
}
