import Dataset
import Foundation
import Tensors

/// Model inputs for a run of examples, every row scaled by the fitted pipeline.
///
/// Shapes: N examples, L = sequence length, F sequence columns (``FeaturePipeline/sequenceWidth``:
/// 7 under the study's feature set), S static columns (``FeaturePipeline/staticWidth``), A
/// aggregate columns.
public struct ExampleTensors {
    /// `[N, L, F]`: the last L visits before t, oldest first, left-padded with zeros.
    public var sequence: Tensor
    /// `[N, L]`: 1 = a real visit, 0 = left padding.
    public var mask: Tensor
    /// `[N, S]`: static features (integer-coded and scaled, or one-hot plus scaled numerics),
    /// then (time-aware) the window summary.
    public var statics: Tensor
    /// `[N, A]`: aggregate features (``AggregateFeature``), transformed and scaled.
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

/// The transformed (unscaled) inputs of one example, reused across examples to avoid allocation.
struct RawRow {
    /// `[steps, F]` transformed sequence columns of the last `steps` ≤ L visits, oldest first.
    var sequence: [Double] = []
    var steps = 0
    /// Categorical codes (as Double), then numeric values after their transform (NaN = missing).
    var statics: [Double] = []
    /// Aggregates after their transform.
    var aggregates: [Double] = []
    /// Scratch: recomputed study features of a shift-augmented history, window visit indices.
    var scratch: [Float] = []
    var window: [Int] = []
}

/// A ``FeaturePipeline`` bound to one ``VisitHistory``: extra columns resolved by name, every
/// profile's and visit's categorical codes precomputed (O(C + V) once), every visit's
/// t-independent sequence columns scaled once, so building tensors is index arithmetic. Make
/// one per (pipeline, history) and call ``tensors(for:range:)`` per batch.
public struct FeatureEncoder: Sendable {
    public let pipeline: FeaturePipeline
    public let history: VisitHistory

    /// How each field is read: a fixed profile or visit field, or an index into extras.
    enum Accessor: Sendable {
        case customerType, industry, tag, target, result, method
        case customerCategorical(Int), visitCategorical(Int)
        case customerNumeric(Int), visitNumeric(Int)
    }
    let categoricalAccessors: [Accessor]
    let numericAccessors: [Accessor]
    /// Per numeric block of the aggregates, the visit numeric column it reads.
    let aggregateNumericColumns: [Int?]
    /// `[profiles, k_customer]` codes of the customer-sourced categorical fields.
    let customerCodes: [Int32]
    /// `[V, k_visit]` codes of the last-visit-sourced categorical fields.
    let visitCodes: [Int32]
    /// Field index → position among customer-sourced (or visit-sourced) fields.
    let codeSlot: [Int]
    let customerFieldCount: Int
    let visitFieldCount: Int
    /// Per-step fields (time-aware): the visit numeric column of each, the accessor of each
    /// one-hot field, and `[V, fields]` codes of the latter.
    let sequenceNumericColumns: [Int]
    /// Slots into `Visit.categorical` of the notes inputs' text columns (empty without notes).
    let notesSlots: [Int]
    let sequenceCategoricalAccessors: [Accessor]
    let sequenceCodes: [Int32]
    /// Sequence column indices that are one-hot (0/1, not scaled).
    let oneHotSequenceColumns: Set<Int>
    /// Per sequence column, the interval it is scaled to: the pipeline's ``ScalingRange``, and
    /// [0, 1] (the identity on 0/1) for the one-hot columns, which stay indicators.
    let sequenceTargets: [ScalingRange]
    /// `[V, Fv]` every visit's t-independent sequence columns already scaled (empty while
    /// fitting, when there are no ranges yet): an unshifted window is then a copy, plus the
    /// days-to-t column under the time-aware set.
    private(set) var scaledVisitColumns: [Float]

