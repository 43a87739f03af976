import Foundation
import Layers
import Tensors

/// How a hazard head's per-bin outputs answer the classifiers' question, P(order within H):
/// the bins (their ends in days after t) and the label horizon H.
///
/// With h_k = σ(z_k) the hazard of bin k and the daily hazard constant inside a bin (the
/// convention of `Features.PurchaseTiming`, which turns the same hazards into P(order by day
/// d) for any d):
/// ```
/// P(order within H) = 1 − Π_{k: edge_k ≤ H} (1 − h_k) · (1 − h_j)^((H − start_j) / width_j)
/// ```
/// where bin j is the one H falls inside (absent when H is a bin end).
public struct HazardReadout: Codable, Sendable, Equatable {
    /// Strictly increasing bin ends in days.
    public var binEdges: [Int]
    /// The label horizon H in days, 1 ≤ H ≤ the last edge.
    public var horizonDays: Int

    public init(binEdges: [Int], horizonDays: Int) {
        self.binEdges = binEdges
        self.horizonDays = horizonDays
    }

    enum CodingKeys: String, CodingKey {
        case binEdges = "bin_edges"
        case horizonDays = "horizon_days"
    }

    public var bins: Int { binEdges.count }

    /// Why a readout (from a file: untrusted) cannot be used, or nil.
    public var problem: String? {
        guard (1...64).contains(binEdges.count), binEdges.first! >= 1, binEdges.last! <= 3660,
            zip(binEdges, binEdges.dropFirst()).allSatisfy({ $0 < $1 })
        else {
            return "its bin edges \(binEdges.prefix(70)) are not 1…64 increasing days within 1…3660"
        }
        guard (1...binEdges.last!).contains(horizonDays) else {
            return "its horizon \(horizonDays) days is outside 1…\(binEdges.last!) (the last bin's end)"
        }
        return nil
    }

    /// P(order within H) from the per-bin logits `z` of one example (`bins` values).
    public func probabilityWithinHorizon(logits z: UnsafeBufferPointer<Float>) -> Float {
        var logSurvival = 0.0, start = 0
        for (k, end) in binEdges.enumerated() {
            // log(1 − σ(z)) = −softplus(z), stable at both ends.
            let logSurvive = -(Double(max(z[k], 0)) + log1p(exp(-Double(abs(z[k])))))
            if end <= horizonDays {
                logSurvival += logSurvive
            } else {
                logSurvival += logSurvive * Double(horizonDays - start) / Double(end - start)
                break
            }
            if end == horizonDays { break }
            start = end
        }
        return Float(-expm1(logSurvival))
    }
}

/// The study's CNN-LSTM carrying a discrete-time hazard head instead of its two class logits
/// (issue 17, item 1): the same layers and PyTorch names, `fc_seq`, `fc_stat` and `head`
/// widened to one output per bin (`CNNLSTM.Configuration.outputs` = K), trained on the
/// censoring-aware likelihood (`Losses.DiscreteHazardLoss`). One network answers both
/// questions: ``HazardReadout`` turns its hazards into P(order within H) for the list and the
/// backtest, and the same hazards give the whole distribution of the time to the next order.
///
/// Logits `[B, K]`, σ(z_k) = h_k.
public struct TimingCNNLSTM: Classifier {
    public var network: CNNLSTM
    public let readout: HazardReadout

    public init(_ configuration: CNNLSTM.Configuration, readout: HazardReadout, layout: inout ParameterLayout) {
        var configuration = configuration
        configuration.outputs = readout.bins
        configuration.staticBranch = true
        network = CNNLSTM(configuration, layout: &layout)
        self.readout = readout
    }

    public var architecture: Architecture { .cnnLSTMTiming }
    public var outputForm: OutputForm { .hazardLogits }

    public func initialize(_ parameters: ParameterStore, using random: inout SeededRandom) {
        network.initialize(parameters, using: &random)
    }

    public mutating func forward(
        _ input: ModelInput, mode: Mode, random: inout SeededRandom, _ parameters: ParameterStore,
        into logits: inout Tensor
    ) {
        network.forward(input, mode: mode, random: &random, parameters, into: &logits)
    }

    public mutating func backward(_ logitsGradient: Tensor, _ parameters: ParameterStore) {
        network.backward(logitsGradient, parameters)
    }

    public func positiveProbabilities(_ logits: Tensor, into probabilities: inout [Float]) {
        let b = logits.shape[0], k = readout.bins
        if probabilities.count != b { probabilities = [Float](repeating: 0, count: b) }
        logits.withUnsafeBufferPointer { z in
            for row in 0..<b {
                probabilities[row] = readout.probabilityWithinHorizon(
                    logits: UnsafeBufferPointer(rebasing: z[(row * k)..<((row + 1) * k)]))
            }
        }
    }
}
