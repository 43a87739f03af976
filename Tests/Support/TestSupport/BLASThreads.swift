import Foundation
import Tensors

/// Serialises changes to OpenBLAS's thread count, which is process-wide, across tests that run
/// in parallel. Tests that change the count, or depend on it staying put (allocation counts:
/// OpenBLAS 0.3.21 mallocs inside multi-threaded sgemm calls), run their body through here.
public enum BLASThreads {
    private static let lock = NSLock()

    /// Runs `body` with OpenBLAS on `count` threads, then restores the previous count.
    public static func with<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        let previous = BLAS.threadCount
        BLAS.threadCount = count
        defer { BLAS.threadCount = previous }
        return try body()
    }
}
