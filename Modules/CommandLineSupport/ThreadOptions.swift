import ArgumentParser
import Tensors

/// `--threads`, shared by every tool that trains or scores (`@OptionGroup`): one default, one
/// help text and one check. The count changes the speed, never a result (Docs/PERFORMANCE.md),
/// so the default is every core the process may use.
public struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads (default: every core this process may use). The results do not depend on the count.")
    public var threads = BlockParallelism.availableCores

    public init() {}

    public func validate() throws {
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be in 1...64") }
    }

    /// Sets the process-wide thread count (`BlockParallelism`) that the row blocks, Adam's
    /// chunks, inference shards and XGBoost read: the one route from the flag to the threads.
    public func apply() { BlockParallelism.useThreads(threads) }
}
