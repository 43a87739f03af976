import Calibration
import Features
import Foundation
import Tensors

/// The reps' own policies and the simplest rankings, scored from the visit log with nothing to
/// fit. Their scores are order-preserving squashes into [0, 1): every ranking figure is the
/// rule's own; their Brier score and calibration are not those of probabilities, so they are
/// never calibrated. A model file of one (`trainer --model recency`) lets the scorer write the
/// rule's call list for comparison.
public struct HeuristicContender: Contender {
    public enum Rule: String, Sendable, CaseIterable {
        /// Most recent order first: 1 / (1 + days since the last order); never ordered → 0.
        case recency
        /// Most orders in the last 365 days first (ties: most recent visit).
        case frequency
        /// The reps' polling: the most overdue customer (longest since the last visit) first.
        case roundRobin = "round_robin"
    }

    public let rule: Rule
    public init(rule: Rule) { self.rule = rule }

    public var name: String { rule.rawValue }
    public var summary: String {
        switch rule {
        case .recency: return "most recent order first"
        case .frequency: return "most orders in the last year first"
        case .roundRobin: return "the reps' polling: longest since the last visit first"
        }
    }
    public var kind: ContenderKind { .heuristic }
    public var defaultStaticEncoding: StaticEncoding { .oneHot }
    public var usesFeaturePipeline: Bool { false }
    public var defaultCalibration: ProbabilityCalibration.Method { .none }

    public func fit(_ job: FitJob) throws -> FitResult? {
        FitResult(model: FittedHeuristic(rule: rule), trainingRows: 0)
    }

    public func load(_ file: ModelFile, path: String) throws -> any FittedModel { FittedHeuristic(rule: rule) }
}

final class FittedHeuristic: FittedModel {
    let rule: HeuristicContender.Rule
    var name: String { rule.rawValue }
    init(rule: HeuristicContender.Rule) { self.rule = rule }

    func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
        let history = input.history
        return input.set.examples[range].map { example in
            let visits = history.historyVisits(of: example, in: input.set)
            let t = example.asOf
            guard let last = visits.last else { return 0 }
            switch rule {
            case .recency:
                guard let lastOrder = visits.last(where: { history.orders[$0] }) else { return 0 }
                return 1 / Float(1 + t - history.days[lastOrder])
            case .frequency:
                let orders = visits.filter { history.orders[$0] && history.days[$0] >= t - 365 }.count
                // Ties broken towards the most recent visit: a fraction below one order.
                let value = Float(orders) + 1 / Float(2 + t - history.days[last])
                return value / (1 + value)
            case .roundRobin:
                let days = Float(t - history.days[last])
                return days / (1 + days)
            }
        }
    }

    func contents() throws -> TensorFile { TensorFile() }
}
