import Calibration
import Features
import Foundation
import Tensors
import Training

/// An ensemble: the mean of its members' calibrated probabilities. Each member is fitted,
/// calibrated on the validation split and saved exactly as it would be alone; the ensemble adds
/// nothing to learn, so it needs no calibration of its own (a mean of calibrated probabilities
/// stays a probability).
///
/// `cnn_lstm_bgnbd` — the CNN-LSTM at its core, with BG/NBD beside it — is the product's default
/// model: on the CDNOW purchase log it beats every reference model of `make quality` on ROC-AUC,
/// average precision and Brier score, where the CNN-LSTM alone ties BG/NBD's average precision
/// (Docs/Quality.md). The two err differently: BG/NBD's parametric prior is strong on sparse
/// histories, the network reads the sequence and the profile.
///
/// Model file: each member's tensors and metadata keys under `member<i>.`, and metadata
/// `ensemble` = `[{"model", "calibration", "pipeline"?}, …]` (the members' own common parts).
public struct EnsembleContender: Contender {
    public let name: String
    public let members: [String]

    public init(name: String, members: [String]) {
        self.name = name
        self.members = members
    }

    public var summary: String { "the mean of the calibrated probabilities of " + members.joined(separator: " and ") }
    public var kind: ContenderKind { .statistical }
    public var defaultStaticEncoding: StaticEncoding { Contenders.named(members[0])?.defaultStaticEncoding ?? .oneHot }
    /// The common pipeline slot stays empty: every member keeps its own pipeline.
    public var usesFeaturePipeline: Bool { false }
    /// The members decide for themselves (each is fitted through `TrainingJob.fit`).
    public var readsStatics: Bool { true }
    public var defaultCalibration: ProbabilityCalibration.Method { .none }

    struct MemberRecord: Codable {
        var model: String
        var calibration: ProbabilityCalibration
        var pipeline: FeaturePipeline?
    }

    public func fit(_ job: FitJob) throws -> FitResult? {
        var fitted: [FittedEnsemble.Member] = []
        var notes: [String] = []
        var rows = 0
        let previous = job.warmStart as? FittedEnsemble
        // The first neural member owns the run's checkpoint (and --resume).
        let checkpointed = members.firstIndex { Contenders.named($0)?.kind == .neural }
        for (index, member) in members.enumerated() {
            var options = job.options
            options.model = member
            options.staticEncoding = nil
            options.calibration = nil
            let memberJob = FitJob(
                history: job.history, options: options, warmStart: previous?.members[index].model,
                checkpointPath: index == checkpointed ? job.checkpointPath : nil,
                resume: index == checkpointed && job.resume,
                log: job.log, progress: job.progress, epochFinished: job.epochFinished, shouldStop: job.shouldStop)
            if let done = job.alreadyFitted[member] {
                fitted.append(
                    FittedEnsemble.Member(
                        name: member, model: done.model, calibration: done.calibration, pipeline: done.pipeline))
                rows = max(rows, done.result.trainingRows)
                continue
            }
            if Contenders.named(member)?.usesFeaturePipeline == true {
                job.log("trainer: \(member): \(try memberJob.prepared().description)")
            }
            guard let result = try TrainingJob.fit(memberJob) else { return nil }
            fitted.append(
                FittedEnsemble.Member(
                    name: member, model: result.model, calibration: result.calibration, pipeline: result.pipeline))
            notes += result.result.notes
            func figure(_ key: String) -> String {
                result.validation[key].flatMap { $0 }.map { String(format: "%.4f", $0) } ?? "—"
            }
            notes.append(
                "\(member): calibration \(result.calibration.method.rawValue)"
                    + (result.validation.isEmpty
                        ? ""
                        : ", validation ROC-AUC \(figure("roc_auc")), average precision \(figure("average_precision")), ECE \(figure("raw_ece")) → \(figure("ece"))")
            )
            rows = max(rows, result.result.trainingRows)
        }
        return FitResult(model: FittedEnsemble(name: name, members: fitted), trainingRows: rows, notes: notes)
    }

