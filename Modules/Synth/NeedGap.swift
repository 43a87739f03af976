import Foundation
import Random

/// The customer's need cycle: the days G from the end of one need to the opening of the next,
/// G = m + ⌈X⌉ with X ~ Erlang(k, λ) (a gamma with integer shape: regular cycles, CV 1/√k) and
/// m the minimum gap. The simulator draws G; the ground truth uses the discrete hazard
/// P(G = e | G ≥ e), which has a closed form, so the two agree exactly.
struct NeedGap: Sendable {
    /// Minimum gap m (days, ≥ 1).
    let minimum: Int
    /// Erlang shape k.
    let shape: Int
    /// Erlang rate λ per day.
    let rate: Double
    /// e^{-λ}, the one transcendental the hazard needs.
    let decay: Double

    init(minimum: Int, shape: Int, meanDays: Double) {
        self.minimum = minimum
        self.shape = shape
        rate = Double(shape) / meanDays
        decay = Foundation.exp(-rate)
    }

    /// A draw of G (≥ m ≥ 1): X as a sum of k exponentials, then G = m + ⌈X⌉.
    func draw(using random: inout SeededRandom) -> Int {
        var x = 0.0
        for _ in 0..<shape { x -= Foundation.log(1 - random.uniformDouble()) }  // 1 − u ∈ (0, 1]
        return minimum + Int((x / rate).rounded(.up))
    }

    /// A draw of G given G ≥ `atLeast` (rejection; used once per customer to start mid-cycle,
    /// with `atLeast` at most about the mean, so a handful of tries).
    func draw(atLeast: Int, using random: inout SeededRandom) -> Int {
        while true {
            let gap = draw(using: &random)
            if gap >= atLeast { return gap }
        }
    }

    /// Σ_{i<k} (λx)^i / i!, so that S(x) = P(X > x) = e^{-λx} · poissonHead(x).
    private func poissonHead(_ x: Int) -> Double {
        let scaled = rate * Double(x)
        var term = 1.0
        var sum = 1.0
        var i = 1
        while i < shape {
            term *= scaled / Double(i)
            sum += term
            i += 1
        }
        return sum
    }

    /// P(G = e | G ≥ e): the chance that a need opens on the day whose distance from the last
    /// need's end is `elapsed`, given it has not opened before. With n = e − m,
    /// P(⌈X⌉ = n | ⌈X⌉ ≥ n) = 1 − S(n)/S(n − 1) = 1 − e^{-λ} · head(n)/head(n − 1), and 0 for n ≤ 0.
    func hazard(elapsed: Int) -> Double {
        let n = elapsed - minimum
        if n <= 0 { return 0 }
        return 1 - decay * poissonHead(n) / poissonHead(n - 1)
    }
}
