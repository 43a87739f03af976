import CVectorMath
import Foundation
import Testing

/// The vectorised sigmoid and tanh of CVectorMath against glibc's libm, evaluated in Double
/// (the exact value rounded once), on every Float in the ranges the gates meet.
@Suite("Vectorised sigmoid and tanh")
struct VectorMathTests {
    /// Every 4096th float (by bit pattern) of magnitude up to `bound` with both signs (about
    /// 260,000 values: every binade, 2048 values each), plus the extremes and special values.
    static func inputs(bound: Float) -> [Float] {
        var values: [Float] = [0, -0, bound, -bound, .leastNormalMagnitude, -.leastNormalMagnitude, 1e-30, -1e-30, 100, -100, 1e4, -1e4]
        var x = Float.leastNormalMagnitude
        while x < bound {
            values.append(x)
            values.append(-x)
            x = Float(bitPattern: x.bitPattern &+ 4096)
        }
        return values
    }

    static func ulps(_ a: Float, _ exact: Double) -> Double {
        let rounded = Float(exact)
        let unit = Double(rounded.ulp == 0 ? Float.leastNonzeroMagnitude : rounded.ulp)
        return abs(Double(a) - exact) / unit
    }

    /// ≤ 3 ulp where σ(x) is a normal float (measured worst: 2.13 ulp). The budget: e = e^−|x|
    /// carries up to ~1.5 ulp (Cephes's polynomial and the reduction), and 1 + e and the
    /// division round once each (0.5 ulp); e's error reaches σ scaled by 1 − σ ≤ 1.
    @Test func sigmoidWithinThreeUlps() {
        let x = Self.inputs(bound: 100)
        var y = [Float](repeating: .nan, count: x.count)
        revisit_sigmoid(x.count, x, &y)
        var worst = (ulps: 0.0, x: Float(0))
        for (input, output) in zip(x, y) {
            let exact = 1 / (1 + Foundation.exp(-Double(input)))
            if exact >= Double(Float.leastNormalMagnitude) {
                let error = Self.ulps(output, exact)
                if error > worst.ulps { worst = (error, input) }
            } else {
                // Below Float's normal range the kernel returns 0 (documented in CVectorMath.h).
                #expect(Double(output) <= Double(Float.leastNormalMagnitude), "sigmoid(\(input)) = \(output)")
            }
            #expect(output >= 0 && output <= 1)
        }
        #expect(worst.ulps <= 3, "sigmoid: \(worst.ulps) ulp at x = \(worst.x)")
    }

    /// ≤ 3 ulp where |tanh x| ≥ 2⁻¹⁰; below, an absolute bound of 1e-9 (the odd polynomial is
    /// exact to rounding there, and gates only ever add such values to O(1) quantities).
    @Test func tanhWithinThreeUlps() {
        let x = Self.inputs(bound: 50)
        var y = [Float](repeating: .nan, count: x.count)
        revisit_tanh(x.count, x, &y)
        var worst = (ulps: 0.0, x: Float(0))
        for (input, output) in zip(x, y) {
            let exact = Foundation.tanh(Double(input))
            if abs(exact) >= 1.0 / 1024 {
                let error = Self.ulps(output, exact)
                if error > worst.ulps { worst = (error, input) }
            } else {
                #expect(abs(Double(output) - exact) <= 1e-9, "tanh(\(input)) = \(output), exact \(exact)")
            }
            #expect(output >= -1 && output <= 1 && (output == 0 || (output < 0) == (input < 0)))
        }
        #expect(worst.ulps <= 3, "tanh: \(worst.ulps) ulp at x = \(worst.x)")
    }

    @Test func fusedLSTMRowMatchesItsFormula() {
        let h = 37  // not a multiple of any vector width: the loop's remainder is exercised
        var random: UInt64 = 12345
        func next() -> Float {
            random = random &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: random >> 11) % 2_000_000) / 250_000 - 4
        }
        let xp = (0..<(4 * h)).map { _ in next() }, rp = (0..<(4 * h)).map { _ in next() }, cPrevious = (0..<h).map { _ in next() }
        var hOut = [Float](repeating: 0, count: h), cOut = [Float](repeating: 0, count: h), saved = [Float](repeating: 0, count: 5 * h)
        let preactivation = (0..<(4 * h)).map { xp[$0] + rp[$0] }
        revisit_lstm_forward_row(h, preactivation, cPrevious, &hOut, &cOut, &saved)
        for j in 0..<h {
            func sigmoid(_ v: Float) -> Double { 1 / (1 + Foundation.exp(-Double(v))) }
            let i = sigmoid(xp[j] + rp[j]), f = sigmoid(xp[h + j] + rp[h + j])
            let g = Foundation.tanh(Double(xp[2 * h + j] + rp[2 * h + j])), o = sigmoid(xp[3 * h + j] + rp[3 * h + j])
            let c = f * Double(cPrevious[j]) + i * g
            // Each value within a few Float roundings of the exact composition (|c| ≤ 5 here).
            #expect(abs(Double(cOut[j]) - c) <= 4e-6 * max(1, abs(c)))
            #expect(abs(Double(hOut[j]) - o * Foundation.tanh(c)) <= 4e-6)
            #expect(abs(Double(saved[j]) - i) <= 2e-7 && abs(Double(saved[3 * h + j]) - o) <= 2e-7)
        }
    }
}