    init(pipeline: FeaturePipeline, history: VisitHistory) throws {
        self.pipeline = pipeline
        self.history = history
        let manifest = history.dataset.manifest
        func index(_ name: String, in columns: [String], source: String) throws -> Int {
            guard let found = columns.firstIndex(of: name) else {
                throw FeatureError.missingColumn(source: source, name: name)
            }
            return found
        }
        func categoricalAccessor(_ field: FeaturePipeline.CategoricalField) throws -> Accessor {
            switch (field.source, field.name) {
            case (.customer, CustomerColumn.customerType.name): return .customerType
            case (.customer, CustomerColumn.industry.name): return .industry
            case (.customer, CustomerColumn.tag.name): return .tag
            case (.lastVisit, VisitColumn.target.name): return .target
            case (.lastVisit, VisitColumn.result.name): return .result
            case (.lastVisit, VisitColumn.method.name): return .method
            case (.customer, let name):
                return .customerCategorical(
                    try index(name, in: manifest.customerColumns.categorical, source: "customer"))
            case (.lastVisit, let name):
                return .visitCategorical(try index(name, in: manifest.visitColumns.categorical, source: "visit"))
            }
        }
        let categorical = try pipeline.categorical.map(categoricalAccessor)
        var numeric: [Accessor] = []
        for field in pipeline.numeric {
            switch field.source {
            case .customer:
                numeric.append(
                    .customerNumeric(try index(field.name, in: manifest.customerColumns.numeric, source: "customer")))
            case .lastVisit:
                numeric.append(.visitNumeric(try index(field.name, in: manifest.visitColumns.numeric, source: "visit")))
            }
        }
        categoricalAccessors = categorical
        numericAccessors = numeric

        // The aggregates' numeric blocks name their columns: `<column>_sum_365d_log1p`, …
        let base = AggregateFeature.baseCount(pipeline.featureSet)
        let sumSuffix = "_sum_365d_log1p"
        let aggregateColumns =
            pipeline.aggregateFeatures.count >= base
            ? pipeline.aggregateFeatures[base...].filter { $0.hasSuffix(sumSuffix) }.map {
                String($0.dropLast(sumSuffix.count))
            } : []
        guard
            AggregateFeature.names(featureSet: pipeline.featureSet, numericColumns: aggregateColumns)
                == pipeline.aggregateFeatures
        else {
            throw FeatureError.inconsistent(
                "aggregate_features do not match the \(pipeline.featureSet.rawValue) feature set")
        }
        aggregateNumericColumns = try aggregateColumns.map {
            try index($0, in: manifest.visitColumns.numeric, source: "visit")
        }
        sequenceNumericColumns = try pipeline.sequenceNumeric.map {
            try index($0.name, in: manifest.visitColumns.numeric, source: "visit")
        }
        notesSlots = try (pipeline.notes?.columns ?? []).map { name in
            guard manifest.visitColumns.text.contains(name) else {
                throw FeatureError.missingColumn(source: "visit text", name: name)
            }
            return try index(name, in: manifest.visitColumns.categorical, source: "visit text")
        }
        sequenceCategoricalAccessors = try pipeline.sequenceCategorical.map(categoricalAccessor)

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
                customerCodes.append(
                    pipeline.categorical[f].vocabulary.code(
                        Self.value(categorical[f], customer: customer, visit: nil)))
            }
        }
        var visitCodes: [Int32] = []
        var sequenceCodes: [Int32] = []
        visitCodes.reserveCapacity(history.dataset.visits.count * visitFields.count)
        sequenceCodes.reserveCapacity(history.dataset.visits.count * pipeline.sequenceCategorical.count)
        for visit in history.dataset.visits {
            for f in visitFields {
                visitCodes.append(
                    pipeline.categorical[f].vocabulary.code(Self.value(categorical[f], customer: nil, visit: visit)))
            }
            for (f, field) in pipeline.sequenceCategorical.enumerated() {
                sequenceCodes.append(
                    field.vocabulary.code(Self.value(sequenceCategoricalAccessors[f], customer: nil, visit: visit)))
            }
        }
        self.customerCodes = customerCodes
        self.visitCodes = visitCodes
        self.sequenceCodes = sequenceCodes

