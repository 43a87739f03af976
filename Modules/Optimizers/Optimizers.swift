import CVectorMath
import Foundation
import Tensors

/// Hyperparameters of ``Adam``. The defaults are BRIEF §1's: η = 0.001, β₁ = 0.9, β₂ = 0.999,
/// ε = 1e-8, no weight decay.
public struct AdamConfiguration: Sendable, Equatable {
    public var learningRate: Float = 0.001
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// L2 penalty added to the gradient (PyTorch `Adam(weight_decay=)`).
    public var weightDecay: Float = 0
    /// Decoupled weight decay (PyTorch `AdamW(weight_decay=)`; its default there is 0.01).
    public var decoupledWeightDecay: Float = 0

    public init(
        learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0, decoupledWeightDecay: Float = 0
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW's usual setting: decoupled decay 0.01.
    public static func adamW(learningRate: Float = 0.001, weightDecay: Float = 0.01) -> AdamConfiguration {
        AdamConfiguration(learningRate: learningRate, decoupledWeightDecay: weightDecay)
    }
}

/// Adam and AdamW over a flat parameter arena (see ``UpdateRule/adam(parameter:gradient:firstMoment:secondMoment:learningRate:beta1:beta2:epsilon:coupledDecay:decoupledDecay:biasCorrection1:biasCorrection2Root:)``).
/// The moments live in two arenas of the same length as the parameters.
public struct Adam {
    public var configuration: AdamConfiguration
    /// Steps taken so far (t in the bias corrections).
    public private(set) var step = 0
    public let parameterCount: Int
    private var firstMoment: [Float]
    private var secondMoment: [Float]

    public init(parameterCount: Int, configuration: AdamConfiguration = AdamConfiguration()) {
        self.parameterCount = parameterCount
        self.configuration = configuration
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    /// One step over `count` parameters at `values` with gradients at `gradients`. The learning
    /// rate is `configuration.learningRate` unless a schedule passes another.
    public mutating func update(
        values: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, learningRate: Float? = nil
    ) {
        step += 1
        let c = configuration
        let rate = learningRate ?? c.learningRate
        let bias1 = Float(1 - Foundation.pow(Double(c.beta1), Double(step)))
        let bias2Root = Float((1 - Foundation.pow(Double(c.beta2), Double(step))).squareRoot())
        let count = parameterCount
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                let job = AdamJob(
                    values: values, gradients: gradients, firstMoment: m.baseAddress!, secondMoment: v.baseAddress!,
                    count: count, configuration: c, learningRate: rate,
                    biasCorrection1: bias1, biasCorrection2Root: bias2Root)
                // Elementwise, so the chunks (and the threads running them) change no value.
                withUnsafePointer(to: job) { BlockParallelism.forEach(AdamJob.chunkCount(count), AdamTask(job: $0)) }
            }
        }
    }

    /// One update's inputs; chunk `b` updates elements `[b·P/K, (b+1)·P/K)`.
    private struct AdamJob {
        let values: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>
        let firstMoment: UnsafeMutablePointer<Float>, secondMoment: UnsafeMutablePointer<Float>
        let count: Int
        let configuration: AdamConfiguration
        let learningRate: Float, biasCorrection1: Float, biasCorrection2Root: Float

        /// 64Ki elements or more per chunk, at most 8 chunks.
        static func chunkCount(_ count: Int) -> Int { Swift.max(1, Swift.min(count / 65_536, 8)) }
    }

    private struct AdamTask: BlockTask {
        let job: UnsafePointer<AdamJob>
        func run(block: Int) {
            let j = job.pointee, c = j.configuration, chunks = AdamJob.chunkCount(j.count)
            let start = j.count * block / chunks, end = j.count * (block + 1) / chunks
            // The vectorised C loop (CVectorMath): the same formula as UpdateRule.adam, which the
            // Swift loop computed one value at a time (9% of a training step, measured).
            revisit_adam_update(
                end - start, j.values + start, j.gradients + start, j.firstMoment + start, j.secondMoment + start,
                j.learningRate, c.beta1, c.beta2, c.epsilon, c.weightDecay, c.decoupledWeightDecay,
                j.biasCorrection1, j.biasCorrection2Root)
        }
    }

