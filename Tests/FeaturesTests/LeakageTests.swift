import Dataset
import Foundation
import Tensors
import Testing

@testable import Features

/// BRIEF §2: no feature or label may see a record dated on or after its as-of date (features)
/// or on or after the end of its label window (labels). Checked by deleting those records and
/// comparing, on a seeded random dataset of a few hundred customers.
@Suite("Leakage")
struct LeakageTests {
    static let dataset = SyntheticVisitLog.generate(customers: 300, visits: 6000, days: 365, seed: 20240601)
    static let settings = ExampleSettings(sequenceLength: 10, horizonDays: 28)
    static let cutoff = Day(iso: "2022-08-01")!

    /// A pipeline fitted on the training set for `cutoff`, used to encode every comparison.
    static func trainingPipeline(
        _ history: VisitHistory, encoding: StaticEncoding = .integer, featureSet: FeatureSet = .timeAware
    ) -> FeaturePipeline {
        let train = ExampleBuilder(history: history, settings: settings)
            .build(grid: .weekly(covering: history), trainingCutoff: cutoff)
        return FeaturePipeline.fit(training: train, history: history, encoding: encoding, featureSet: featureSet)
    }

    /// Every as-of date of the weekly grid, with the example tensors of `candidates` at it.
    static func tensors(
        _ history: VisitHistory, _ pipeline: FeaturePipeline, at t: Day,
        candidates: CandidateSet = .withHistory
    ) throws -> ExampleTensors {
        let set = ExampleBuilder(history: history, settings: settings).build(grid: .dates([t]), candidates: candidates)
        return try pipeline.encoder(for: history).tensors(for: set)
    }

    static func expectSameFeatures(_ a: ExampleTensors, _ b: ExampleTensors, _ context: String) {
        #expect(a.customerIDs == b.customerIDs, "\(context)")
        #expect(a.sequence.shape == b.sequence.shape && a.statics.shape == b.statics.shape, "\(context)")
        #expect(a.sequence.scalars == b.sequence.scalars, "\(context): sequence")
        #expect(a.mask.scalars == b.mask.scalars, "\(context): mask")
        #expect(a.statics.scalars == b.statics.scalars, "\(context): statics")
        #expect(a.aggregates.scalars == b.aggregates.scalars, "\(context): aggregates")
        #expect(a.repIDs == b.repIDs, "\(context): reps")
        #expect(a.padded == b.padded, "\(context): padded")
    }

    @Test("Deleting every record dated on or after t leaves every feature of every as-of-t example unchanged")
    func featuresIgnoreTheFuture() throws {
        let full = VisitHistory(dataset: Self.dataset)
        // Every input of both feature sets: the time-aware set's days to t, per-step visit
        // columns, window summary and per-date BG/NBD fits included.
        for (encoding, featureSet) in [
            (StaticEncoding.integer, FeatureSet.timeAware), (.oneHot, .timeAware), (.integer, .study)
        ] {
            let pipeline = Self.trainingPipeline(full, encoding: encoding, featureSet: featureSet)
            let dates = AsOfGrid.weekly(covering: full).dates(in: full)
            #expect(dates.count >= 50)
            for t in dates.enumerated().filter({ $0.offset % 4 == 1 }).map(\.element) {
                let truncated = VisitHistory(dataset: SyntheticVisitLog.truncated(Self.dataset, before: t))
                let before = try Self.tensors(full, pipeline, at: t)
                let after = try Self.tensors(truncated, pipeline, at: t)
                #expect(before.count > 0)
                Self.expectSameFeatures(before, after, "t = \(t) \(encoding) \(featureSet)")
            }
        }
    }

