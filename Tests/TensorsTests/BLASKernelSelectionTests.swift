import Foundation
import Tensors
import Testing

@Suite("Choosing OpenBLAS's AVX-512 kernels")
struct BLASKernelSelectionTests {
    static let avx2Only: Set<String> = ["sse4_2", "avx", "avx2", "fma"]
    static let avx512 = avx2Only.union(BLASKernelSelection.skylakeXFlags)

    @Test func avx512CPUsRunningAVX2KernelsGetSkylakeX() {
        #expect(
            BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Haswell", environment: [:])
                == "SkylakeX")
        #expect(
            BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Zen", environment: [:])
                == "SkylakeX")
        // An inherited pin to slower kernels is overridden under the default policy…
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx512, loadedCore: "Haswell",
                environment: ["OPENBLAS_CORETYPE": "Haswell"]) == "SkylakeX")
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx512, loadedCore: "Haswell",
                environment: ["REVISIT_BLAS_KERNELS": "auto"]) == "SkylakeX")
    }

    @Test func everythingElseIsLeftAlone() {
        // No AVX-512: the fallback kernels are the right ones.
        #expect(
            BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx2Only, loadedCore: "Zen", environment: [:]) == nil)
        // Partial AVX-512 (no BW/VL) cannot run SkylakeX kernels.
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx2Only.union(["avx512f"]), loadedCore: "Haswell", environment: [:]) == nil)
        // Already on AVX-512 kernels (by detection or by the user's choice).
        #expect(
            BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "SkylakeX", environment: [:])
                == nil)
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx512, loadedCore: "Cooperlake",
                environment: ["OPENBLAS_CORETYPE": "Cooperlake"]) == nil)
        // …but `inherit` (and its old spelling `off`), a completed re-execution and an unknown policy keep it.
        for policy in ["inherit", "off", "fastest"] {
            #expect(
                BLASKernelSelection.preferredCoreType(
                    cpuFlags: Self.avx512, loadedCore: "Haswell",
                    environment: ["OPENBLAS_CORETYPE": "Haswell", "REVISIT_BLAS_KERNELS": policy]) == nil)
        }
        #expect(
            BLASKernelSelection.preferredCoreType(
                cpuFlags: Self.avx512, loadedCore: "Haswell", environment: ["REVISIT_BLAS_REEXECUTED": "1"]) == nil)
    }

    @Test func theLoadedKernelsPassTheSelfCheck() {
        // Whatever kernels this process runs (the workplace's pin, OpenBLAS's detection or the
        // SkylakeX kernels when `make test` runs under them), they compute correctly.
        #expect(BLASKernelSelection.kernelsComputeCorrectly(), "OpenBLAS core \(BLAS.coreName)")
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
