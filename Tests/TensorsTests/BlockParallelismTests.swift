import CBlockParallelism
import Foundation
import Synchronization
import Tensors
import TestSupport
import Testing

/// `BlockParallelism` and the worker threads behind it (`CBlockParallelism`).
@Suite("Block parallelism")
struct BlockParallelismTests {
    /// Counts how often each block ran and on how many distinct threads, and what OpenBLAS's
    /// thread count was inside the blocks.
    struct CountingTask: BlockTask {
        let runs: UnsafeMutablePointer<Atomic<Int>>  // [count]
        let blasThreadsSeen: UnsafeMutablePointer<Atomic<Int>>  // the largest BLAS.threadCount seen
        let work: Int
        func run(block: Int) {
            runs[block].add(1, ordering: .relaxed)
            blasThreadsSeen.pointee.max(BLAS.threadCount, ordering: .relaxed)
            var x = 0.0
            for i in 0..<work { x += Double(i & 7) }  // some work, so that blocks overlap
            if x < 0 { print(x) }
        }
    }

    static func runCounting(count: Int, threads: Int, work: Int = 20_000) -> (runs: [Int], blasThreads: Int) {
        let runs = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: max(count, 1))
        for i in 0..<max(count, 1) { (runs + i).initialize(to: Atomic(0)) }
        let seen = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
        seen.initialize(to: Atomic(0))
        defer { runs.deallocate(); seen.deallocate() }
        BlockParallelism.withThreads(threads) {
            BlockParallelism.forEach(count, CountingTask(runs: runs, blasThreadsSeen: seen, work: work))
        }
        return ((0..<count).map { runs[$0].load(ordering: .relaxed) }, seen.pointee.load(ordering: .relaxed))
    }

    @Test(arguments: [1, 2, 3, 8], [0, 1, 2, 5, 17, 64])
    func everyBlockRunsExactlyOnce(threads: Int, count: Int) {
        let result = Self.runCounting(count: count, threads: threads)
        #expect(result.runs == [Int](repeating: 1, count: count))
        if count > 0 { #expect(result.blasThreads == 1, "OpenBLAS is single-threaded inside a block") }
    }

    @Test func theBlocksRunOnSeveralThreads() {
        // Record each block's thread; with two threads and many slow blocks, both take part.
        struct ThreadTask: BlockTask {
            let threads: UnsafeMutablePointer<UInt>  // [count]
            func run(block: Int) {
                threads[block] = UInt(pthread_self())
                usleep(2_000)
            }
        }
        let count = 16
        let threads = UnsafeMutablePointer<UInt>.allocate(capacity: count)
        threads.initialize(repeating: 0, count: count)
        defer { threads.deallocate() }
        BlockParallelism.withThreads(2) { BlockParallelism.forEach(count, ThreadTask(threads: threads)) }
        #expect(Set(UnsafeBufferPointer(start: threads, count: count)).count == 2)
    }

    @Test func aSectionInsideABlockRunsInline() {
        struct Outer: BlockTask {
            let inner: UnsafeMutablePointer<Atomic<Int>>
            func run(block: Int) {
                let seen = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
                seen.initialize(to: Atomic(0))
                defer { seen.deallocate() }
                BlockParallelism.forEach(
                    3, BlockParallelismTests.CountingTask(runs: inner + 3 * block, blasThreadsSeen: seen, work: 10))
            }
        }
        let inner = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 12)
        for i in 0..<12 { (inner + i).initialize(to: Atomic(0)) }
        defer { inner.deallocate() }
        BlockParallelism.withThreads(2) { BlockParallelism.forEach(4, Outer(inner: inner)) }
        #expect((0..<12).map { inner[$0].load(ordering: .relaxed) } == [Int](repeating: 1, count: 12))
    }

    @Test func concurrentCallersTakeTurns() {
        // Four plain threads start sections at once; every section completes with every block once.
        let total = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 4 * 9)
        for i in 0..<(4 * 9) { (total + i).initialize(to: Atomic(0)) }
        defer { total.deallocate() }
        let address = UInt(bitPattern: total)  // a pointer is not Sendable; its address is
        BlockParallelism.withThreads(2) {
            DispatchQueue.concurrentPerform(iterations: 4) { caller in
                let total = UnsafeMutablePointer<Atomic<Int>>(bitPattern: address)!
                let seen = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
                seen.initialize(to: Atomic(0))
                defer { seen.deallocate() }
                BlockParallelism.forEach(9, CountingTask(runs: total + 9 * caller, blasThreadsSeen: seen, work: 5_000))
            }
        }
        #expect((0..<36).map { total[$0].load(ordering: .relaxed) } == [Int](repeating: 1, count: 36))
    }

    @Test func withThreadsRestoresTheConfiguration() {
        BLAS.withThreadCount(3) {
            let before = BlockParallelism.threadCount
            BlockParallelism.withThreads(2) {
                #expect(BlockParallelism.threadCount == 2 && BLAS.threadCount == 1)
            }
            #expect(BlockParallelism.threadCount == before && BLAS.threadCount == 3)
        }
    }
}

/// The spin budget of the waiting threads: one process-wide setting, so these tests run one at
/// a time.
@Suite("Block parallelism: spin budget", .serialized)
struct BlockParallelismSpinTests {
    /// The spin budget changes when a waiting thread sleeps, never what runs: back-to-back
    /// sections (workers caught spinning) and sections after a pause longer than the budget
    /// (workers asleep, woken through the condition variable) each run every block once.
    @Test(arguments: [0, 100, 10_000])
    func sectionsCompleteWhateverTheSpinBudget(microseconds: Int) {
        let previous = BlockParallelism.spinMicroseconds
        BlockParallelism.spinMicroseconds = microseconds
        defer { BlockParallelism.spinMicroseconds = previous }
        #expect(BlockParallelism.spinMicroseconds == microseconds)
        for section in 0..<60 {
            if section % 20 == 19 { usleep(useconds_t(microseconds + 5_000)) }  // past the budget: asleep
            let result = BlockParallelismTests.runCounting(count: 5, threads: 2, work: section % 3 == 0 ? 0 : 2_000)
            #expect(result.runs == [1, 1, 1, 1, 1], "section \(section)")
        }
    }

    @Test func theSpinSettingIsAWholeNumberOfMicrosecondsInRange() {
        for accepted in [nil, "", "0", "100", "10000"] {
            #expect(BlockParallelism.spinSettingError(accepted) == nil, "\(accepted ?? "unset")")
        }
        for refused in ["-1", "10001", "1.5", "fast", "100us"] {
            let message = BlockParallelism.spinSettingError(refused)
            #expect(message?.contains("REVISIT_SPIN_MICROSECONDS='\(refused)'") == true)
            #expect(message?.contains("0…10000") == true)
        }
        let previous = BlockParallelism.spinMicroseconds
        defer { BlockParallelism.spinMicroseconds = previous }
        BlockParallelism.spinMicroseconds = 20_000
        #expect(BlockParallelism.spinMicroseconds == 10_000, "clamped to the maximum")
    }
}
