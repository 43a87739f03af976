import Layers
import Models
import Tensors

/// Data-parallel inference: a batch split into `shardCount` contiguous row ranges, each run
/// through its own copy of the model on its own thread (``BlockParallelism``), with OpenBLAS
/// single-threaded inside.
///
/// Why: at the batch sizes of scoring (64 to a few thousand rows) OpenBLAS's own threading
/// splits each small recurrent product and spends much of its time synchronising, while the
/// gate loops between products run on one core. Splitting the *batch* keeps both cores busy on
/// whole forward passes (Docs/PERFORMANCE.md). In inference mode every layer reads the
/// parameters and batch-norm running statistics only, so the copies share one
/// `ParameterStore`; each copy keeps its own activation buffers (the model is a value type).
/// The result is identical to one forward pass over the whole batch: rows never interact in
/// inference (batch norm uses its running statistics).
public final class ShardedInference {
    /// Per-shard state, one buffer per kind so that a shard's model, batch and outputs are
    /// separate memory locations (a forward pass takes them as separate `inout` arguments).
    struct Buffers: @unchecked Sendable {
        let models: UnsafeMutableBufferPointer<any Classifier>
        let batches: UnsafeMutableBufferPointer<ExampleBatch>
        let logits: UnsafeMutableBufferPointer<Tensor>
        let probabilities: UnsafeMutableBufferPointer<[Float]>
        let randoms: UnsafeMutableBufferPointer<SeededRandom>
        let rows: UnsafeMutableBufferPointer<Range<Int>>
        /// The shard's rows as gathered: `rows`, then its last row repeated up to the canonical size.
        let rowIndices: UnsafeMutableBufferPointer<[Int]>
    }

    /// What the worker threads share. Unchecked because the compiler cannot see the discipline
    /// that makes it safe: iteration `s` touches only index `s` of each buffer, and in inference
    /// mode the parameter store is only read; the caller's thread waits for every iteration.
    struct Context: @unchecked Sendable {
        let buffers: Buffers
        let parameters: ParameterStore
        let examples: ModelExamples
        /// true: each shard's raw logits (row-major), not P(order).
        let rawLogits: Bool
    }

    /// Shard `s` gathers its rows, runs its model copy and writes its probabilities.
    struct ShardTask: BlockTask {
        let context: UnsafePointer<Context>
        func run(block s: Int) {
            let c = context.pointee, b = c.buffers
            b.batches[s].gather(from: c.examples, rows: b.rowIndices[s][...])
            b.models[s].forward(
                b.batches[s].input, mode: .inference, random: &b.randoms[s], c.parameters, into: &b.logits[s])
            if c.rawLogits {
                b.probabilities[s] = b.logits[s].scalars
            } else {
                b.models[s].positiveProbabilities(b.logits[s], into: &b.probabilities[s])
            }
        }
    }

    public let parameters: ParameterStore
    /// The most shards a batch is cut into.
    public let shardCount: Int
    private let buffers: Buffers

    /// The fewest rows a shard gets (smaller shards run their products slower; see
    /// `RecurrentNetwork.minimumBlockRows`).
    public static let minimumShardRows = 32
    /// The shard count the scorer and the backtest use: with at most 8 shards of ≥ 32 rows, a
    /// batch is cut by its size alone, so scores do not depend on the thread count.
    public static let defaultShardCount = 8

    /// Shards for a batch of `rows`: ⌊rows / 32⌋, between 1 and `maximum`.
    public static func shards(rows: Int, maximum: Int) -> Int { max(1, min(rows / minimumShardRows, maximum)) }

    /// Up to `shardCount` copies of `model` (1 = the plain single forward pass).
    public init(model: any Classifier, parameters: ParameterStore, shardCount: Int) {
        precondition(shardCount >= 1, "ShardedInference: needs at least one shard, got \(shardCount)")
        self.parameters = parameters
        self.shardCount = shardCount
        func make<T>(_ value: T) -> UnsafeMutableBufferPointer<T> {
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: shardCount)
            buffer.initialize(repeating: value)
            return buffer
        }
        buffers = Buffers(
            models: make(model), batches: make(ExampleBatch()), logits: make(Tensor.zeros([0])),
            probabilities: make([]),
            randoms: make(SeededRandom(seed: 0)), rows: make(0..<0), rowIndices: make([]))
    }

    deinit {
        func free<T>(_ buffer: UnsafeMutableBufferPointer<T>) {
            buffer.baseAddress!.deinitialize(count: buffer.count)
            buffer.deallocate()
        }
        free(buffers.models)
        free(buffers.batches)
        free(buffers.logits)
        free(buffers.probabilities)
        free(buffers.randoms)
        free(buffers.rows)
        free(buffers.rowIndices)
    }

    /// P(order) for the rows `rows` (default: all) of `examples`, written into `probabilities`
    /// (resized to the row count).
    public func probabilities(_ examples: ModelExamples, rows: Range<Int>? = nil, into probabilities: inout [Float]) {
        run(examples, rows: rows, width: 1, rawLogits: false, into: &probabilities)
    }

    /// The raw logits of the rows `rows` (default: all), row-major `[rows, width]`, written into
    /// `logits` (resized): a hazard head's per-bin outputs (`width` = its bins).
    public func logits(_ examples: ModelExamples, rows: Range<Int>? = nil, width: Int, into logits: inout [Float]) {
        run(examples, rows: rows, width: width, rawLogits: true, into: &logits)
    }

    private func run(
        _ examples: ModelExamples, rows: Range<Int>?, width: Int, rawLogits: Bool, into probabilities: inout [Float]
    ) {
        let range = rows ?? 0..<examples.count
        let n = range.count
        if probabilities.count != n * width { probabilities = [Float](repeating: 0, count: n * width) }
        guard n > 0 else { return }
        // Canonical shards: runs of exactly `shardRows` rows, the last padded with copies of
        // its final row, in waves of up to `shardCount`. Every row then goes through products
        // of one shape, at one of the same 32 positions, whatever else is in the batch, so
        // its score is the same bits in a batch of 40 or of 4,000 (a dataset's partitions
        // scored one by one give the scores of the whole: Docs/ScaleOut.md).
        let shardRows = Self.minimumShardRows
        let total = (n + shardRows - 1) / shardRows
        var wave = 0
        while wave < total {
            let used = min(shardCount, total - wave)
            for s in 0..<used {
                let start = range.lowerBound + (wave + s) * shardRows
                let end = min(range.upperBound, start + shardRows)
                buffers.rows[s] = start..<end
                buffers.rowIndices[s].removeAll(keepingCapacity: true)
                buffers.rowIndices[s].append(contentsOf: start..<end)
                buffers.rowIndices[s].append(contentsOf: repeatElement(end - 1, count: shardRows - (end - start)))
            }
            let context = Context(buffers: buffers, parameters: parameters, examples: examples, rawLogits: rawLogits)
            withUnsafePointer(to: context) { BlockParallelism.forEach(used, ShardTask(context: $0)) }
            probabilities.withUnsafeMutableBufferPointer { out in
                for s in 0..<used {
                    let real = buffers.rows[s].count * width
                    let offset = (buffers.rows[s].lowerBound - range.lowerBound) * width
                    buffers.probabilities[s].withUnsafeBufferPointer { part in
                        precondition(
                            part.count == shardRows * width,
                            "ShardedInference: a shard gave \(part.count) values for \(shardRows) rows × \(width)")
                        (out.baseAddress! + offset).update(from: part.baseAddress!, count: real)
                    }
                }
            }
            wave += used
        }
    }
}
