import CNLopt
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// The BG/NBD model, "buy till you die": Fader, Hardie & Lee (2005), *"Counting Your Customers"
/// the Easy Way: An Alternative to the Pareto/NBD Model*, Marketing Science 24(2), 275–284
/// (http://brucehardie.com/papers/018/fader_et_al_mksc_05.pdf). The field's standard model of
/// repeat purchasing, as implemented by the `lifetimes` package (`BetaGeoFitter`).
///
/// While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
/// purchase the customer dies with probability p ~ Beta(a, b). A customer is summarised at an
/// as-of date by ``Observation``: x repeat purchases (purchase occasions after the first), tₓ
/// the time of the last since the first, T the time from the first to the as-of date (days).
///
/// Log-likelihood of one customer (the paper's eq. 6, in the form of its section 7):
/// ```
/// A₁ = ln Γ(r + x) − ln Γ(r) + r ln α
/// A₂ = ln Γ(a + b) + ln Γ(b + x) − ln Γ(b) − ln Γ(a + b + x)
/// A₃ = −(r + x) ln(α + T)
/// A₄ = ln a − ln(b + x − 1) − (r + x) ln(α + tₓ)          (x > 0 only)
/// ℓ  = A₁ + A₂ + ln(e^A₃ + [x > 0] e^A₄)
/// ```
public enum BGNBD {
    /// The four population parameters; α in days.
    public struct Parameters: Codable, Sendable, Equatable {
        public var r: Double
        public var alpha: Double
        public var a: Double
        public var b: Double

        public init(r: Double, alpha: Double, a: Double, b: Double) {
            self.r = r
            self.alpha = alpha
            self.a = a
            self.b = b
        }

        /// Whether every parameter is a positive finite number (a file from outside may hold anything).
        public var isValid: Bool { [r, alpha, a, b].allSatisfy { $0.isFinite && $0 > 0 } }
    }

    /// One customer's purchase history at an as-of date, in days.
    public struct Observation: Sendable, Equatable, Hashable {
        /// Repeat purchases: purchase occasions (distinct days) after the first.
        public var x: Double
        /// Time from the first purchase to the last.
        public var tx: Double
        /// Time from the first purchase to the as-of date (T ≥ tₓ).
        public var T: Double

        public init(x: Double, tx: Double, T: Double) {
            self.x = x
            self.tx = tx
            self.T = T
        }
    }

    /// How the parameters are estimated.
    public struct FitSettings: Sendable, Equatable, Codable {
        /// L2 penalty on the parameters (in the scaled time unit, as `lifetimes` applies its
        /// `penalizer_coef`): small values keep a and b finite on logs where nobody seems to die.
        public var penalizer: Double = 0.001
        /// Relative tolerance on the log-parameters at which the optimiser stops.
        public var tolerance: Double = 1e-10
        /// Upper bound on likelihood evaluations.
        public var maximumEvaluations = 20_000
        public init() {}

        enum CodingKeys: String, CodingKey {
            case penalizer, tolerance
            case maximumEvaluations = "maximum_evaluations"
        }
    }

    /// A fit that did not produce usable parameters, with the reason.
    public struct FitError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// The fitted parameters and how the optimiser ended.
    public struct Fit: Sendable, Equatable {
        public var parameters: Parameters
        /// The penalised mean negative log-likelihood at the optimum (scaled time, as `lifetimes`).
        public var objective: Double
        public var evaluations: Int
    }

    /// The log-likelihood ℓ of one customer at `parameters` (time in any unit, consistently).
    /// ln Γ(x) for x > 0, through the re-entrant `lgamma_r` (plain `lgamma` writes the global
    /// `signgam`, a data race when fits run on several threads).
    @inline(__always)
    static func lnGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    public static func logLikelihood(_ parameters: Parameters, _ o: Observation) -> Double {
        let (r, alpha, a, b) = (parameters.r, parameters.alpha, parameters.a, parameters.b)
        let a1 = lnGamma(r + o.x) - lnGamma(r) + r * log(alpha)
        let a2 = lnGamma(a + b) + lnGamma(b + o.x) - lnGamma(b) - lnGamma(a + b + o.x)
        let a3 = -(r + o.x) * log(alpha + o.T)
        guard o.x > 0 else { return a1 + a2 + a3 }
        let a4 = log(a) - log(b + o.x - 1) - (r + o.x) * log(alpha + o.tx)
        let high = max(a3, a4)
        return a1 + a2 + high + log(exp(a3 - high) + exp(a4 - high))
    }

