import Dataset
import Foundation
import Tensors
import Testing

@testable import Synth

/// A small world for the fast tests: a few hundred customers over a few months.
func smallConfiguration(seed: UInt64 = 7) -> SynthConfiguration {
    var configuration = SynthConfiguration()
    configuration.seed = seed
    configuration.customers = 300
    configuration.reps = 6
    configuration.weeks = 40
    return configuration
}

/// A larger world for the statistical tests (still about a second in a debug build).
func statisticalConfiguration() -> SynthConfiguration {
    var configuration = SynthConfiguration()
    configuration.seed = 11
    configuration.customers = 1500
    configuration.reps = 30
    configuration.weeks = 78
    return configuration
}

func temporaryDirectory(_ name: String) -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("synth-tests-\(getpid())-\(name)").path
    try? FileManager.default.removeItem(atPath: path)
    return path
}

func read(_ directory: String, _ name: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name))
}

@Suite("Synth determinism")
struct SynthDeterminismTests {
    @Test func sameSeedGivesTheSameBytes() throws {
        let first = temporaryDirectory("same-1")
        let second = temporaryDirectory("same-2")
        try SynthWriter.write(Simulator.run(smallConfiguration()), to: first)
        try SynthWriter.write(Simulator.run(smallConfiguration()), to: second)
        for name in SynthWriter.fileNames {
            let a = try read(first, name)
            let b = try read(second, name)
            #expect(!a.isEmpty, "\(name) is empty")
            #expect(a == b, "\(name) differs between two runs with the same seed")
        }
    }

    @Test func differentSeedsGiveDifferentExports() throws {
        let first = temporaryDirectory("seed-1")
        let second = temporaryDirectory("seed-2")
        try SynthWriter.write(Simulator.run(smallConfiguration(seed: 1)), to: first)
        try SynthWriter.write(Simulator.run(smallConfiguration(seed: 2)), to: second)
        for name in ["customers.csv", "visits.csv", "ground_truth.csv"] {
            #expect(try read(first, name) != read(second, name), "\(name) is the same for seeds 1 and 2")
        }
    }
}

@Suite("Synth behaviour")
struct SynthBehaviourTests {
    static let export = Simulator.run(statisticalConfiguration())

    @Test func visitSuccessRateIsInTheStudysBand() {
        // The study's reps convert about 5–10% of visits (BRIEF §1); the defaults aim at ~6%.
        // With ~30,000 visits the standard error of the rate is ~0.14 points, so the band
        // is a statement about the model's settings, not about sampling noise.
        let visits = Self.export.visits
        #expect(visits.count > 20_000)
        let orders = visits.filter { $0.result == .order }.count
        let rate = Double(orders) / Double(visits.count)
        #expect(rate >= 0.05 && rate <= 0.10, "visit success rate \(rate)")
    }

    @Test func visitsDuringOpenNeedsConvertFarMoreOften() {
        let visits = Self.export.visits
        let open = visits.filter(\.needOpen)
        let closed = visits.filter { !$0.needOpen }
        #expect(open.count > 1000 && closed.count > 1000)
        let openRate = Double(open.filter { $0.result == .order }.count) / Double(open.count)
        let closedRate = Double(closed.filter { $0.result == .order }.count) / Double(closed.count)
        // Settings: 0.55 × method × skill against 0.008 × method × skill, a ratio near 70.
        // "Far more" is pinned at 10×, well inside that, whatever the mix of reps drawn.
        #expect(openRate > 10 * closedRate, "open \(openRate) vs closed \(closedRate)")
        // Orders come mainly from open needs.
        let ordersFromOpen = open.filter { $0.result == .order }.count
        let allOrders = visits.filter { $0.result == .order }.count
        #expect(Double(ordersFromOpen) > 0.6 * Double(allOrders))
    }

