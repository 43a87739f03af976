import Dataset
import Foundation
import Tensors

/// Model inputs for a run of examples, every row scaled by the fitted pipeline.
///
/// Shapes: N examples, L = sequence length, 7 sequential features, S static columns
/// (``FeaturePipeline/staticWidth``), A aggregate columns.
public struct ExampleTensors {
    /// `[N, L, 7]`: the last L visits before t, oldest first, left-padded with zeros.
    public var sequence: Tensor
    /// `[N, L]`: 1 = a real visit, 0 = left padding.
    public var mask: Tensor
    /// `[N, S]`: static features (integer-coded and scaled, or one-hot plus scaled numerics).
    public var statics: Tensor
    /// `[N, A]`: aggregate features (``AggregateFeature``), scaled.
    public var aggregates: Tensor
    /// `[N]`: 1 = ordered (per the pipeline's label rule), 0 = not.
    public var labels: Tensor
    /// `[N]` per example: customer id, rep of the last visit before t ("" if none), as-of date,
    /// whether the window was padded, whether the label window was fully observed.
    public var customerIDs: [String]
    public var repIDs: [String]
    public var asOf: [Day]
    public var padded: [Bool]
    public var labelComplete: [Bool]

    public var count: Int { labels.count }
}

/// The raw (unscaled) inputs of one example, reused across examples to avoid allocation.
struct RawRow {
    /// `[steps, 7]` raw sequential features of the last `steps` ≤ L visits, oldest first.
    var sequence: [Float] = []
    var steps = 0
    /// Categorical codes (as Double), then numeric values after their transform (NaN = missing).
    var statics: [Double] = []
    var aggregates: [Double] = []
    /// Scratch for recomputing a shift-augmented history's features.
    var scratch: [Float] = []
}

/// A ``FeaturePipeline`` bound to one ``VisitHistory``: extra columns resolved by name, every
/// profile's and visit's categorical codes precomputed (O(C + V) once), so building tensors is
/// index arithmetic. Make one per (pipeline, history) and call ``tensors(for:range:)`` per batch.
public struct FeatureEncoder: Sendable {
    public let pipeline: FeaturePipeline
    public let history: VisitHistory

    /// How each static field is read: a fixed profile field, or an index into extras.
    enum Accessor: Sendable {
        case customerType, industry, tag, target
        case customerCategorical(Int), visitCategorical(Int)
        case customerNumeric(Int), visitNumeric(Int)
    }
    let categoricalAccessors: [Accessor]
    let numericAccessors: [Accessor]
    /// Per visit numeric column feeding the aggregate sums (nil = absent in this dataset).
    let aggregateNumericColumns: [Int?]
    /// `[profiles, k_customer]` codes of the customer-sourced categorical fields.
    let customerCodes: [Int32]
    /// `[V, k_visit]` codes of the last-visit-sourced categorical fields.
    let visitCodes: [Int32]
    /// Field index → position among customer-sourced (or visit-sourced) fields.
    let codeSlot: [Int]
    let customerFieldCount: Int
    let visitFieldCount: Int
    /// `[V, 7]` every visit's sequential features already scaled (empty while fitting, when
    /// there are no ranges yet): an unshifted window is then a copy.
    let scaledFeatures: [Float]

