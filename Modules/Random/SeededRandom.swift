import Foundation

/// The one source of randomness in Revisit: a seeded PCG64 (XSL-RR 128/64) generator.
///
/// Every random choice the project makes (weight initialisation, dropout masks, shuffles,
/// simulated data) draws from a `SeededRandom` passed in explicitly. There is no default
/// initialiser, no global generator and no conformance to the standard library's
/// `RandomNumberGenerator` (whose `random(in:using:)` algorithms may change between Swift
/// releases), so an unseeded or hidden source cannot slip in by accident.
///
/// **Algorithm.** O'Neill's PCG64, the same bit generator as numpy's `PCG64`: a 128-bit LCG
/// `s ← s · 0x2360ED051FC65DA44385DF649FCCF645 + inc` (inc odd), and the output
/// `rotr64(hi(s) ⊕ lo(s), s >> 122)` taken from the *advanced* state. Seeding is Revisit's own:
/// SplitMix64 expands the 64-bit seed (and the stream number) into the 128-bit state and
/// increment, then the generator steps once. `Fixtures/random/generate_pcg64_reference.py`
/// loads that state into numpy's `PCG64` and records its raw stream; the tests require equality.
///
/// **Reproducibility.** The integer stream, `uniform()`, `uniformDouble()`, `int(below:)`,
/// `bernoulli`, `shuffle` and `permutation` are bit-identical on every machine. `normal` uses
/// `log`, `sqrt` and `cos` in Double and rounds to Float; it is identical wherever the C
/// library's `log` and `cos` are (glibc on every Linux machine Revisit supports).
///
/// Paper: M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient Statistically Good
/// Algorithms for Random Number Generation", 2014. https://www.pcg-random.org/paper.html
public struct SeededRandom {
    private var stateHigh: UInt64
    private var stateLow: UInt64
    private let incrementHigh: UInt64
    private let incrementLow: UInt64

    /// The seed this generator was created with (for logs and model metadata).
    public let seed: UInt64
    /// The stream number this generator was created with.
    public let stream: UInt64

    private static let multiplierHigh: UInt64 = 0x2360_ED05_1FC6_5DA4
    private static let multiplierLow: UInt64 = 0x4385_DF64_9FCC_F645

    /// A generator for `seed` on stream `stream`. Different streams of one seed are independent
    /// sequences (different LCG increments), for giving each consumer its own generator:
    /// e.g. stream 0 for initialisation, 1 for dropout, 2 for batch shuffling.
    public init(seed: UInt64, stream: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        var mixer = SplitMix64(state: seed)
        let initialHigh = mixer.next()
        let initialLow = mixer.next()
        var streamMixer = SplitMix64(state: stream ^ 0x5851_F42D_4C95_7F2D)
        incrementHigh = streamMixer.next()
        incrementLow = streamMixer.next() | 1
        stateHigh = initialHigh
        stateLow = initialLow
        step()
    }

    /// The 128-bit state and increment as (high, low) halves, for the reference-fixture tests.
    public var rawState: (stateHigh: UInt64, stateLow: UInt64, incrementHigh: UInt64, incrementLow: UInt64) {
        (stateHigh, stateLow, incrementHigh, incrementLow)
    }