    /// Notes: a project mention comes mostly before a need (the weak signal), so a visit that
    /// mentions one is followed by a visit during an open need of the same customer within 21
    /// days far more often than a visit that does not; and notes move no other column.
    @Test func projectMentionsPrecedeNeedsAndChangeNothingElse() {
        // Customer-major, by day (the export lists visits day by day).
        let visits = Self.export.visits.sorted { ($0.customer, $0.day) < ($1.customer, $1.day) }
        func mentions(_ visit: SimulatedVisit) -> Bool { VisitNote.project.contains { visit.note.contains($0) } }
        func needSoon(_ index: Int) -> Bool {
            var next = index + 1
            while next < visits.count && visits[next].customer == visits[index].customer
                && visits[next].day - visits[index].day <= 21
            {
                if visits[next].needOpen { return true }
                next += 1
            }
            return false
        }
        let candidates = visits.indices.filter { !visits[$0].needOpen }
        let mentioned = candidates.filter { mentions(visits[$0]) }, silent = candidates.filter { !mentions(visits[$0]) }
        #expect(mentioned.count > 100 && silent.count > 1000)
        let mentionedRate = Double(mentioned.filter(needSoon).count) / Double(mentioned.count)
        let silentRate = Double(silent.filter(needSoon).count) / Double(silent.count)
        #expect(
            mentionedRate > 2 * silentRate,
            "need within 21 days after a mention \(mentionedRate), without \(silentRate)")
        #expect(visits.contains { !$0.note.isEmpty && !mentions($0) } && visits.contains { $0.note.isEmpty })

        var silentConfiguration = statisticalConfiguration()
        silentConfiguration.noteSignal = 0
        silentConfiguration.noteNoise = 0
        let quiet = Simulator.run(silentConfiguration)
        #expect(!quiet.visits.contains(where: mentions))
        var stripped = Self.export.visits, quietStripped = quiet.visits
        for i in stripped.indices { stripped[i].note = "" }
        for i in quietStripped.indices { quietStripped[i].note = "" }
        #expect(stripped == quietStripped && quiet.groundTruth == Self.export.groundTruth)
    }

    @Test func groundTruthIsCalibrated() {
        let truth = Self.export.groundTruth
        Self.expectCalibrated(truth.probability, truth.ordered, "p_order")
    }

    /// The visit-order probability (the label of the visit log) is calibrated the same way, and
    /// lies below P(any order) by about the inbound orders' share.
    @Test func visitOrderProbabilityIsCalibratedAndBelowTheAnyOrderProbability() {
        let truth = Self.export.groundTruth
        Self.expectCalibrated(truth.visitProbability, truth.visitOrdered, "p_visit_order")
        #expect(zip(truth.visitProbability, truth.probability).allSatisfy { $0 <= $1 + 1e-4 })
        #expect(zip(truth.visitOrdered, truth.ordered).allSatisfy { !$0 || $1 }, "a visit order is an order")
        let any = truth.probability.reduce(0) { $0 + Double($1) },
            visit = truth.visitProbability.reduce(0) { $0 + Double($1) }
        #expect(visit < 0.9 * any && visit > 0.3 * any, "visit \(visit) against any \(any)")
    }

    /// Reliability per probability bin, on every 4th Monday so that windows do not overlap.
    /// Given the state at Monday M, the outcome Y of [M, M + 28) has mean p; for windows that
    /// do not overlap, Y − p of an earlier window is known at the later Monday, so the
    /// residuals form a martingale-difference sequence (uncorrelated), and across customers
    /// they are independent given the reps' exogenous plans. The sum of residuals in a bin
    /// therefore has standard deviation √Σp(1−p) exactly. 4 σ leaves a 6·10⁻⁵ chance per bin
    /// that a correct p fails; a p that is wrong by even 0.02 in a bin of 1,000 rows fails it.
    /// The 4-decimal rounding of p adds at most 5·10⁻⁵ per row, counted on top.
    static func expectCalibrated(_ probability: [Float], _ outcome: [Bool], _ name: String) {
        let truth = Self.export.groundTruth
        let edges: [Float] = [0, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0001]
        var residual = [Double](repeating: 0, count: edges.count - 1)
        var variance = [Double](repeating: 0, count: edges.count - 1)
        var counts = [Int](repeating: 0, count: edges.count - 1)
        for monday in stride(from: 0, to: truth.mondays, by: 4) {
            for customer in 0..<truth.customers {
                let index = monday * truth.customers + customer
                let p = probability[index]
                let bin = edges.lastIndex { $0 <= p }!
                let y = outcome[index] ? 1.0 : 0.0
                residual[bin] += y - Double(p)
                variance[bin] += Double(p) * Double(1 - p)
                counts[bin] += 1
            }
        }
        var checkedBins = 0
        for bin in 0..<residual.count where variance[bin] >= 10 {
            checkedBins += 1
            let bound = 4 * variance[bin].squareRoot() + 5e-5 * Double(counts[bin])
            #expect(
                abs(residual[bin]) <= bound,
                "\(name) bin [\(edges[bin]), \(edges[bin + 1])): n \(counts[bin]), Σ(y − p) \(residual[bin]), bound \(bound)"
            )
        }
        #expect(checkedBins >= 4, "\(name): too few populated bins to speak of calibration")
        // And the probabilities are informative, not a constant: the top bin orders far more.
        #expect(counts[0] > 0 && counts[4] + counts[5] > 0, "\(name): \(counts)")
    }

    @Test func groundTruthIsZeroForChurnedCustomersAndAProbabilityEverywhere() {
        let truth = Self.export.groundTruth
        #expect(truth.probability.count == truth.mondays * truth.customers)
        #expect(truth.probability.allSatisfy { $0 >= 0 && $0 <= 1 })
        // Mondays whose window would run past the export have no row.
        #expect(truth.mondays == (Self.export.configuration.days - Self.export.configuration.horizonDays) / 7 + 1)
    }

    @Test func polledCustomersGetVisitsWithinTheCapacity() {
        // Polling visits per rep per day never exceed the capacity; follow-ups come on top.
        var perRepDay: [Int: Int] = [:]
        for visit in Self.export.visits where !visit.followUp {
            perRepDay[Int(visit.day) * 1000 + Int(visit.rep), default: 0] += 1
        }
        #expect(perRepDay.values.allSatisfy { $0 <= Self.export.configuration.visitsPerDay })
        // Key accounts are polled more often than others (the round-robin weight).
        var visitsByTag = [Int](repeating: 0, count: 3)
        var customersByTag = [Int](repeating: 0, count: 3)
        for customer in Self.export.customers { customersByTag[Int(customer.tag.rawValue)] += 1 }
        for visit in Self.export.visits {
            visitsByTag[Int(Self.export.customers[Int(visit.customer)].tag.rawValue)] += 1
        }
        let key = Double(visitsByTag[0]) / Double(customersByTag[0])
        let small = Double(visitsByTag[2]) / Double(customersByTag[2])
        #expect(key > 1.3 * small, "visits per key account \(key), per small/medium \(small)")
    }
}

