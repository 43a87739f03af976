import Foundation
import Tensors
import Testing

@Suite("Choosing OpenBLAS's AVX-512 kernels")
struct BLASKernelSelectionTests {
    static let avx2Only: Set<String> = ["sse4_2", "avx", "avx2", "fma"]
    static let avx512 = avx2Only.union(BLASKernelSelection.skylakeXFlags)

    static let optIn = ["REVISIT_BLAS_KERNELS": "auto"]

    @Test func underAutoAVX512CPUsRunningAVX2KernelsGetSkylakeX() {
        #expect(
            BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Haswell", environment: Self.optIn)
                == "SkylakeX")
        #expect(
            BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Zen", environment: Self.optIn)
                == "SkylakeX")
        // An inherited pin to slower kernels is overridden only when the user opts in…
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx512, loadedCore: "Haswell",
                environment: ["OPENBLAS_CORETYPE": "Haswell", "REVISIT_BLAS_KERNELS": "auto"]) == "SkylakeX")
    }

    /// The default respects the environment (issue 18): no re-execution, whatever the CPU and the pin.
    @Test func byDefaultThePinIsRespected() {
        #expect(BLASKernelSelection.Policy(environment: [:]) == .inherit)
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx512, loadedCore: "Haswell", environment: ["OPENBLAS_CORETYPE": "Haswell"]) == nil)
        #expect(
            BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Zen", environment: [:]) == nil)
    }

    @Test func everythingElseIsLeftAlone() {
        // No AVX-512: the fallback kernels are the right ones.
        #expect(
            BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx2Only, loadedCore: "Zen", environment: Self.optIn)
                == nil)
        // Partial AVX-512 (no BW/VL) cannot run SkylakeX kernels.
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx2Only.union(["avx512f"]), loadedCore: "Haswell", environment: Self.optIn) == nil)
        // Already on AVX-512 kernels (by detection or by the user's choice).
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx512, loadedCore: "SkylakeX", environment: Self.optIn)
                == nil)
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx512, loadedCore: "Cooperlake",
                environment: ["OPENBLAS_CORETYPE": "Cooperlake", "REVISIT_BLAS_KERNELS": "auto"]) == nil)
        // …but `inherit` (and its old spelling `off`), a completed re-execution and an unknown policy keep it.
        for policy in ["inherit", "off", "fastest"] {
            #expect(
                BLASKernelSelection.preferredCoreType(
                    cpuFlags: Self.avx512, loadedCore: "Haswell",
                    environment: ["OPENBLAS_CORETYPE": "Haswell", "REVISIT_BLAS_KERNELS": policy]) == nil)
        }
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx512, loadedCore: "Haswell",
                environment: ["REVISIT_BLAS_REEXECUTED": "1", "REVISIT_BLAS_KERNELS": "auto"]) == nil)
    }

    @Test func theLoadedKernelsPassTheSelfCheck() {
        // Whatever kernels this process runs (the workplace's pin, OpenBLAS's detection or the
        // SkylakeX kernels when `make test` runs under them), they compute correctly.
        #expect(BLASKernelSelection.kernelsComputeCorrectly(), "OpenBLAS core \(BLAS.coreName)")
        #expect(
            BLASKernelSelection.kernelsComputeCorrectly(.oneDNN),
            "oneDNN with \(GEMMLibrary.oneDNNInstructionSet) kernels")
    }

    @Test func readsFlagsFromCpuinfo() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cpuinfo-\(getpid())").path
        try "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw\n\nprocessor\t: 1\nflags\t\t: other\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        #expect(BLASKernelSelection.cpuFlags(cpuinfo: path) == ["fpu", "avx2", "avx512f", "avx512bw"])
        #expect(BLASKernelSelection.cpuFlags(cpuinfo: "/nonexistent") == [])
        #expect(!BLASKernelSelection.cpuFlags().isEmpty, "/proc/cpuinfo has a flags line on Linux")
    }
}
