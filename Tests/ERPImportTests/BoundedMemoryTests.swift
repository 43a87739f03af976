import Dataset
import ERPImport
import Formats
import Foundation
import Testing

/// The importer sorts in bounded memory (an external merge sort): a budget small enough to
/// spill many runs gives byte for byte the dataset an all-in-memory import gives, and the
/// same rows in another order give the same data files.
@Suite struct BoundedMemoryTests {
    struct Generator {
        var state: UInt64
        mutating func below(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }

    /// Visit rows (without header) with exact duplicates, conflicting duplicates, visits of
    /// customers the master does not list, quoted fields and non-ASCII ids; and a customer
    /// master with a duplicate and a conflict.
    static func export(rows: Int, seed: UInt64) -> (visits: [String], customers: [String]) {
        var generator = Generator(state: seed)
        let methods = ["phone", "im", "onsite", "email"],
            targets = ["first_order", "dormant_3m", "active", "key_account"]
        let purposes = ["demand_mining", "follow_up", "quotation", "relationship"]
        let results = ["order", "no_demand", "no_answer", "not_decision_maker", "price_rejected"]
        var visits: [String] = []
        for index in 0..<rows {
            let customer = generator.below(10) == 0 ? "客户\(generator.below(300))" : "C\(generator.below(2000))"
            let day = 1 + generator.below(28), month = 1 + generator.below(12)
            let purpose = generator.below(20) == 0 ? "\"follow_up\"" : purposes[generator.below(4)]
            visits.append(
                "V\(index),\(customer),R\(generator.below(40)),2019-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day),"
                    + "\(methods[generator.below(4)]),\(targets[generator.below(4)]),\(purpose),\(results[generator.below(5)])"
            )
        }
        // Exact copies of some rows, and rows that reuse an id with other content.
        for _ in 0..<rows / 50 { visits.append(visits[generator.below(rows)]) }
        for _ in 0..<rows / 200 {
            let row = visits[generator.below(rows)]
            visits.append(row.replacingOccurrences(of: ",R", with: ",X"))
        }
        var customers =
            (0..<1900).map { "C\($0),trader,industrial,key" }
            + (0..<300).map { "客户\($0),manufacturer,medical,high_potential" }
        customers.append("C5,trader,industrial,key")
        customers.append("C7,design_house,industrial,key")
        return (visits, customers)
    }

    static func write(_ lines: [String], header: String, to path: String) throws {
        try Data(([header] + lines).joined(separator: "\n").appending("\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    static let visitHeader = "visit_id,customer_id,rep_id,visit_date,method,target,purpose,result"
    static let customerHeader = "customer_id,customer_type,industry,tag"

    static func run(visits: String, customers: String?, out: String, memory: Int, append: Bool = false) throws
        -> ImportReport
    {
        var options = ImportOptions(
            visitsPath: visits, customersPath: customers, outputDirectory: out, append: append, maxRejectRate: 1,
            timestamp: "2024-01-01T00:00:00Z")
        options.memoryBudget = memory
        return try DatasetImport.run(options)
    }

    static func files(
        _ directory: String,
        _ names: [String] = [Dataset.visitsFile, Dataset.customersFile, Dataset.rejectsFile, Dataset.manifestFile]
    ) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for name in names { result[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)) }
        return result
    }

    @Test func aSmallBudgetGivesTheSameDatasetAsAllInMemory() throws {
        let base = Fixture.scratch("bounded")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let (visits, customers) = Self.export(rows: 30_000, seed: 1)
        try Self.write(visits, header: Self.visitHeader, to: base + "/visits.csv")
        try Self.write(customers, header: Self.customerHeader, to: base + "/customers.csv")
        let inMemory = try Self.run(
            visits: base + "/visits.csv", customers: base + "/customers.csv", out: base + "/a", memory: 1 << 30)
        // 1 MiB: the 30,000 rows (several MB of sort records) spill in many runs.
        let spilled = try Self.run(
            visits: base + "/visits.csv", customers: base + "/customers.csv", out: base + "/b", memory: 1 << 20)
        #expect(try Self.files(base + "/a") == Self.files(base + "/b"))
        #expect(inMemory.visitCounts == spilled.visitCounts)
        #expect(inMemory.spilledRuns == 0)
        #expect(spilled.spilledRuns >= 6, "both visit sorts spill")
        let counts = spilled.visitCounts
        #expect(counts.read == visits.count)
        #expect(counts.duplicates > 0)
        #expect((counts.rejectedByReason["conflicting_duplicate"] ?? 0) > 0)
        #expect((counts.rejectedByReason["unknown_customer"] ?? 0) > 0)
        #expect(spilled.customerCounts.rejectedByReason["conflicting_duplicate"] == 2)
        #expect(spilled.customerCounts.duplicates == 1)
        // The dataset is valid (sizes, digests, order, counts) and the rejects reconcile.
        let dataset = try Dataset.load(directory: base + "/b")
        #expect(dataset.visits.count == counts.accepted)
        let rejects = try Dataset.readRejects(path: base + "/b/" + Dataset.rejectsFile)
        #expect(rejects.count == counts.rejected + spilled.customerCounts.rejected)
        // Customers' rejects first, then the visits', each in line order.
        let split = rejects.firstIndex { $0.source.hasSuffix("visits.csv") } ?? rejects.count
        #expect(rejects[..<split].allSatisfy { $0.source.hasSuffix("customers.csv") })
        #expect(rejects[split...].allSatisfy { $0.source.hasSuffix("visits.csv") })
        #expect(rejects[..<split].map(\.line) == rejects[..<split].map(\.line).sorted())
        #expect(rejects[split...].map(\.line) == rejects[split...].map(\.line).sorted())
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: base).filter {
                $0.hasPrefix(".") && !$0.hasSuffix(".lock")
            }.isEmpty,
            "no sort runs or temporary directories are left")
    }

