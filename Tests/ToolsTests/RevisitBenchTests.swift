import Foundation
import Testing

/// End-to-end checks of `revisit-bench`, run as a separate process like a user would.
@Suite("revisit-bench")
struct RevisitBenchTests {
    /// Runs `revisit-bench` without the BLAS-selection variables of this process, plus `environment`.
    static func run(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        var base = ProcessInfo.processInfo.environment
        for key in [
            "OPENBLAS_CORETYPE", "REVISIT_BLAS_REEXECUTED", "REVISIT_BLAS_KERNELS", "REVISIT_CPUINFO",
            "REVISIT_INHERITED_OPENBLAS_CORETYPE", "REVISIT_BLAS_SELF_CHECK", "REVISIT_GEMM", "DNNL_MAX_CPU_ISA"
        ] { base[key] = nil }
        let result = try ToolProcess.run("revisit-bench", arguments, environment: base.merging(environment) { $1 })
        return (result.status, result.stdout + result.stderr)
    }

    @Test func reexecutesWithSkylakeXKernelsOnAnAVX512CPU() throws {
        // A cpuinfo file that claims AVX-512 stands in for such a CPU; `blas-info` only reports
        // the kernel family, it runs no AVX-512 code, so this is safe on any x86-64 machine.
        let cpuinfo = FileManager.default.temporaryDirectory.appendingPathComponent("avx512-cpuinfo-\(getpid())").path
        try "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl\n"
            .write(toFile: cpuinfo, atomically: true, encoding: .utf8)
        let result = try Self.run(
            ["blas-info"], environment: ["REVISIT_CPUINFO": cpuinfo, "REVISIT_BLAS_KERNELS": "auto"])
        #expect(result.status == 0, "\(result.output)")
        // On a CPU where OpenBLAS already detects an AVX-512 core by itself (Cooperlake on the
        // bf16-capable EPYCs some CI machines have), the documented behaviour is to leave it
        // alone: no re-execution, OPENBLAS_CORETYPE stays unset.
        let native = try Self.run(["blas-info"], environment: ["REVISIT_BLAS_KERNELS": "off"])
        let nativeCore =
            native.output.split(separator: "\n").first { $0.hasPrefix("core: ") }?.dropFirst(6).lowercased() ?? ""
        if ["skylakex", "cooperlake", "sapphirerapids", "zen4", "zen5"].contains(nativeCore) {
            #expect(result.output.lowercased().contains("core: \(nativeCore)"), "\(result.output)")
            #expect(result.output.contains("OPENBLAS_CORETYPE: (unset)"), "\(result.output)")
        } else {
            #expect(result.output.contains("core: SkylakeX"), "\(result.output)")
            #expect(result.output.contains("OPENBLAS_CORETYPE: SkylakeX"), "\(result.output)")
        }
    }

