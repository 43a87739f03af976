import Foundation

/// Lets OpenBLAS use its AVX-512 kernels on CPUs that have them, **when the user asks for it**.
///
/// Debian's OpenBLAS 0.3.21 runs its AVX2 ("Haswell") kernels on many AVX-512 machines: it does
/// not recognise some of them, and machine images often pin `OPENBLAS_CORETYPE=Haswell` for
/// every process (some OpenBLAS builds compute wrong results or crash on CPUs they do not know,
/// which is why operators pin it). OpenBLAS reads `OPENBLAS_CORETYPE` only when the library
/// loads, before `main` runs, so a process cannot switch kernels by itself: the tools call
/// ``reexecuteWithFastestKernelsIfNeeded()`` first thing, which — under `auto` only — sets the
/// variable and re-executes the same program (same arguments, same environment otherwise) when
/// ``preferredCoreType(cpuFlags:loadedCore:environment:)`` says it helps.
///
/// `REVISIT_BLAS_KERNELS` chooses the policy:
/// - `inherit` (the default; `off` is its older spelling): whatever `OPENBLAS_CORETYPE` and
///   OpenBLAS's own detection chose. An operator's pin is respected. The speed does not depend
///   on it: the matrix products go to oneDNN (``GEMMLibrary``), which picks its kernels from the
///   CPU's instruction sets; OpenBLAS keeps only the rare calls that are not products.
/// - `auto` (opt-in): the fastest OpenBLAS kernels this CPU runs. An inherited
///   `OPENBLAS_CORETYPE` that names slower kernels is overridden, and kept in
///   `REVISIT_INHERITED_OPENBLAS_CORETYPE`. After the re-execution a self-check
///   (``kernelsComputeCorrectly(_:)``) compares a few products with a Double-accumulated
///   reference; if it fails, the tool warns and goes back to the inherited kernels. Useful with
///   `REVISIT_GEMM=openblas`.
///
/// CPUs without the AVX-512 subsets the SkylakeX kernels need are never switched. Docs/PERFORMANCE.md
/// records the decision and the measurements behind it.
public enum BLASKernelSelection {
    /// The AVX-512 subsets OpenBLAS's SkylakeX kernels use.
    public static let skylakeXFlags: Set<String> = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    /// Cores OpenBLAS may report that already use AVX-512 kernels.
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids", "zen4", "zen5"]

    /// The policy set by `REVISIT_BLAS_KERNELS`.
    public enum Policy: String, Sendable {
        case auto, inherit
        /// `inherit` when unset; `off` is the older spelling of `inherit`; nil for anything else.
        public init?(environment: [String: String]) {
            switch environment["REVISIT_BLAS_KERNELS"] ?? "inherit" {
            case "auto": self = .auto
            case "inherit", "off", "": self = .inherit
            default: return nil
            }
        }
    }

    /// The `OPENBLAS_CORETYPE` to re-execute with, or nil to keep the current kernels.
    ///
    /// - Parameters:
    ///   - cpuFlags: the CPU's feature flags (`/proc/cpuinfo`'s `flags` line).
    ///   - loadedCore: ``BLAS/coreName`` as loaded now.
    ///   - environment: the process environment: the policy (`REVISIT_BLAS_KERNELS`) and a
    ///     previous re-execution (`REVISIT_BLAS_REEXECUTED`, which stops a loop). Nil unless the
    ///     policy is `auto`; under `auto` an inherited `OPENBLAS_CORETYPE` does not matter:
    ///     `loadedCore` already shows its effect.
    public static func preferredCoreType(cpuFlags: Set<String>, loadedCore: String, environment: [String: String])
        -> String?
    {
        guard Policy(environment: environment) == .auto else { return nil }
        if environment["REVISIT_BLAS_REEXECUTED"] != nil { return nil }
        if avx512Cores.contains(loadedCore.lowercased()) { return nil }
        return skylakeXFlags.isSubset(of: cpuFlags) ? "SkylakeX" : nil
    }

