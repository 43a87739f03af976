import CBlockParallelism
import CDNNL
import COpenBLAS
import Foundation

/// Matrix products: `C = α · op(A) · op(B) + β · C`, where `op(X)` is `X` or `Xᵀ`.
///
/// The work goes to ``BLAS/sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
/// (oneDNN's `dnnl_sgemm` by default, row-major). β = 1 fuses accumulation, the shape
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

    /// `C = α · op(A) · op(B) + β · C` through ``BLAS/sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
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

/// Which library computes the matrix products.
///
/// oneDNN's `dnnl_sgemm` is the default: it picks its kernels from the instruction sets the CPU
/// reports (AVX-512, AVX2, …), not from a table of CPU models, so it runs its AVX-512 kernels
/// on CPUs newer than the BLAS build (OpenBLAS 0.3.21 does not know Zen 4/5) while leaving an
/// operator's `OPENBLAS_CORETYPE` pin in force for OpenBLAS itself. It was also faster than
/// OpenBLAS's best kernels on every shape the recurrent engine runs (Docs/PERFORMANCE.md,
/// "oneDNN for the products"). `REVISIT_GEMM=openblas` sends the products to OpenBLAS instead
/// (for comparison, or where oneDNN misbehaves); oneDNN's own `DNNL_MAX_CPU_ISA` caps its
/// instruction set (`AVX2` tests the AVX2 kernels on an AVX-512 machine).
public enum GEMMLibrary: String, Sendable {
    case oneDNN = "onednn"
    case openBLAS = "openblas"

    /// The library the calling thread uses: ``configured``, unless it runs inside
    /// ``BLAS/withLibrary(_:_:)`` (or a parallel section started there).
    public static var current: GEMMLibrary {
        switch revisit_thread_product_library() {
        case 1: return .oneDNN
        case 2: return .openBLAS
        default: return configured
        }
    }

    /// The library the environment asks for, read once from `REVISIT_GEMM` (unset: oneDNN). Any
    /// other value stops the process with a message that names the accepted ones: a misspelt
    /// setting must not silently measure the other library.
    public static let configured: GEMMLibrary = {
        guard let value = ProcessInfo.processInfo.environment["REVISIT_GEMM"], !value.isEmpty else { return .oneDNN }
        guard let library = GEMMLibrary(rawValue: value.lowercased()) else {
            FileHandle.standardError.write(
                Data("error: REVISIT_GEMM='\(value)' is not one of onednn, openblas (unset: onednn)\n".utf8))
            exit(2)
        }
        return library
    }()

    /// The instruction set oneDNN's kernels use on this machine (`AVX-512 (avx512_core)`, `AVX2`, …).
    public static var oneDNNInstructionSet: String {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_sse41: return "SSE4.1"
        case dnnl_cpu_isa_avx: return "AVX"
        case dnnl_cpu_isa_avx2: return "AVX2"
        case dnnl_cpu_isa_avx2_vnni: return "AVX2 (vnni)"
        case dnnl_cpu_isa_avx512_core: return "AVX-512 (avx512_core)"
        case dnnl_cpu_isa_avx512_core_vnni: return "AVX-512 (avx512_core_vnni)"
        case dnnl_cpu_isa_avx512_core_bf16: return "AVX-512 (avx512_core_bf16)"
        case dnnl_cpu_isa_avx512_core_amx: return "AVX-512 (avx512_core_amx)"
        default: return "other (\(dnnl_get_effective_cpu_isa().rawValue))"
        }
    }
}

/// Thin, checked entry points into the BLAS for code that works on raw buffers (a parameter
/// arena, an LSTM's preallocated gate buffers). Row-major throughout.
public enum BLAS {
    /// `C = α · op(A) · op(B) + β · C` on raw row-major buffers with leading dimensions, through
    /// ``GEMMLibrary/current``.
    ///
    /// Every product runs on the calling thread: Revisit's parallelism is across row blocks and
    /// shards (``BlockParallelism``), each product single-threaded inside, so no number depends
    /// on the thread count. oneDNN runs on OpenMP, so the call sets the calling thread's OpenMP
    /// team size to 1 for the product and puts the previous value back (other OpenMP users in
    /// the process, XGBoost, keep theirs).
    ///
    /// Zero-sized products are handled here (the libraries require leading dimensions ≥ 1):
    /// when M or N is 0 nothing happens, when K is 0 `C` becomes `β · C` (0 when β is 0).
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        sgemm(
            using: GEMMLibrary.current, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// The same product through a named library (the self-checks compare each library's kernels).
    public static func sgemm(
        using library: GEMMLibrary, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
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
        switch library {
        case .oneDNN:
            let team = omp_get_max_threads()
            if team != 1 { omp_set_num_threads(1) }
            let status = dnnl_sgemm(
                CChar(transposeA ? 0x54 : 0x4E), CChar(transposeB ? 0x54 : 0x4E), dnnl_dim_t(m), dnnl_dim_t(n),
                dnnl_dim_t(k), alpha, a, dnnl_dim_t(Swift.max(lda, 1)), b, dnnl_dim_t(Swift.max(ldb, 1)), beta, c,
                dnnl_dim_t(Swift.max(ldc, 1)))
            if team != 1 { omp_set_num_threads(team) }
            precondition(
                status == dnnl_success,
                "BLAS.sgemm: dnnl_sgemm refused a \(m)×\(k) · \(k)×\(n) product (lda \(lda), ldb \(ldb), ldc \(ldc)): status \(status.rawValue)"
            )
        case .openBLAS:
            cblas_sgemm(
                CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(Swift.max(lda, 1)),
                b, blasint(Swift.max(ldb, 1)), beta, c, blasint(Swift.max(ldc, 1)))
        }
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

    /// Runs `body` with the calling thread's products (and those of the parallel sections it
    /// starts) on `library`, then restores the previous choice. The choice is per thread, so
    /// tests running beside it keep theirs. For tests and benchmarks; the tools use
    /// ``GEMMLibrary/configured``.
    public static func withLibrary<R>(_ library: GEMMLibrary, _ body: () throws -> R) rethrows -> R {
        let previous = revisit_thread_product_library()
        revisit_set_thread_product_library(library == .oneDNN ? 1 : 2)
        defer { revisit_set_thread_product_library(previous) }
        return try body()
    }

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
