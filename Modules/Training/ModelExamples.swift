import Models
import Tensors

/// A set of examples as the models consume them, N rows. B = batch, T = steps (window length),
/// F = sequence features, S = static features, A = aggregate features.
///
/// The Features module builds these from a dataset; the trainer, scorer and backtest only see
/// this form, so the training loop knows nothing about customers.
public struct ModelExamples: Sendable {
    public var sequence: Tensor  // [N, T, F]
    public var mask: Tensor  // [N, T], 1 = real visit, 0 = left padding
    public var statics: Tensor  // [N, S]
    public var aggregates: Tensor  // [N, A]
    public var labels: Tensor  // [N], 0 or 1
    /// Timing targets, for a hazard head only (nil otherwise): per timing bin, whether the next
    /// order fell in it and whether the example was at risk in it and seen whole (the
    /// person-periods of `Features.TimingBins`).
    public private(set) var hazardEvents: Tensor?  // [N, K], 0 or 1
    public private(set) var hazardAtRisk: Tensor?  // [N, K], 0 or 1

    public init(sequence: Tensor, mask: Tensor, statics: Tensor, aggregates: Tensor, labels: Tensor) {
        let n = labels.count
        precondition(
            sequence.rank == 3 && sequence.shape[0] == n,
            "ModelExamples: sequence \(sequence.shape) is not [\(n), T, F]")
        precondition(
            mask.shape == [n, sequence.shape[1]],
            "ModelExamples: mask \(mask.shape) is not [\(n), \(sequence.shape[1])]")
        precondition(
            statics.rank == 2 && statics.shape[0] == n, "ModelExamples: statics \(statics.shape) is not [\(n), S]")
        precondition(
            aggregates.rank == 2 && aggregates.shape[0] == n,
            "ModelExamples: aggregates \(aggregates.shape) is not [\(n), A]")
        self.sequence = sequence
        self.mask = mask
        self.statics = statics
        self.aggregates = aggregates
        self.labels = labels
    }

    /// The same examples with timing targets for a hazard head of K bins.
    public func withTiming(events: Tensor, atRisk: Tensor) -> ModelExamples {
        precondition(
            events.rank == 2 && events.shape[0] == count && atRisk.shape == events.shape,
            "ModelExamples: timing targets \(events.shape) and \(atRisk.shape) are not [\(count), K]")
        var copy = self
        copy.hazardEvents = events
        copy.hazardAtRisk = atRisk
        return copy
    }

    public var count: Int { labels.count }
    public var shape: ModelShape {
        ModelShape(
            steps: sequence.shape[1], sequenceFeatures: sequence.shape[2], staticFeatures: statics.shape[1],
            aggregateFeatures: aggregates.shape[1])
    }
    /// Share of positive labels.
    public var positiveRate: Double {
        count == 0 ? 0 : Double(labels.scalars.reduce(0, +)) / Double(count)
    }

    /// The rows at `rows`, in that order (a new set; for splits, not for the training loop).
    public func selecting(_ rows: [Int]) -> ModelExamples {
        var batch = ExampleBatch()
        batch.gather(from: self, rows: rows[...])
        let selected = ModelExamples(
            sequence: batch.input.sequence, mask: batch.input.mask!, statics: batch.input.statics,
            aggregates: batch.input.aggregates, labels: batch.labels)
        guard let events = batch.hazardEvents, let atRisk = batch.hazardAtRisk else { return selected }
        return selected.withTiming(events: events, atRisk: atRisk)
    }
}

/// A reusable batch: ``gather(from:rows:)`` copies rows into buffers it keeps, so the training
/// loop allocates nothing once the batch size is steady.
public struct ExampleBatch {
    public var input = ModelInput(
        sequence: Tensor.zeros([0, 0, 0]), mask: Tensor.zeros([0, 0]), statics: Tensor.zeros([0, 0]),
        aggregates: Tensor.zeros([0, 0]))
    public var labels = Tensor.zeros([0])
    /// The rows' timing targets `[B, K]` when the examples carry them (else nil).
    public var hazardEvents: Tensor?
    public var hazardAtRisk: Tensor?

    public init() {}

    /// Copies `rows` of `examples` into this batch.
    public mutating func gather(from examples: ModelExamples, rows: ArraySlice<Int>) {
        let b = rows.count, t = examples.sequence.shape[1], f = examples.sequence.shape[2]
        let s = examples.statics.shape[1], a = examples.aggregates.shape[1]
        Self.gatherRows(examples.sequence, width: t * f, rows: rows, into: &input.sequence) {
            $0.prepare(depth: b, rows: t, columns: f)
        }
        var mask = input.mask ?? Tensor.zeros([0, 0])
        input.mask = nil  // keep the mask buffer uniquely held while it is written
        Self.gatherRows(examples.mask, width: t, rows: rows, into: &mask) { $0.prepare(rows: b, columns: t) }
        input.mask = mask
        Self.gatherRows(examples.statics, width: s, rows: rows, into: &input.statics) {
            $0.prepare(rows: b, columns: s)
        }
        Self.gatherRows(examples.aggregates, width: a, rows: rows, into: &input.aggregates) {
            $0.prepare(rows: b, columns: a)
        }
        Self.gatherRows(examples.labels, width: 1, rows: rows, into: &labels) { $0.prepare(length: b) }
        if let events = examples.hazardEvents, let atRisk = examples.hazardAtRisk {
            let k = events.shape[1]
            var (eventRows, atRiskRows) = (hazardEvents ?? Tensor.zeros([0, 0]), hazardAtRisk ?? Tensor.zeros([0, 0]))
            (hazardEvents, hazardAtRisk) = (nil, nil)  // uniquely held while written, as the mask
            Self.gatherRows(events, width: k, rows: rows, into: &eventRows) { $0.prepare(rows: b, columns: k) }
            Self.gatherRows(atRisk, width: k, rows: rows, into: &atRiskRows) { $0.prepare(rows: b, columns: k) }
            (hazardEvents, hazardAtRisk) = (eventRows, atRiskRows)
        } else {
            (hazardEvents, hazardAtRisk) = (nil, nil)
        }
    }

    private static func gatherRows(
        _ source: Tensor, width: Int, rows: ArraySlice<Int>, into destination: inout Tensor,
        prepare: (inout Tensor) -> Void
    ) {
        prepare(&destination)
        guard width > 0 else { return }
        source.withUnsafeBufferPointer { from in
            destination.withUnsafeMutableBufferPointer { to in
                var offset = 0
                for row in rows {
                    (to.baseAddress! + offset).update(from: from.baseAddress! + row * width, count: width)
                    offset += width
                }
            }
        }
    }
}