    @inline(__always)
    private mutating func step() {
        // s = s * M + inc  (mod 2^128), with 64-bit halves.
        let (productHigh, productLow) = stateLow.multipliedFullWidth(by: SeededRandom.multiplierLow)
        var high =
            productHigh
            &+ stateHigh &* SeededRandom.multiplierLow
            &+ stateLow &* SeededRandom.multiplierHigh
        let (low, carry) = productLow.addingReportingOverflow(incrementLow)
        high = high &+ incrementHigh &+ (carry ? 1 : 0)
        stateHigh = high
        stateLow = low
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func nextUInt64() -> UInt64 {
        step()
        let rotation = stateHigh >> 58
        let folded = stateHigh ^ stateLow
        return (folded >> rotation) | (folded << ((64 &- rotation) & 63))
    }

    /// Uniform on [0, 1) with 24 random bits: every representable multiple of 2⁻²⁴.
    @inline(__always)
    public mutating func uniform() -> Float {
        Float(nextUInt64() >> 40) * 0x1p-24
    }

    /// Fills `out` with what `out.count` calls of ``uniform()`` would return, in order, and
    /// leaves the generator where those calls would (the same bits on every machine).
    ///
    /// Why: one draw at a time is bound by the 128-bit multiply's latency (each state depends
    /// on the one before), which made dropout's mask 10% of a 2-layer LSTM training step. Four
    /// lanes, each jumping four states at a time (`s ← A₄·s + C₄` with `A₄ = M⁴`,
    /// `C₄ = (M³ + M² + M + 1)·inc`, mod 2¹²⁸; Brown, "Random number generation with arbitrary
    /// strides", 1994), run the same sequence with four multiplies in flight.
    public mutating func fillUniform(_ out: UnsafeMutableBufferPointer<Float>) {
        let count = out.count
        var index = 0
        if count >= 8 {
            let m = (high: Self.multiplierHigh, low: Self.multiplierLow)
            let inc = (high: incrementHigh, low: incrementLow)
            let m2 = Self.multiply(m, m)
            let c2 = Self.add(Self.multiply(m, inc), inc)
            let m4 = Self.multiply(m2, m2)
            let c4 = Self.add(Self.multiply(m2, c2), c2)
            // The states the next four draws output from.
            step()
            var lane0 = (high: stateHigh, low: stateLow)
            step()
            var lane1 = (high: stateHigh, low: stateLow)
            step()
            var lane2 = (high: stateHigh, low: stateLow)
            step()
            var lane3 = (high: stateHigh, low: stateLow)
            var last = lane3
            while index + 4 <= count {
                out[index] = Self.uniform(fromState: lane0)
                out[index + 1] = Self.uniform(fromState: lane1)
                out[index + 2] = Self.uniform(fromState: lane2)
                out[index + 3] = Self.uniform(fromState: lane3)
                last = lane3
                lane0 = Self.add(Self.multiply(m4, lane0), c4)
                lane1 = Self.add(Self.multiply(m4, lane1), c4)
                lane2 = Self.add(Self.multiply(m4, lane2), c4)
                lane3 = Self.add(Self.multiply(m4, lane3), c4)
                index += 4
            }
            // The state of the last draw made, as if each had been made by ``uniform()``.
            stateHigh = last.high
            stateLow = last.low
        }
        while index < count {
            out[index] = uniform()
            index += 1
        }
    }

    @inline(__always)
    private static func uniform(fromState state: (high: UInt64, low: UInt64)) -> Float {
        let rotation = state.high >> 58
        let folded = state.high ^ state.low
        let bits = (folded >> rotation) | (folded << ((64 &- rotation) & 63))
        return Float(bits >> 40) * 0x1p-24
    }

    /// `a · b mod 2¹²⁸`, in 64-bit halves.
    @inline(__always)
    private static func multiply(_ a: (high: UInt64, low: UInt64), _ b: (high: UInt64, low: UInt64)) -> (
        high: UInt64, low: UInt64
    ) {
        let (productHigh, productLow) = a.low.multipliedFullWidth(by: b.low)
        return (productHigh &+ a.high &* b.low &+ a.low &* b.high, productLow)
    }

    /// `a + b mod 2¹²⁸`, in 64-bit halves.
    @inline(__always)
    private static func add(_ a: (high: UInt64, low: UInt64), _ b: (high: UInt64, low: UInt64)) -> (
        high: UInt64, low: UInt64
    ) {
        let (low, carry) = a.low.addingReportingOverflow(b.low)
        return (a.high &+ b.high &+ (carry ? 1 : 0), low)
    }

    /// Uniform on [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniformDouble() -> Double {
        Double(nextUInt64() >> 11) * 0x1p-53
    }

    /// Uniform on `[range.lowerBound, range.upperBound)`: `lower + (upper − lower) · uniform()`.
    public mutating func uniform(in range: Range<Float>) -> Float {
        range.lowerBound + (range.upperBound - range.lowerBound) * uniform()
    }

    /// A normal deviate by the Box–Muller transform (one deviate per two 64-bit draws;
    /// nothing is cached, so the stream position depends only on the number of calls).
    public mutating func normal(mean: Float = 0, standardDeviation: Float = 1) -> Float {
        let u1 = Double((nextUInt64() >> 11) + 1) * 0x1p-53  // (0, 1]: log is finite
        let u2 = uniformDouble()
        let z = (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
        return Float(Double(mean) + Double(standardDeviation) * z)
    }

    /// `true` with probability `probability` (clamped to [0, 1]).
    public mutating func bernoulli(probability: Double) -> Bool {
        uniformDouble() < probability
    }

    /// A uniform integer in `0..<bound` without modulo bias (Lemire's multiply-and-reject).
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "SeededRandom.int(below:): bound must be positive, got \(bound)")
        let range = UInt64(bound)
        var (high, low) = nextUInt64().multipliedFullWidth(by: range)
        if low < range {
            let threshold = (0 &- range) % range
            while low < threshold {
                (high, low) = nextUInt64().multipliedFullWidth(by: range)
            }
        }
        return Int(high)
    }

    /// Shuffles `elements` in place (Fisher–Yates from the last position down).
    public mutating func shuffle<T>(_ elements: inout [T]) {
        var position = elements.count - 1
        while position > 0 {
            let other = int(below: position + 1)
            if other != position { elements.swapAt(position, other) }
            position -= 1
        }
    }

    /// A uniformly random permutation of `0..<count`.
    public mutating func permutation(count: Int) -> [Int] {
        var indices = Array(0..<count)
        shuffle(&indices)
        return indices
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014), used only to expand seeds into PCG64 state.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