    /// Maximum-likelihood estimate from customers' observations (each with a weight: the number
    /// of customers sharing it, so repeated patterns can be collapsed first).
    ///
    /// The estimator is `lifetimes`' `BetaGeoFitter.fit`: time is scaled so that the largest T
    /// is 1, the objective is −Σ wℓ / Σ w + penalizer · (r² + α² + a² + b²) over the scaled
    /// parameters, minimised over their logarithms from (0.1, 0.1, 0.1, 0.1); α is scaled back
    /// to days. The minimiser is NLopt's BOBYQA (derivative-free, deterministic).
    public static func fit(
        _ observations: [Observation], weights: [Double]? = nil, settings: FitSettings = FitSettings()
    ) throws -> Fit {
        let weights = weights ?? [Double](repeating: 1, count: observations.count)
        precondition(
            weights.count == observations.count,
            "BGNBD.fit: \(weights.count) weights for \(observations.count) observations")
        guard !observations.isEmpty else { throw FitError(description: "no customer with a purchase to fit BG/NBD on") }
        guard observations.allSatisfy({ $0.x >= 0 && $0.tx >= 0 && $0.T >= $0.tx && $0.T.isFinite }),
            weights.allSatisfy({ $0 > 0 && $0.isFinite })
        else {
            throw FitError(description: "BG/NBD needs 0 ≤ tx ≤ T, x ≥ 0 and positive weights")
        }
        let maximumT = observations.map(\.T).max()!
        guard maximumT > 0 else {
            throw FitError(description: "every customer made its first purchase on the as-of date: nothing to fit")
        }
        let scale = 1 / maximumT
        let scaled = observations.map { Observation(x: $0.x, tx: $0.tx * scale, T: $0.T * scale) }
        let totalWeight = weights.reduce(0, +)
        let penalizer = settings.penalizer
        let objective = Objective { logParameters in
            let p = Parameters(
                r: exp(logParameters[0]), alpha: exp(logParameters[1]), a: exp(logParameters[2]),
                b: exp(logParameters[3]))
            var sum = 0.0
            for (o, w) in zip(scaled, weights) { sum += w * logLikelihood(p, o) }
            let value = -sum / totalWeight + penalizer * (p.r * p.r + p.alpha * p.alpha + p.a * p.a + p.b * p.b)
            return value.isFinite ? value : .greatestFiniteMagnitude
        }
        guard let optimizer = nlopt_create(NLOPT_LN_BOBYQA, 4) else {
            throw FitError(description: "NLopt could not create its optimiser")
        }
        defer { nlopt_destroy(optimizer) }
        let context = Unmanaged.passRetained(objective)
        defer { context.release() }
        nlopt_set_min_objective(
            optimizer,
            { count, point, _, data in
                let objective = Unmanaged<Objective>.fromOpaque(data!).takeUnretainedValue()
                return objective.evaluate(Array(UnsafeBufferPointer(start: point, count: Int(count))))
            }, context.toOpaque())
        // Log-parameters stay in a range where exp() is finite and meaningful.
        var lower = [Double](repeating: -30, count: 4), upper = [Double](repeating: 30, count: 4)
        nlopt_set_lower_bounds(optimizer, &lower)
        nlopt_set_upper_bounds(optimizer, &upper)
        nlopt_set_xtol_rel(optimizer, settings.tolerance)
        nlopt_set_ftol_rel(optimizer, 1e-15)
        nlopt_set_maxeval(optimizer, Int32(settings.maximumEvaluations))
        var initialStep = [Double](repeating: 0.5, count: 4)
        nlopt_set_initial_step(optimizer, &initialStep)
        var point = [Double](repeating: 0.1, count: 4)
        var value = 0.0
        let result = nlopt_optimize(optimizer, &point, &value)
        // NLOPT_ROUNDOFF_LIMITED: BOBYQA stopped because rounding, not the tolerance, limited its
        // last steps — on a flat likelihood (a small log, a sparse as-of date) — and, as NLopt's
        // documentation says, the point is typically useful: it is the best point evaluated.
        // It is kept when its objective is finite and no worse than the starting point's;
        // refusing it made one sparse date abort a whole training run.
        let roundoffLimited =
            result == NLOPT_ROUNDOFF_LIMITED && value < .greatestFiniteMagnitude
            && value <= objective.function([Double](repeating: 0.1, count: 4))
        guard result.rawValue > 0 || result == NLOPT_MAXEVAL_REACHED || roundoffLimited else {
            throw FitError(description: "the BG/NBD likelihood did not converge (NLopt result \(result.rawValue))")
        }
        let fitted = Parameters(r: exp(point[0]), alpha: exp(point[1]) / scale, a: exp(point[2]), b: exp(point[3]))
        guard fitted.isValid else {
            throw FitError(description: "the BG/NBD fit gave parameters that are not positive and finite: \(fitted)")
        }
        return Fit(parameters: fitted, objective: value, evaluations: objective.evaluations)
    }