    init(pipeline: FeaturePipeline, history: VisitHistory) throws {
        self.pipeline = pipeline
        self.history = history
        let manifest = history.dataset.manifest
        func index(_ name: String, in columns: [String], source: String) throws -> Int {
            guard let found = columns.firstIndex(of: name) else { throw FeatureError.missingColumn(source: source, name: name) }
            return found
        }
        var categorical: [Accessor] = []
        for field in pipeline.categorical {
            switch (field.source, field.name) {
            case (.customer, "customer_type"): categorical.append(.customerType)
            case (.customer, "industry"): categorical.append(.industry)
            case (.customer, "tag"): categorical.append(.tag)
            case (.lastVisit, "target"): categorical.append(.target)
            case (.customer, let name):
                categorical.append(.customerCategorical(try index(name, in: manifest.customerColumns.categorical, source: "customer")))
            case (.lastVisit, let name):
                categorical.append(.visitCategorical(try index(name, in: manifest.visitColumns.categorical, source: "visit")))
            }
        }
        var numeric: [Accessor] = []
        for field in pipeline.numeric {
            switch field.source {
            case .customer:
                numeric.append(.customerNumeric(try index(field.name, in: manifest.customerColumns.numeric, source: "customer")))
            case .lastVisit:
                numeric.append(.visitNumeric(try index(field.name, in: manifest.visitColumns.numeric, source: "visit")))
            }
        }
        categoricalAccessors = categorical
        numericAccessors = numeric
        let visitNumeric = manifest.visitColumns.numeric
        aggregateNumericColumns = pipeline.aggregateFeatures.dropFirst(AggregateFeature.fixedNames.count).map { name in
            visitNumeric.firstIndex { "\($0)_sum_365d_log1p" == name }
        }

        var slots: [Int] = []
        var customerFields: [Int] = []
        var visitFields: [Int] = []
        for (f, field) in pipeline.categorical.enumerated() {
            if field.source == .customer {
                slots.append(customerFields.count)
                customerFields.append(f)
            } else {
                slots.append(visitFields.count)
                visitFields.append(f)
            }
        }
        codeSlot = slots
        customerFieldCount = customerFields.count
        visitFieldCount = visitFields.count
        var customerCodes: [Int32] = []
        customerCodes.reserveCapacity(history.dataset.customers.count * customerFields.count)
        for customer in history.dataset.customers {
            for f in customerFields {
                customerCodes.append(pipeline.categorical[f].vocabulary.code(
                    Self.value(categorical[f], customer: customer, visit: nil)))
            }
        }
        var visitCodes: [Int32] = []
        visitCodes.reserveCapacity(history.dataset.visits.count * visitFields.count)
        for visit in history.dataset.visits {
            for f in visitFields {
                visitCodes.append(pipeline.categorical[f].vocabulary.code(Self.value(categorical[f], customer: nil, visit: visit)))
            }
        }
        self.customerCodes = customerCodes
        self.visitCodes = visitCodes
        if pipeline.sequenceRanges.count == SequentialFeature.count {
            let ranges = pipeline.sequenceRanges
            scaledFeatures = history.features.enumerated().map { ranges[$0.offset % SequentialFeature.count].scale(Double($0.element)) }
        } else {
            scaledFeatures = []
        }
    }

    static func value(_ accessor: Accessor, customer: Customer?, visit: Visit?) -> String {
        switch accessor {
        case .customerType: return customer?.customerType ?? ""
        case .industry: return customer?.industry ?? ""
        case .tag: return customer?.tag ?? ""
        case .target: return visit?.target ?? ""
        case .customerCategorical(let i): return customer?.categorical[i] ?? ""
        case .visitCategorical(let i): return visit?.categorical[i] ?? ""
        case .customerNumeric, .visitNumeric: preconditionFailure("FeatureEncoder: a numeric column read as categorical")
        }
    }

    /// The profile index and the last visit before t of `example` (either may be absent).
    func staticSources(of example: AsOfExample, in set: ExampleSet) -> (profile: Int?, lastVisit: Int?) {
        (history.customers[Int(example.customer)].profile, history.lastVisit(of: example, in: set))
    }

    /// The raw string of categorical field `f` ("" when its source is absent).
    func categoricalValue(_ f: Int, profile: Int?, lastVisit: Int?) -> String {
        Self.value(
            categoricalAccessors[f], customer: profile.map { history.dataset.customers[$0] },
            visit: lastVisit.map { history.dataset.visits[$0] })
    }

    /// The raw value of numeric field `f`, before its transform; nil when missing.
    func numericValue(_ f: Int, profile: Int?, lastVisit: Int?) -> Double? {
        switch numericAccessors[f] {
        case .customerNumeric(let i): return profile.flatMap { history.dataset.customers[$0].numeric[i] }
        case .visitNumeric(let i):
            guard let lastVisit else { return nil }
            let value = history.numeric[lastVisit * history.dataset.manifest.visitColumns.numeric.count + i]
            return value.isNaN ? nil : value
        default: preconditionFailure("FeatureEncoder: a categorical column read as numeric")
        }
    }

