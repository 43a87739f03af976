import Tensors
import TestSupport
import Testing

@Suite("Matrix products through cblas_sgemm against the plain-Swift oracle")
struct MatrixProductTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float
        var testDescription: String { "(\(m)×\(k))·(\(k)×\(n)) tA=\(transposeA) tB=\(transposeB) α=\(alpha) β=\(beta)" }
    }

    /// Non-square, transposed and accumulating products, plus empty and 1-element extremes.
    static let cases: [Case] = {
        var random = SeededRandom(seed: 2024, stream: 11)
        var cases: [Case] = []
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                for (alpha, beta) in [(Float(1), Float(0)), (1, 1), (0.5, -2)] {
                    let m = 1 + random.int(below: 70), n = 1 + random.int(below: 70), k = 1 + random.int(below: 200)
                    cases.append(
                        Case(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta)
                    )
                }
            }
        }
        cases += [
            Case(m: 64, n: 512, k: 192, transposeA: false, transposeB: true, alpha: 1, beta: 1),  // LSTM step shape
            Case(m: 1, n: 1, k: 1, transposeA: false, transposeB: false, alpha: 1, beta: 0),
            Case(m: 0, n: 5, k: 3, transposeA: false, transposeB: false, alpha: 1, beta: 0),
            Case(m: 4, n: 0, k: 3, transposeA: true, transposeB: false, alpha: 1, beta: 0),
            Case(m: 3, n: 4, k: 0, transposeA: false, transposeB: false, alpha: 1, beta: 0),
            Case(m: 3, n: 4, k: 0, transposeA: false, transposeB: true, alpha: 1, beta: 2)
        ]
        return cases
    }()

    @Test(arguments: cases)
    func agreesWithTheOracle(_ c: Case) {
        var random = SeededRandom(seed: UInt64(c.m * 1_000_003 + c.n * 1009 + c.k))
        let a = Tensor.uniform(c.transposeA ? [c.k, c.m] : [c.m, c.k], in: -1..<1, using: &random)
        let b = Tensor.uniform(c.transposeB ? [c.n, c.k] : [c.k, c.n], in: -1..<1, using: &random)
        let initial = Tensor.uniform([c.m, c.n], in: -1..<1, using: &random)
        var fast = initial, oracle = initial
        Tensor.matmul(
            a, transposeA: c.transposeA, b, transposeB: c.transposeB, alpha: c.alpha, beta: c.beta, into: &fast)
        ReferenceKernels.matrixProduct(
            a, transposeA: c.transposeA, b, transposeB: c.transposeB, alpha: c.alpha, beta: c.beta, into: &oracle)
        #expect(fast.shape == [c.m, c.n])
        // Float32 accumulation of k products of magnitude ≤ 1 (|α| ≤ 1, |β·c| ≤ 2) differs from the
        // Double oracle by at most about k·2⁻²⁴ per term in the worst case (Higham's γ_k bound);
        // 1e-6·(k + 2) is that bound with headroom for BLAS's blocked summation order.
        expectClose(fast, oracle, absolute: 1e-6 * Float(c.k + 2), "\(c.testDescription)")
    }

    @Test func betaZeroIgnoresGarbageInTheDestination() {
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        var c = Tensor.filled([2, 2], with: .nan)
        Tensor.matmul(a, a, into: &c)
        #expect(c.scalars == [7, 10, 15, 22])
        #expect(a.matmul(a, transposeOther: true).scalars == [5, 11, 11, 25])
    }

    @Test func threadCountAndCoreNameAreReported() {
        BLASThreads.with(1) { #expect(BLAS.threadCount == 1) }
        #expect(!BLAS.coreName.isEmpty)
        #expect(BLAS.configuration.contains("OpenBLAS"))
    }
}
