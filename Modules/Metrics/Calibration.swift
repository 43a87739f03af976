/// One equal-width bin of a reliability diagram.
public struct ReliabilityBin: Sendable, Hashable, Codable {
    /// The bin's position, 0..<binCount.
    public let index: Int
    /// The bin's lower edge (exclusive, except for bin 0 which includes 0).
    public let lowerEdge: Double
    /// The bin's upper edge (inclusive).
    public let upperEdge: Double
    /// The number of rows whose score falls in the bin.
    public let count: Int
    /// The mean score of those rows; undefined for an empty bin.
    public let meanPredicted: MetricValue
    /// The share of positives among those rows; undefined for an empty bin.
    public let observedRate: MetricValue
}

/// A reliability diagram: scores as probabilities, cut into `binCount` equal-width bins on [0, 1],
/// with each bin's mean prediction against its observed positive rate.
///
/// **Binning** is scikit-learn's: edges e_i = i · (1 / binCount) for i < binCount and
/// e_binCount = 1 (numpy's `linspace(0, 1, binCount + 1)`, bit for bit), and a score p goes to
/// the bin numbered by how many inner edges are strictly below it
/// (`np.searchsorted(edges[1:-1], p)`), so bins are (e_b, e_{b+1}] and bin 0 is [0, e_1].
/// A score of exactly 0.3 therefore lands in (0.2, 0.30000000000000004], as in sklearn.
///
/// The non-empty bins' (observedRate, meanPredicted) pairs equal
/// `sklearn.calibration.calibration_curve(y, p, n_bins=binCount, strategy="uniform")`.
/// Empty bins are kept here (count 0, both means undefined) so that a chart can draw every bin.
public struct ReliabilityDiagram: Sendable, Hashable, Codable {
    /// Every bin, in order, empty ones included. // [binCount]
    public let bins: [ReliabilityBin]
    /// The number of rows binned.
    public let total: Int

    /// The bins that hold at least one row (the ones sklearn's `calibration_curve` returns).
    public var nonEmptyBins: [ReliabilityBin] { bins.filter { $0.count > 0 } }

    /// Expected calibration error, the count-weighted mean gap between observed rate and mean
    /// prediction over the non-empty bins:
    ///
    ///     ECE = Σ_b (n_b / N) · |observed_b − predicted_b|
    ///
    /// (Naeini et al., "Obtaining Well Calibrated Probabilities Using Bayesian Binning", AAAI 2015;
    /// sklearn has no ECE, the fixture computes this formula over `calibration_curve`'s output.)
    /// Undefined when there are no rows.
    public var expectedCalibrationError: MetricValue {
        guard total > 0 else { return .undefined }
        var sum = 0.0
        for bin in bins {
            guard let observed = bin.observedRate.value, let predicted = bin.meanPredicted.value else { continue }
            sum += Double(bin.count) / Double(total) * abs(observed - predicted)
        }
        return .defined(sum)
    }
}

extension BinaryPredictions {
    /// The reliability diagram with `binCount` equal-width bins (see ``ReliabilityDiagram``);
    /// `nil` (undefined) when there are no rows. Scores must lie in [0, 1].
    public func reliabilityDiagram(binCount: Int = 10) -> ReliabilityDiagram? {
        precondition(binCount >= 1, "reliabilityDiagram: binCount must be at least 1, got \(binCount)")
        requireProbabilities("reliabilityDiagram")
        guard count > 0 else { return nil }
        // numpy's linspace(0, 1, binCount + 1): i · step with the last edge set to 1 exactly.
        let step = 1.0 / Double(binCount)
        let edges = (0...binCount).map { $0 == binCount ? 1.0 : Double($0) * step }  // [binCount + 1]
        var counts = [Int](repeating: 0, count: binCount)  // [binCount]
        var scoreSums = [Double](repeating: 0, count: binCount)  // [binCount]
        var positives = [Int](repeating: 0, count: binCount)  // [binCount]
        for (p, label) in zip(scores, labels) {
            let bin = Self.binIndex(of: p, innerEdges: edges[1..<binCount])
            counts[bin] += 1
            scoreSums[bin] += p  // input order, as np.bincount(weights=) sums
            if label { positives[bin] += 1 }
        }
        let bins = (0..<binCount).map { b in
            ReliabilityBin(
                index: b, lowerEdge: edges[b], upperEdge: edges[b + 1], count: counts[b],
                meanPredicted: MetricValue.ratio(scoreSums[b], Double(counts[b])),
                observedRate: MetricValue.ratio(Double(positives[b]), Double(counts[b])))
        }
        return ReliabilityDiagram(bins: bins, total: count)
    }

    /// The number of inner edges strictly below `p` (numpy's `searchsorted(side="left")`).
    private static func binIndex(of p: Double, innerEdges: ArraySlice<Double>) -> Int {
        var low = innerEdges.startIndex
        var high = innerEdges.endIndex
        while low < high {
            let middle = (low + high) / 2
            if innerEdges[middle] < p { low = middle + 1 } else { high = middle }
        }
        return low - innerEdges.startIndex
    }
}