    public func load(_ file: ModelFile, path: String) throws -> any FittedModel {
        func fail(_ reason: String) -> ModelFile.ReadError { .init(path: path, reason: reason) }
        guard let text = file.contents.metadata["ensemble"],
            let records = try? JSONDecoder().decode([MemberRecord].self, from: Data(text.utf8))
        else {
            throw fail("metadata 'ensemble' is missing or malformed")
        }
        guard records.map(\.model) == members else {
            throw fail("the ensemble lists \(records.map(\.model)); \(name) is \(members)")
        }
        var loaded: [FittedEnsemble.Member] = []
        for (index, record) in records.enumerated() {
            let prefix = "member\(index)."
            var contents = TensorFile()
            for (key, value) in file.contents.tensors where key.hasPrefix(prefix) {
                contents.tensors[String(key.dropFirst(prefix.count))] = value
            }
            for (key, value) in file.contents.integerTensors where key.hasPrefix(prefix) {
                contents.integerTensors[String(key.dropFirst(prefix.count))] = value
            }
            for (key, value) in file.contents.byteTensors where key.hasPrefix(prefix) {
                contents.byteTensors[String(key.dropFirst(prefix.count))] = value
            }
            for (key, value) in file.contents.metadata where key.hasPrefix(prefix) {
                contents.metadata[String(key.dropFirst(prefix.count))] = value
            }
            if let pipeline = record.pipeline {
                do { try pipeline.validate() } catch { throw fail("member \(record.model): \(error)") }
            }
            let memberFile = ModelFile(
                model: record.model, examples: file.examples, pipeline: record.pipeline,
                calibration: record.calibration, validation: [:],
                datasetSHA256: file.datasetSHA256, trainUntil: file.trainUntil, contents: contents)
            loaded.append(
                FittedEnsemble.Member(
                    name: record.model, model: try Contenders.load(memberFile, path: path),
                    calibration: record.calibration, pipeline: record.pipeline))
        }
        return FittedEnsemble(name: name, members: loaded)
    }
}

/// The fitted members and how to combine them.
final class FittedEnsemble: FittedModel {
    struct Member {
        var name: String
        var model: any FittedModel
        var calibration: ProbabilityCalibration
        var pipeline: FeaturePipeline?
    }

    let name: String
    let members: [Member]
    /// The training history of the first neural member (for the trainer's summary).
    var epochs: [EpochReport] { members.lazy.map(\.model.epochs).first { !$0.isEmpty } ?? [] }
    /// The members' encoders for the last history scored (an encoder indexes a history once).
    private var encoders: (history: ObjectIdentifier, encoders: [FeatureEncoder?])?

    init(name: String, members: [Member]) {
        self.name = name
        self.members = members
    }

    /// Each member's input for `input` (its own encoder, built once per history).
    private func memberInputs(_ input: ScoringInput) throws -> [ScoringInput] {
        let key = ObjectIdentifier(input.history.purchaseModels)
        if encoders?.history != key {
            encoders = (key, try members.map { try $0.pipeline?.encoder(for: input.history) })
        }
        return encoders!.encoders.map { ScoringInput(history: input.history, set: input.set, encoder: $0) }
    }

    func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
        var sum = [Double](repeating: 0, count: range.count)
        for (member, memberInput) in zip(members, try memberInputs(input)) {
            let scores = try member.model.scores(memberInput, range: range)
            for (i, score) in scores.enumerated() { sum[i] += member.calibration.apply(Double(score)) }
        }
        return sum.map { Float($0 / Double(members.count)) }
    }

    /// The expected orders of the first member with a count head (`cnn_lstm_bgnbd`: BG/NBD's
    /// conditional expected purchases). Counts are not averaged: a member without a count head
    /// has nothing to average with. Timing is not passed through: a member's P(order within H)
    /// would disagree with the ensemble's own probability on the same line.
    func expectedOrders(_ input: ScoringInput, range: Range<Int>) throws -> [Double]? {
        for (member, memberInput) in zip(members, try memberInputs(input)) {
            if let counts = try member.model.expectedOrders(memberInput, range: range) { return counts }
        }
        return nil
    }

    func contents() throws -> TensorFile {
        var file = TensorFile()
        var records: [EnsembleContender.MemberRecord] = []
        for (index, member) in members.enumerated() {
            let prefix = "member\(index)."
            let part = try member.model.contents()
            for (key, value) in part.tensors { file.tensors[prefix + key] = value }
            for (key, value) in part.integerTensors { file.integerTensors[prefix + key] = value }
            for (key, value) in part.byteTensors { file.byteTensors[prefix + key] = value }
            for (key, value) in part.metadata { file.metadata[prefix + key] = value }
            records.append(.init(model: member.name, calibration: member.calibration, pipeline: member.pipeline))
        }
        file.metadata["ensemble"] = try TensorFile.metadataJSON(records)
        return file
    }
}
