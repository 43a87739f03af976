import Dataset
import Foundation

/// A feature-pipeline error: the pipeline cannot be applied to the given data.
public enum FeatureError: Error, Equatable, CustomStringConvertible {
    /// The pipeline was fitted with an extra column the dataset's manifest does not have.
    case missingColumn(source: String, name: String)
    /// The JSON document is not a pipeline this build reads.
    case unsupportedFormat(found: String)

    public var description: String {
        switch self {
        case .missingColumn(let source, let name):
            return "the feature pipeline needs the \(source) column '\(name)', which this dataset's manifest does not list"
        case .unsupportedFormat(let found):
            return "\(found); this build reads \(FeaturePipeline.formatName) version \(FeaturePipeline.currentVersion)"
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
/// Fitted on training examples only (``fit(training:history:encoding:)``): vocabularies from
/// the values those examples see, min–max ranges from their rows.
///
/// JSON schema (format `revisit-feature-pipeline`, version 1; keys sorted): see Docs/Features.md.
public struct FeaturePipeline: Codable, Sendable, Equatable {
    public static let formatName = "revisit-feature-pipeline"
    /// Bump on any change that alters the tensors a given JSON document produces.
    public static let currentVersion = 1

    /// Where a static field comes from.
    public enum Source: String, Codable, Sendable {
        /// The customer profile.
        case customer
        /// The last visit dated before t.
        case lastVisit = "last_visit"
    }

    /// A categorical static field and its vocabulary.
    public struct CategoricalField: Codable, Sendable, Equatable {
        /// `customer_type`, `industry`, `tag`, `target`, or an extra column's name.
        public var name: String
        public var source: Source
        public var vocabulary: Vocabulary
    }

    /// A numeric static field (an extra numeric column).
    public struct NumericField: Codable, Sendable, Equatable {
        public enum Transform: String, Codable, Sendable {
            case identity
            /// log(1 + x): chosen at fit time when every training value is ≥ 0 (amounts,
            /// quantities), whose long right tail would otherwise squeeze min–max scaling.
            case log1p
        }
        public var name: String
        public var source: Source
        public var transform: Transform
    }

    public var format: String
    public var formatVersion: Int
    public var settings: ExampleSettings
    public var staticEncoding: StaticEncoding
    /// ``SequentialFeature/names``, recorded so a reader can check the column order.
    public var sequenceFeatures: [String]
    /// One range per sequential feature, fitted on the real (unpadded) steps of training windows.
    public var sequenceRanges: [MinMaxRange]
    public var categorical: [CategoricalField]
    public var numeric: [NumericField]
    /// Ranges of the integer-coded static columns: the categorical codes, then the numeric
    /// fields (after their transform). Under one-hot only the numeric ones are used.
    public var staticRanges: [MinMaxRange]
    /// ``AggregateFeature`` names for this dataset's numeric visit columns.
    public var aggregateFeatures: [String]
    public var aggregateRanges: [MinMaxRange]

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case settings
        case staticEncoding = "static_encoding"
        case sequenceFeatures = "sequence_features"
        case sequenceRanges = "sequence_ranges"
        case categorical, numeric
        case staticRanges = "static_ranges"
        case aggregateFeatures = "aggregate_features"
        case aggregateRanges = "aggregate_ranges"
    }

    /// Width S of the static tensor `[N, S]`.
    public var staticWidth: Int {
        switch staticEncoding {
        case .integer: return categorical.count + numeric.count
        case .oneHot: return categorical.reduce(0) { $0 + $1.vocabulary.size } + numeric.count
        }
    }

    /// Names of the static columns in order (`industry=medical`, `industry=<unknown>` under
    /// one-hot).
    public var staticNames: [String] {
        switch staticEncoding {
        case .integer:
            return categorical.map(\.name) + numeric.map(\.name)
        case .oneHot:
            return categorical.flatMap { field in
                ["\(field.name)=<unknown>"] + field.vocabulary.values.map { "\(field.name)=\($0)" }
            } + numeric.map(\.name)
        }
    }

    /// The study's static fields plus the dataset's extra columns, in the fixed order:
    /// customer_type, industry, tag, customer categorical extras, target, visit categorical
    /// extras; numeric: customer numeric extras, then the last visit's numeric extras.
    static func fieldLayout(_ manifest: DatasetManifest) -> (categorical: [(String, Source)], numeric: [(String, Source)]) {
        let categorical = [("customer_type", Source.customer), ("industry", .customer), ("tag", .customer)]
            + manifest.customerColumns.categorical.map { ($0, Source.customer) }
            + [("target", .lastVisit)]
            + manifest.visitColumns.categorical.map { ($0, Source.lastVisit) }
        let numeric = manifest.customerColumns.numeric.map { ($0, Source.customer) }
            + manifest.visitColumns.numeric.map { ($0, Source.lastVisit) }
        return (categorical, numeric)
    }

    /// Fits vocabularies, numeric transforms and every min–max range on `training` only.
    ///
    /// - Parameters:
    ///   - training: the training examples (already cut with the training cutoff, augmented
    ///     if wanted); nothing else is looked at, so no test row reaches the scaler.
    ///   - history: the history `training` was built from.
    public static func fit(
        training: ExampleSet, history: VisitHistory, encoding: StaticEncoding = .integer
    ) -> FeaturePipeline {
        let layout = fieldLayout(history.dataset.manifest)
        let unresolved = FeaturePipeline(
            format: formatName, formatVersion: currentVersion, settings: training.settings, staticEncoding: encoding,
            sequenceFeatures: SequentialFeature.names, sequenceRanges: [],
            categorical: layout.categorical.map { CategoricalField(name: $0.0, source: $0.1, vocabulary: Vocabulary(values: [])) },
            numeric: layout.numeric.map { NumericField(name: $0.0, source: $0.1, transform: .identity) },
            staticRanges: [], aggregateFeatures: AggregateFeature.names(numericColumns: history.dataset.manifest.visitColumns.numeric),
            aggregateRanges: [])
        // The layout comes from this history's manifest, so binding cannot fail.
        let probe = try! FeatureEncoder(pipeline: unresolved, history: history)

        // Pass 1: the raw strings and numbers the training examples see. Examples share
        // profiles and last visits, so mark which ones are used (O(N)) and read each once.
        var profileUsed = [Bool](repeating: false, count: history.dataset.customers.count)
        var visitUsed = [Bool](repeating: false, count: history.dataset.visits.count)
        for example in training.examples {
            let (profile, last) = probe.staticSources(of: example, in: training)
            // An absent source reads as "" (unknown) or missing: nothing to add to a vocabulary.
            if let profile { profileUsed[profile] = true }
            if let last { visitUsed[last] = true }
        }
        var seen = [Set<String>](repeating: [], count: layout.categorical.count)
        var nonNegative = [Bool](repeating: true, count: layout.numeric.count)
        func observe(profile: Int?, lastVisit: Int?, source: Source) {
            for f in seen.indices where layout.categorical[f].1 == source {
                seen[f].insert(probe.categoricalValue(f, profile: profile, lastVisit: lastVisit))
            }
            for f in nonNegative.indices where layout.numeric[f].1 == source {
                if let value = probe.numericValue(f, profile: profile, lastVisit: lastVisit), value < 0 { nonNegative[f] = false }
            }
        }
        for (profile, used) in profileUsed.enumerated() where used { observe(profile: profile, lastVisit: nil, source: .customer) }
        for (visit, used) in visitUsed.enumerated() where used { observe(profile: nil, lastVisit: visit, source: .lastVisit) }
        var pipeline = unresolved
        for f in pipeline.categorical.indices { pipeline.categorical[f].vocabulary = Vocabulary(values: seen[f]) }
        for f in pipeline.numeric.indices { pipeline.numeric[f].transform = nonNegative[f] ? .log1p : .identity }

        // Pass 2: ranges of the raw (unscaled) columns over the training rows.
        let encoder = try! FeatureEncoder(pipeline: pipeline, history: history)
        var sequence = [MinMaxRange](repeating: .empty, count: SequentialFeature.count)
        var statics = [MinMaxRange](repeating: .empty, count: pipeline.categorical.count + pipeline.numeric.count)
        var aggregates = [MinMaxRange](repeating: .empty, count: pipeline.aggregateFeatures.count)
        var row = RawRow()
        for example in training.examples {
            encoder.raw(example, in: training, into: &row)
            for step in 0..<row.steps {
                for c in 0..<SequentialFeature.count { sequence[c].include(Double(row.sequence[step * SequentialFeature.count + c])) }
            }
            for c in statics.indices { statics[c].include(row.statics[c]) }
            for c in aggregates.indices { aggregates[c].include(row.aggregates[c]) }
        }
        pipeline.sequenceRanges = sequence.map(\.finalized)
        pipeline.staticRanges = statics.map(\.finalized)
        pipeline.aggregateRanges = aggregates.map(\.finalized)
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

    /// Reads a pipeline document, refusing other formats and versions.
    public static func decode(json: [UInt8]) throws -> FeaturePipeline {
        struct Probe: Decodable {
            var format: String?
            var formatVersion: Int?
            enum CodingKeys: String, CodingKey { case format, formatVersion = "format_version" }
        }
        let data = Data(json)
        guard let probe = try? JSONDecoder().decode(Probe.self, from: data) else {
            throw FeatureError.unsupportedFormat(found: "not a JSON object")
        }
        guard probe.format == formatName, probe.formatVersion == currentVersion else {
            throw FeatureError.unsupportedFormat(
                found: "format \(probe.format ?? "missing") version \(probe.formatVersion.map(String.init) ?? "missing")")
        }
        return try JSONDecoder().decode(FeaturePipeline.self, from: data)
    }
}
