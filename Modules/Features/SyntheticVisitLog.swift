import Dataset
import Tensors

/// Deterministic synthetic visit logs for leakage tests and benchmarks: customers with a
/// reorder cycle, reps who mostly keep their accounts, orders likelier near the cycle's due
/// date, an `amount` on each order. Not a model of any real business — a generator whose size,
/// shape and seed are controlled, so the same arguments always give the same dataset.
public enum SyntheticVisitLog {
    /// A dataset of `customers` customers and about `visits` visits spread over `days` days from
    /// `start`, drawn from `SeededRandom(seed:)`.
    ///
    /// Visit counts per customer are uniform in 1…(2·visits/customers − 1), so the total is
    /// close to `visits`; dates are uniform in the span (same-day visits occur); ids are
    /// zero-padded so dataset order is id order. `kind: .transactions` gives a log where every
    /// row is an order and no row has a rep.
    public static func generate(
        customers customerCount: Int, visits visitTarget: Int, days: Int, start: Day = Day(iso: "2022-01-03")!,
        seed: UInt64, kind: DatasetManifest.Kind = .visits
    ) -> Dataset {
        precondition(customerCount >= 1 && days >= 1, "SyntheticVisitLog: need at least one customer and one day")
        var random = SeededRandom(seed: seed)
        let types = ["trader", "manufacturer", "design_house", "distributor"]
        let industries = ["consumer", "automotive", "medical", "industrial", "telecom"]
        let tags = ["key", "high_potential", "small_medium"]
        let targets = ["first_order", "dormant_3m", "active", "key_account"]
        let methods = ["phone", "im", "onsite", "email"]
        let repCount = max(1, customerCount / 100)
        let meanVisits = max(1, visitTarget / customerCount)
        let idWidth = String(customerCount).count
        var customers: [Customer] = []
        var visits: [Visit] = []
        customers.reserveCapacity(customerCount)
        visits.reserveCapacity(visitTarget + visitTarget / 10)
        var dayScratch: [Int32] = []
        for c in 0..<customerCount {
            let number = String(c)
            let customerID = "C" + String(repeating: "0", count: idWidth - number.count) + number
            customers.append(
                Customer(
                    customerID: customerID, customerType: types[random.int(below: types.count)],
                    industry: industries[random.int(below: industries.count)], tag: tags[random.int(below: tags.count)])
            )
            let n = 1 + random.int(below: 2 * meanVisits - 1)
            let cycle = Int32(14 + random.int(below: 77))
            let phase = Int32(random.int(below: Int(cycle)))
            var rep = random.int(below: repCount)
            dayScratch.removeAll(keepingCapacity: true)
            for _ in 0..<n { dayScratch.append(start.ordinal + Int32(random.int(below: days))) }
            dayScratch.sort()
            let width = String(n).count
            for (v, day) in dayScratch.enumerated() {
                if random.bernoulli(probability: 0.15) { rep = random.int(below: repCount) }
                // Orders cluster where the customer's cycle comes due.
                let offset = (day + phase) % cycle
                let due = offset < 7 || offset > cycle - 4
                let isOrder = kind == .transactions || random.bernoulli(probability: due ? 0.35 : 0.05)
                let amount: Double? = isOrder ? Double(10 + random.int(below: 990)) : nil
                let index = String(v)
                visits.append(
                    Visit(
                        visitID: customerID + "-" + String(repeating: "0", count: width - index.count) + index,
                        customerID: customerID, repID: kind == .transactions ? "" : "R\(rep)", date: Day(ordinal: day),
                        method: kind == .transactions ? "" : methods[random.int(below: methods.count)],
                        target: kind == .transactions ? "" : targets[random.int(below: targets.count)],
                        purpose: kind == .transactions ? "" : "follow_up", result: isOrder ? "order" : "no_demand",
                        isOrder: isOrder, numeric: [amount]))
            }
        }
        let manifest = DatasetManifest(
            kind: kind, visitColumns: DatasetManifest.ExtraColumns(numeric: ["amount"]),
            visitCounts: DatasetManifest.Counts(read: visits.count, accepted: visits.count),
            customerCounts: DatasetManifest.Counts(read: customers.count, accepted: customers.count),
            firstDate: visits.map(\.date).min(), lastDate: visits.map(\.date).max(), customerCount: customers.count,
            repCount: kind == .transactions ? 0 : repCount)
        return Dataset(manifest: manifest, visits: visits, customers: customers)
    }

    /// `dataset` with a free-text column `notes` (declared as text in the manifest): each visit
    /// gets zero to two filler phrases, and a visit followed by an order of the same customer
    /// within 1…21 days says "new project" with probability `signal` (0: notes carry nothing).
    /// Seeded, so the same arguments give the same notes.
    public static func withNotes(_ dataset: Dataset, signal: Double, seed: UInt64) -> Dataset {
        var random = SeededRandom(seed: seed)
        let filler = [
            "called back", "no answer", "left a message", "price too high", "asked for samples", "spoke to the buyer",
            "客户不在", "价格太高", "下周再联系", "stock is fine", "happy with service"
        ]
        var copy = dataset
        copy.visits.sort(by: Visit.datasetOrder)
        let visits = copy.visits
        for index in visits.indices {
            var parts: [String] = []
            for _ in 0..<random.int(below: 3) { parts.append(filler[random.int(below: filler.count)]) }
            var next = index + 1
            var orderSoon = false
            while next < visits.count && visits[next].customerID == visits[index].customerID {
                let gap = visits[index].date.distance(to: visits[next].date)
                if gap > 21 { break }
                if gap >= 1 && visits[next].isOrder { orderSoon = true; break }
                next += 1
            }
            if orderSoon && random.bernoulli(probability: signal) {
                parts.insert("new project", at: random.int(below: parts.count + 1))
            }
            copy.visits[index].categorical = visits[index].categorical + [parts.joined(separator: ", ")]
        }
        copy.manifest.visitColumns.categorical.append("notes")
        copy.manifest.visitColumns.text.append("notes")
        return copy
    }

    /// `dataset` with every visit dated on or after `day` deleted (profiles kept: they carry no
    /// date). The leakage tests compare examples built from this against the full dataset.
    public static func truncated(_ dataset: Dataset, before day: Day) -> Dataset {
        var copy = dataset
        copy.visits = dataset.visits.filter { $0.date < day }
        return copy
    }
}