@Suite("Synth files")
struct SynthFileTests {
    static let vocabulary: [Set<String>] = [
        Set(VisitMethod.allCases.map(\.code)), Set(VisitTarget.allCases.map(\.code)),
        Set(VisitPurpose.allCases.map(\.code)), Set(VisitResult.allCases.map(\.code))
    ]

    func lines(_ data: Data) -> [Substring] {
        String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .map { $0 }
    }

    @Test func everyRowIsValid() throws {
        let configuration = smallConfiguration()
        let export = Simulator.run(configuration)
        let directory = temporaryDirectory("valid")
        try SynthWriter.write(export, to: directory)

        let customers = lines(try read(directory, "customers.csv"))
        #expect(customers.first == "customer_id,customer_type,industry,tag")
        #expect(customers.count == configuration.customers + 1)
        var customerIDs: [Substring] = []
        var tags: [Substring: Substring] = [:]
        for line in customers.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            #expect(fields.count == 4, "\(line)")
            #expect(fields[0].count == 7 && fields[0].hasPrefix("C"))
            #expect(Set(CustomerType.allCases.map(\.code)).contains(String(fields[1])))
            #expect(Set(Industry.allCases.map(\.code)).contains(String(fields[2])))
            #expect(Set(CustomerTag.allCases.map(\.code)).contains(String(fields[3])))
            customerIDs.append(fields[0])
            tags[fields[0]] = fields[3]
        }
        #expect(customerIDs == customerIDs.sorted() && Set(customerIDs).count == customerIDs.count)

