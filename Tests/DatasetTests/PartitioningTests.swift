import Dataset
import Testing

/// The customer-hash partitioning rule and partition selections (Docs/ScaleOut.md).
@Suite("customer partitioning")
struct PartitioningTests {
    /// Reference values from the Python implementation the Spark driver uses
    /// (`Tools/spark/revisit_spark.py`: `hex(customer_hash(s))`, `partition_of(s, 7)`), so that a
    /// job outside Revisit routes a row where `importer partition` does. "a" also pins the
    /// FNV-1a stage to its published test vector (FNV-1a-64("a") = 0xaf63dc4c8601ec8c, whose
    /// fmix64 is the value below).
    @Test(arguments: [
        ("", 0xefd0_1f60_ba99_2926 as UInt64, 1), ("a", 0x82a2_a958_a9be_ce5b, 1),
        ("C000001", 0xc621_fa69_b387_5816, 6),
        ("客户-42", 0x4e69_46a3_7113_c2cf, 5)
    ])
    func hashMatchesThePythonDriver(id: String, hash: UInt64, partitionOf7: Int) {
        #expect(CustomerPartitioning.hash(id) == hash)
        #expect(CustomerPartitioning.partition(of: id, count: 7) == partitionOf7)
    }

    /// Sequential ids spread evenly over a power-of-two count (plain FNV-1a would not: its low
    /// bits depend on the low bits of each byte only).
    @Test func sequentialIdsSpreadEvenly() {
        var counts = [Int](repeating: 0, count: 16)
        for n in 0..<16_000 {
            let digits = String(n)
            counts[
                CustomerPartitioning.partition(
                    of: "C" + String(repeating: "0", count: 6 - digits.count) + digits, count: 16)] += 1
        }
        // 1,000 expected per partition; a binomial's standard deviation is ≈ 31, so ±12% is ~4σ.
        #expect(counts.allSatisfy { (880...1120).contains($0) }, "\(counts)")
    }

    @Test func directoryNames() {
        #expect(CustomerPartitioning.directoryName(0) == "part-00000")
        #expect(CustomerPartitioning.directoryName(12345) == "part-12345")
    }

    @Test func selectionsParseAndPrintCompactly() {
        #expect(PartitionSelection(parsing: "0-3,7,9-10")?.indices == [0, 1, 2, 3, 7, 9, 10])
        #expect(PartitionSelection(parsing: "5,1-2,2")?.description == "1-2,5")
        #expect(PartitionSelection(parsing: "3")?.description == "3")
        for bad in ["", "a", "3-1", "-1", "1,,2", "1-2-3", "100000"] {
            #expect(PartitionSelection(parsing: bad) == nil, "'\(bad)'")
        }
    }
}
