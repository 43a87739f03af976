import Dataset
import Foundation
import Tensors
import Testing

@testable import Features

@Suite("Purchase timing")
struct PurchaseTimingTests {
    @Test("Standard bins: weekly to four weeks (or H), then three coarser ones; day → bin; untrusted edges checked")
    func bins() throws {
        let bins = TimingBins(horizonDays: 28)
        #expect(bins.edges == [7, 14, 21, 28, 42, 56, 91])
        #expect(TimingBins(horizonDays: 7).edges == bins.edges)
        #expect(TimingBins(horizonDays: 30).edges == [7, 14, 21, 28, 35, 49, 63, 98])
        #expect(bins.bin(ofDay: 0) == 0 && bins.bin(ofDay: 6) == 0 && bins.bin(ofDay: 7) == 1)
        #expect(bins.bin(ofDay: 41) == 4 && bins.bin(ofDay: 90) == 6 && bins.bin(ofDay: 91) == nil)
        #expect(TimingBins(edges: [7, 7]) == nil && TimingBins(edges: []) == nil && TimingBins(edges: [0, 7]) == nil)
        #expect(TimingBins(edges: [7, 3661]) == nil && TimingBins(edges: [7, 14])?.maximumDays == 14)
    }

    @Test(
        "Person-periods: bins before the event at 0, the event's bin at 1, only among bins seen whole before the cut-off"
    )
    func personPeriods() {
        let bins = TimingBins(horizonDays: 28)
        #expect(bins.personPeriods(TimeToOrder(days: 0, observed: true), followUpDays: 400) == (1, 0))
        #expect(bins.personPeriods(TimeToOrder(days: 45, observed: true), followUpDays: 400) == (6, 5))
        #expect(bins.personPeriods(TimeToOrder(days: 200, observed: true), followUpDays: 400) == (7, nil))
        #expect(bins.personPeriods(TimeToOrder(days: 13, observed: false), followUpDays: 13) == (1, nil))
        #expect(bins.personPeriods(TimeToOrder(days: 14, observed: false), followUpDays: 14) == (2, nil))
        #expect(bins.personPeriods(TimeToOrder(days: 3, observed: false), followUpDays: 3) == (0, nil))
        // An order on day 60 with the cut-off at day 70: bin [56, 91) is cut, so it is left out
        // (its order with it); bins 0…5 were seen whole without an order.
        #expect(bins.personPeriods(TimeToOrder(days: 60, observed: true), followUpDays: 70) == (6, nil))
        // An order on day 20, cut-off on day 25: bin [14, 21) holds it and was seen whole.
        #expect(bins.personPeriods(TimeToOrder(days: 20, observed: true), followUpDays: 25) == (3, 2))
        #expect(bins.personPeriods(TimeToOrder(days: 22, observed: true), followUpDays: 25) == (3, nil))
    }