    /// The optimizer state as tensors, for a checkpoint: `adam.first_moment`,
    /// `adam.second_moment` (`[P]`) and `adam.step` (Int64).
    public func state() -> (tensors: [String: Tensor], integers: [String: Int64Tensor]) {
        (
            ["adam.first_moment": Tensor(firstMoment), "adam.second_moment": Tensor(secondMoment)],
            ["adam.step": Int64Tensor(shape: [], scalars: [Int64(step)])]
        )
    }

    /// Restores a state saved by ``state()`` from a tensor file.
    public mutating func restore(from file: TensorFile) throws {
        guard let m = file.tensors["adam.first_moment"], let v = file.tensors["adam.second_moment"],
            let t = file.integerTensors["adam.step"], t.scalars.count == 1
        else {
            throw OptimizerStateError("the file has no Adam state (adam.first_moment, adam.second_moment, adam.step)")
        }
        guard m.shape == [parameterCount], v.shape == [parameterCount] else {
            throw OptimizerStateError("Adam state is for \(m.count) parameters, this model has \(parameterCount)")
        }
        firstMoment = m.scalars
        secondMoment = v.scalars
        step = Int(t.scalars[0])
    }
}

/// Hyperparameters of ``SGD``.
public struct SGDConfiguration: Sendable, Equatable {
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float
    public var nesterov: Bool

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0")
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }
}

/// Stochastic gradient descent with (Nesterov) momentum over a flat parameter arena.
public struct SGD {
    public var configuration: SGDConfiguration
    public private(set) var step = 0
    public let parameterCount: Int
    private var momentumBuffer: [Float]

    public init(parameterCount: Int, configuration: SGDConfiguration) {
        self.parameterCount = parameterCount
        self.configuration = configuration
        momentumBuffer = [Float](repeating: 0, count: parameterCount)
    }

    public mutating func update(
        values: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, learningRate: Float? = nil
    ) {
        let c = configuration
        let rate = learningRate ?? c.learningRate
        let first = step == 0
        step += 1
        momentumBuffer.withUnsafeMutableBufferPointer { b in
            for i in 0..<parameterCount {
                UpdateRule.sgd(
                    parameter: &values[i], gradient: gradients[i], momentumBuffer: &b[i], learningRate: rate,
                    momentum: c.momentum, weightDecay: c.weightDecay, nesterov: c.nesterov, firstStep: first)
            }
        }
    }

    /// `sgd.momentum_buffer` (`[P]`) and `sgd.step`.
    public func state() -> (tensors: [String: Tensor], integers: [String: Int64Tensor]) {
        (["sgd.momentum_buffer": Tensor(momentumBuffer)], ["sgd.step": Int64Tensor(shape: [], scalars: [Int64(step)])])
    }

    public mutating func restore(from file: TensorFile) throws {
        guard let b = file.tensors["sgd.momentum_buffer"], let t = file.integerTensors["sgd.step"], t.scalars.count == 1
        else {
            throw OptimizerStateError("the file has no SGD state (sgd.momentum_buffer, sgd.step)")
        }
        guard b.shape == [parameterCount] else {
            throw OptimizerStateError("SGD state is for \(b.count) parameters, this model has \(parameterCount)")
        }
        momentumBuffer = b.scalars
        step = Int(t.scalars[0])
    }
}

/// Scales all gradients together so that their global L2 norm is at most `maximumNorm`
/// (PyTorch's `clip_grad_norm_`: factor `maximumNorm / (norm + 1e-6)` when it is below 1).
///
/// - Returns: the norm before clipping (accumulated in Double), for logging.
@discardableResult
public func clipGradientNorm(_ gradients: UnsafeMutablePointer<Float>, count: Int, maximumNorm: Float) -> Float {
    precondition(maximumNorm > 0, "clipGradientNorm: maximum norm must be positive, got \(maximumNorm)")
    var sum = 0.0
    for i in 0..<count { sum += Double(gradients[i]) * Double(gradients[i]) }
    let norm = sum.squareRoot()
    let factor = Double(maximumNorm) / (norm + 1e-6)
    if factor < 1 {
        let scale = Float(factor)
        for i in 0..<count { gradients[i] *= scale }
    }
    return Float(norm)
}

/// Optimizer state that does not fit the model, with the reason.
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
