import Dataset
import Formats
import Foundation

/// A feature-pipeline error: the pipeline cannot be applied to the given data.
public enum FeatureError: Error, Equatable, CustomStringConvertible {
    /// The pipeline was fitted with an extra column the dataset's manifest does not have.
    case missingColumn(source: String, name: String)
    /// The JSON document is not a pipeline this build reads.
    case unsupportedFormat(found: String)
    /// The document has this build's format but its contents do not hold together.
    case inconsistent(String)

    public var description: String {
        switch self {
        case .missingColumn(let source, let name):
            return
                "the feature pipeline needs the \(source) column '\(name)', which this dataset's manifest does not list"
        case .unsupportedFormat(let found):
            let versions = FeaturePipeline.readableVersions.map(String.init).joined(separator: " or ")
            return
                "\(found); this build reads \(FeaturePipeline.formatName) version \(versions) — retrain the model with this build's trainer"
        case .inconsistent(let reason):
            return "the feature pipeline is inconsistent: \(reason)"
        }
    }
}

/// How static categorical fields become numbers.
public enum StaticEncoding: String, Codable, Sendable {
    /// The study's coding: one column per field holding its vocabulary code, min–max scaled
    /// (the reference CNN-LSTM's static branch takes 4 such columns).
    case integer
    /// One column per vocabulary entry (unknown bucket included) per field, 0 or 1, unscaled:
    /// for logistic regression, the MLP and trees.
    case oneHot = "one_hot"
}

/// The fitted feature pipeline: everything needed to turn a visit history into model inputs
/// exactly as training did. The model file carries it as JSON (``jsonBytes()``), so scoring
/// reproduces training's tensors bit for bit.
///
/// Fitted on training examples only (``fit(training:history:encoding:featureSet:)``):
/// vocabularies from the values those examples see, transforms and min–max ranges from their rows.
///
/// JSON schema (format `revisit-feature-pipeline`, version 2; keys sorted): see Docs/Features.md.
public struct FeaturePipeline: Codable, Sendable, Equatable {
    public static let formatName = "revisit-feature-pipeline"
    /// Bump on any change that alters the tensors a given JSON document produces.
    /// 2: feature sets (time-aware inputs), per-column transforms, per-step visit columns.
    /// 3: `scaling` ([0, 1] or [−1, 1]). A version 2 document has no `scaling` and means
    /// [0, 1], so this build still reads it (its tensors are unchanged); an older build refuses
    /// a version 3 document rather than ignore a `scaling` it does not know.
    /// 4: `notes`, TF-IDF inputs from the visits' free text. Written only by a pipeline that has
    /// them (one without notes stays version 3, byte for byte), so that an older build refuses
    /// a document whose tensors it would build narrower.
    public static let currentVersion = 4
    /// The version of a pipeline without notes.
    static let versionWithoutNotes = 3
    /// Versions this build reads.
    public static let readableVersions: ClosedRange<Int> = 2...4

    /// Where a static field comes from.
    public enum Source: String, Codable, Sendable {
        /// The customer profile.
        case customer
        /// The last visit dated before t (for a per-step field: the step's own visit).
        case lastVisit = "last_visit"
    }

    /// A categorical field and its vocabulary.
    public struct CategoricalField: Codable, Sendable, Equatable {
        /// `customer_type`, `industry`, `tag`, `target`, `result`, `method`, or an extra column's name.
        public var name: String
        public var source: Source
        public var vocabulary: Vocabulary
    }

    /// A numeric field (an extra numeric column).
    public struct NumericField: Codable, Sendable, Equatable {
        /// log1p is chosen at fit time when every training value of the field is ≥ 0
        /// (amounts, quantities), identity otherwise.
        public typealias Transform = ValueTransform
        public var name: String
        public var source: Source
        public var transform: Transform
    }