    /// Collapses observations into distinct patterns with their counts (the form `lifetimes`
    /// fits on, and a large saving on weekly logs where many customers share a pattern).
    public static func patterns(_ observations: [Observation]) -> (observations: [Observation], weights: [Double]) {
        var counts: [Observation: Double] = [:]
        for o in observations { counts[o, default: 0] += 1 }
        let keys = counts.keys.sorted { ($0.x, $0.tx, $0.T) < ($1.x, $1.tx, $1.T) }
        return (keys, keys.map { counts[$0]! })
    }

    /// P(alive at T | x, tₓ, T) (Fader, Hardie & Lee 2008, http://www.brucehardie.com/notes/021/palive_for_BGNBD.pdf).
    public static func probabilityAlive(_ parameters: Parameters, _ o: Observation) -> Double {
        guard o.x > 0 else { return 1 }
        let (r, alpha, a, b) = (parameters.r, parameters.alpha, parameters.a, parameters.b)
        let odds = a / (b + o.x - 1) * exp((r + o.x) * (log(alpha + o.T) - log(alpha + o.tx)))
        return 1 / (1 + odds)
    }

    /// P(at least one purchase in (T, T + h] | x, tₓ, T): alive, and the gamma-mixed Poisson
    /// process fires at least once, `P(alive) · (1 − ((α + T)/(α + T + h))^(r + x))`. Exact for the
    /// model (a death happens only right after a purchase, so a customer alive at T is alive
    /// until its next purchase).
    public static func probabilityOfPurchase(_ parameters: Parameters, _ o: Observation, horizon h: Double) -> Double {
        let (r, alpha) = (parameters.r, parameters.alpha)
        let none = exp((r + o.x) * (log(alpha + o.T) - log(alpha + o.T + h)))
        return probabilityAlive(parameters, o) * (1 - none)
    }

    /// E[purchases in (T, T + h] | x, tₓ, T], the conditional expectation of Fader, Hardie & Lee
    /// (2005), eq. 10 (lifetimes' `conditional_expected_number_of_purchases_up_to_time`):
    /// ```
    /// E = (a + b + x − 1)/(a − 1) · [1 − ((α + T)/(α + T + h))^(r + x) · ₂F₁(r + x, b + x; a + b + x − 1; h/(α + T + h))]
    ///     / (1 + [x > 0] · a/(b + x − 1) · ((α + T)/(α + tₓ))^(r + x))
    /// ```
    /// The product of the power and ₂F₁ is summed as one series whose first term is the power, so
    /// neither overflows for long histories (₂F₁ grows like (1 − z)^(a − 1 − r − x) as z → 1 while
    /// the power shrinks like (1 − z)^(r + x)). At a = 1 the formula is 0/0; its limit is taken as
    /// the mean of a = 1 ± 10⁻⁵ for any |a − 1| < 10⁻⁶ (the expectation is smooth in a).
    public static func expectedPurchases(_ parameters: Parameters, _ o: Observation, horizon h: Double) -> Double {
        guard h > 0 else { return 0 }
        if abs(parameters.a - 1) < 1e-6 {
            var below = parameters, above = parameters
            below.a = 1 - 1e-5
            above.a = 1 + 1e-5
            return (expectedPurchases(below, o, horizon: h) + expectedPurchases(above, o, horizon: h)) / 2
        }
        let (r, alpha, a, b) = (parameters.r, parameters.alpha, parameters.a, parameters.b)
        let x = o.x
        let z = h / (alpha + o.T + h)
        // Σₙ (r + x)ₙ (b + x)ₙ / ((a + b + x − 1)ₙ n!) zⁿ, times (1 − z)^(r + x), term by term.
        let p = r + x, q = b + x, c = a + b + x - 1
        var term = exp(p * log1p(-z))
        var sum = term
        var n = 0.0
        while n < 1_000_000 {
            let ratio = (p + n) * (q + n) / ((c + n) * (n + 1)) * z
            term *= ratio
            sum += term
            n += 1
            // The ratio falls towards z < 1: once it is below 1 the terms shrink geometrically,
            // and once one is negligible so is the tail.
            if ratio < 1 && abs(term) <= 1e-17 * abs(sum) { break }
        }
        let numerator = (a + b + x - 1) / (a - 1) * (1 - sum)
        let denominator = x > 0 ? 1 + a / (b + x - 1) * exp(p * (log(alpha + o.T) - log(alpha + o.tx))) : 1
        return max(0, numerator / denominator)
    }

    /// The objective NLopt calls, with an evaluation counter.
    final class Objective {
        let function: ([Double]) -> Double
        var evaluations = 0
        init(_ function: @escaping ([Double]) -> Double) { self.function = function }
        func evaluate(_ point: [Double]) -> Double {
            evaluations += 1
            return function(point)
        }
    }
}
