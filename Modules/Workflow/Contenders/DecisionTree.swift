import Tensors

/// A classification tree (CART: Breiman et al., *Classification and Regression Trees*, 1984)
/// on a dense `[N, A]` feature matrix with 0/1 labels: binary splits `x[f] ≤ threshold` chosen
/// by the largest decrease in Gini impurity, grown depth-first to `maxDepth`, no split leaving
/// fewer than `minimumLeaf` rows on a side. A leaf predicts its share of positives, so the
/// score is a probability and ranks like one. The classic tabular baseline of BRIEF §1.
///
/// Split search sorts each feature's values at a node once (O(A · n log n) per node); candidate
/// thresholds are midpoints between distinct consecutive values, as scikit-learn's.
public struct DecisionTree: Sendable {
    public struct Settings: Sendable, Equatable, Codable {
        public var maxDepth = 6
        public var minimumLeaf = 50
        public init() {}
    }

    enum Node: Sendable {
        case leaf(probability: Float)
        case split(feature: Int, threshold: Float, left: Int, right: Int)
    }

    private(set) var nodes: [Node] = []
    public let settings: Settings
    public let featureCount: Int

    /// Fits on `features` (row-major, `rows × featureCount`) and `labels` (0 or 1).
    public init(features: [Float], labels: [Float], featureCount: Int, settings: Settings = Settings()) {
        precondition(
            featureCount > 0 && features.count == labels.count * featureCount,
            "DecisionTree: \(features.count) values do not make \(labels.count) rows of \(featureCount) features")
        self.settings = settings
        self.featureCount = featureCount
        nodes.reserveCapacity(2 << settings.maxDepth)
        _ = grow(rows: Array(0..<labels.count), depth: 0, features: features, labels: labels)
    }

    private mutating func grow(rows: [Int], depth: Int, features: [Float], labels: [Float]) -> Int {
        let positives = rows.reduce(0) { $0 + Double(labels[$1]) }
        let index = nodes.count
        let probability = rows.isEmpty ? 0 : Float(positives / Double(rows.count))
        nodes.append(.leaf(probability: probability))
        guard depth < settings.maxDepth, rows.count >= 2 * settings.minimumLeaf, positives > 0,
            positives < Double(rows.count),
            let best = bestSplit(rows: rows, positives: positives, features: features, labels: labels)
        else { return index }
        let left = rows.filter { features[$0 * featureCount + best.feature] <= best.threshold }
        let right = rows.filter { features[$0 * featureCount + best.feature] > best.threshold }
        let leftIndex = grow(rows: left, depth: depth + 1, features: features, labels: labels)
        let rightIndex = grow(rows: right, depth: depth + 1, features: features, labels: labels)
        nodes[index] = .split(feature: best.feature, threshold: best.threshold, left: leftIndex, right: rightIndex)
        return index
    }

    /// The split with the lowest weighted Gini impurity of the children, if any improves on the parent.
    private func bestSplit(rows: [Int], positives: Double, features: [Float], labels: [Float]) -> (
        feature: Int, threshold: Float
    )? {
        let n = Double(rows.count)
        func gini(_ count: Double, _ positive: Double) -> Double {
            guard count > 0 else { return 0 }
            let p = positive / count
            return 2 * p * (1 - p) * count
        }
        var best: (impurity: Double, feature: Int, threshold: Float)? = nil
        let parent = gini(n, positives)
        var order = rows
        for feature in 0..<featureCount {
            order.sort { features[$0 * featureCount + feature] < features[$1 * featureCount + feature] }
            var leftCount = 0.0, leftPositives = 0.0
            for position in 0..<(order.count - 1) {
                let row = order[position]
                leftCount += 1
                leftPositives += Double(labels[row])
                let value = features[row * featureCount + feature],
                    next = features[order[position + 1] * featureCount + feature]
                guard value < next, leftCount >= Double(settings.minimumLeaf),
                    n - leftCount >= Double(settings.minimumLeaf)
                else { continue }
                let impurity = gini(leftCount, leftPositives) + gini(n - leftCount, positives - leftPositives)
                if impurity < parent - 1e-12, best == nil || impurity < best!.impurity {
                    best = (impurity, feature, value + (next - value) / 2)
                }
            }
        }
        return best.map { ($0.feature, $0.threshold) }
    }

    /// P(order) for each row of `features` (row-major, `featureCount` wide).
    public func predict(_ features: [Float]) -> [Float] {
        let rows = features.count / featureCount
        return (0..<rows).map { row in
            var node = 0
            while true {
                switch nodes[node] {
                case .leaf(let probability): return probability
                case .split(let feature, let threshold, let left, let right):
                    node = features[row * featureCount + feature] <= threshold ? left : right
                }
            }
        }
    }

    /// The tree as tensors: `tree.nodes` (I64 `[n, 3]`: feature, left child, right child; −1 for
    /// a leaf) and `tree.values` (F32 `[n, 2]`: threshold, leaf probability).
    public func tensors() -> TensorFile {
        var structure: [Int64] = [], values: [Float] = []
        for node in nodes {
            switch node {
            case .leaf(let probability):
                structure += [-1, -1, -1]
                values += [0, probability]
            case .split(let feature, let threshold, let left, let right):
                structure += [Int64(feature), Int64(left), Int64(right)]
                values += [threshold, 0]
            }
        }
        return TensorFile(
            tensors: ["tree.values": Tensor(shape: [nodes.count, 2], scalars: values)],
            integerTensors: ["tree.nodes": Int64Tensor(shape: [nodes.count, 3], scalars: structure)])
    }

    /// Rebuilds a tree from ``tensors()``, checking it (untrusted): every child comes after its
    /// parent (so prediction ends), features are below `featureCount`, values are finite and
    /// probabilities in [0, 1]. Throws the reason when it is not such a tree.
    public init(tensors file: TensorFile, featureCount: Int, settings: Settings) throws {
        struct Bad: Error, CustomStringConvertible { let description: String }
        guard let structure = file.integerTensors["tree.nodes"], let values = file.tensors["tree.values"],
            structure.shape.count == 2, structure.shape[1] == 3, values.shape == [structure.shape[0], 2],
            structure.shape[0] >= 1
        else { throw Bad(description: "the decision tree needs tensors tree.nodes [n, 3] and tree.values [n, 2]") }
        let n = structure.shape[0]
        let s = structure.scalars, v = values.scalars
        var nodes: [Node] = []
        for i in 0..<n {
            let feature = s[i * 3], left = s[i * 3 + 1], right = s[i * 3 + 2]
            guard v[i * 2].isFinite, v[i * 2 + 1].isFinite else {
                throw Bad(description: "node \(i) holds a value that is not finite")
            }
            if feature < 0 {
                guard (0...1).contains(v[i * 2 + 1]) else {
                    throw Bad(description: "leaf \(i) has probability \(v[i * 2 + 1])")
                }
                nodes.append(.leaf(probability: v[i * 2 + 1]))
            } else {
                guard feature < Int64(featureCount), left > Int64(i), right > Int64(i), left < Int64(n),
                    right < Int64(n)
                else {
                    throw Bad(
                        description:
                            "node \(i) splits on feature \(feature) into \(left) and \(right): not a tree over \(featureCount) features"
                    )
                }
                nodes.append(.split(feature: Int(feature), threshold: v[i * 2], left: Int(left), right: Int(right)))
            }
        }
        self.nodes = nodes
        self.settings = settings
        self.featureCount = featureCount
    }

    /// Number of leaves (for reports and tests).
    public var leafCount: Int { nodes.reduce(0) { if case .leaf = $1 { return $0 + 1 } else { return $0 } } }
}