    /// A cpuinfo file that claims the SkylakeX subsets of AVX-512.
    static func avx512CPUInfo(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())").path
        try "flags\t\t: avx2 avx512f avx512cd avx512bw avx512dq avx512vl\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Issue 18: with no setting, an operator's pin stays in force, even on an AVX-512 CPU, and
    /// the products still run oneDNN's kernels for the CPU's instruction sets.
    @Test func byDefaultAnInheritedPinIsRespected() throws {
        let cpuinfo = try Self.avx512CPUInfo("avx512-cpuinfo-default")
        let result = try Self.run(
            ["blas-info"], environment: ["REVISIT_CPUINFO": cpuinfo, "OPENBLAS_CORETYPE": "Haswell"])
        #expect(result.status == 0, "\(result.output)")
        #expect(
            result.output.contains("core: Haswell") && result.output.contains("OPENBLAS_CORETYPE: Haswell"),
            "\(result.output)")
        #expect(!result.output.contains("inherited OPENBLAS_CORETYPE"), "\(result.output)")
        #expect(result.output.contains("matrix products: oneDNN"), "\(result.output)")
    }

    @Test func aMisspeltGEMMLibraryIsRefused() throws {
        let result = try Self.run(["blas-info"], environment: ["REVISIT_GEMM": "mkl"])
        #expect(result.status == 2, "\(result.output)")
        #expect(result.output.contains("REVISIT_GEMM='mkl' is not one of onednn, openblas"), "\(result.output)")
        let openBLAS = try Self.run(["blas-info"], environment: ["REVISIT_GEMM": "openblas"])
        #expect(openBLAS.status == 0 && openBLAS.output.contains("matrix products: OpenBLAS"), "\(openBLAS.output)")
    }

    @Test func underAutoOverridesAnInheritedPinToSlowerKernelsAndRemembersIt() throws {
        let cpuinfo = try Self.avx512CPUInfo("avx512-cpuinfo-pin")
        let result = try Self.run(
            ["blas-info"],
            environment: ["REVISIT_CPUINFO": cpuinfo, "OPENBLAS_CORETYPE": "Haswell", "REVISIT_BLAS_KERNELS": "auto"])
        #expect(result.status == 0, "\(result.output)")
        #expect(
            result.output.contains("core: SkylakeX") && result.output.contains("OPENBLAS_CORETYPE: SkylakeX"),
            "\(result.output)")
        #expect(result.output.contains("inherited OPENBLAS_CORETYPE: Haswell"), "\(result.output)")
    }

    @Test func inheritKeepsTheEnvironmentsChoice() throws {
        let cpuinfo = try Self.avx512CPUInfo("avx512-cpuinfo-inherit")
        for policy in ["inherit", "off"] {
            let pinned = try Self.run(
                ["blas-info"],
                environment: [
                    "REVISIT_CPUINFO": cpuinfo, "OPENBLAS_CORETYPE": "Haswell",
                    "REVISIT_BLAS_KERNELS": policy
                ])
            #expect(pinned.status == 0 && pinned.output.contains("core: Haswell"), "\(pinned.output)")
            let unset = try Self.run(
                ["blas-info"], environment: ["REVISIT_CPUINFO": cpuinfo, "REVISIT_BLAS_KERNELS": policy])
            #expect(unset.status == 0 && unset.output.contains("OPENBLAS_CORETYPE: (unset)"), "\(unset.output)")
        }
    }

    @Test func aFailedSelfCheckGoesBackToTheInheritedKernels() throws {
        let cpuinfo = try Self.avx512CPUInfo("avx512-cpuinfo-selfcheck")
        let result = try Self.run(
            ["blas-info"],
            environment: [
                "REVISIT_CPUINFO": cpuinfo, "OPENBLAS_CORETYPE": "Haswell",
                "REVISIT_BLAS_SELF_CHECK": "fail", "REVISIT_BLAS_KERNELS": "auto"
            ])
        #expect(result.status == 0, "\(result.output)")
        #expect(
            result.output.contains("failed Revisit's self-check; going back to OPENBLAS_CORETYPE=Haswell"),
            "\(result.output)")
        #expect(
            result.output.contains("core: Haswell") && result.output.contains("REVISIT_BLAS_KERNELS: inherit"),
            "\(result.output)")
    }

    @Test func anUnknownPolicyWarnsAndKeepsTheKernels() throws {
        let result = try Self.run(
            ["blas-info"], environment: ["OPENBLAS_CORETYPE": "Haswell", "REVISIT_BLAS_KERNELS": "fastest"])
        #expect(result.status == 0 && result.output.contains("core: Haswell"), "\(result.output)")
        #expect(result.output.contains("REVISIT_BLAS_KERNELS=fastest is not one of auto, inherit"), "\(result.output)")
    }

    @Test func theRealMachinesKernelsPassTheSelfCheck() throws {
        // No stand-in cpuinfo: on an AVX-512 machine this runs the re-executed SkylakeX
        // kernels, on others OpenBLAS's own; either way the self-check must pass.
        let result = try Self.run(["blas-info"], environment: [:])
        #expect(result.status == 0 && result.output.contains("self-check: passed"), "\(result.output)")
        #expect(!result.output.contains("warning"), "\(result.output)")
    }

    @Test func invalidOptionsFailWithAMessage() throws {
        let result = try Self.run(["gemm", "--repetitions", "0"], environment: [:])
        #expect(result.status != 0)
        #expect(result.output.contains("--repetitions must be at least 1"), "\(result.output)")
    }

    @Test func profileRunsOneMeasureAndRefusesBadSizes() throws {
        for inference in [false, true] {
            let result = try Self.run(
                ["profile", "--batch", "4", "--threads", "2", "--seconds", "0.05"] + (inference ? ["--inference"] : []),
                environment: [:])
            #expect(result.status == 0, "\(result.output)")
            #expect(
                result.output.contains("cnn_lstm \(inference ? "inference" : "training") batch 4, 2 threads:"),
                "\(result.output)")
        }
        let bad = try Self.run(["profile", "--batch", "0"], environment: [:])
        #expect(bad.status != 0 && bad.output.contains("--batch must be at least 1"), "\(bad.output)")
    }

    @Test func featuresBenchmarkRunsOnASmallLogAndRefusesBadSizes() throws {
        let small = try Self.run(
            ["features", "--customers", "100", "--visits", "1500", "--days", "120"], environment: [:])
        #expect(small.status == 0, "\(small.output)")
        #expect(
            small.output.contains("100 customers") && small.output.contains("| **index + build** |"), "\(small.output)")
        let bad = try Self.run(["features", "--customers", "10", "--visits", "5"], environment: [:])
        #expect(bad.status != 0)
        #expect(bad.output.contains("need at least one visit per customer"), "\(bad.output)")
    }
}
