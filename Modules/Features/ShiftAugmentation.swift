import Tensors

/// "Shifting" augmentation from the e-commerce purchase-prediction work (BRIEF §1): copies of
/// training examples whose most recent order events are removed, to simulate sparse histories.
///
/// **What "removed" means.** For a copy, the k most recent visits with an order among the
/// example's history (visits dated before t) are deleted from that history as if they had
/// never been recorded; every sequential feature is then recomputed over the remaining visits
/// (gaps span the deleted visit, previous result, ever-ordered, cumulative counts and distinct
/// reps no longer count it), the window is the last L remaining visits, and the aggregates
/// are recomputed the same way. The as-of date, customer and label are unchanged: the future
/// did not change, only what the model is shown of the past. Off by default.
public struct ShiftAugmentation: Codable, Sendable, Equatable {
    /// Upper bound on k; each copy draws k uniformly from 1…min(this, orders in the history).
    public var maxRemovedOrders: Int
    /// Probability that an eligible example (at least one order in its history) gets a copy.
    public var probability: Double

    public init(maxRemovedOrders: Int = 1, probability: Double = 1) {
        precondition(
            maxRemovedOrders >= 1, "ShiftAugmentation: maxRemovedOrders must be at least 1, got \(maxRemovedOrders)")
        precondition(
            (0...1).contains(probability), "ShiftAugmentation: probability must be in [0, 1], got \(probability)")
        self.maxRemovedOrders = maxRemovedOrders
        self.probability = probability
    }

    enum CodingKeys: String, CodingKey {
        case maxRemovedOrders = "max_removed_orders"
        case probability
    }
}

extension ExampleSet {
    /// This set plus shift-augmented copies (appended after the originals, in original order).
    ///
    /// Draws one Bernoulli per eligible example and, when it succeeds, one k; the same set,
    /// options and seed give the same copies. Under `.dropShort` a copy left with fewer than
    /// L visits is not added. Apply it to training sets only.
    public func shiftAugmented(
        history: VisitHistory, options: ShiftAugmentation, random: inout SeededRandom
    ) -> ExampleSet {
        var result = self
        let L = settings.sequenceLength
        for example in examples where example.shifted < 0 {
            let range = history.customers[Int(example.customer)].visits.lowerBound..<Int(example.historyEnd)
            let orderCount = range.reduce(0) { $0 + (history.orders[$1] ? 1 : 0) }
            guard orderCount > 0, random.bernoulli(probability: options.probability) else { continue }
            let k = 1 + random.int(below: min(options.maxRemovedOrders, orderCount))
            var kept: [Int32] = []
            kept.reserveCapacity(range.count - k)
            var toRemove = k
            for index in range.reversed() {
                if toRemove > 0 && history.orders[index] {
                    toRemove -= 1
                    continue
                }
                kept.append(Int32(index))
            }
            kept.reverse()
            if kept.count < L && settings.padding == .dropShort { continue }
            var copy = example
            copy.shifted = Int32(result.shiftedHistories.count)
            copy.historyEnd = -1  // unused for a shifted copy: its history is `kept`
            result.shiftedHistories.append(kept)
            result.examples.append(copy)
            result.counts.augmented += 1
            result.counts.examples += 1
            if kept.count < L { result.counts.padded += 1 }
            if kept.isEmpty { result.counts.emptyHistory += 1 }
        }
        return result
    }
}