    func code(_ f: Int, profile: Int?, lastVisit: Int?) -> Int32 {
        if pipeline.categorical[f].source == .customer {
            guard let profile else { return 0 }
            return customerCodes[profile * customerFieldCount + codeSlot[f]]
        }
        guard let lastVisit else { return 0 }
        return visitCodes[lastVisit * visitFieldCount + codeSlot[f]]
    }

    /// Fills `row` with the raw inputs of `example`.
    func raw(_ example: AsOfExample, in set: ExampleSet, into row: inout RawRow) {
        let L = pipeline.settings.sequenceLength
        let width = SequentialFeature.count
        row.sequence.removeAll(keepingCapacity: true)
        row.statics.removeAll(keepingCapacity: true)
        row.aggregates.removeAll(keepingCapacity: true)
        let t = example.asOf
        if example.shifted >= 0 {
            // A rewritten history: recompute every feature over the visits that remain.
            let kept = set.shiftedHistories[Int(example.shifted)]
            row.scratch.removeAll(keepingCapacity: true)
            appendSequentialFeatures(
                days: kept.lazy.map { self.history.days[Int($0)] }, orders: kept.lazy.map { self.history.orders[Int($0)] },
                reps: kept.lazy.map { self.history.reps[Int($0)] }, to: &row.scratch)
            row.steps = min(L, kept.count)
            row.sequence.append(contentsOf: row.scratch[((kept.count - row.steps) * width)...])
            AggregateFeature.append(
                history: history, visits: kept.lazy.map { Int($0) }, contiguous: false, asOf: t, numericColumns: aggregateNumericColumns,
                to: &row.aggregates)
        } else {
            let start = history.customers[Int(example.customer)].visits.lowerBound
            let end = Int(example.historyEnd)
            row.steps = min(L, end - start)
            history.features.withUnsafeBufferPointer { features in
                row.sequence.append(contentsOf: UnsafeBufferPointer(rebasing: features[((end - row.steps) * width)..<(end * width)]))
            }
            AggregateFeature.append(
                history: history, visits: start..<end, contiguous: true, asOf: t, numericColumns: aggregateNumericColumns, to: &row.aggregates)
        }
        let (profile, last) = staticSources(of: example, in: set)
        appendStatics(profile: profile, lastVisit: last, to: &row.statics)
    }

    /// Appends the raw static values: categorical codes (as Double), then numeric values after
    /// their transform (NaN = missing).
    func appendStatics(profile: Int?, lastVisit: Int?, to statics: inout [Double]) {
        for f in pipeline.categorical.indices { statics.append(Double(code(f, profile: profile, lastVisit: lastVisit))) }
        for (f, field) in pipeline.numeric.enumerated() {
            if let value = numericValue(f, profile: profile, lastVisit: lastVisit) {
                // A negative value under log1p (unseen in training) is floored at 0 first.
                statics.append(field.transform == .log1p ? log1p(max(0, value)) : value)
            } else {
                statics.append(.nan)
            }
        }
    }