    public var format: String
    public var formatVersion: Int
    public var featureSet: FeatureSet
    public var settings: ExampleSettings
    public var staticEncoding: StaticEncoding
    /// The sequence columns' names, in order (checked against the layout on decoding).
    public var sequenceFeatures: [String]
    /// Per sequence column, the transform before scaling.
    public var sequenceTransforms: [ValueTransform]
    /// Per-step numeric visit columns (time-aware only), after the seven study features.
    public var sequenceNumeric: [NumericField]
    /// Per-step one-hot visit fields (time-aware only; fields with fewer than two known values
    /// are left out), after the numeric columns.
    public var sequenceCategorical: [CategoricalField]
    /// One range per sequence column, fitted on the real (unpadded) steps of training windows;
    /// one-hot columns keep [0, 1].
    public var sequenceRanges: [MinMaxRange]
    public var categorical: [CategoricalField]
    public var numeric: [NumericField]
    /// Ranges of the integer-coded static columns: the categorical codes, then the numeric
    /// fields (after their transform). Under one-hot only the numeric ones are used.
    public var staticRanges: [MinMaxRange]
    /// ``AggregateFeature`` names for this feature set and dataset.
    public var aggregateFeatures: [String]
    public var aggregateTransforms: [ValueTransform]
    public var aggregateRanges: [MinMaxRange]
    /// The interval every measured column is scaled to (`scaling`; absent in version 2 = [0, 1]).
    public var scaling: ScalingRange {
        get { storedScaling ?? .zeroOne }
        set { storedScaling = newValue }
    }
    private var storedScaling: ScalingRange?
    /// Inputs from the visits' notes, the last static columns (nil: the dataset has no text
    /// column, or its notes say nothing significant about an order; version 4).
    public var notes: NotesInputs?

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case featureSet = "feature_set"
        case settings
        case staticEncoding = "static_encoding"
        case sequenceFeatures = "sequence_features"
        case sequenceTransforms = "sequence_transforms"
        case sequenceNumeric = "sequence_numeric"
        case sequenceCategorical = "sequence_categorical"
        case sequenceRanges = "sequence_ranges"
        case categorical, numeric
        case staticRanges = "static_ranges"
        case aggregateFeatures = "aggregate_features"
        case aggregateTransforms = "aggregate_transforms"
        case aggregateRanges = "aggregate_ranges"
        case storedScaling = "scaling"
        case notes
    }

    /// The name of the per-step days-to-t column (time-aware only; the last sequence column).
    public static let daysToAsOfName = "days_to_as_of"

    /// Width F of the sequence tensor `[N, L, F]`.
    public var sequenceWidth: Int { sequenceFeatures.count }

    /// Sequence columns that depend on the visit alone (everything but `days_to_as_of`).
    var perVisitSequenceWidth: Int { inputLayout.perVisit.count }

    /// Where each input sits in an example's tensor rows.
    public var inputLayout: InputLayout {
        // A pipeline being fitted has no sequence columns yet.
        let daysToAsOf = featureSet == .timeAware && !sequenceFeatures.isEmpty
        return InputLayout(
            sequenceLength: settings.sequenceLength,
            perVisitWidth: sequenceFeatures.count - (daysToAsOf ? 1 : 0), daysToAsOf: daysToAsOf,
            fieldWidth: fieldStaticWidth,
            windowSummaryWidth: featureSet.windowSummaryInStatics ? aggregateFeatures.count : 0,
            notesWidth: notes?.model.width ?? 0, aggregateWidth: aggregateFeatures.count)
    }

    /// The sequence column names this pipeline's fields give, in order.
    static func sequenceNames(featureSet: FeatureSet, numeric: [NumericField], categorical: [CategoricalField])
        -> [String]
    {
        guard featureSet == .timeAware else { return SequentialFeature.names }
        return SequentialFeature.names + numeric.map(\.name)
            + categorical.flatMap { field in
                ["\(field.name)=<unknown>"] + field.vocabulary.values.map { "\(field.name)=\($0)" }
            }
            + [daysToAsOfName]
    }

    /// Transforms of the seven study columns under the time-aware set: log1p on the gap and
    /// the counts, identity on the 0/1 columns.
    static let studyColumnTransforms: [ValueTransform] = [
        .log1p, .identity, .identity, .identity, .log1p, .log1p, .log1p
    ]

    static func sequenceTransforms(featureSet: FeatureSet, numeric: [NumericField], categorical: [CategoricalField])
        -> [ValueTransform]
    {
        guard featureSet == .timeAware else { return SequentialFeature.allCases.map { _ in .identity } }
        return studyColumnTransforms + numeric.map(\.transform)
            + categorical.flatMap { field in [ValueTransform](repeating: .identity, count: field.vocabulary.size) } + [
                .log1p
            ]
    }

    /// Width of the profile-and-last-visit part of the statics.
    var fieldStaticWidth: Int {
        switch staticEncoding {
        case .integer: return categorical.count + numeric.count
        case .oneHot: return categorical.reduce(0) { $0 + $1.vocabulary.size } + numeric.count
        }
    }

    /// Width S of the static tensor `[N, S]`: the profile and last-visit fields, then (time-aware)
    /// the window summary, one column per aggregate feature, then the notes' columns.
    public var staticWidth: Int { inputLayout.staticWidth }

    /// Names of the static columns in order (`industry=medical`, `industry=<unknown>` under
    /// one-hot; `window.days_since_last_order` for the window summary).
    public var staticNames: [String] {
        var names: [String]
        switch staticEncoding {
        case .integer:
            names = categorical.map(\.name) + numeric.map(\.name)
        case .oneHot:
            names =
                categorical.flatMap { field in
                    ["\(field.name)=<unknown>"] + field.vocabulary.values.map { "\(field.name)=\($0)" }
                } + numeric.map(\.name)
        }
        if featureSet.windowSummaryInStatics { names += aggregateFeatures.map { "window.\($0)" } }
        return names + (notes?.names ?? [])
    }

    /// The static fields plus the dataset's extra columns, in the fixed order: customer_type,
    /// industry, tag, customer categorical extras, target, (time-aware) result, visit
    /// categorical extras; numeric: customer numeric extras, then the last visit's numeric extras.
    static func fieldLayout(_ manifest: DatasetManifest, featureSet: FeatureSet)
        -> (categorical: [(String, Source)], numeric: [(String, Source)])
    {
        let lastVisitColumns: [VisitColumn] = featureSet == .timeAware ? [.target, .result] : [.target]
        let lastVisitFields = lastVisitColumns.map { ($0.name, Source.lastVisit) }
        let categorical =
            [CustomerColumn.customerType, .industry, .tag].map { ($0.name, Source.customer) }
            + manifest.customerColumns.categorical.map { ($0, Source.customer) }
            + lastVisitFields
            + manifest.visitColumns.categories.map { ($0, Source.lastVisit) }
        let numeric =
            manifest.customerColumns.numeric.map { ($0, Source.customer) }
            + manifest.visitColumns.numeric.map { ($0, Source.lastVisit) }
        return (categorical, numeric)
    }

    /// The per-step one-hot fields the time-aware set considers (kept when training sees at
    /// least two of their values).
    static let sequenceCategoricalCandidates = ["result", "method"]

    /// Fits vocabularies, transforms and every min–max range on `training` only.
    ///
    /// - Parameters:
    ///   - training: the training examples (already cut with the training cutoff, augmented
    ///     if wanted); nothing else is looked at, so no test row reaches the scaler.
    ///   - history: the history `training` was built from.
    ///   - featureSet: the time-aware inputs (default) or the study's.
    ///   - scaling: the interval measured columns are scaled to ([0, 1] default, or [−1, 1]).
    ///   - notes: whether to fit notes inputs when the dataset has a text column.
    public static func fit(
        training: ExampleSet, history: VisitHistory, encoding: StaticEncoding = .integer,
        featureSet: FeatureSet = .timeAware,
        scaling: ScalingRange = .zeroOne, notes: Bool = true
    ) -> FeaturePipeline {
        let manifest = history.dataset.manifest
        let layout = fieldLayout(manifest, featureSet: featureSet)
        let visitNumeric = featureSet == .timeAware ? manifest.visitColumns.numeric : []
        let unresolved = FeaturePipeline(
            format: formatName, formatVersion: currentVersion, featureSet: featureSet, settings: training.settings,
            staticEncoding: encoding, sequenceFeatures: [], sequenceTransforms: [],
            sequenceNumeric: visitNumeric.map { NumericField(name: $0, source: .lastVisit, transform: .identity) },
            sequenceCategorical: featureSet == .timeAware
                ? sequenceCategoricalCandidates.map {
                    CategoricalField(name: $0, source: .lastVisit, vocabulary: Vocabulary(values: []))
                } : [],
            sequenceRanges: [],
            categorical: layout.categorical.map {
                CategoricalField(name: $0.0, source: $0.1, vocabulary: Vocabulary(values: []))
            },
            numeric: layout.numeric.map { NumericField(name: $0.0, source: $0.1, transform: .identity) },
            staticRanges: [],
            aggregateFeatures: AggregateFeature.names(
                featureSet: featureSet, numericColumns: manifest.visitColumns.numeric),
            aggregateTransforms: AggregateFeature.transforms(
                featureSet: featureSet, numericColumns: manifest.visitColumns.numeric),
            aggregateRanges: [], storedScaling: scaling)
        // The layout comes from this history's manifest, so binding cannot fail.
        let probe = try! FeatureEncoder(pipeline: unresolved.withDerivedSequenceColumns(), history: history)

        // Pass 1: the raw strings and numbers the training examples see. Examples share
        // profiles, last visits and window visits, so mark which ones are used (O(N·L)) and
        // read each once.
        let L = training.settings.sequenceLength
        var profileUsed = [Bool](repeating: false, count: history.dataset.customers.count)
        var lastVisitUsed = [Bool](repeating: false, count: history.dataset.visits.count)
        var windowVisitUsed = [Bool](
            repeating: false, count: featureSet == .timeAware ? history.dataset.visits.count : 0)
        for example in training.examples {
            let (profile, last) = probe.staticSources(of: example, in: training)
            // An absent source reads as "" (unknown) or missing: nothing to add to a vocabulary.
            if let profile { profileUsed[profile] = true }
            if let last { lastVisitUsed[last] = true }
            if featureSet == .timeAware {
                for visit in probe.windowVisits(of: example, in: training, length: L) { windowVisitUsed[visit] = true }
            }
        }
        var seen = [Set<String>](repeating: [], count: layout.categorical.count)
        var nonNegative = [Bool](repeating: true, count: layout.numeric.count)
        func observe(profile: Int?, lastVisit: Int?, source: Source) {
            for f in seen.indices where layout.categorical[f].1 == source {
                seen[f].insert(probe.categoricalValue(f, profile: profile, lastVisit: lastVisit))
            }
            for f in nonNegative.indices where layout.numeric[f].1 == source {
                if let value = probe.numericValue(f, profile: profile, lastVisit: lastVisit), value < 0 {
                    nonNegative[f] = false
                }
            }
        }
        for (profile, used) in profileUsed.enumerated() where used {
            observe(profile: profile, lastVisit: nil, source: .customer)
        }
        for (visit, used) in lastVisitUsed.enumerated() where used {
            observe(profile: nil, lastVisit: visit, source: .lastVisit)
        }
        var pipeline = unresolved
        for f in pipeline.categorical.indices { pipeline.categorical[f].vocabulary = Vocabulary(values: seen[f]) }
        for f in pipeline.numeric.indices { pipeline.numeric[f].transform = nonNegative[f] ? .log1p : .identity }

        if featureSet == .timeAware {
            // Per-step fields: values and signs over every visit inside a training window.
            let K = manifest.visitColumns.numeric.count
            var stepValues = [Set<String>](repeating: [], count: pipeline.sequenceCategorical.count)
            var stepNonNegative = [Bool](repeating: true, count: K)
            for (visit, used) in windowVisitUsed.enumerated() where used {
                for f in stepValues.indices { stepValues[f].insert(probe.sequenceCategoricalValue(f, visit: visit)) }
                for k in 0..<K where history.numeric[visit * K + k] < 0 { stepNonNegative[k] = false }
            }
            for k in pipeline.sequenceNumeric.indices {
                pipeline.sequenceNumeric[k].transform = stepNonNegative[k] ? .log1p : .identity
            }
            for f in pipeline.sequenceCategorical.indices {
                pipeline.sequenceCategorical[f].vocabulary = Vocabulary(values: stepValues[f])
            }
            // A field with fewer than two known values (a transaction log's result, a log
            // without methods) would add only constant columns.
            pipeline.sequenceCategorical.removeAll { $0.vocabulary.values.count < 2 }
        }
        pipeline = pipeline.withDerivedSequenceColumns()

        // Pass 2: ranges of the transformed (unscaled) columns over the training rows.
        let encoder = try! FeatureEncoder(pipeline: pipeline, history: history)
        let F = pipeline.sequenceWidth
        var sequence = [MinMaxRange](repeating: .empty, count: F)
        var statics = [MinMaxRange](repeating: .empty, count: pipeline.categorical.count + pipeline.numeric.count)
        var aggregates = [MinMaxRange](repeating: .empty, count: pipeline.aggregateFeatures.count)
        let oneHotColumns = encoder.oneHotSequenceColumns
        var row = RawRow()
        for example in training.examples {
            encoder.raw(example, in: training, into: &row)
            for step in 0..<row.steps {
                for c in 0..<F where !oneHotColumns.contains(c) { sequence[c].include(row.sequence[step * F + c]) }
            }
            for c in statics.indices { statics[c].include(row.statics[c]) }
            for c in aggregates.indices { aggregates[c].include(row.aggregates[c]) }
        }
        for c in oneHotColumns { sequence[c] = MinMaxRange(min: 0, max: 1) }
        pipeline.sequenceRanges = sequence.map(\.finalized)
        pipeline.staticRanges = statics.map(\.finalized)
        pipeline.aggregateRanges = aggregates.map(\.finalized)
        if notes, let fitted = NotesInputs.fit(training: training, history: history) {
            pipeline.notes = fitted
            pipeline.formatVersion = currentVersion
        } else {
            pipeline.formatVersion = versionWithoutNotes
        }
        return pipeline
    }

    /// The pipeline with `sequenceFeatures` and `sequenceTransforms` derived from its fields.
    func withDerivedSequenceColumns() -> FeaturePipeline {
        var pipeline = self
        pipeline.sequenceFeatures = Self.sequenceNames(
            featureSet: featureSet, numeric: sequenceNumeric, categorical: sequenceCategorical)
        pipeline.sequenceTransforms = Self.sequenceTransforms(
            featureSet: featureSet, numeric: sequenceNumeric, categorical: sequenceCategorical)
        return pipeline
    }

    /// The pipeline bound to a history (columns resolved, codes precomputed), ready to make
    /// tensors. Throws ``FeatureError/missingColumn`` when the dataset lacks a fitted column.
    public func encoder(for history: VisitHistory) throws -> FeatureEncoder {
        try FeatureEncoder(pipeline: self, history: history)
    }

    // MARK: JSON

    /// The pipeline as a stable JSON document (sorted keys, shortest round-trip numbers), the
    /// form the model file's metadata carries.
    public func jsonBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(self))
    }

    /// Bounds a pipeline from a file must respect before anything is allocated from it.
    public static let maximumSequenceLength = 1000
    public static let maximumHorizonDays = 3660

    /// Reads a pipeline document, refusing other formats and versions and any document whose
    /// parts do not fit together (a model file is untrusted input).
    public static func decode(json: [UInt8]) throws -> FeaturePipeline {
        let data = Data(json)
        guard let probe = FormatProbe(json: data) else {
            throw FeatureError.unsupportedFormat(found: "not a JSON object")
        }
        guard probe.format == formatName, let version = probe.formatVersion, readableVersions.contains(version) else {
            throw FeatureError.unsupportedFormat(found: probe.found)
        }
        let pipeline: FeaturePipeline
        do {
            pipeline = try JSONDecoder().decode(FeaturePipeline.self, from: data)
        } catch {
            throw FeatureError.inconsistent("it does not decode: \(error)")
        }
        try pipeline.validate()
        return pipeline
    }

    /// Checks that every part agrees with the others and that sizes are sane.
    public func validate() throws {
        func fail(_ reason: String) -> FeatureError { .inconsistent(reason) }
        guard (1...Self.maximumSequenceLength).contains(settings.sequenceLength) else {
            throw fail("sequence_length \(settings.sequenceLength) is outside 1...\(Self.maximumSequenceLength)")
        }
        guard (1...Self.maximumHorizonDays).contains(settings.horizonDays) else {
            throw fail("horizon_days \(settings.horizonDays) is outside 1...\(Self.maximumHorizonDays)")
        }
        let names = Self.sequenceNames(
            featureSet: featureSet, numeric: sequenceNumeric, categorical: sequenceCategorical)
        guard sequenceFeatures == names else { throw fail("sequence_features do not match its sequence fields") }
        guard
            sequenceTransforms
                == Self.sequenceTransforms(
                    featureSet: featureSet, numeric: sequenceNumeric, categorical: sequenceCategorical)
        else { throw fail("sequence_transforms do not match its sequence fields") }
        guard sequenceRanges.count == sequenceFeatures.count else {
            throw fail("\(sequenceRanges.count) sequence ranges for \(sequenceFeatures.count) sequence columns")
        }
        guard staticRanges.count == categorical.count + numeric.count else {
            throw fail("\(staticRanges.count) static ranges for \(categorical.count + numeric.count) static fields")
        }
        guard aggregateTransforms.count == aggregateFeatures.count, aggregateRanges.count == aggregateFeatures.count
        else {
            throw fail(
                "\(aggregateFeatures.count) aggregate features with \(aggregateTransforms.count) transforms and \(aggregateRanges.count) ranges"
            )
        }
        if formatVersion >= 3, storedScaling == nil {
            throw fail("a version \(formatVersion) pipeline must name its scaling")
        }
        if let notes {
            guard formatVersion >= 4 else { throw fail("a version \(formatVersion) pipeline cannot have notes inputs") }
            if let problem = notes.model.problem { throw fail("its notes inputs: \(problem)") }
            guard !notes.columns.isEmpty, (1...Self.maximumHorizonDays).contains(notes.days) else {
                throw fail("its notes inputs name no text column, or a window of \(notes.days) days")
            }
        }
        let allRanges = sequenceRanges + staticRanges + aggregateRanges
        guard allRanges.allSatisfy({ $0.min.isFinite && $0.max.isFinite && $0.min <= $0.max }) else {
            throw fail("a min–max range is not finite or has min > max")
        }
    }
}
