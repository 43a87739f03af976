import Foundation
import Tensors
import Testing

@Suite("Choosing OpenBLAS's AVX-512 kernels")
struct BLASKernelSelectionTests {
    static let avx2Only: Set<String> = ["sse4_2", "avx", "avx2", "fma"]
    static let avx512 = avx2Only.union(BLASKernelSelection.skylakeXFlags)

    @Test func avx512CPUsRunningAVX2KernelsGetSkylakeX() {
        #expect(BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Haswell", environment: [:]) == "SkylakeX")
        #expect(BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Zen", environment: [:]) == "SkylakeX")
    }

    @Test func everythingElseIsLeftAlone() {
        // No AVX-512: the fallback kernels are the right ones.
        #expect(BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx2Only, loadedCore: "Zen", environment: [:]) == nil)
        // Partial AVX-512 (no BW/VL) cannot run SkylakeX kernels.
        #expect(BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx2Only.union(["avx512f"]), loadedCore: "Haswell", environment: [:]) == nil)
        // Already on AVX-512 kernels.
        #expect(BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "SkylakeX", environment: [:]) == nil)
        // The user's explicit choice, a completed re-execution, and the off switch all win.
        #expect(BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Haswell", environment: ["OPENBLAS_CORETYPE": "Haswell"]) == nil)
        #expect(BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Haswell", environment: ["REVISIT_BLAS_REEXECUTED": "1"]) == nil)
        #expect(BLASKernelSelection.preferredCoreType(cpuFlags: Self.avx512, loadedCore: "Haswell", environment: ["REVISIT_BLAS_KERNELS": "off"]) == nil)
    }

    @Test func readsFlagsFromCpuinfo() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cpuinfo-\(getpid())").path
        try "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw\n\nprocessor\t: 1\nflags\t\t: other\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(BLASKernelSelection.cpuFlags(cpuinfo: path) == ["fpu", "avx2", "avx512f", "avx512bw"])
        #expect(BLASKernelSelection.cpuFlags(cpuinfo: "/nonexistent") == [])
        #expect(!BLASKernelSelection.cpuFlags().isEmpty, "/proc/cpuinfo has a flags line on Linux")
    }
}