    @Test func theSameRowsInAnotherOrderGiveTheSameDataFiles() throws {
        let base = Fixture.scratch("order")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let (visits, customers) = Self.export(rows: 20_000, seed: 2)
        var generator = Generator(state: 99)
        var shuffled = visits
        for index in shuffled.indices.reversed() { shuffled.swapAt(index, generator.below(index + 1)) }
        var shuffledCustomers = customers
        shuffledCustomers.reverse()
        try Self.write(visits, header: Self.visitHeader, to: base + "/visits.csv")
        try Self.write(customers, header: Self.customerHeader, to: base + "/customers.csv")
        try Self.write(shuffled, header: Self.visitHeader, to: base + "/shuffled.csv")
        try Self.write(shuffledCustomers, header: Self.customerHeader, to: base + "/shuffled_customers.csv")
        _ = try Self.run(
            visits: base + "/visits.csv", customers: base + "/customers.csv", out: base + "/a", memory: 1 << 20)
        _ = try Self.run(
            visits: base + "/shuffled.csv", customers: base + "/shuffled_customers.csv", out: base + "/b",
            memory: 2 << 20)
        let names = [Dataset.visitsFile, Dataset.customersFile]
        #expect(try Self.files(base + "/a", names) == Self.files(base + "/b", names))
    }

    /// Transaction logs: ids are `T` + 16 hex of the content's SHA-256 + `-` + the occurrence
    /// number in the log (the ids earlier importers derived); on `--append` the first as many
    /// copies as the dataset holds are duplicates, further copies new rows.
    @Test func transactionOccurrencesSurviveTheSortAndAppend() throws {
        let base = Fixture.scratch("transactions")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let header = "customer_id,order_date,quantity,amount"
        try Self.write(
            ["C001,2018-03-01,5,120.50", "C002,2018-03-02,1,", "C001,2018-03-01,5,120.50"], header: header,
            to: base + "/first.csv")
        try Self.write(
            ["C001,2018-03-01,5,120.50", "C001,2018-03-01,5,120.50", "C003,2018-03-04,2,9", "C001,2018-03-01,5,120.50"],
            header: header, to: base + "/second.csv")
        let mapping = try Mapping.load(path: Fixture.mapping("transactions.json"))
        for (directory, memory) in [("a", 1 << 30), ("b", 1 << 20)] {
            var options = ImportOptions(
                visitsPath: base + "/first.csv", mapping: mapping, outputDirectory: base + "/" + directory,
                maxRejectRate: 1,
                timestamp: "2024-01-01T00:00:00Z")
            options.memoryBudget = memory
            _ = try DatasetImport.run(options)
            options.visitsPath = base + "/second.csv"
            options.append = true
            let appended = try DatasetImport.run(options)
            #expect(appended.visitCounts.read == 4)
            #expect(appended.visitCounts.duplicates == 2, "two copies were imported before")
            #expect(appended.visitCounts.accepted == 2, "the third copy and C003's order are new")
        }
        #expect(try Self.files(base + "/a") == Self.files(base + "/b"))
        let visits = try Dataset.load(directory: base + "/a").visits
        let hash = String(SHA256.hex(Array("C001\u{1F}2018-03-01\u{1F}5.0\u{1F}120.5".utf8)).prefix(16))
        #expect(visits.filter { $0.customerID == "C001" }.map(\.visitID) == ["T\(hash)-1", "T\(hash)-2", "T\(hash)-3"])
        #expect(visits.count == 5)
    }

    @Test func appendingWithASmallBudgetMatchesAppendingInMemory() throws {
        let base = Fixture.scratch("append")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let (visits, customers) = Self.export(rows: 20_000, seed: 3)
        // Two overlapping exports: the second repeats the last quarter of the first.
        try Self.write(Array(visits[..<12_000]), header: Self.visitHeader, to: base + "/first.csv")
        try Self.write(Array(visits[9_000...]), header: Self.visitHeader, to: base + "/second.csv")
        try Self.write(customers, header: Self.customerHeader, to: base + "/customers.csv")
        for (directory, memory) in [("a", 1 << 30), ("b", 1 << 20)] {
            _ = try Self.run(
                visits: base + "/first.csv", customers: base + "/customers.csv", out: base + "/" + directory,
                memory: memory)
            let appended = try Self.run(
                visits: base + "/second.csv", customers: nil, out: base + "/" + directory, memory: memory, append: true)
            #expect(appended.visitCounts.duplicates >= 3_000)
        }
        #expect(try Self.files(base + "/a") == Self.files(base + "/b"))
        let dataset = try Dataset.load(directory: base + "/b")
        #expect(Set(dataset.visits.map(\.visitID)).count == dataset.visits.count)
    }
}