    @Test("Time to the next order: the first order on or after t, censored at the cut-off, never a record after it")
    func timeToOrder() throws {
        // One customer: visits on days 0 (order), 10 (no order), 20 (order), 40 (order).
        let start = Day(iso: "2024-01-01")!
        let visits = [(0, true), (10, false), (20, true), (40, true)].enumerated().map { index, visit in
            Visit(
                visitID: "V\(index)", customerID: "c", repID: "r", date: start.advanced(by: visit.0), method: "",
                target: "", purpose: "",
                result: visit.1 ? "order" : "no_order", isOrder: visit.1, numeric: [])
        }
        let history = VisitHistory(
            dataset: Dataset(manifest: DatasetManifest(kind: .visits), visits: visits, customers: []))
        let set = ExampleBuilder(history: history).build(
            grid: .dates([start.advanced(by: 5), start.advanced(by: 20), start.advanced(by: 41)]))
        #expect(set.count == 3)
        let base = history.days.min()!
        #expect(
            history.timeToOrder(of: set.examples[0], censoredAt: base + 100) == TimeToOrder(days: 15, observed: true))
        #expect(
            history.timeToOrder(of: set.examples[1], censoredAt: base + 100) == TimeToOrder(days: 0, observed: true))
        #expect(
            history.timeToOrder(of: set.examples[2], censoredAt: base + 100) == TimeToOrder(days: 59, observed: false))
        // The order on day 20 is on the cut-off: not seen.
        #expect(
            history.timeToOrder(of: set.examples[0], censoredAt: base + 20) == TimeToOrder(days: 15, observed: false))
    }

    @Test(
        "Order days in [t, end): distinct days with an order, two orders on one day counted once, nothing on or after end"
    )
    func orderDays() throws {
        // Visits on days 0 (order), 10 (no order), 20 (order), 20 (a second order), 40 (order).
        let start = Day(iso: "2024-01-01")!
        let visits = [(0, true), (10, false), (20, true), (20, true), (40, true)].enumerated().map { index, visit in
            Visit(
                visitID: "V\(index)", customerID: "c", repID: "r", date: start.advanced(by: visit.0), method: "",
                target: "", purpose: "",
                result: visit.1 ? "order" : "no_order", isOrder: visit.1, numeric: [])
        }
        let history = VisitHistory(
            dataset: Dataset(manifest: DatasetManifest(kind: .visits), visits: visits, customers: []))
        let set = ExampleBuilder(history: history).build(grid: .dates([start.advanced(by: 5), start.advanced(by: 20)]))
        let base = history.days.min()!
        #expect(history.orderDays(of: set.examples[0], before: base + 5 + 28) == 1)
        #expect(
            history.orderDays(of: set.examples[0], before: base + 40) == 1,
            "the order on day 40 is on the end: not counted")
        #expect(history.orderDays(of: set.examples[0], before: base + 41) == 2)
        #expect(history.orderDays(of: set.examples[0], before: base + 20) == 0)
        #expect(
            history.orderDays(of: set.examples[1], before: base + 48) == 2,
            "an order on t itself counts, as the label does")
    }

    @Test("Shift-augmented copies (no historyEnd) have their original's future: the same time to order and order days")
    func shiftedCopiesKeepTheirFuture() throws {
        let dataset = SyntheticVisitLog.generate(customers: 40, visits: 800, days: 300, seed: 9)
        let history = VisitHistory(dataset: dataset)
        let start = Day(ordinal: history.days.min()! + 120)
        let set = ExampleBuilder(history: history).build(grid: .dates([start, start.advanced(by: 28)]))
        var random = SeededRandom(seed: 4)
        let augmented = set.shiftAugmented(history: history, options: ShiftAugmentation(), random: &random)
        let copies = augmented.examples.filter { $0.shifted >= 0 }
        #expect(copies.count > 10)
        let end = history.days.max()! + 1
        for copy in copies {
            let original = try #require(set.examples.first { $0.customer == copy.customer && $0.asOf == copy.asOf })
            #expect(
                history.timeToOrder(of: copy, censoredAt: end) == history.timeToOrder(of: original, censoredAt: end))
            #expect(
                history.orderDays(of: copy, before: copy.asOf + 28)
                    == history.orderDays(of: original, before: original.asOf + 28))
        }
    }

    @Test("A constant daily hazard p: P(within d) = 1 − (1 − p)^d, E = (1 − p)/p, median ⌈log ½ / log(1 − p)⌉")
    func constantHazard() {
        let bins = TimingBins(horizonDays: 28)
        for p in [0.002, 0.03, 0.2] {
            let q = 1 - p
            let timing = PurchaseTiming(
                bins: bins, hazards: (0..<bins.count).map { 1 - pow(q, Double(bins.width($0))) })
            for (k, edge) in bins.edges.enumerated() {
                #expect(abs(timing.cumulative[k] - (1 - pow(q, Double(edge)))) < 1e-12)
            }
            for d in [1.0, 3, 7, 10, 28, 50, 91, 120, 400] {
                #expect(abs(timing.probability(withinDays: d) - (1 - pow(q, d))) < 1e-12)
            }
            #expect(abs(timing.expectedDays - min(q / p, PurchaseTiming.cap)) < 1e-9 * q / p)
            #expect(timing.medianDays == min((log(0.5) / log(q)).rounded(.up), PurchaseTiming.cap))
        }
    }

    @Test("Edge cases: certain order in the first bin, no order ever, cumulative input made monotone")
    func edges() {
        let bins = TimingBins(horizonDays: 28)
        let certain = PurchaseTiming(bins: bins, hazards: [1, 0, 0, 0, 0, 0, 0])
        #expect(certain.cumulative.allSatisfy { $0 == 1 } && certain.medianDays <= 7 && certain.expectedDays < 7)
        let never = PurchaseTiming(bins: bins, hazards: [0, 0, 0, 0, 0, 0, 0])
        #expect(never.expectedDays == PurchaseTiming.cap && never.medianDays == PurchaseTiming.cap)
        #expect(never.probability(withinDays: 500) == 0)
        let messy = PurchaseTiming(bins: bins, cumulative: [0.2, 0.1, 0.4, .nan, 0.5, 1.2, 0.9])
        #expect(messy.cumulative == [0.2, 0.2, 0.4, 0.4, 0.5, 1, 1])
    }
}
