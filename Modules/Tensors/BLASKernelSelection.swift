import Foundation

/// Makes OpenBLAS use its AVX-512 kernels on CPUs that have them.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent AMD EPYC CPUs with AVX-512 and falls back
/// to its AVX2 ("Haswell") kernels, about two thirds of the speed it reaches with its
/// "SkylakeX" kernels on the LSTM's matrix shapes. OpenBLAS reads `OPENBLAS_CORETYPE` only when
/// the library loads, before `main` runs, so a process cannot switch kernels by itself: the
/// tools call ``reexecuteWithFastestKernelsIfNeeded()`` first thing, which sets the variable and
/// re-executes the same program (same arguments, same environment otherwise) when
/// ``preferredCoreType(cpuFlags:loadedCore:environment:)`` says it helps. Every other CPU, and any
/// user who set `OPENBLAS_CORETYPE` themselves, is left alone. Docs/PERFORMANCE.md records the
/// decision; `REVISIT_BLAS_KERNELS=auto|off` turns it off.
public enum BLASKernelSelection {
    /// The AVX-512 subsets OpenBLAS's SkylakeX kernels use.
    public static let skylakeXFlags: Set<String> = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    /// Cores OpenBLAS may report that already use AVX-512 kernels.
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids", "zen4", "zen5"]

    /// The `OPENBLAS_CORETYPE` to re-execute with, or nil to keep the current kernels.
    ///
    /// - Parameters:
    ///   - cpuFlags: the CPU's feature flags (`/proc/cpuinfo`'s `flags` line).
    ///   - loadedCore: ``BLAS/coreName`` as loaded now.
    ///   - environment: the process environment; an explicit `OPENBLAS_CORETYPE`, a previous
    ///     re-execution (`REVISIT_BLAS_REEXECUTED`) or `REVISIT_BLAS_KERNELS=off` keep things as they are.
    public static func preferredCoreType(cpuFlags: Set<String>, loadedCore: String, environment: [String: String]) -> String? {
        if environment["OPENBLAS_CORETYPE"] != nil { return nil }
        if environment["REVISIT_BLAS_REEXECUTED"] != nil { return nil }
        if environment["REVISIT_BLAS_KERNELS"] == "off" { return nil }
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
    /// The CPU flags come from `/proc/cpuinfo`, or from the file named by `REVISIT_CPUINFO`
    /// (which lets the tests exercise the AVX-512 path on a machine without AVX-512).
    public static func reexecuteWithFastestKernelsIfNeeded() {
        let environment = ProcessInfo.processInfo.environment
        let flags = cpuFlags(cpuinfo: environment["REVISIT_CPUINFO"] ?? "/proc/cpuinfo")
        guard let core = preferredCoreType(cpuFlags: flags, loadedCore: BLAS.coreName, environment: environment) else {
            return
        }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("REVISIT_BLAS_REEXECUTED", "1", 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // execv returned: it failed. Carry on with the kernels we have rather than stop.
        unsetenv("OPENBLAS_CORETYPE")
        for pointer in argv { free(pointer) }
    }
}
