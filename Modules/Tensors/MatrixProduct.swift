import Foundation
import COpenBLAS

/// Matrix products: `C = α · op(A) · op(B) + β · C`, where `op(X)` is `X` or `Xᵀ`.
///
/// The work goes to OpenBLAS's `cblas_sgemm` (row-major). β = 1 fuses accumulation, the shape
/// of every backward pass (`dW += Xᵀ · dY`) and of an LSTM step that adds the recurrent product
/// to the input product already in `C`. ``ReferenceKernels/matrixProduct(_:transposeA:_:transposeB:alpha:beta:into:)``
/// computes the same thing in plain Swift and is the oracle the tests compare against.
extension Tensor {
    /// Shapes of `op(A)` · `op(B)` = `[M, K] · [K, N]`, checked with a message that names them.
    static func productShape(_ a: [Int], _ transposeA: Bool, _ b: [Int], _ transposeB: Bool) -> (m: Int, n: Int, k: Int)
    {
        precondition(
            a.count == 2 && b.count == 2,
            "Tensors.matmul: needs rank-2 operands, got shapes \(a) and \(b)")
        let (m, ka) = transposeA ? (a[1], a[0]) : (a[0], a[1])
        let (kb, n) = transposeB ? (b[1], b[0]) : (b[0], b[1])
        precondition(
            ka == kb,
            "Tensors.matmul: inner extents differ: op(A) is [\(m), \(ka)] (A \(a)\(transposeA ? "ᵀ" : "")), op(B) is [\(kb), \(n)] (B \(b)\(transposeB ? "ᵀ" : ""))"
        )
        return (m, n, ka)
    }

    /// `C = α · op(A) · op(B) + β · C` through `cblas_sgemm`.
    ///
    /// - Parameters:
    ///   - a: `[M, K]`, or `[K, M]` when `transposeA`.
    ///   - b: `[K, N]`, or `[N, K]` when `transposeB`.
    ///   - beta: 0 overwrites `c` (its old values, even NaN, are ignored) and reshapes it to
    ///     `[M, N]` reusing its buffer; any other β requires `c` to be `[M, N]` already.
    ///   - c: the destination; must not share storage with `a` or `b`.
    public static func matmul(
        _ a: Tensor, transposeA: Bool = false, _ b: Tensor, transposeB: Bool = false,
        alpha: Float = 1, beta: Float = 0, into c: inout Tensor
    ) {
        let (m, n, k) = productShape(a.shape, transposeA, b.shape, transposeB)
        if beta == 0 {
            c.prepare(rows: m, columns: n)
        } else {
            precondition(
                c.shape.count == 2 && c.shape[0] == m && c.shape[1] == n,
                "Tensors.matmul: accumulating (β = \(beta)) into C of shape \(c.shape), but op(A)·op(B) is [\(m), \(n)]"
            )
            c.makeUnique()
        }
        precondition(
            c.buffer !== a.buffer && c.buffer !== b.buffer,
            "Tensors.matmul: the destination shares storage with an operand")
        BLAS.sgemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: a.buffer.base, lda: a.shape[1], b: b.buffer.base, ldb: b.shape[1],
            beta: beta, c: c.buffer.base, ldc: n)
    }

    /// `op(self) · op(other)` as a new `[M, N]` tensor.
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        var result = Tensor.zeros([])
        Tensor.matmul(self, transposeA: transposeSelf, other, transposeB: transposeOther, into: &result)
        return result
    }
}

/// Thin, checked entry points into OpenBLAS for code that works on raw buffers (a parameter
/// arena, an LSTM's preallocated gate buffers). Row-major throughout.
public enum BLAS {
    /// `C = α · op(A) · op(B) + β · C` on raw row-major buffers with leading dimensions.
    ///
    /// Zero-sized products are handled here (OpenBLAS requires leading dimensions ≥ 1):
    /// when M or N is 0 nothing happens, when K is 0 `C` becomes `β · C` (0 when β is 0).
    @inlinable
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for row in 0..<m {
                for column in 0..<n {
                    c[row * ldc + column] = beta == 0 ? 0 : beta * c[row * ldc + column]
                }
            }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(Swift.max(lda, 1)),
            b, blasint(Swift.max(ldb, 1)), beta, c, blasint(Swift.max(ldc, 1)))
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            precondition(newValue >= 1, "BLAS.threadCount: needs at least 1 thread, got \(newValue)")
            openblas_set_num_threads(Int32(newValue))
        }
    }

    /// Serialises temporary changes of the process-wide thread count (recursive: a section may
    /// run code that makes its own).
    private static let threadCountLock = NSRecursiveLock()

    /// Runs `body` with OpenBLAS on `count` threads, then restores the previous count. Callers
    /// that change the count temporarily (``BlockParallelism``, tests) go through here, so that
    /// one of them never restores a value over another's while it runs.
    public static func withThreadCount<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        threadCountLock.lock()
        defer { threadCountLock.unlock() }
        let previous = threadCount
        threadCount = count
        defer { threadCount = previous }
        return try body()
    }

    /// The kernel family OpenBLAS picked for this CPU at load time (`Haswell`, `SkylakeX`, …).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build configuration string (version, threading model, kernel family).
    public static var configuration: String { String(cString: openblas_get_config()) }
}

/// Plain-Swift versions of the BLAS-backed kernels: slow, obviously correct, and the oracle
/// that the tests compare the fast paths against. Accumulates in Double.
public enum ReferenceKernels {
    /// `C = α · op(A) · op(B) + β · C`, with the same shape rules as ``Tensor/matmul(_:transposeA:_:transposeB:alpha:beta:into:)``.
    public static func matrixProduct(
        _ a: Tensor, transposeA: Bool = false, _ b: Tensor, transposeB: Bool = false,
        alpha: Float = 1, beta: Float = 0, into c: inout Tensor
    ) {
        let (m, n, k) = Tensor.productShape(a.shape, transposeA, b.shape, transposeB)
        if beta == 0 { c = Tensor.zeros([m, n]) }
        precondition(c.shape == [m, n], "ReferenceKernels.matrixProduct: C has shape \(c.shape), expected [\(m), \(n)]")
        let aValues = a.scalars, bValues = b.scalars
        var cValues = c.scalars
        let lda = a.shape[1], ldb = b.shape[1]
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k {
                    let x = transposeA ? aValues[p * lda + i] : aValues[i * lda + p]
                    let y = transposeB ? bValues[j * ldb + p] : bValues[p * ldb + j]
                    total += Double(x) * Double(y)
                }
                let previous = beta == 0 ? 0 : Double(beta) * Double(cValues[i * n + j])
                cValues[i * n + j] = Float(Double(alpha) * total + previous)
            }
        }
        c = Tensor(shape: [m, n], scalars: cValues)
    }
}
