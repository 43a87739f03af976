import Foundation

/// A map from a model's raw scores to calibrated probabilities, fitted on held-out rows
/// (Revisit fits it on the time-ordered validation split) and stored in the model file.
///
/// - `platt`: Platt (1999), *Probabilistic outputs for support vector machines*: a logistic
///   regression on the score's logit, `p = σ(a · logit(s) + b)`, fitted by maximum likelihood
///   with Platt's smoothed targets (`(N₊ + 1)/(N₊ + 2)` for positives, `1/(N₋ + 2)` for
///   negatives), as scikit-learn's `CalibratedClassifierCV(method="sigmoid")` does. Strictly
///   increasing when a > 0, so it keeps the ranking: the default for a ranked call list.
/// - `isotonic`: the pool-adjacent-violators fit of a non-decreasing step function
///   (scikit-learn's `IsotonicRegression(out_of_bounds="clip")`), interpolated linearly
///   between its points. More flexible; it ties scores that fall in one block.
/// - `none`: the score as it is.
public enum ProbabilityCalibration: Sendable, Equatable {
    case none
    case platt(a: Double, b: Double)
    case isotonic(thresholds: [Double], values: [Double])

    /// The method by name (`none`, `platt`, `isotonic`), as the trainer's flag and the model file use.
    public enum Method: String, Sendable, CaseIterable, Codable {
        case none, platt, isotonic
    }

    public var method: Method {
        switch self {
        case .none: return .none
        case .platt: return .platt
        case .isotonic: return .isotonic
        }
    }

    /// Scores are clamped to [ε, 1 − ε] before the logit, so 0 and 1 stay finite.
    static let epsilon = 1e-7

    static func logit(_ s: Double) -> Double {
        let p = min(max(s, epsilon), 1 - epsilon)
        return log(p / (1 - p))
    }

    /// The calibrated probabilities of raw model scores (computed in Double, stored as Float,
    /// as every score tensor is).
    public func apply(to scores: [Float]) -> [Float] {
        if case .none = self { return scores }
        return scores.map { Float(apply(Double($0))) }
    }

    /// The calibrated probability of a raw score in [0, 1].
    public func apply(_ score: Double) -> Double {
        switch self {
        case .none:
            return score
        case .platt(let a, let b):
            let z = a * Self.logit(score) + b
            return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
        case .isotonic(let thresholds, let values):
            guard let first = thresholds.first, let last = thresholds.last else { return score }
            if score <= first { return values[0] }
            if score >= last { return values[values.count - 1] }
            // Binary search for the segment [x_i, x_{i+1}] holding the score, then interpolate.
            var low = 0, high = thresholds.count - 1
            while high - low > 1 {
                let middle = (low + high) / 2
                if thresholds[middle] <= score { low = middle } else { high = middle }
            }
            let span = thresholds[high] - thresholds[low]
            let weight = span > 0 ? (score - thresholds[low]) / span : 0
            return values[low] + weight * (values[high] - values[low])
        }
    }

    /// Fits `method` on scores and 0/1 labels. With a single class (or no rows) there is nothing
    /// to learn from and the result is `.none`.
    public static func fit(_ method: Method, scores: [Double], labels: [Bool]) -> ProbabilityCalibration {
        precondition(
            scores.count == labels.count, "ProbabilityCalibration.fit: \(scores.count) scores, \(labels.count) labels")
        let positives = labels.filter { $0 }.count
        guard positives > 0, positives < labels.count else { return .none }
        switch method {
        case .none: return .none
        case .platt: return fitPlatt(scores: scores, labels: labels)
        case .isotonic: return fitIsotonic(scores: scores, labels: labels)
        }
    }

    /// Newton's method on the two-parameter logistic likelihood (convex), from Platt's start
    /// (a = 0, b = log((N₊ + 1)/(N₋ + 1))), with step halving so every step lowers the loss.
    static func fitPlatt(scores: [Double], labels: [Bool]) -> ProbabilityCalibration {
        let z = scores.map(logit)
        let positives = Double(labels.filter { $0 }.count), negatives = Double(labels.count) - positives
        let high = (positives + 1) / (positives + 2), low = 1 / (negatives + 2)
        let targets = labels.map { $0 ? high : low }
        func loss(_ a: Double, _ b: Double) -> Double {
            var total = 0.0
            for (zi, ti) in zip(z, targets) {
                let f = a * zi + b
                // −[t log σ(f) + (1 − t) log(1 − σ(f))] = log(1 + e^f) − t f, computed stably.
                total += (f > 0 ? f + log1p(exp(-f)) : log1p(exp(f))) - ti * f
            }
            return total
        }
        var a = 0.0, b = log((positives + 1) / (negatives + 1))
        var current = loss(a, b)
        for _ in 0..<100 {
            var ga = 0.0, gb = 0.0, haa = 0.0, hab = 0.0, hbb = 0.0
            for (zi, ti) in zip(z, targets) {
                let f = a * zi + b
                let p = f >= 0 ? 1 / (1 + exp(-f)) : exp(f) / (1 + exp(f))
                let d = p - ti, w = max(p * (1 - p), 1e-12)
                ga += d * zi; gb += d
                haa += w * zi * zi; hab += w * zi; hbb += w
            }
            // A tiny ridge keeps the 2×2 system solvable when every logit is the same.
            haa += 1e-12; hbb += 1e-12
            let determinant = haa * hbb - hab * hab
            guard determinant > 0 else { break }
            let stepA = (hbb * ga - hab * gb) / determinant
            let stepB = (haa * gb - hab * ga) / determinant
            var fraction = 1.0
            var improved = false
            while fraction > 1e-10 {
                let candidate = loss(a - fraction * stepA, b - fraction * stepB)
                if candidate <= current {
                    a -= fraction * stepA
                    b -= fraction * stepB
                    improved = current - candidate > 1e-14 * max(1, abs(current))
                    current = candidate
                    break
                }
                fraction /= 2
            }
            if !improved || (abs(stepA) < 1e-12 && abs(stepB) < 1e-12) { break }
        }
        return .platt(a: a, b: b)
    }