        // Inbound orders, to recompute each visit's target from the ERP's order history.
        var ordersByCustomer: [Substring: [String]] = [:]
        let inbound = lines(try read(directory, "inbound_orders.csv"))
        #expect(inbound.first == "customer_id,order_date,rep_id")
        for line in inbound.dropFirst() {
            let fields = line.split(separator: ",")
            #expect(fields.count == 3 && tags[fields[0]] != nil)
            ordersByCustomer[fields[0], default: []].append(String(fields[1]))
        }

        let visits = lines(try read(directory, "visits.csv"))
        #expect(visits.first == "visit_id,customer_id,rep_id,visit_date,method,target,purpose,result,notes")
        #expect(visits.count == export.visits.count + 1)
        let first = configuration.start
        let last = configuration.start.advanced(by: configuration.days - 1)
        var previous: (id: Substring, date: Substring)?
        var lastOrder: [Substring: Day] = [:]
        var visitsWithCheckedTarget = 0
        for line in visits.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            try #require(fields.count == 9, "\(line)")
            // Notes: routine phrases and project mentions of VisitNote, joined by "; ".
            #expect(
                fields[8].isEmpty
                    || fields[8].split(separator: ";").allSatisfy { phrase in
                        let text = phrase.trimmingCharacters(in: .whitespaces)
                        return VisitNote.routine.contains(text) || VisitNote.project.contains(text)
                    }, "\(line)")
            #expect(fields[0].count == 8 && fields[0].hasPrefix("V"))
            #expect(tags[fields[1]] != nil, "unknown customer in \(line)")
            #expect(fields[2].count == 4 && fields[2].hasPrefix("R"))
            let date = try #require(Day(iso: String(fields[3])), "bad date in \(line)")
            #expect(date >= first && date <= last && date.weekday <= 5, "\(line): not a working day of the export")
            for (index, vocabulary) in Self.vocabulary.enumerated() {
                #expect(vocabulary.contains(String(fields[4 + index])), "\(line): field \(4 + index)")
            }
            if let previous {
                #expect(previous.id < fields[0] && previous.date <= fields[3], "visits not in id and date order")
            }
            previous = (fields[0], fields[3])
            // The target follows the ERP's rule once the unknown pre-export history is over
            // (non-prospects start with a last order up to 180 days before the first day).
            for order in ordersByCustomer[fields[1]] ?? [] where order < String(fields[3]) {
                let orderDate = Day(iso: order)!
                if lastOrder[fields[1]].map({ $0 < orderDate }) ?? true { lastOrder[fields[1]] = orderDate }
            }
            if first.distance(to: date) > 180, let known = lastOrder[fields[1]] {
                let expected = VisitTarget.derive(
                    day: Int(date.ordinal), lastOrderDay: Int(known.ordinal),
                    tag: CustomerTag.allCases.first { $0.code == tags[fields[1]]! }!)
                #expect(String(fields[5]) == expected.code, "\(line): target should be \(expected.code)")
                visitsWithCheckedTarget += 1
            }
            if fields[7] == "order" {
                lastOrder[fields[1]] = date
            }
        }
        #expect(visitsWithCheckedTarget > 100)

        let xml = String(decoding: try read(directory, "visits.xml"), as: UTF8.self)
        #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VisitExport>\n"))
        #expect(xml.hasSuffix("</VisitExport>\n"))
        #expect(xml.components(separatedBy: "<Visit id=\"").count - 1 == export.visits.count)
        let firstVisit = visits[1].split(separator: ",", omittingEmptySubsequences: false)
        #expect(
            xml.contains(
                "<Visit id=\"\(firstVisit[0])\"><CustomerId>\(firstVisit[1])</CustomerId><RepId>\(firstVisit[2])</RepId>"
                    + "<Date>\(firstVisit[3])</Date><Method>\(firstVisit[4])</Method><Target>\(firstVisit[5])</Target>"
                    + "<Purpose>\(firstVisit[6])</Purpose><Result>\(firstVisit[7])</Result><Notes>\(firstVisit[8])</Notes></Visit>\n"
            ))
        let customerXML = String(decoding: try read(directory, "customers.xml"), as: UTF8.self)
        #expect(customerXML.components(separatedBy: "<Customer id=\"").count - 1 == configuration.customers)
        #expect(customerXML.hasSuffix("</CustomerExport>\n"))

        let truth = lines(try read(directory, "ground_truth.csv"))
        #expect(truth.first == "customer_id,as_of,p_order,ordered,p_visit_order,visit_ordered")
        #expect(truth.count == export.groundTruth.mondays * configuration.customers + 1)
        for line in truth.dropFirst() {
            let fields = line.split(separator: ",")
            try #require(fields.count == 6, "\(line)")
            let date = try #require(Day(iso: String(fields[1])))
            #expect(date.weekday == 1 && date.advanced(by: configuration.horizonDays - 1) <= last)
            let p = try #require(Double(fields[2]))
            #expect(p >= 0 && p <= 1 && fields[2].count == 6)
            #expect(fields[3] == "0" || fields[3] == "1")
            let visit = try #require(Double(fields[4]))
            #expect(visit >= 0 && visit <= p + 1e-4 && fields[4].count == 6)
            #expect(fields[5] == "0" || (fields[5] == "1" && fields[3] == "1"))
        }

        let manifest = try JSONSerialization.jsonObject(with: read(directory, "synth.json")) as? [String: Any]
        #expect(manifest?["formatVersion"] as? Int == SynthWriter.formatVersion)
        #expect(manifest?["format"] as? String == "revisit-synth")
    }
}

