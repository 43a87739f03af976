import ArgumentParser
import Formats
import Benchmarking
import Evaluation
import Foundation
import Tensors

/// `revisit-bench`: release-mode benchmarks, printed beside the references in ../shared/bench.
/// The measuring code lives in Modules/Benchmarking; `make bench` drives the comparison.
@main
struct RevisitBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revisit-bench",
        abstract: "Release-mode benchmarks of Revisit, for comparison with ../shared/bench.",
        version: RevisitVersion.current,
        subcommands: [GEMM.self, Train.self, Profile.self, FeaturesBench.self, BLASInfo.self, Quality.self])

    init() {}

    static func main() {
        BLASKernelSelection.reexecuteWithFastestKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

struct Quality: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The quality table: a backtest report beside quality_reference.py's results on the same folds.",
        discussion: "`make quality` runs both and then this. Prints Markdown: one row per model, then the bars checked."
    )

    @Option(help: "report.json of `evaluator backtest` on the log.")
    var report: String
    @Option(help: "The JSON written by ../shared/bench/quality_reference.py --out.")
    var reference: String
    @Option(help: "Optional: report.json of the backtest on Fixtures/sample (printed beside its ceiling).")
    var sample: String?

    func run() throws {
        let comparison = try QualityComparison(revisitReport: report, reference: reference)
        print(comparison.table())
        print("")
        if let mismatch = comparison.foldMismatch { print("warning: \(mismatch)") }
        for line in comparison.verdict() { print("- \(line)") }
        if let sample {
            let report = try EvaluationReport.decode(json: [UInt8](Data(contentsOf: URL(fileURLWithPath: sample))))
            let rows = QualityComparison.rows(of: report, source: "Fixtures/sample")
            print("\n| Fixtures/sample | folds | mean ROC-AUC | mean AP | mean Brier |\n|---|---:|---:|---:|---:|")
            for row in rows {
                print(
                    "| \(row.model) | \(row.folds) | \(QualityComparison.number(row.rocAUC)) | \(QualityComparison.number(row.averagePrecision)) | \(QualityComparison.number(row.brier, 5)) |"
                )
            }
            print("")
            for line in QualityComparison.sampleVerdict(rows) { print("- \(line)") }
        }
    }
}

struct GEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "sgemm GFLOP/s through the Tensors API and direct cblas_sgemm (1 and 2 threads).",
        discussion: """
            Run it before and after gemm_reference.py, then once more with --pool and --reference \
            (`make bench` does this) for the side-by-side table with ratios.
            """)

    @Option(parsing: .unconditional, help: "Repetitions per shape (the median is reported).")
    var repetitions = 7

    @Option(parsing: .unconditional, help: "Approximate seconds per repetition.")
    var seconds = 0.3

    @Option(
        parsing: .unconditional,
        help: "Seconds of sustained 1024² products before measuring each thread count (0: measure from idle).")
    var warmUp = 3.0

    @Option(help: "Write the measurements as JSON to this file.")
    var json: String?

    @Option(help: "numpy reference JSON (GEMM_JSON of gemm_reference.py); prints the comparison table.")
    var reference: String?

    @Option(parsing: .upToNextOption, help: "Earlier `gemm --json` outputs to pool with this run in the table.")
    var pool: [String] = []

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard warmUp >= 0 else { throw ValidationError("--warm-up cannot be negative") }
    }

    func run() throws {
        FileHandle.standardError.write(Data("OpenBLAS: \(BLAS.configuration) (core \(BLAS.coreName))\n".utf8))
        let rows = GEMMBenchmark.run(
            threadCounts: [1, 2], repetitions: repetitions, secondsPerRepetition: seconds, warmUpSeconds: warmUp
        ) {
            FileHandle.standardError.write(Data("  \($0)\n".utf8))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let json { try encoder.encode(rows).write(to: URL(fileURLWithPath: json), options: .atomic) }
        var runs = [rows]
        for path in pool {
            runs.append(
                try JSONDecoder().decode([GEMMBenchmark.Row].self, from: Data(contentsOf: URL(fileURLWithPath: path))))
        }
        let medians = try reference.map {
            try GEMMBenchmark.referenceMedians(fromJSON: Data(contentsOf: URL(fileURLWithPath: $0)))
        }
        print("OpenBLAS core: \(BLAS.coreName); Swift runs pooled: \(runs.count)")
        print(GEMMBenchmark.table(swift: runs, reference: medians))
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "CNN-LSTM and 2-layer LSTM training and inference samples/s, as torch_reference.py measures PyTorch's.",
        discussion: "`make bench` runs it before and after `torch_reference.py --threads 2` and pools the two runs.")

    @Option(parsing: .unconditional, help: "OpenBLAS threads (torch_reference.py is compared at --threads 2).")
    var threads = 2

    @Option(parsing: .unconditional, help: "Repetitions per measure (the median is reported).")
    var repetitions = 5

    @Option(help: "Write the measurements as JSON to this file.")
    var json: String?

    @Option(help: "PyTorch reference JSON (torch_reference.py --json); prints the comparison table.")
    var reference: String?

    @Option(parsing: .upToNextOption, help: "Earlier `train --json` outputs to pool with this run in the table.")
    var pool: [String] = []

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
    }

    func run() throws {
        let report = { (line: String) in FileHandle.standardError.write(Data("  \(line)\n".utf8)) }
        let result = [
            ModelBenchmark.runCNNLSTM(threads: threads, repetitions: repetitions, progress: report),
            ModelBenchmark.runStackedLSTM(threads: threads, repetitions: repetitions, progress: report)
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let json { try encoder.encode(result).write(to: URL(fileURLWithPath: json), options: .atomic) }
        var runs = [result]
        for path in pool {
            runs.append(
                try JSONDecoder().decode(
                    [ModelBenchmark.Result].self, from: Data(contentsOf: URL(fileURLWithPath: path))))
        }
        let medians = try reference.map {
            try ModelBenchmark.referenceMedians(fromJSON: Data(contentsOf: URL(fileURLWithPath: $0)))
        }
        print("OpenBLAS core: \(BLAS.coreName), \(threads) threads; Revisit runs pooled: \(runs.count)")
        print(ModelBenchmark.table(swift: runs, reference: medians))
    }
}

