import Dataset
import Foundation
import Tensors
import Testing

@testable import Features

/// Hand-computed features on `Fixtures/features/small` (written in the Dataset format).
///
/// ```
/// visit customer rep date        target       result amount
/// A1    A        R1  2024-01-01  active       no     -
/// A2    A        R2  2024-01-08  active       order  100
/// A3    A        R1  2024-01-08  key_account  no     3      (same day as A2: after it by id)
/// A4    A        R3  2024-01-20  active       order  50
/// B1    B        R1  2024-01-10  dormant      no     -      (a customer with one visit)
/// C1    C        R2  2024-01-03  first_order  order  20
/// C2    C        R2  2024-01-03  active       no     9      (tie with C1)
/// C3    C        R2  2024-02-05  active       order  -
/// profiles: A trader/medical/key, B manufacturer/automotive/small_medium,
///           C design_house/consumer/high_potential
/// ```
@Suite("Features on the hand-computed fixture")
struct FeatureFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/features/small").path

    static func history() throws -> VisitHistory { try VisitHistory(directory: directory) }
    static func day(_ iso: String) -> Day { Day(iso: iso)! }

    @Test("The seven features of every visit, ties and a one-visit customer included")
    func sevenFeatures() throws {
        let history = try Self.history()
        #expect(history.customers.map(\.customerID) == ["A", "B", "C"])
        // Columns: gap, result, previous result, ever ordered (through this visit), cumulative
        // orders, cumulative visits, distinct reps.
        let expected: [[Float]] = [
            [0, 0, 0, 0, 0, 1, 1],  // A1: first visit → gap 0; rep R1
            [7, 1, 0, 1, 1, 2, 2],  // A2: 01-08 − 01-01 = 7; order; reps {R1, R2}
            [0, 0, 1, 1, 1, 3, 2],  // A3: same day as A2 → gap 0; previous (A2) ordered; R1 again
            [12, 1, 0, 1, 2, 4, 3],  // A4: 01-20 − 01-08 = 12; 2nd order; R3 is new
            [0, 0, 0, 0, 0, 1, 1],  // B1: the only visit
            [0, 1, 0, 1, 1, 1, 1],  // C1: first visit, an order
            [0, 0, 1, 1, 1, 2, 1],  // C2: tie with C1 (after it by id) → gap 0, previous ordered
            [33, 1, 0, 1, 2, 3, 1]  // C3: 01-03 → 02-05 = 28 + 5 = 33 days
        ]
        #expect(history.features.count == 8 * 7)
        for (index, row) in expected.enumerated() {
            #expect(Array(history.features(ofVisit: index)) == row, "visit \(history.dataset.visits[index].visitID)")
        }
    }

    @Test("As-of examples at 2024-01-15: windows, padding, labels, rep and counts")
    func asOfExamples() throws {
        let history = try Self.history()
        let settings = ExampleSettings(sequenceLength: 3, horizonDays: 28)
        let set = ExampleBuilder(history: history, settings: settings).build(grid: .dates([Self.day("2024-01-15")]))
        // Candidates with a visit before 01-15: A (A1–A3), B (B1), C (C1, C2).
        #expect(set.examples.map { history.customerID(of: $0) } == ["A", "B", "C"])
        // Labels over [01-15, 02-12): A4 (01-20) ordered; B has nothing; C3 (02-05) ordered.
        #expect(set.examples.map(\.label) == [1, 0, 1])
        #expect(set.examples.map { history.repID(of: $0, in: set) } == ["R1", "R1", "R2"])
        #expect(set.counts.candidates == 3 && set.counts.examples == 3 && set.counts.padded == 2)
        // Last data day is 02-05, so a window closing 02-12 is not fully observed.
        #expect(set.examples.allSatisfy { !$0.labelComplete })

        let pipeline = FeaturePipeline.fit(training: set, history: history, featureSet: .study)
        let tensors = try pipeline.encoder(for: history).tensors(for: set)
        #expect(tensors.sequence.shape == [3, 3, 7])
        #expect(tensors.mask.shape == [3, 3])
        #expect(tensors.mask.scalars == [1, 1, 1, 0, 0, 1, 0, 1, 1])  // B left-padded by 2, C by 1
        #expect(tensors.padded == [false, true, true])
        // Ranges over the real steps (A1–A3, B1, C1–C2): gap [0, 7], cumulative visits [1, 3], reps [1, 2].
        #expect(pipeline.sequenceRanges[0] == MinMaxRange(min: 0, max: 7))
        #expect(pipeline.sequenceRanges[5] == MinMaxRange(min: 1, max: 3))
        #expect(pipeline.sequenceRanges[6] == MinMaxRange(min: 1, max: 2))
        // A's last step is A3: gap 0 → 0; cumulative visits 3 → 1; reps 2 → 1.
        #expect(tensors.sequence[0, 2, 0] == 0 && tensors.sequence[0, 2, 5] == 1 && tensors.sequence[0, 2, 6] == 1)
        // A's middle step is A2: gap 7 → 1; cumulative visits 2 → (2 − 1) / 2 = 0.5.
        #expect(tensors.sequence[0, 1, 0] == 1 && tensors.sequence[0, 1, 5] == 0.5)
        // Padding is zeros in every column.
        #expect((0..<7).allSatisfy { tensors.sequence[1, 0, $0] == 0 && tensors.sequence[1, 1, $0] == 0 })
    }

    @Test("Static encoding: vocabularies with unknown = 0, integer coding scaled, one-hot, log1p numerics")
    func staticEncoding() throws {
        let history = try Self.history()
        let settings = ExampleSettings(sequenceLength: 3, horizonDays: 28)
        let set = ExampleBuilder(history: history, settings: settings).build(grid: .dates([Self.day("2024-01-15")]))
        let pipeline = FeaturePipeline.fit(training: set, history: history, encoding: .integer, featureSet: .study)
        #expect(pipeline.categorical.map(\.name) == ["customer_type", "industry", "tag", "target"])
        // Sorted vocabularies: design_house = 1, manufacturer = 2, trader = 3 (0 = unknown).
        #expect(pipeline.categorical[0].vocabulary.values == ["design_house", "manufacturer", "trader"])
        #expect(pipeline.categorical[0].vocabulary.code("trader") == 3)
        #expect(pipeline.categorical[0].vocabulary.code("never_seen") == 0)
        #expect(pipeline.categorical[0].vocabulary.code("") == 0)
        // Target of the last visit before t: A → A3 key_account, B → B1 dormant, C → C2 active.
        #expect(pipeline.categorical[3].vocabulary.values == ["active", "dormant", "key_account"])
        #expect(pipeline.numeric.map(\.name) == ["amount"])
        #expect(pipeline.numeric[0].transform == .log1p)  // every training amount ≥ 0

        let tensors = try pipeline.encoder(for: history).tensors(for: set)
        #expect(tensors.statics.shape == [3, 5])
        // type codes A 3, B 2, C 1 → range [1, 3] → 1, 0.5, 0. industry: automotive 1, consumer 2,
        // medical 3 → A 1, B 0, C 0.5. tag: high_potential 1, key 2, small_medium 3 → A 0.5, B 1, C 0.
        // target: A key_account 3 → 1, B dormant 2 → 0.5, C active 1 → 0.
        // amount of the last visit: A3 3 → ln 4, B1 missing → 0, C2 9 → ln 10; range [ln 4, ln 10].
        let expected: [Float] = [
            1, 1, 0.5, 1, 0,
            0.5, 0, 1, 0.5, 0,
            0, 0.5, 0, 0, 1
        ]
        #expect(tensors.statics.scalars == expected)
        #expect(pipeline.staticRanges[4] == MinMaxRange(min: log1p(3), max: log1p(9)))

        var oneHot = pipeline
        oneHot.staticEncoding = .oneHot
        let hot = try oneHot.encoder(for: history).tensors(for: set)
        // 4 + 4 + 4 + 4 one-hot columns (unknown first) + 1 numeric.
        #expect(hot.statics.shape == [3, 17])
        #expect(oneHot.staticNames[0] == "customer_type=<unknown>" && oneHot.staticNames[3] == "customer_type=trader")
        let rowA = Array(hot.statics.scalars[0..<17])
        #expect(
            rowA == [
                0, 0, 0, 1, /* industry */ 0, 0, 0, 1, /* tag */ 0, 0, 1, 0, /* target */ 0, 0, 0, 1, /* amount */ 0
            ])
    }

    @Test("Aggregates of the fixture at 2024-01-15, by hand")
    func aggregates() throws {
        let history = try Self.history()
        let settings = ExampleSettings(sequenceLength: 3, horizonDays: 28)
        let set = ExampleBuilder(history: history, settings: settings).build(grid: .dates([Self.day("2024-01-15")]))
        let pipeline = FeaturePipeline.fit(training: set, history: history, featureSet: .study)
        let encoder = try pipeline.encoder(for: history)
        #expect(pipeline.aggregateFeatures == AggregateFeature.fixedNames + ["amount_sum_365d_log1p"])
        var row = RawRow()
        // A: A1 (14 days before t), A2, A3 (7 days); one order (A2, 7 days ago); gaps 7, 0 → mean 3.5;
        // reps R1, R2; amounts 100 + 3.
        encoder.raw(set.examples[0], in: set, into: &row)
        #expect(row.aggregates == [3, 3, 3, 1, 1, 1, 7, 7, 3, 1, 1.0 / 3, 3.5, 2, 14, log1p(103)])
        // B: B1 5 days ago, never ordered → days since last order = tenure = 5.
        encoder.raw(set.examples[1], in: set, into: &row)
        #expect(row.aggregates == [1, 1, 1, 0, 0, 0, 5, 5, 1, 0, 0, 0, 1, 5, 0])
        // C: C1 and C2 12 days ago (same day: mean gap 0), C1 ordered; amounts 20 + 9.
        encoder.raw(set.examples[2], in: set, into: &row)
        #expect(row.aggregates == [2, 2, 2, 1, 1, 1, 12, 12, 2, 1, 0.5, 0, 1, 12, log1p(29)])
    }

    @Test("Drop policy, next-visit label, visited-in-week candidates and the training cutoff")
    func policies() throws {
        let history = try Self.history()
        let t = Self.day("2024-01-15")
        let dropped = ExampleBuilder(
            history: history, settings: ExampleSettings(sequenceLength: 3, padding: .dropShort)
        )
        .build(grid: .dates([t]))
        #expect(dropped.examples.map { history.customerID(of: $0) } == ["A"])
        #expect(dropped.counts.droppedShort == 2 && dropped.counts.padded == 0)

        // First visit in [01-15, 02-12): A → A4 (order); B → none (no example); C → C3 (order).
        let next = ExampleBuilder(
            history: history, settings: ExampleSettings(sequenceLength: 3, label: .nextVisitConverted)
        )
        .build(grid: .dates([t]))
        #expect(next.examples.map { history.customerID(of: $0) } == ["A", "C"])
        #expect(next.examples.map(\.label) == [1, 1])
        #expect(next.counts.noVisitInWindow == 1)

        // Week of Monday 01-08: A (A2, A3) and B (B1, no earlier visit: fully padded).
        let builder = ExampleBuilder(history: history, settings: ExampleSettings(sequenceLength: 3))
        let week = builder.build(grid: .dates([Self.day("2024-01-08")]), candidates: .visitedInWeek)
        #expect(week.examples.map { history.customerID(of: $0) } == ["A", "B"])
        #expect(week.counts.emptyHistory == 1)
        #expect(week.examples.map(\.historyEnd) == [1, 4])  // A: A1 only; B: nothing before B1 (index 4)
        #expect(history.repID(of: week.examples[1], in: week) == "")

        // Weekly grid 01-08 … 02-05 with H = 28 and T = 02-12: only t ≤ 01-15 closes by T.
        let train = builder.build(
            grid: .weekly(from: Self.day("2024-01-02"), through: Self.day("2024-02-05")),
            trainingCutoff: Self.day("2024-02-12"))
        #expect(Set(train.examples.map(\.asOf)) == [Self.day("2024-01-08").ordinal, t.ordinal])
        #expect(train.counts.droppedAfterCutoff == 3 + 3 + 3)  // 01-22, 01-29, 02-05: A, B, C each
    }

    @Test("The study's per-visit formulation: every visit date, customers visited that day, 'this visit converted'")
    func perVisitFormulation() throws {
        let history = try Self.history()
        let grid = AsOfGrid.visitDates(from: Self.day("2024-01-01"), through: Self.day("2024-02-05"))
        #expect(
            grid.dates(in: history).map(\.iso) == [
                "2024-01-01", "2024-01-03", "2024-01-08", "2024-01-10", "2024-01-20", "2024-02-05"
            ])
        let settings = ExampleSettings(sequenceLength: 2, horizonDays: 1, label: .nextVisitConverted)
        let set = ExampleBuilder(history: history, settings: settings).build(grid: grid, candidates: .visitedOnDay)
        // 01-01 A (A1 no), 01-03 C (C1 order: first visit of the day by id), 01-08 A (A2 order),
        // 01-10 B (B1 no), 01-20 A (A4 order), 02-05 C (C3 order).
        #expect(set.examples.map { history.customerID(of: $0) } == ["A", "C", "A", "B", "A", "C"])
        #expect(set.examples.map(\.label) == [0, 1, 1, 0, 1, 1])
        // Histories strictly before the day: none, none, [A1], none, [A1, A2, A3], [C1, C2].
        #expect(
            set.examples.map { Int($0.historyEnd) - history.customers[Int($0.customer)].visits.lowerBound } == [
                0, 0, 1, 0, 3, 2
            ])
        #expect(set.counts.emptyHistory == 3 && set.counts.padded == 4)
        var study = settings
        study.padding = .dropShort
        let dropped = ExampleBuilder(history: history, settings: study).build(grid: grid, candidates: .visitedOnDay)
        #expect(dropped.count == 2 && dropped.counts.droppedShort == 4)
    }

    @Test("Shift augmentation removes the latest order and recomputes the features")
    func shiftAugmentation() throws {
        let history = try Self.history()
        let settings = ExampleSettings(sequenceLength: 3)
        let set = ExampleBuilder(history: history, settings: settings).build(grid: .dates([Self.day("2024-01-15")]))
        var random = SeededRandom(seed: 7)
        let augmented = set.shiftAugmented(history: history, options: ShiftAugmentation(), random: &random)
        // A (order A2) and C (order C1) are eligible; B never ordered.
        #expect(augmented.counts.augmented == 2 && augmented.count == 5)
        let copyA = augmented.examples[3]
        #expect(history.customerID(of: copyA) == "A" && copyA.label == 1 && copyA.asOf == set.examples[0].asOf)
        #expect(augmented.shiftedHistories[0] == [0, 2])  // A1 and A3 remain
        let pipeline = FeaturePipeline.fit(training: augmented, history: history, featureSet: .study)
        var row = RawRow()
        try pipeline.encoder(for: history).raw(copyA, in: augmented, into: &row)
        // A1 then A3 recomputed without A2: A3's gap is 7, nothing ordered, 2 visits, only R1.
        #expect(row.steps == 2)
        #expect(row.sequence == [0, 0, 0, 0, 0, 1, 1, 7, 0, 0, 0, 0, 2, 1])
        #expect(history.repID(of: copyA, in: augmented) == "R1")
        var again = SeededRandom(seed: 7)
        #expect(
            set.shiftAugmented(history: history, options: ShiftAugmentation(), random: &again).shiftedHistories
                == augmented.shiftedHistories)
    }

    @Test("A transaction log goes through the same machinery (every row an order, no rep)")
    func transactions() throws {
        let days = ["2024-03-01", "2024-03-04", "2024-03-04", "2024-03-20"]
        let visits = days.enumerated().map { index, date in
            Visit(
                visitID: "T\(index)", customerID: "K", repID: "", date: Self.day(date), method: "", target: "",
                purpose: "",
                result: "order", isOrder: true, numeric: [Double(10 * (index + 1))])
        }
        let dataset = Dataset(
            manifest: DatasetManifest(kind: .transactions, visitColumns: .init(numeric: ["amount"])), visits: visits,
            customers: [])
        let history = VisitHistory(dataset: dataset)
        #expect(Array(history.features(ofVisit: 0)) == [0, 1, 0, 1, 1, 1, 0])
        #expect(Array(history.features(ofVisit: 2)) == [0, 1, 1, 1, 3, 3, 0])
        #expect(Array(history.features(ofVisit: 3)) == [16, 1, 1, 1, 4, 4, 0])
        let set = ExampleBuilder(history: history, settings: ExampleSettings(sequenceLength: 4, horizonDays: 28))
            .build(grid: .dates([Self.day("2024-03-11")]))
        #expect(set.count == 1 && set.examples[0].label == 1)  // the 03-20 purchase
        let pipeline = FeaturePipeline.fit(training: set, history: history, featureSet: .study)
        var row = RawRow()
        try pipeline.encoder(for: history).raw(set.examples[0], in: set, into: &row)
        // 3 purchases, last 7 days ago, amounts 10 + 20 + 30; no profile → every code unknown.
        #expect(row.aggregates == [3, 3, 3, 3, 3, 3, 7, 7, 3, 3, 1, 1.5, 0, 10, log1p(60)])
        #expect(row.statics[0..<4] == [0, 0, 0, 0])
    }
}
