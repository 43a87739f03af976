import Dataset
import Foundation
import Tensors
import Testing

@testable import Features

/// Min–max scaling to [0, 1] and [−1, 1] against scikit-learn's `MinMaxScaler(clip=True)`
/// (`Fixtures/scaling/generate_scaling_reference.py`), and the pipeline's `scaling` end to end.
@Suite("Min–max scaling")
struct ScalingTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            var scaling: String
            var data_min: [Double]
            var data_max: [Double]
            var test_scaled: [[Double]]
        }
        var train: [[Double]]
        var test: [[Double]]
        var cases: [Case]
    }

    static let reference: Reference = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Fixtures/scaling/scaling_reference.json")
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    /// Half a Float ulp at magnitude 1 is 6e-8: the scaled value is computed in Double (which
    /// agrees with scikit-learn's to ~1e-16) and rounded once to Float.
    static let floatRounding = 6e-8

    @Test("Fitted bounds and scaled test rows equal scikit-learn's", arguments: [0, 1])
    func agreesWithScikitLearn(index: Int) throws {
        let reference = Self.reference
        let c = reference.cases[index]
        let target = try #require(ScalingRange(rawValue: c.scaling))
        let columns = reference.train[0].count
        for column in 0..<columns {
            var range = MinMaxRange.empty
            for row in reference.train { range.include(row[column]) }
            #expect(range.min == c.data_min[column] && range.max == c.data_max[column])
            let constant = range.min == range.max
            for (row, expected) in zip(reference.test, c.test_scaled) {
                let scaled = Double(range.scale(row[column], to: target))
                if constant && row[column] != range.min {
                    // Deliberately not scikit-learn's extrapolation (see the generator): the lower end.
                    #expect(scaled == target.lower)
                } else {
                    #expect(
                        abs(scaled - expected[column]) <= Self.floatRounding,
                        "column \(column): \(scaled) vs \(expected[column])")
                }
            }
        }
        // The test rows reach both ends through clipping, so the bounds are exercised.
        #expect(c.test_scaled.contains { $0[0] == target.lower } && c.test_scaled.contains { $0[0] == target.upper })
    }

    @Test("A missing value maps to the lower end; [0, 1] is bit for bit the plain unit formula")
    func missingValuesAndZeroOneIdentity() {
        let range = MinMaxRange(min: -2.5, max: 7.25)
        #expect(range.scale(.nan, to: .zeroOne) == 0)
        #expect(range.scale(.nan, to: .minusOneOne) == -1)
        #expect(MinMaxRange(min: 3, max: 3).scale(10, to: .minusOneOne) == -1)
        var random = SeededRandom(seed: 21)
        for _ in 0..<10_000 {
            let x = random.uniformDouble() * 14 - 4
            let unit = Float(Swift.min(Swift.max((x - range.min) / (range.max - range.min), 0), 1))
            #expect(range.scale(x, to: .zeroOne).bitPattern == unit.bitPattern)
        }
    }

    static let dataset = SyntheticVisitLog.generate(customers: 150, visits: 2500, days: 300, seed: 41)

    @Test(
        "[−1, 1] tensors are 2·[0, 1] − 1 on every measured column; one-hot columns, the mask and padding stay as they are",
        arguments: [StaticEncoding.integer, .oneHot])
    func pipelineScaling(encoding: StaticEncoding) throws {
        let history = VisitHistory(dataset: Self.dataset)
        let set = ExampleBuilder(history: history).build(grid: .weekly(covering: history))
        let unit = FeaturePipeline.fit(training: set, history: history, encoding: encoding)
        let centred = FeaturePipeline.fit(training: set, history: history, encoding: encoding, scaling: .minusOneOne)
        #expect(unit.scaling == .zeroOne && centred.scaling == .minusOneOne)
        // Everything fitted is the same; only the target interval differs.
        var relabelled = centred
        relabelled.scaling = .zeroOne
        #expect(relabelled == unit)

        let a = try unit.encoder(for: history).tensors(for: set)
        let b = try centred.encoder(for: history).tensors(for: set)
        #expect(a.mask.scalars == b.mask.scalars)
        #expect(a.labels.scalars == b.labels.scalars)
        let n = a.count, L = set.settings.sequenceLength, F = unit.sequenceWidth, S = unit.staticWidth
        #expect(a.padded.contains(true))
        /// Measured columns: one Float rounding each side of the affine map.
        func affine(_ x: Float, _ y: Float) -> Bool { abs(Double(y) - (2 * Double(x) - 1)) <= 3 * Self.floatRounding }
        let oneHotSequence = Set(unit.sequenceFeatures.indices.filter { unit.sequenceFeatures[$0].contains("=") })
        #expect(!oneHotSequence.isEmpty)
        var reachedBottom = false
        for i in 0..<n {
            for step in 0..<L {
                let present = a.mask[i, step] == 1
                for c in 0..<F {
                    let x = a.sequence[i, step, c], y = b.sequence[i, step, c]
                    if !present || oneHotSequence.contains(c) {
                        #expect(x == y)
                        if !present { #expect(y == 0) }
                    } else {
                        #expect(affine(x, y))
                        #expect((-1...1).contains(y))
                        if y == -1 { reachedBottom = true }
                    }
                }
            }
            for c in 0..<S {
                let x = a.statics[i, c], y = b.statics[i, c]
                if unit.staticNames[c].contains("=") { #expect(x == y) } else { #expect(affine(x, y)) }
            }
            for c in 0..<a.aggregates.shape[1] { #expect(affine(a.aggregates[i, c], b.aggregates[i, c])) }
        }
        #expect(reachedBottom)
    }

    @Test(
        "The scaling travels in the pipeline JSON (version 3); a version 2 document reads as [0, 1]; a version 3 one without it is refused"
    )
    func documents() throws {
        let history = VisitHistory(dataset: Self.dataset)
        let set = ExampleBuilder(history: history).build(grid: .weekly(covering: history))
        let centred = FeaturePipeline.fit(training: set, history: history, scaling: .minusOneOne)
        let json = try centred.jsonBytes()
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"format_version\":3") && text.contains("\"scaling\":\"minus_one_one\""))
        #expect(try FeaturePipeline.decode(json: json) == centred)

        func edited(_ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
            change(&object)
            return [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        }
        // A version 2 document (this build's own before `scaling`) is [0, 1], tensors unchanged.
        let version2 = try FeaturePipeline.decode(
            json: try edited {
                $0["scaling"] = nil; $0["format_version"] = 2
            })
        #expect(version2.scaling == .zeroOne && version2.formatVersion == 2)
        let unit = FeaturePipeline.fit(training: set, history: history)
        #expect(
            try version2.encoder(for: history).tensors(for: set).statics.scalars
                == unit.encoder(for: history).tensors(for: set).statics.scalars)
        #expect(!String(decoding: try version2.jsonBytes(), as: UTF8.self).contains("scaling"))

        #expect(throws: FeatureError.inconsistent("a version 3 pipeline must name its scaling")) {
            try FeaturePipeline.decode(json: try edited { $0["scaling"] = nil })
        }
        #expect(throws: FeatureError.self) {
            try FeaturePipeline.decode(json: try edited { $0["scaling"] = "minus_two_two" })
        }
        // Version 4 (notes inputs) is this build's own; a later one is refused.
        #expect(throws: FeatureError.unsupportedFormat(found: "format revisit-feature-pipeline version 5")) {
            try FeaturePipeline.decode(json: try edited { $0["format_version"] = 5 })
        }
    }
}
