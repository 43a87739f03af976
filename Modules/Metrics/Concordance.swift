/// Harrell's concordance index for right-censored times, as `lifelines.utils.concordance_index`
/// computes it (agreement tested against lifelines: `Fixtures/metrics/generate_concordance_reference.py`).
///
/// A pair (i, j) is comparable when i's event is observed and i's time is shorter than j's, or
/// the two times are equal and j is censored (j was still waiting when i ordered). It is
/// concordant when the prediction for i is shorter than for j, and half-counted when the two
/// predictions tie. `C = (concordant + ½ · tied) / comparable`; 0.5 is a random ranking, 1 a
/// perfect one. Undefined when no pair is comparable.
///
/// `predictedTimes` are times (higher = later), as lifelines takes them: pass expected days to
/// the next order, or the negated probability of an order.
///
/// - Complexity: O(n log n): times in descending order, each event queried against a Fenwick
///   tree of the predictions of everyone with a later time.
public func concordanceIndex(times: [Double], predictedTimes: [Double], observed: [Bool]) -> MetricValue {
    precondition(
        times.count == predictedTimes.count && times.count == observed.count, "concordanceIndex: lengths differ")
    let n = times.count
    // Ranks of the distinct predictions, 1-based for the tree.
    let distinct = Array(Set(predictedTimes)).sorted()
    var rankOf: [Double: Int] = [:]
    rankOf.reserveCapacity(distinct.count)
    for (i, value) in distinct.enumerated() { rankOf[value] = i + 1 }
    var tree = [Int](repeating: 0, count: distinct.count + 1)
    func add(_ rank: Int) {
        var i = rank
        while i < tree.count { tree[i] += 1; i += i & -i }
    }
    /// How many inserted predictions have rank ≤ `rank`.
    func countThrough(_ rank: Int) -> Int {
        var i = rank, total = 0
        while i > 0 { total += tree[i]; i -= i & -i }
        return total
    }
    let order = (0..<n).sorted { times[$0] > times[$1] }
    var inserted = 0
    var concordant = 0.0, tied = 0.0, comparable = 0.0
    var start = 0
    while start < n {
        var end = start
        while end < n && times[order[end]] == times[order[start]] { end += 1 }
        let group = order[start..<end]
        // The group's censored rows wait longer than its events: they join the tree first.
        for j in group where !observed[j] {
            add(rankOf[predictedTimes[j]]!)
            inserted += 1
        }
        for i in group where observed[i] {
            let rank = rankOf[predictedTimes[i]]!
            let atOrBelow = countThrough(rank), below = countThrough(rank - 1)
            concordant += Double(inserted - atOrBelow)
            tied += Double(atOrBelow - below)
            comparable += Double(inserted)
        }
        for i in group where observed[i] {
            add(rankOf[predictedTimes[i]]!)
            inserted += 1
        }
        start = end
    }
    guard comparable > 0 else { return .undefined }
    return .defined((concordant + 0.5 * tied) / comparable)
}
