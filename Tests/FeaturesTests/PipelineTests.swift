import Dataset
import Foundation
import Tensors
import Testing

@testable import Features

@Suite("Feature pipeline")
struct PipelineTests {
    static let dataset = SyntheticVisitLog.generate(customers: 200, visits: 3000, days: 300, seed: 99)

    @Test("encode → decode → identical pipeline and bit-identical tensors, both encodings, with augmentation")
    func jsonRoundTrip() throws {
        let history = VisitHistory(dataset: Self.dataset)
        let builder = ExampleBuilder(history: history)
        var random = SeededRandom(seed: 3)
        let train = builder.build(grid: .weekly(covering: history), trainingCutoff: Day(iso: "2022-08-01")!)
            .shiftAugmented(
                history: history, options: ShiftAugmentation(maxRemovedOrders: 2, probability: 0.5), random: &random)
        #expect(train.counts.augmented > 0)
        for encoding in [StaticEncoding.integer, .oneHot] {
            let pipeline = FeaturePipeline.fit(training: train, history: history, encoding: encoding)
            let json = try pipeline.jsonBytes()
            let decoded = try FeaturePipeline.decode(json: json)
            #expect(decoded == pipeline)
            #expect(try decoded.jsonBytes() == json)  // stable bytes: sorted keys, exact numbers
            let a = try pipeline.encoder(for: history).tensors(for: train)
            let b = try decoded.encoder(for: history).tensors(for: train)
            for (x, y) in [
                (a.sequence, b.sequence), (a.mask, b.mask), (a.statics, b.statics), (a.aggregates, b.aggregates),
                (a.labels, b.labels)
            ] {
                #expect(x.shape == y.shape)
                #expect(x.scalars.map(\.bitPattern) == y.scalars.map(\.bitPattern))
            }
            let text = String(decoding: json, as: UTF8.self)
            #expect(text.hasPrefix("{\"aggregate_features\":"))
            #expect(text.contains("\"format\":\"revisit-feature-pipeline\",\"format_version\":3"))
        }
    }

    @Test("Another format version is refused; a dataset without a fitted column is refused by name")
    func refusals() throws {
        let history = VisitHistory(dataset: Self.dataset)
        let train = ExampleBuilder(history: history).build(grid: .weekly(covering: history))
        let pipeline = FeaturePipeline.fit(training: train, history: history)
        let text = String(decoding: try pipeline.jsonBytes(), as: UTF8.self)
            .replacingOccurrences(of: "\"format_version\":3", with: "\"format_version\":1")
        #expect(throws: FeatureError.unsupportedFormat(found: "format revisit-feature-pipeline version 1")) {
            try FeaturePipeline.decode(json: Array(text.utf8))
        }
        var other = Self.dataset
        other.manifest.visitColumns = .init()
        other.visits = other.visits.map {
            var v = $0; v.numeric = []; return v
        }
        #expect(throws: FeatureError.missingColumn(source: "visit", name: "amount")) {
            try pipeline.encoder(for: VisitHistory(dataset: other))
        }
    }

    @Test("Unseen categories and a constant feature map to 0; batches equal the whole")
    func unknownsConstantsAndBatches() throws {
        let history = VisitHistory(dataset: Self.dataset)
        let set = ExampleBuilder(history: history).build(grid: .weekly(covering: history))
        var pipeline = FeaturePipeline.fit(training: set, history: history)
        pipeline.categorical[0].vocabulary = Vocabulary(values: ["trader"])  // every other type is now unknown
        pipeline.staticRanges[0] = MinMaxRange(min: 0, max: 1)
        pipeline.sequenceRanges[1] = MinMaxRange(min: 1, max: 1)  // constant
        let encoder = try pipeline.encoder(for: history)
        let whole = encoder.tensors(for: set)
        for i in 0..<whole.count {
            let type = history.dataset.customers[history.customers[Int(set.examples[i].customer)].profile!].customerType
            #expect(whole.statics[i, 0] == (type == "trader" ? 1 : 0))
        }
        #expect((0..<whole.count).allSatisfy { i in (0..<10).allSatisfy { whole.sequence[i, $0, 1] == 0 } })
        let split = set.count / 3
        let first = encoder.tensors(for: set, range: 0..<split)
        let second = encoder.tensors(for: set, range: split..<set.count)
        #expect(first.sequence.scalars + second.sequence.scalars == whole.sequence.scalars)
        #expect(first.aggregates.scalars + second.aggregates.scalars == whole.aggregates.scalars)
        #expect(first.customerIDs + second.customerIDs == whole.customerIDs)
    }

    @Test("The fast path (pre-scaled windows, cumulative aggregates) equals recomputing each history from its visits")
    func fastPathEqualsRecomputation() throws {
        let history = VisitHistory(dataset: Self.dataset)
        let set = ExampleBuilder(history: history).build(grid: .weekly(covering: history))
        // The same examples again as "shifted" copies that remove nothing: the encoder then
        // recomputes the seven features and scans every visit for the aggregates.
        var both = set
        for example in set.examples {
            let start = history.customers[Int(example.customer)].visits.lowerBound
            var copy = example
            copy.shifted = Int32(both.shiftedHistories.count)
            both.shiftedHistories.append((start..<Int(example.historyEnd)).map(Int32.init))
            both.examples.append(copy)
        }
        let pipeline = FeaturePipeline.fit(training: set, history: history)
        let tensors = try pipeline.encoder(for: history).tensors(for: both)
        let n = set.count
        #expect(n > 1000)
        for (tensor, width) in [
            (tensors.sequence, 10 * tensors.sequence.shape[2]), (tensors.mask, 10),
            (tensors.statics, tensors.statics.shape[1]),
            (tensors.aggregates, tensors.aggregates.shape[1])
        ] {
            let scalars = tensor.scalars
            #expect(Array(scalars[0..<(n * width)]) == Array(scalars[(n * width)...]))
        }
        #expect(Array(tensors.repIDs[0..<n]) == Array(tensors.repIDs[n...]))
    }

    @Test("An unsorted in-memory dataset gives the same history as the sorted one")
    func unsortedInput() {
        var shuffled = Self.dataset
        var random = SeededRandom(seed: 5)
        random.shuffle(&shuffled.visits)
        let a = VisitHistory(dataset: Self.dataset)
        let b = VisitHistory(dataset: shuffled)
        #expect(a.features == b.features && a.days == b.days)
    }
}
