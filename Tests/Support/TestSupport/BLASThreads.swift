import Foundation
import Tensors

/// Serialises changes to OpenBLAS's thread count, which is process-wide, across tests that run
/// in parallel. Tests that change the count, or depend on it staying put (allocation counts:
/// OpenBLAS 0.3.21 mallocs inside multi-threaded sgemm calls), run their body through here.
public enum BLASThreads {
    /// Runs `body` with OpenBLAS on `count` threads, then restores the previous count, holding
    /// the lock that `BlockParallelism` takes too (`BLAS.withThreadCount`).
    public static func with<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        try BLAS.withThreadCount(count, body)
    }

    /// Runs `body` with the products on OpenBLAS at one thread, the configuration in which a
    /// product allocates nothing, for the tests that count Revisit's own allocations. oneDNN's
    /// `dnnl_sgemm`, the default, takes its packing workspace from malloc on every call and
    /// frees it before returning; `AllocationTests.oneDNNProductsFreeWhatTheyAllocate` holds
    /// it to exactly that.
    public static func withAllocationFreeProducts<R>(_ body: () throws -> R) rethrows -> R {
        try BLAS.withLibrary(.openBLAS) { try BLAS.withThreadCount(1, body) }
    }
}