@Suite("Synth building blocks")
struct SynthBuildingBlockTests {
    @Test func civilDatesRoundTripAndKnowTheirWeekday() {
        #expect(Day(iso: "2018-03-05")?.weekday == 1)  // a Monday
        #expect(Day(iso: "1970-01-01")?.ordinal == 0)
        #expect(Day(iso: "2020-02-29")?.description == "2020-02-29")
        #expect(Day(iso: "2019-02-29") == nil)
        #expect(Day(iso: "2018-3-05") == nil)
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            let date = Day(ordinal: Int32(days))
            #expect(Day(iso: date.description) == date || date.civil.year > 9999 || date.civil.year < 1)
        }
    }

    @Test func needGapHazardMatchesItsDraws() {
        // The ground truth's hazard and the simulator's draws describe one distribution:
        // the empirical P(G = e | G ≥ e) from 200,000 draws against the closed form.
        // Binomial standard error at hazard h with n at risk is √(h(1−h)/n) ≤ 0.0035 for n ≥ 20,000;
        // 0.015 is over 4 of them.
        let gap = NeedGap(minimum: 14, shape: 3, meanDays: 60)
        var random = SeededRandom(seed: 3, stream: 0)
        var counts = [Int](repeating: 0, count: 400)
        for _ in 0..<200_000 { counts[min(399, gap.draw(using: &random))] += 1 }
        #expect(counts[..<15].reduce(0, +) == 0, "a gap below the minimum")
        var atRisk = 200_000
        for elapsed in 0..<120 {
            if atRisk >= 20_000 {
                let empirical = Double(counts[elapsed]) / Double(atRisk)
                #expect(abs(empirical - gap.hazard(elapsed: elapsed)) < 0.015, "elapsed \(elapsed)")
            }
            atRisk -= counts[elapsed]
        }
    }

    @Test func badSettingsAreNamed() {
        var configuration = SynthConfiguration()
        #expect(configuration.problem == nil)
        configuration.start = Day(iso: "2018-03-06")!
        #expect(configuration.problem?.contains("--start must be a Monday") == true)
        configuration = SynthConfiguration()
        configuration.typeMix = [1, 2]
        #expect(configuration.problem?.contains("--type-mix") == true)
        configuration = SynthConfiguration()
        configuration.openConversion = 1.5
        #expect(configuration.problem?.contains("--open-conversion") == true)
    }
}