    /// The flags on the first `flags` line of `/proc/cpuinfo` (empty where it is unreadable).
    public static func cpuFlags(cpuinfo path: String = "/proc/cpuinfo") -> Set<String> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// Re-executes the current program with `OPENBLAS_CORETYPE` set when that selects faster
    /// kernels; otherwise returns. Does not return when it re-executes. Call it before any work.
    ///
    /// In the re-executed process it runs the self-check; a failure prints a warning and
    /// re-executes once more with the inherited setting and `REVISIT_BLAS_KERNELS=inherit`.
    ///
    /// Test hooks: `REVISIT_CPUINFO` names a file that stands in for `/proc/cpuinfo` (so the
    /// tests exercise the AVX-512 path on any machine; the self-check is then skipped, since
    /// the CPU may not run the kernels it claims), and `REVISIT_BLAS_SELF_CHECK=fail` makes the
    /// self-check fail.
    public static func reexecuteWithFastestKernelsIfNeeded() {
        // A misspelt REVISIT_GEMM stops the tool here, before any work, not at its first product.
        _ = GEMMLibrary.configured
        BlockParallelism.validateSpinSetting()
        let environment = ProcessInfo.processInfo.environment
        if environment["REVISIT_BLAS_REEXECUTED"] != nil {
            verifyAfterReexecution(environment)
            return
        }
        guard Policy(environment: environment) != nil else {
            FileHandle.standardError.write(
                Data(
                    ("warning: REVISIT_BLAS_KERNELS=\(environment["REVISIT_BLAS_KERNELS"] ?? "") is not one of auto, inherit; "
                        + "keeping OpenBLAS's kernels (\(BLAS.coreName))\n").utf8))
            return
        }
        let flags = cpuFlags(cpuinfo: environment["REVISIT_CPUINFO"] ?? "/proc/cpuinfo")
        guard let core = preferredCoreType(cpuFlags: flags, loadedCore: BLAS.coreName, environment: environment) else {
            return
        }
        setenv("REVISIT_INHERITED_OPENBLAS_CORETYPE", environment["OPENBLAS_CORETYPE"] ?? "", 1)
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("REVISIT_BLAS_REEXECUTED", "1", 1)
        reexecute()
        // execv returned: it failed. Carry on with the kernels we have rather than stop.
        restoreInheritedCoreType()
    }

    /// In a re-executed process: checks the new kernels, and returns to the inherited ones when
    /// they miscompute.
    static func verifyAfterReexecution(_ environment: [String: String]) {
        guard environment["REVISIT_BLAS_KERNELS"] != "inherit" else { return }  // already fell back
        let simulatedCPU = environment["REVISIT_CPUINFO"] != nil
        let forcedFailure = environment["REVISIT_BLAS_SELF_CHECK"] == "fail"
        if forcedFailure || (!simulatedCPU && !kernelsComputeCorrectly()) {
            let inherited = environment["REVISIT_INHERITED_OPENBLAS_CORETYPE"] ?? ""
            FileHandle.standardError.write(
                Data(
                    ("warning: OpenBLAS's \(BLAS.coreName) kernels failed Revisit's self-check; going back to "
                        + (inherited.isEmpty ? "OpenBLAS's own choice" : "OPENBLAS_CORETYPE=\(inherited)")
                        + " (set REVISIT_BLAS_KERNELS=inherit to skip this step)\n").utf8))
            restoreInheritedCoreType()
            setenv("REVISIT_BLAS_KERNELS", "inherit", 1)
            unsetenv("REVISIT_BLAS_SELF_CHECK")
            reexecute()
        }
    }

    private static func restoreInheritedCoreType() {
        let inherited = ProcessInfo.processInfo.environment["REVISIT_INHERITED_OPENBLAS_CORETYPE"] ?? ""
        if inherited.isEmpty { unsetenv("OPENBLAS_CORETYPE") } else { setenv("OPENBLAS_CORETYPE", inherited, 1) }
        unsetenv("REVISIT_INHERITED_OPENBLAS_CORETYPE")
    }

    private static func reexecute() {
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        for pointer in argv { free(pointer) }
    }

    /// Whether `library`'s loaded kernels (OpenBLAS's, after a re-execution) compute
    /// single-precision products correctly: every
    /// transpose combination, on shapes that exercise the kernels' full tiles and their edges
    /// (the recurrent layers' row blocks and depths), against a Double-accumulated product. The
    /// bound is 1e-4 relative to the sum of |a|·|b| per element — a float kernel accumulating
    /// k ≤ 192 products errs by at most about k·2⁻²⁴ ≈ 1.1e-5 of it, while a wrong kernel is off
    /// by O(1). Runs in about a millisecond.
    public static func kernelsComputeCorrectly(_ library: GEMMLibrary = .openBLAS) -> Bool {
        var random = SeededRandom(seed: 20261125)
        let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (7, 13, 5), (33, 65, 17), (32, 40, 128), (19, 3, 192)]
        for (m, n, k) in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let a = (0..<(m * k)).map { _ in random.uniform() * 2 - 1 }
                    let b = (0..<(k * n)).map { _ in random.uniform() * 2 - 1 }
                    var c = [Float](repeating: 0.5, count: m * n)
                    let lda = transposeA ? m : k, ldb = transposeB ? k : n
                    BLAS.sgemm(
                        using: library, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                        a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: &c, ldc: n)
                    for i in 0..<m {
                        for j in 0..<n {
                            var exact = 0.5, magnitude = 0.5
                            for p in 0..<k {
                                let x = Double(transposeA ? a[p * m + i] : a[i * k + p])
                                let y = Double(transposeB ? b[j * k + p] : b[p * n + j])
                                exact += x * y
                                magnitude += abs(x * y)
                            }
                            if !(abs(Double(c[i * n + j]) - exact) <= 1e-4 * magnitude) { return false }
                        }
                    }
                }
            }
        }
        return true
    }
}
