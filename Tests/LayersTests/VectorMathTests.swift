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
        var values: [Float] = [
            0, -0, bound, -bound, .leastNormalMagnitude, -.leastNormalMagnitude, 1e-30, -1e-30, 100, -100, 1e4, -1e4
        ]
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

    @Test func fusedLSTMStepMatchesItsFormula() {
        // h = 37 units and n = 19 sequences: neither is a multiple of a vector width, so the
        // loops' remainders run; strides wider than n check the feature-major addressing.
        let h = 37, n = 19, aStride = n + 3, stateStride = 2 * n + 1, savedStride = n + 5
        var random: UInt64 = 12345
        func next() -> Float {
            random = random &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: random >> 11) % 2_000_000) / 250_000 - 4
        }
        let a = (0..<(4 * h * aStride)).map { _ in next() }
        let state = (0..<(h * stateStride)).map { _ in next() }  // h_prev in columns 0..<n
        let cells = (0..<(h * stateStride)).map { _ in next() }  // c_prev in columns 0..<n
        var hOut = state, cOut = cells  // h, c written to columns n..<2n
        var saved = [Float](repeating: 9, count: 5 * h * savedStride)
        let mask = (0..<n).map { Float($0 == 4 ? 0 : 1) }  // sequence 4 is padding at this step
        hOut.withUnsafeMutableBufferPointer { ho in
            cOut.withUnsafeMutableBufferPointer { co in
                revisit_lstm_forward_step(
                    h, n, a, aStride, state, cells, ho.baseAddress! + n, co.baseAddress! + n, stateStride,
                    &saved, savedStride, mask)
            }
        }
        for j in 0..<h {
            for s in 0..<n {
                let hNew = Double(hOut[j * stateStride + n + s]), cNew = Double(cOut[j * stateStride + n + s])
                if s == 4 {
                    #expect(
                        hNew == Double(state[j * stateStride + s]) && cNew == Double(cells[j * stateStride + s]),
                        "masked: carried")
                    #expect((0..<5).allSatisfy { saved[($0 * h + j) * savedStride + s] == 0 }, "masked: nothing saved")
                    continue
                }
                func sigmoid(_ v: Float) -> Double { 1 / (1 + Foundation.exp(-Double(v))) }
                let i = sigmoid(a[j * aStride + s]), f = sigmoid(a[(h + j) * aStride + s])
                let g = Foundation.tanh(Double(a[(2 * h + j) * aStride + s])), o = sigmoid(a[(3 * h + j) * aStride + s])
                let c = f * Double(cells[j * stateStride + s]) + i * g
                // Each value within a few Float roundings of the exact composition (|c| ≤ 5 here).
                #expect(abs(cNew - c) <= 4e-6 * max(1, abs(c)))
                #expect(abs(hNew - o * Foundation.tanh(c)) <= 4e-6)
                #expect(
                    abs(Double(saved[j * savedStride + s]) - i) <= 2e-7
                        && abs(Double(saved[(3 * h + j) * savedStride + s]) - o) <= 2e-7)
            }
        }
    }
}