        var oneHot = Set<Int>()
        var column = SequentialFeature.count + pipeline.sequenceNumeric.count
        for field in pipeline.sequenceCategorical {
            oneHot.formUnion(column..<(column + field.vocabulary.size))
            column += field.vocabulary.size
        }
        oneHotSequenceColumns = oneHot
        let targets = (0..<pipeline.sequenceWidth).map { oneHot.contains($0) ? ScalingRange.zeroOne : pipeline.scaling }
        sequenceTargets = targets
        scaledVisitColumns = []
        if pipeline.sequenceRanges.count == pipeline.sequenceWidth && pipeline.sequenceWidth > 0 {
            let Fv = pipeline.perVisitSequenceWidth
            var scaled = [Float](repeating: 0, count: history.days.count * Fv)
            var values: [Double] = []
            for visit in 0..<history.days.count {
                values.removeAll(keepingCapacity: true)
                let width = SequentialFeature.count
                appendPerVisitColumns(
                    visit: visit, studyFeatures: history.features[(visit * width)..<((visit + 1) * width)], to: &values)
                for c in 0..<Fv { scaled[visit * Fv + c] = pipeline.sequenceRanges[c].scale(values[c], to: targets[c]) }
            }
            scaledVisitColumns = scaled
        }
    }

    static func value(_ accessor: Accessor, customer: Customer?, visit: Visit?) -> String {
        switch accessor {
        case .customerType: return customer?.customerType ?? ""
        case .industry: return customer?.industry ?? ""
        case .tag: return customer?.tag ?? ""
        case .target: return visit?.target ?? ""
        case .result: return visit?.result ?? ""
        case .method: return visit?.method ?? ""
        case .customerCategorical(let i): return customer?.categorical[i] ?? ""
        case .visitCategorical(let i): return visit?.categorical[i] ?? ""
        case .customerNumeric, .visitNumeric:
            preconditionFailure("FeatureEncoder: a numeric column read as categorical")
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

    /// The raw string of per-step field `f` of `visit`.
    func sequenceCategoricalValue(_ f: Int, visit: Int) -> String {
        Self.value(sequenceCategoricalAccessors[f], customer: nil, visit: history.dataset.visits[visit])
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

    /// The visit indices of `example`'s window (its last `length` history visits, oldest first).
    func windowVisits(of example: AsOfExample, in set: ExampleSet, length: Int) -> [Int] {
        history.historyVisits(of: example, in: set, last: length)
    }

    /// Appends a visit's t-independent sequence columns after their transforms: the seven study
    /// features (from `studyFeatures`, which a shift-augmented history recomputes), then the
    /// time-aware per-step numeric and one-hot columns.
    func appendPerVisitColumns(visit: Int, studyFeatures: some Collection<Float>, to values: inout [Double]) {
        let transforms = pipeline.sequenceTransforms
        for (c, value) in studyFeatures.enumerated() { values.append(transforms[c].apply(Double(value))) }
        guard pipeline.featureSet == .timeAware else { return }
        let K = history.dataset.manifest.visitColumns.numeric.count
        for (k, column) in sequenceNumericColumns.enumerated() {
            values.append(pipeline.sequenceNumeric[k].transform.apply(history.numeric[visit * K + column]))
        }
        let fields = pipeline.sequenceCategorical.count
        for (f, field) in pipeline.sequenceCategorical.enumerated() {
            let code = Int(sequenceCodes[visit * fields + f])
            for value in 0..<field.vocabulary.size { values.append(value == code ? 1 : 0) }
        }
    }

    /// The transformed days-to-t column of a visit (time-aware only).
    @inline(__always)
    func daysToAsOf(visit: Int, asOf t: Int32) -> Double {
        ValueTransform.log1p.apply(Double(t - history.days[visit]))
    }

    /// Fills `row` with the transformed (unscaled) inputs of `example`.
    func raw(_ example: AsOfExample, in set: ExampleSet, into row: inout RawRow) {
        let L = pipeline.settings.sequenceLength
        row.sequence.removeAll(keepingCapacity: true)
        row.statics.removeAll(keepingCapacity: true)
        row.aggregates.removeAll(keepingCapacity: true)
        let t = example.asOf
        let featureSet = pipeline.featureSet
        let width = SequentialFeature.count
        if example.shifted >= 0 {
            // A rewritten history: recompute every feature over the visits that remain.
            let kept = set.shiftedHistories[Int(example.shifted)]
            row.scratch.removeAll(keepingCapacity: true)
            appendSequentialFeatures(
                days: kept.lazy.map { self.history.days[Int($0)] },
                orders: kept.lazy.map { self.history.orders[Int($0)] },
                reps: kept.lazy.map { self.history.reps[Int($0)] }, to: &row.scratch)
            row.steps = min(L, kept.count)
            for position in (kept.count - row.steps)..<kept.count {
                let visit = Int(kept[position])
                appendPerVisitColumns(
                    visit: visit, studyFeatures: row.scratch[(position * width)..<((position + 1) * width)],
                    to: &row.sequence)
                if featureSet == .timeAware { row.sequence.append(daysToAsOf(visit: visit, asOf: t)) }
            }
            AggregateFeature.append(
                featureSet: featureSet, history: history, visits: kept.lazy.map { Int($0) }, contiguous: false, asOf: t,
                numericColumns: aggregateNumericColumns, purchaseModel: purchaseModelInputs(example, in: set),
                to: &row.aggregates)
        } else {
            let start = history.customers[Int(example.customer)].visits.lowerBound
            let end = Int(example.historyEnd)
            row.steps = min(L, end - start)
            for visit in (end - row.steps)..<end {
                appendPerVisitColumns(
                    visit: visit, studyFeatures: history.features[(visit * width)..<((visit + 1) * width)],
                    to: &row.sequence)
                if featureSet == .timeAware { row.sequence.append(daysToAsOf(visit: visit, asOf: t)) }
            }
            AggregateFeature.append(
                featureSet: featureSet, history: history, visits: start..<end, contiguous: true, asOf: t,
                numericColumns: aggregateNumericColumns, purchaseModel: purchaseModelInputs(example, in: set),
                to: &row.aggregates)
        }
        transformAggregates(&row.aggregates)
        let (profile, last) = staticSources(of: example, in: set)
        appendStatics(profile: profile, lastVisit: last, to: &row.statics)
    }

    /// The example's BG/NBD inputs under the time-aware set, (0, 0) under the study's.
    func purchaseModelInputs(_ example: AsOfExample, in set: ExampleSet) -> (alive: Double, purchase: Double) {
        guard pipeline.featureSet == .timeAware else { return (0, 0) }
        return history.purchaseModelInputs(of: example, in: set, horizon: pipeline.settings.horizonDays)
    }

    func transformAggregates(_ values: inout [Double]) {
        let transforms = pipeline.aggregateTransforms
        for c in values.indices where transforms[c] != .identity { values[c] = transforms[c].apply(values[c]) }
    }

    /// Appends the raw static values: categorical codes (as Double), then numeric values after
    /// their transform (NaN = missing).
    func appendStatics(profile: Int?, lastVisit: Int?, to statics: inout [Double]) {
        for f in pipeline.categorical.indices {
            statics.append(Double(code(f, profile: profile, lastVisit: lastVisit)))
        }
        for (f, field) in pipeline.numeric.enumerated() {
            statics.append(numericValue(f, profile: profile, lastVisit: lastVisit).map(field.transform.apply) ?? .nan)
        }
    }

    /// Scaled tensors for `set.examples[range]` (all of them by default), laid out by the
    /// pipeline's ``InputLayout``.
    ///
    /// Call it per batch for large sets: memory is that of the batch's tensors. The same
    /// pipeline (or its decoded JSON) on the same history gives bit-identical tensors.
    public func tensors(for set: ExampleSet, range: Range<Int>? = nil) -> ExampleTensors {
        let range = range ?? 0..<set.examples.count
        precondition(
            set.settings == pipeline.settings,
            "FeatureEncoder.tensors: examples were cut with \(set.settings), the pipeline was fitted with \(pipeline.settings)"
        )
        let n = range.count, layout = pipeline.inputLayout
        let L = layout.sequenceLength, F = layout.sequenceWidth, S = layout.staticWidth, A = layout.aggregateWidth
        var sequence = Tensor.zeros([n, L, F])  // [N, L, F]
        var mask = Tensor.zeros([n, L])  // [N, L]
        var statics = Tensor.zeros([n, S])  // [N, S]
        var aggregates = Tensor.zeros([n, A])  // [N, A]
        var labels = Tensor.zeros([n])  // [N]
        var customerIDs: [String] = [], repIDs: [String] = [], asOf: [Day] = [], padded: [Bool] = [],
            labelComplete: [Bool] = []
        customerIDs.reserveCapacity(n)
        repIDs.reserveCapacity(n)
        asOf.reserveCapacity(n)
        padded.reserveCapacity(n)
        labelComplete.reserveCapacity(n)
        let notesVectors: [[Double]] =
            pipeline.notes.map { notes in
                notes.model.transform(
                    range.map {
                        history.notesDocument(of: set.examples[$0], in: set, slots: notesSlots, days: notes.days)
                    })
            } ?? []
        var row = RawRow()
        Tensor.withUnsafeMutableBufferPointers(&sequence, &mask, &statics, &aggregates, &labels) {
            sequence, mask, statics, aggregates, labels in
            for (i, e) in range.enumerated() {
                let example = set.examples[e]
                let steps = writeSequence(example, in: set, layout, to: sequence.baseAddress! + i * L * F, row: &row)
                for step in (L - steps)..<L { mask[i * L + step] = 1 }
                let staticRow = statics.baseAddress! + i * S
                writeFields(row.statics, to: staticRow)
                for c in 0..<A {
                    let scaled = pipeline.aggregateRanges[c].scale(row.aggregates[c], to: pipeline.scaling)
                    aggregates[i * A + c] = scaled
                    if !layout.windowSummary.isEmpty { staticRow[layout.windowSummary.lowerBound + c] = scaled }
                }
                for (j, column) in layout.notes.enumerated() { staticRow[column] = Float(notesVectors[i][j]) }
                labels[i] = example.label
                customerIDs.append(history.customerID(of: example))
                repIDs.append(history.repID(of: example, in: set))
                asOf.append(Day(ordinal: example.asOf))
                padded.append(steps < L)
                labelComplete.append(example.labelComplete)
            }
        }
        return ExampleTensors(
            sequence: sequence, mask: mask, statics: statics, aggregates: aggregates, labels: labels,
            customerIDs: customerIDs, repIDs: repIDs, asOf: asOf, padded: padded, labelComplete: labelComplete)
    }

    /// Writes `example`'s scaled sequence `[L, F]` (left-padded: the last `steps` rows) to
    /// `out`, leaves its transformed statics and aggregates in `row`, and returns `steps`.
    private func writeSequence(
        _ example: AsOfExample, in set: ExampleSet, _ layout: InputLayout, to out: UnsafeMutablePointer<Float>,
        row: inout RawRow
    ) -> Int {
        let L = layout.sequenceLength, F = layout.sequenceWidth
        guard example.shifted < 0 else {
            // A rewritten history: every column recomputed, then scaled.
            raw(example, in: set, into: &row)
            let pad = L - row.steps
            for step in 0..<row.steps {
                for c in 0..<F {
                    out[(pad + step) * F + c] = pipeline.sequenceRanges[c].scale(
                        row.sequence[step * F + c], to: sequenceTargets[c])
                }
            }
            return row.steps
        }
        // The common case: copy the pre-scaled visit columns, add the days to t, aggregate from
        // the cumulative tables; no per-example allocation.
        let start = history.customers[Int(example.customer)].visits.lowerBound
        let end = Int(example.historyEnd)
        let steps = min(L, end - start), perVisit = layout.perVisit.count
        scaledVisitColumns.withUnsafeBufferPointer { source in
            for step in 0..<steps {
                let visit = end - steps + step
                let stepRow = out + (L - steps + step) * F
                stepRow.update(from: source.baseAddress! + visit * perVisit, count: perVisit)
                if let column = layout.daysToAsOf {
                    stepRow[column] = pipeline.sequenceRanges[column].scale(
                        daysToAsOf(visit: visit, asOf: example.asOf), to: pipeline.scaling)
                }
            }
        }
        row.aggregates.removeAll(keepingCapacity: true)
        AggregateFeature.append(
            featureSet: pipeline.featureSet, history: history, visits: start..<end, contiguous: true,
            asOf: example.asOf, numericColumns: aggregateNumericColumns,
            purchaseModel: purchaseModelInputs(example, in: set), to: &row.aggregates)
        transformAggregates(&row.aggregates)
        let (profile, last) = staticSources(of: example, in: set)
        row.statics.removeAll(keepingCapacity: true)
        appendStatics(profile: profile, lastVisit: last, to: &row.statics)
        return steps
    }

    /// Writes the scaled profile and last-visit fields (``InputLayout/fields``) from their raw
    /// values (codes, then transformed numerics) under the pipeline's static encoding.
    private func writeFields(_ raw: [Double], to out: UnsafeMutablePointer<Float>) {
        let categoricalCount = pipeline.categorical.count, numericCount = pipeline.numeric.count
        switch pipeline.staticEncoding {
        case .integer:
            for c in 0..<(categoricalCount + numericCount) {
                out[c] = pipeline.staticRanges[c].scale(raw[c], to: pipeline.scaling)
            }
        case .oneHot:
            var offset = 0
            for f in 0..<categoricalCount {
                out[offset + Int(raw[f])] = 1
                offset += pipeline.categorical[f].vocabulary.size
            }
            for f in 0..<numericCount {
                out[offset + f] = pipeline.staticRanges[categoricalCount + f].scale(
                    raw[categoricalCount + f], to: pipeline.scaling)
            }
        }
    }
}