    /// Pool adjacent violators over the scores sorted ascending (equal scores pooled first, as
    /// scikit-learn does), keeping each block's end points so that prediction interpolates.
    static func fitIsotonic(scores: [Double], labels: [Bool]) -> ProbabilityCalibration {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        // Distinct scores with their mean label and weight.
        var xs: [Double] = [], ys: [Double] = [], ws: [Double] = []
        for index in order {
            let y = labels[index] ? 1.0 : 0.0
            if let last = xs.last, last == scores[index] {
                let w = ws[ws.count - 1]
                ys[ys.count - 1] = (ys[ys.count - 1] * w + y) / (w + 1)
                ws[ws.count - 1] = w + 1
            } else {
                xs.append(scores[index]); ys.append(y); ws.append(1)
            }
        }
        // PAV: blocks of consecutive points with their pooled mean.
        var blockValue: [Double] = [], blockWeight: [Double] = [], blockStart: [Int] = []
        for i in xs.indices {
            blockValue.append(ys[i]); blockWeight.append(ws[i]); blockStart.append(i)
            while blockValue.count > 1 && blockValue[blockValue.count - 2] > blockValue[blockValue.count - 1] {
                let w = blockWeight[blockWeight.count - 2] + blockWeight[blockWeight.count - 1]
                let v =
                    (blockValue[blockValue.count - 2] * blockWeight[blockWeight.count - 2]
                        + blockValue[blockValue.count - 1] * blockWeight[blockWeight.count - 1]) / w
                blockValue.removeLast(); blockWeight.removeLast(); blockStart.removeLast()
                blockValue[blockValue.count - 1] = v
                blockWeight[blockWeight.count - 1] = w
            }
        }
        // Fitted value of every distinct score, then keep only the points where the fitted
        // function changes slope (each block's first and last point), as scikit-learn does.
        var fitted = [Double](repeating: 0, count: xs.count)
        for (k, start) in blockStart.enumerated() {
            let end = k + 1 < blockStart.count ? blockStart[k + 1] : xs.count
            for i in start..<end { fitted[i] = blockValue[k] }
        }
        var thresholds: [Double] = [], values: [Double] = []
        for i in xs.indices {
            let interior = i > 0 && i < xs.count - 1 && fitted[i - 1] == fitted[i] && fitted[i] == fitted[i + 1]
            if !interior {
                thresholds.append(xs[i])
                values.append(fitted[i])
            }
        }
        return .isotonic(thresholds: thresholds, values: values)
    }
}

extension ProbabilityCalibration: Codable {
    enum CodingKeys: String, CodingKey { case method, a, b, thresholds, values }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(Method.self, forKey: .method) {
        case .none:
            self = .none
        case .platt:
            let a = try c.decode(Double.self, forKey: .a), b = try c.decode(Double.self, forKey: .b)
            guard a.isFinite, b.isFinite else {
                throw DecodingError.dataCorruptedError(
                    forKey: .a, in: c, debugDescription: "Platt parameters must be finite")
            }
            self = .platt(a: a, b: b)
        case .isotonic:
            let thresholds = try c.decode([Double].self, forKey: .thresholds),
                values = try c.decode([Double].self, forKey: .values)
            guard thresholds.count == values.count, !thresholds.isEmpty,
                zip(thresholds, thresholds.dropFirst()).allSatisfy({ $0 < $1 }),
                zip(values, values.dropFirst()).allSatisfy({ $0 <= $1 }),
                values.allSatisfy({ (0...1).contains($0) }), thresholds.allSatisfy(\.isFinite)
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: .thresholds, in: c,
                    debugDescription:
                        "isotonic calibration needs as many increasing thresholds as non-decreasing values in [0, 1]")
            }
            self = .isotonic(thresholds: thresholds, values: values)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        switch self {
        case .none: break
        case .platt(let a, let b):
            try c.encode(a, forKey: .a)
            try c.encode(b, forKey: .b)
        case .isotonic(let thresholds, let values):
            try c.encode(thresholds, forKey: .thresholds)
            try c.encode(values, forKey: .values)
        }
    }
}
