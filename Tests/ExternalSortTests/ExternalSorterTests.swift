import ExternalSort
import Foundation
import Testing

/// The external sort against an in-memory stable sort of the same records, with budgets small
/// enough to spill many runs and to merge them in several passes.
@Suite struct ExternalSorterTests {
    /// A deterministic generator (SplitMix64), so that a failure reproduces.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func bytes(_ count: Int, alphabet: Int) -> [UInt8] { (0..<count).map { _ in UInt8(below(alphabet)) } }
    }

    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "externalsort-\(getpid())-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func sortAndCompare(records: [([UInt8], [UInt8])], budget: Int) throws -> Int {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sorter = ExternalSorter(directory: directory, label: "test", memoryBudget: budget)
        for (key, payload) in records { try sorter.append(key: key, payload: payload) }
        let runs = sorter.spilledRuns
        // Expected: by key bytes, equal keys in the order appended.
        let expected = records.indices.sorted { a, b in
            if records[a].0 != records[b].0 { return records[a].0.lexicographicallyPrecedes(records[b].0) }
            return a < b
        }
        let stream = try sorter.sorted()
        var position = 0
        while let record = try stream.next() {
            #expect(position < expected.count)
            guard position < expected.count else { break }
            let want = records[expected[position]]
            #expect(Array(record.key) == want.0, "key at \(position)")
            #expect(Array(record.payload) == want.1, "payload at \(position)")
            #expect(record.sequence == UInt64(expected[position]))
            position += 1
        }
        #expect(position == records.count)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty, "run files are removed at the end")
        return runs
    }

    @Test func manyRunsAndMultiPassMergesGiveTheStableSortedOrder() throws {
        var generator = Generator(state: 20_180_301)
        // Few distinct byte values and short keys: many equal keys and many prefixes; NUL bytes.
        var records: [([UInt8], [UInt8])] = []
        for _ in 0..<40_000 {
            let key = generator.bytes(generator.below(6), alphabet: 4)
            let payload = generator.bytes(generator.below(120), alphabet: 256)
            records.append((key, payload))
        }
        // 1 MiB: about 3.5 MB of records → several runs, and a fan-in of 2 → several passes.
        let runs = try sortAndCompare(records: records, budget: 1 << 20)
        #expect(runs >= 3)
    }

    @Test func everythingInMemoryWritesNoRun() throws {
        var generator = Generator(state: 7)
        let records = (0..<1000).map { _ in (generator.bytes(8, alphabet: 256), generator.bytes(16, alphabet: 256)) }
        #expect(try sortAndCompare(records: records, budget: 64 << 20) == 0)
        #expect(try sortAndCompare(records: [], budget: 1 << 20) == 0)
    }

    @Test func aRecordLargerThanTheReadBufferRoundTrips() throws {
        var generator = Generator(state: 11)
        var records: [([UInt8], [UInt8])] = []
        for index in 0..<12 {
            let size = index % 3 == 0 ? 700 << 10 : 100  // 700 KiB > the 256 KiB read buffer
            records.append((generator.bytes(4, alphabet: 3), generator.bytes(size, alphabet: 256)))
        }
        #expect(try sortAndCompare(records: records, budget: 1 << 20) >= 2)
    }

    @Test func orderedStringsCompareAsTheirBytesWhateverTheyHold() {
        var generator = Generator(state: 3)
        let alphabet: [UInt8] = [0, 1, 0x41, 0xFE, 0xFF]
        var texts: [[UInt8]] = []
        for _ in 0..<400 {
            texts.append((0..<generator.below(5)).map { _ in alphabet[generator.below(alphabet.count)] })
        }
        for a in texts {
            for b in texts.prefix(60) {
                var ka = SortKey(), kb = SortKey()
                ka.append(ordered: String(decoding: a, as: UTF8.self))
                kb.append(ordered: String(decoding: b, as: UTF8.self))
                // Compare the UTF-8 the strings hold (0xFE/0xFF are not UTF-8: decoding replaces them).
                let ua = Array(String(decoding: a, as: UTF8.self).utf8),
                    ub = Array(String(decoding: b, as: UTF8.self).utf8)
                #expect(ka.bytes.lexicographicallyPrecedes(kb.bytes) == ua.lexicographicallyPrecedes(ub))
                #expect(SortKey.decodeOrdered(ka.bytes) == ua)
            }
        }
        let values: [Int32] = [Int32.min, -40_000, -1, 0, 1, 19_000, Int32.max]
        for (a, b) in zip(values, values.dropFirst()) {
            var ka = SortKey(), kb = SortKey()
            ka.append(bigEndian: a)
            kb.append(bigEndian: b)
            #expect(ka.bytes.lexicographicallyPrecedes(kb.bytes))
        }
    }

    @Test func payloadsReadBackWhatWasWritten() {
        var builder = PayloadBuilder()
        builder.append(UInt8(7))
        builder.append(UInt64(1 << 40))
        builder.append(Int32(-5))
        builder.append(field: "Kunde 甲")
        builder.append(field: [UInt8]())
        builder.bytes.withUnsafeBytes { raw in
            var reader = PayloadReader(raw)
            #expect(reader.uint8() == 7)
            #expect(reader.uint64() == 1 << 40)
            #expect(reader.int32() == -5)
            #expect(reader.string() == "Kunde 甲")
            #expect(reader.field().isEmpty)
        }
    }
}
