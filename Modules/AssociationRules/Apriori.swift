/// Frequent itemsets by Apriori (Agrawal & Srikant, *Fast Algorithms for Mining Association
/// Rules*, VLDB 1994, https://www.vldb.org/conf/1994/P487.PDF): level by level, a k-itemset is a
/// candidate only when all of its (k−1)-subsets are frequent, and candidates are counted against
/// the transactions.
///
/// Counting is vertical: every item keeps the set of transactions that hold it as a bitset
/// (`⌈N / 64⌉` words), and a candidate's count is the population count of its prefix's bitset
/// AND its last item's. Only the previous level's bitsets are kept, so memory is
/// `(items + frequent itemsets of one level) × N / 8` bytes; the result is exactly Apriori's.
///
/// Items are small integers `0..<itemCount`; a transaction is a set of them (duplicates count once).
public struct FrequentItemsets: Sendable {
    /// One frequent itemset: its items ascending and the number of transactions that hold all of them.
    public struct Itemset: Sendable, Hashable {
        public var items: [Int32]
        public var count: Int
    }

    /// Every frequent itemset of 1…`maxLength` items, shortest first, each level in ascending
    /// lexicographic order of items.
    public let itemsets: [Itemset]
    public let transactionCount: Int
    /// The fewest transactions a frequent itemset is in (from the support threshold).
    public let minimumCount: Int

    /// The smallest count `c` with `c / n ≥ minimumSupport`, computed in the same division form
    /// that established implementations test (`efficient-apriori`: `count / n >= min_support`),
    /// so that the boundary falls on the same side.
    public static func minimumCount(support: Double, transactions n: Int) -> Int {
        guard n > 0 else { return 1 }
        var count = max(0, Int((support * Double(n)).rounded(.down)))
        while Double(count) / Double(n) < support { count += 1 }
        while count > 0 && Double(count - 1) / Double(n) >= support { count -= 1 }
        return max(1, count)
    }

    /// Mines `transactions` (each a list of item ids below `itemCount`).
    ///
    /// - Parameters:
    ///   - minimumSupport: the least share of transactions (0…1) an itemset must be in.
    ///   - maxLength: the longest itemset (≥ 1).
    public init(transactions: [[Int32]], itemCount: Int, minimumSupport: Double, maxLength: Int) {
        precondition(maxLength >= 1, "FrequentItemsets: maxLength must be at least 1, got \(maxLength)")
        precondition((0...1).contains(minimumSupport), "FrequentItemsets: support \(minimumSupport) is not in [0, 1]")
        let n = transactions.count
        transactionCount = n
        minimumCount = Self.minimumCount(support: minimumSupport, transactions: n)
        let words = (n + 63) / 64
        var itemBits = [[UInt64]](repeating: [UInt64](repeating: 0, count: words), count: itemCount)
        for (row, transaction) in transactions.enumerated() {
            for item in transaction {
                precondition(
                    item >= 0 && Int(item) < itemCount, "FrequentItemsets: item \(item) is outside 0..<\(itemCount)")
                itemBits[Int(item)][row >> 6] |= 1 << UInt64(row & 63)
            }
        }
        var found: [Itemset] = []
        // Level 1.
        var level: [(items: [Int32], bits: [UInt64])] = []
        for item in 0..<itemCount {
            let count = Self.popcount(itemBits[item])
            if count >= minimumCount {
                found.append(Itemset(items: [Int32(item)], count: count))
                level.append(([Int32(item)], itemBits[item]))
            }
        }
        var length = 1
        while length < maxLength && level.count > 1 {
            length += 1
            let previous = Set(level.map(\.items))
            let keepBits = length < maxLength
            var next: [(items: [Int32], bits: [UInt64])] = []
            var scratch = [UInt64](repeating: 0, count: words)
            // Join: two (k−1)-itemsets that share their first k−2 items, in lexicographic order.
            var groupStart = 0
            while groupStart < level.count {
                var groupEnd = groupStart + 1
                while groupEnd < level.count && level[groupEnd].items.dropLast() == level[groupStart].items.dropLast() {
                    groupEnd += 1
                }
                for a in groupStart..<groupEnd {
                    for b in (a + 1)..<groupEnd {
                        let last = level[b].items.last!
                        let candidate = level[a].items + [last]
                        // Prune: every (k−1)-subset must be frequent (the two joined ones are).
                        if length > 2 {
                            var allFrequent = true
                            for drop in 0..<(candidate.count - 2) {
                                var subset = candidate
                                subset.remove(at: drop)
                                if !previous.contains(subset) { allFrequent = false; break }
                            }
                            if !allFrequent { continue }
                        }
                        let count = Self.intersect(level[a].bits, itemBits[Int(last)], into: &scratch)
                        guard count >= minimumCount else { continue }
                        found.append(Itemset(items: candidate, count: count))
                        if keepBits { next.append((candidate, scratch)) }
                    }
                }
                groupStart = groupEnd
            }
            level = next
        }
        itemsets = found
    }

    static func popcount(_ bits: [UInt64]) -> Int { bits.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// `out = a & b`, returning the number of set bits.
    static func intersect(_ a: [UInt64], _ b: [UInt64], into out: inout [UInt64]) -> Int {
        var count = 0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { out in
                    for i in 0..<a.count {
                        let word = a[i] & b[i]
                        out[i] = word
                        count += word.nonzeroBitCount
                    }
                }
            }
        }
        return count
    }
}