    @Test("The study's candidate set (visited in the week of t) gets the same features as with the future deleted")
    func visitedInWeekIgnoresTheFuture() throws {
        let full = VisitHistory(dataset: Self.dataset)
        let pipeline = Self.trainingPipeline(full)
        let t = Day(iso: "2022-06-06")!
        let week = try Self.tensors(full, pipeline, at: t, candidates: .visitedInWeek)
        let truncated = VisitHistory(dataset: SyntheticVisitLog.truncated(Self.dataset, before: t))
        let all = try Self.tensors(truncated, pipeline, at: t)
        #expect(week.count > 10)
        let L = Self.settings.sequenceLength
        var compared = 0
        for (i, id) in week.customerIDs.enumerated() {
            let F = week.sequence.shape[2]
            let rowWeek = Array(week.sequence.scalars[(i * L * F)..<((i + 1) * L * F)])
            if let j = all.customerIDs.firstIndex(of: id) {
                // The same customer scored from the truncated log: identical inputs.
                #expect(rowWeek == Array(all.sequence.scalars[(j * L * F)..<((j + 1) * L * F)]), "\(id)")
                #expect(
                    Array(week.statics.scalars[(i * week.statics.shape[1])..<((i + 1) * week.statics.shape[1])])
                        == Array(all.statics.scalars[(j * all.statics.shape[1])..<((j + 1) * all.statics.shape[1])]),
                    "\(id)")
                compared += 1
            } else {
                // Visited for the first time this week: nothing before t, so fully padded.
                #expect(rowWeek.allSatisfy { $0 == 0 } && week.padded[i], "\(id)")
            }
        }
        #expect(compared > 0)
    }

    @Test("Deleting every record dated on or after t + H leaves every label (and feature) unchanged")
    func labelsIgnoreRecordsAfterTheirWindow() throws {
        let full = VisitHistory(dataset: Self.dataset)
        let pipeline = Self.trainingPipeline(full)
        let dates = AsOfGrid.weekly(covering: full).dates(in: full)
        var positives = 0
        for t in dates.enumerated().filter({ $0.offset % 5 == 2 }).map(\.element) {
            let windowEnd = t.advanced(by: Self.settings.horizonDays)
            let truncated = VisitHistory(dataset: SyntheticVisitLog.truncated(Self.dataset, before: windowEnd))
            let before = try Self.tensors(full, pipeline, at: t)
            let after = try Self.tensors(truncated, pipeline, at: t)
            #expect(before.labels.scalars == after.labels.scalars, "t = \(t)")
            Self.expectSameFeatures(before, after, "t = \(t)")
            positives += before.labels.scalars.filter { $0 == 1 }.count
        }
        #expect(positives > 0)  // the comparison covered both classes
    }

    @Test("A training set for T holds no label window past T, and equals the one built from data before T")
    func trainingCutoff() throws {
        let full = VisitHistory(dataset: Self.dataset)
        let builder = ExampleBuilder(history: full, settings: Self.settings)
        let train = builder.build(grid: .weekly(covering: full), trainingCutoff: Self.cutoff)
        #expect(train.count > 1000 && train.counts.droppedAfterCutoff > 0)
        #expect(train.examples.allSatisfy { $0.asOf + Int32(Self.settings.horizonDays) <= Self.cutoff.ordinal })
        let before = VisitHistory(dataset: SyntheticVisitLog.truncated(Self.dataset, before: Self.cutoff))
        let trainBefore = ExampleBuilder(history: before, settings: Self.settings)
            .build(grid: .weekly(covering: full), trainingCutoff: Self.cutoff)
        #expect(trainBefore.examples.map(\.label) == train.examples.map(\.label))
        #expect(trainBefore.examples.map(\.asOf) == train.examples.map(\.asOf))
        // The scaler fitted on the full log's training set equals the one fitted with the
        // future deleted: it saw train-only rows.
        #expect(
            FeaturePipeline.fit(training: train, history: full)
                == FeaturePipeline.fit(training: trainBefore, history: before))
    }

    @Test("Fit on train, apply to test: test values beyond the training range are clipped to [0, 1]")
    func scalerSeesNoTestRow() throws {
        let full = VisitHistory(dataset: Self.dataset)
        let pipeline = Self.trainingPipeline(full)
        let test = ExampleBuilder(history: full, settings: Self.settings)
            .build(grid: .weekly(from: Self.cutoff, through: Day(iso: "2022-12-26")!))
        let encoder = try pipeline.encoder(for: full)
        let tensors = encoder.tensors(for: test)
        for tensor in [tensors.sequence, tensors.statics, tensors.aggregates] {
            #expect(tensor.scalars.allSatisfy { (0...1).contains($0) })
        }
        // Cumulative visits keep growing after T, so some test rows exceed the training maximum
        // and scale to exactly 1.
        let maxVisits = pipeline.sequenceRanges[SequentialFeature.cumulativeVisits.rawValue].max
        var row = RawRow()
        var clipped = 0
        for (i, example) in test.examples.enumerated() {
            encoder.raw(example, in: test, into: &row)
            guard row.steps > 0 else { continue }
            let last = row.sequence[
                (row.steps - 1) * pipeline.sequenceWidth + SequentialFeature.cumulativeVisits.rawValue]
            if last > maxVisits {
                clipped += 1
                #expect(
                    tensors.sequence[i, Self.settings.sequenceLength - 1, SequentialFeature.cumulativeVisits.rawValue]
                        == 1)
            }
        }
        #expect(clipped > 0)
    }
}