    /// Scaled tensors for `set.examples[range]` (all of them by default).
    ///
    /// Call it per batch for large sets: memory is that of the batch's tensors. The same
    /// pipeline (or its decoded JSON) on the same history gives bit-identical tensors.
    public func tensors(for set: ExampleSet, range: Range<Int>? = nil) -> ExampleTensors {
        let range = range ?? 0..<set.examples.count
        precondition(
            set.settings == pipeline.settings,
            "FeatureEncoder.tensors: examples were cut with \(set.settings), the pipeline was fitted with \(pipeline.settings)")
        let n = range.count
        let L = pipeline.settings.sequenceLength
        let width = SequentialFeature.count
        let S = pipeline.staticWidth
        let A = pipeline.aggregateFeatures.count
        var sequence = Tensor.zeros([n, L, width])  // [N, L, 7]
        var mask = Tensor.zeros([n, L])  // [N, L]
        var statics = Tensor.zeros([n, S])  // [N, S]
        var aggregates = Tensor.zeros([n, A])  // [N, A]
        var labels = Tensor.zeros([n])  // [N]
        var customerIDs: [String] = []
        var repIDs: [String] = []
        var asOf: [Day] = []
        var padded: [Bool] = []
        var labelComplete: [Bool] = []
        customerIDs.reserveCapacity(n)
        repIDs.reserveCapacity(n)
        asOf.reserveCapacity(n)
        padded.reserveCapacity(n)
        labelComplete.reserveCapacity(n)
        var row = RawRow()
        let categoricalCount = pipeline.categorical.count
        let numericCount = pipeline.numeric.count
        // Local copies: the loop below reads them per element.
        let sequenceRanges = pipeline.sequenceRanges
        let staticRanges = pipeline.staticRanges
        let aggregateRanges = pipeline.aggregateRanges
        let vocabularySizes = pipeline.categorical.map(\.vocabulary.size)
        sequence.withUnsafeMutableBufferPointer { seq in
            mask.withUnsafeMutableBufferPointer { msk in
                statics.withUnsafeMutableBufferPointer { sta in
                    aggregates.withUnsafeMutableBufferPointer { agg in
                        labels.withUnsafeMutableBufferPointer { lab in
                            for (i, e) in range.enumerated() {
                                let example = set.examples[e]
                                let steps: Int
                                let (profile, last) = staticSources(of: example, in: set)
                                if example.shifted < 0 {
                                    // The common case: copy the pre-scaled window, aggregate from
                                    // the cumulative features; no per-example allocation.
                                    let start = history.customers[Int(example.customer)].visits.lowerBound
                                    let end = Int(example.historyEnd)
                                    steps = min(L, end - start)
                                    scaledFeatures.withUnsafeBufferPointer { source in
                                        if steps > 0 {
                                            (seq.baseAddress! + (i * L + L - steps) * width).update(
                                                from: source.baseAddress! + (end - steps) * width, count: steps * width)
                                        }
                                    }
                                    row.aggregates.removeAll(keepingCapacity: true)
                                    AggregateFeature.append(
                                        history: history, visits: start..<end, contiguous: true, asOf: example.asOf,
                                        numericColumns: aggregateNumericColumns, to: &row.aggregates)
                                    row.statics.removeAll(keepingCapacity: true)
                                    appendStatics(profile: profile, lastVisit: last, to: &row.statics)
                                } else {
                                    raw(example, in: set, into: &row)
                                    steps = row.steps
                                    let pad = L - steps
                                    for step in 0..<steps {
                                        for c in 0..<width {
                                            seq[(i * L + pad + step) * width + c] = sequenceRanges[c].scale(
                                                Double(row.sequence[step * width + c]))
                                        }
                                    }
                                }
                                for step in (L - steps)..<L { msk[i * L + step] = 1 }
                                switch pipeline.staticEncoding {
                                case .integer:
                                    for c in 0..<S { sta[i * S + c] = staticRanges[c].scale(row.statics[c]) }
                                case .oneHot:
                                    var offset = 0
                                    for f in 0..<categoricalCount {
                                        sta[i * S + offset + Int(row.statics[f])] = 1
                                        offset += vocabularySizes[f]
                                    }
                                    for f in 0..<numericCount {
                                        sta[i * S + offset + f] = staticRanges[categoricalCount + f].scale(
                                            row.statics[categoricalCount + f])
                                    }
                                }
                                for c in 0..<A { agg[i * A + c] = aggregateRanges[c].scale(row.aggregates[c]) }
                                lab[i] = example.label
                                customerIDs.append(history.customerID(of: example))
                                repIDs.append(history.repID(of: example, in: set))
                                asOf.append(Day(ordinal: example.asOf))
                                padded.append(steps < L)
                                labelComplete.append(example.labelComplete)
                            }
                        }
                    }
                }
            }
        }
        return ExampleTensors(
            sequence: sequence, mask: mask, statics: statics, aggregates: aggregates, labels: labels,
            customerIDs: customerIDs, repIDs: repIDs, asOf: asOf, padded: padded, labelComplete: labelComplete)
    }
}
