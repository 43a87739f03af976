import CBlockParallelism
import Foundation

/// Work cut into independent blocks (a batch's row blocks, an arena's chunks), for
/// ``BlockParallelism/forEach(_:_:)``. `run(block:)` must touch only what block `block` owns
/// (its rows, its buffers) and read what is shared.
///
/// A task is a small value that points at its data, not a closure: a closure handed to another
/// thread must escape, and an escaping closure is a heap allocation on every call (even through
/// `withoutActuallyEscaping` in debug builds), where a training step must allocate nothing.
public protocol BlockTask {
    func run(block: Int)
}

/// Runs the blocks of a ``BlockTask`` on as many cores as OpenBLAS may use, with OpenBLAS
/// single-threaded inside each block.
///
/// Why: at the sizes Revisit trains on, one multi-threaded OpenBLAS call per small product
/// spends much of its time synchronising its threads (and mallocs a job array each time), and
/// the elementwise loops between products run on one core. Splitting the *work* instead keeps
/// every core busy on whole blocks, with no synchronisation until the blocks are done
/// (Docs/PERFORMANCE.md measures the difference). The threads are Revisit's own
/// (`CBlockParallelism`): created once, spinning for ``spinMicroseconds`` and then asleep
/// between sections, no allocation per section.
///
/// The thread budget is ``threadCount``, which the tools set from `--threads` through
/// ``useThreads(_:)``, leaving OpenBLAS single-threaded everywhere: every product then runs on
/// the thread that asks for it, inside a block or not, and OpenBLAS's own workers stay asleep
/// (measured: once woken by one multi-threaded product, they spin in `sched_yield` for a while
/// and take CPU from the blocks). With one thread (or one block) the blocks run in order on the
/// calling thread. A block's result never depends on the thread count, only on the partition,
/// which callers choose from the data's size alone. Calls from inside a block run inline.
public enum BlockParallelism {
    /// Threads that run a section's blocks, the calling thread included. Process-wide, like
    /// OpenBLAS's own setting; change it through ``useThreads(_:)`` or ``withThreads(_:_:)``.
    nonisolated(unsafe) public private(set) static var threadCount = 1

    /// Every core this process may run on (at most 64): the tools' default `--threads`, since
    /// the thread count changes no result.
    public static var availableCores: Int { max(1, min(ProcessInfo.processInfo.activeProcessorCount, 64)) }

    /// How long a waiting thread spins before it sleeps, in microseconds (`CBlockParallelism`):
    /// `REVISIT_SPIN_MICROSECONDS` (0 … 10000) or 100. Spinning saves the tens of microseconds a
    /// sleeping thread takes to wake on these VMs, paid at every section's start and end
    /// (Docs/PERFORMANCE.md, "Waking the workers"); 0 sleeps at once, for machines running more
    /// threads than cores.
    public static var spinMicroseconds: Int {
        get { revisit_parallel_spin_microseconds() }
        set { revisit_set_parallel_spin_microseconds(newValue) }
    }

    /// Stops the process with a message that names the accepted range when
    /// `REVISIT_SPIN_MICROSECONDS` is set to anything but a whole number in 0 … 10000: a misspelt
    /// setting must not silently measure the default. Tools call it first (with the other
    /// kernel settings, ``BLASKernelSelection``).
    public static func validateSpinSetting(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let message = spinSettingError(environment["REVISIT_SPIN_MICROSECONDS"]) {
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            exit(2)
        }
    }

    /// Why `value` is not an accepted `REVISIT_SPIN_MICROSECONDS`, or nil when it is (or unset).
    public static func spinSettingError(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        let limit = Int(REVISIT_MAXIMUM_SPIN_MICROSECONDS)
        if let number = Int(value), (0...limit).contains(number) { return nil }
        return
            "REVISIT_SPIN_MICROSECONDS='\(value)' is not a whole number of microseconds in 0…\(limit) (unset: \(REVISIT_DEFAULT_SPIN_MICROSECONDS))"
    }

    /// Gives the blocks `threads` threads and OpenBLAS one. Tools call it once, from `--threads`.
    public static func useThreads(_ threads: Int) {
        precondition(threads >= 1, "BlockParallelism: needs at least 1 thread, got \(threads)")
        threadCount = threads
        BLAS.threadCount = 1
    }

    /// Runs `body` with ``useThreads(_:)``'s configuration for `threads`, then restores the
    /// previous one, holding the lock of ``BLAS/withThreadCount(_:_:)`` (tests run in parallel).
    public static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        try BLAS.withThreadCount(1) {
            let previous = threadCount
            threadCount = threads
            defer { threadCount = previous }
            return try body()
        }
    }

    /// Calls `task.run(block:)` for every block in `0..<count`, concurrently when more than one
    /// thread is available, and returns when all are done.
    public static func forEach<Task: BlockTask>(_ count: Int, _ task: Task) {
        let threads = revisit_in_parallel_block() != 0 ? 1 : threadCount
        if count <= 1 || threads <= 1 {
            for block in 0..<count { task.run(block: block) }
            return
        }
        // An existential keeps the C callback free of generic parameters; tasks are a pointer
        // or two, so it fits the existential's inline buffer (no allocation).
        // (No local closure for the call below: one capturing `erased` would box it on the heap.)
        var erased: any BlockTask = task
        // Inside a block OpenBLAS must be single-threaded; it already is unless a caller (the
        // sgemm benchmark) gave it threads of its own.
        if BLAS.threadCount == 1 {
            withUnsafeMutablePointer(to: &erased) {
                revisit_parallel_blocks(count, threads, runErasedBlock, UnsafeMutableRawPointer($0))
            }
        } else {
            BLAS.withThreadCount(1) {
                withUnsafeMutablePointer(to: &erased) {
                    revisit_parallel_blocks(count, threads, runErasedBlock, UnsafeMutableRawPointer($0))
                }
            }
        }
    }
}

/// The C callback: `context` points at an `any BlockTask`.
private func runErasedBlock(_ context: UnsafeMutableRawPointer?, _ block: Int) {
    context!.assumingMemoryBound(to: (any BlockTask).self).pointee.run(block: block)
}