struct FeaturesBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Weekly as-of example building on a synthetic 1M-visit log: seconds per stage, examples/s, peak RSS.",
        discussion: """
            Generates the log in memory from a seed (no files), so runs are comparable. Measure peak memory \
            from outside too: `/usr/bin/time -v .build/release/revisit-bench features`.
            """)

    @Option(parsing: .unconditional, help: "Customers in the synthetic log.")
    var customers = 50_000

    @Option(parsing: .unconditional, help: "Approximate visits in the synthetic log.")
    var visits = 1_000_000

    @Option(parsing: .unconditional, help: "Days the log spans.")
    var days = 730

    @Option(parsing: .unconditional, help: "Examples per tensor batch.")
    var batchSize = 4096

    @Option(help: "Write the measurements as JSON to this file.")
    var json: String?

    func validate() throws {
        guard customers >= 1, visits >= customers else { throw ValidationError("need at least one visit per customer") }
        guard days >= 7 else { throw ValidationError("--days must be at least 7") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let result = FeaturesBenchmark.run(customers: customers, visits: visits, days: days, batchSize: batchSize) {
            FileHandle.standardError.write(Data("  \($0)\n".utf8))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json), options: .atomic)
        }
        print(FeaturesBenchmark.table(result))
    }
}

struct Profile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one model measure alone, for a profiler.",
        discussion: "e.g. `perf record -g .build/release/revisit-bench profile --inference --batch 64`.")

    enum ProfiledModel: String, ExpressibleByArgument, CaseIterable {
        case cnnLSTM = "cnn_lstm"
        case lstm2
    }

    @Option(help: "The model, as torch_reference.py names it: cnn_lstm or lstm2.")
    var model = ProfiledModel.cnnLSTM

    @Flag(help: "Inference instead of a training step.")
    var inference = false

    @Option(parsing: .unconditional, help: "Batch size.")
    var batch = 64

    @Option(parsing: .unconditional, help: "Threads.")
    var threads = 2

    @Option(parsing: .unconditional, help: "Approximate seconds to run (after a warm-up of a quarter of that).")
    var seconds = 10.0

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    func run() {
        let rate =
            switch model {
            case .cnnLSTM:
                ModelBenchmark.profileCNNLSTM(training: !inference, batch: batch, threads: threads, seconds: seconds)
            case .lstm2:
                ModelBenchmark.profileStackedLSTM(
                    training: !inference, batch: batch, threads: threads, seconds: seconds)
            }
        print(
            String(
                format: "%@ %@ batch %d, %d threads: %.0f samples/s", model.rawValue,
                inference ? "inference" : "training", batch, threads, rate))
    }
}

struct BLASInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas-info",
        abstract: "Print the library behind the matrix products, the OpenBLAS build and the kernel family in use.")

    func run() {
        switch GEMMLibrary.current {
        case .oneDNN: print("matrix products: oneDNN (\(GEMMLibrary.oneDNNInstructionSet) kernels)")
        case .openBLAS: print("matrix products: OpenBLAS (REVISIT_GEMM=openblas)")
        }
        print("core: \(BLAS.coreName)")
        print("config: \(BLAS.configuration)")
        let environment = ProcessInfo.processInfo.environment
        print("OPENBLAS_CORETYPE: \(environment["OPENBLAS_CORETYPE"] ?? "(unset)")")
        if let inherited = environment["REVISIT_INHERITED_OPENBLAS_CORETYPE"] {
            print(
                "inherited OPENBLAS_CORETYPE: \(inherited.isEmpty ? "(unset)" : inherited) (replaced by REVISIT_BLAS_KERNELS=auto)"
            )
        }
        print("REVISIT_BLAS_KERNELS: \(environment["REVISIT_BLAS_KERNELS"] ?? "(unset: inherit)")")
        if environment["REVISIT_CPUINFO"] == nil {
            print("self-check: \(BLASKernelSelection.kernelsComputeCorrectly() ? "passed" : "FAILED")")
            print("oneDNN self-check: \(BLASKernelSelection.kernelsComputeCorrectly(.oneDNN) ? "passed" : "FAILED")")
        }
    }
}
