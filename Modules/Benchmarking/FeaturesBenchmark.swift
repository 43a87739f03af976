import Dataset
import Features
import Foundation

/// Example building at scale: a deterministic synthetic visit log (``SyntheticVisitLog``) of
/// 1M visits, 50,000 customers and two years, indexed, cut into weekly as-of examples for every
/// customer with history, fitted, and turned into model tensors batch by batch (the way a
/// trainer consumes them, so memory stays that of the index plus one batch).
public enum FeaturesBenchmark {
    /// Seconds per stage and throughput of one run.
    public struct Result: Codable {
        public var customers: Int
        public var visits: Int
        public var asOfDates: Int
        public var examples: Int
        public var padded: Int
        /// Generating the dataset in memory (not part of feature building).
        public var generateSeconds: Double
        /// `VisitHistory(dataset:)`: sorting check, rep ids, the seven features of every visit.
        public var indexSeconds: Double
        /// `ExampleBuilder.build` over the weekly grid.
        public var buildSeconds: Double
        /// Building the training set (label windows closed by the last Monday) and
        /// `FeaturePipeline.fit` on it.
        public var fitSeconds: Double
        /// Every example's sequence, mask, static, aggregate and label tensors, in batches.
        public var tensorSeconds: Double
        public var batchSize: Int
        /// Peak resident set size of the process so far (getrusage), MiB.
        public var peakRSSMiB: Double

        /// Index + build: "building weekly examples".
        public var examplesSeconds: Double { indexSeconds + buildSeconds }
    }

    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024  // Linux reports KiB
    }

    /// Runs every stage once.
    public static func run(
        customers: Int = 50_000, visits: Int = 1_000_000, days: Int = 730, batchSize: Int = 4096,
        seed: UInt64 = 42, progress: (String) -> Void
    ) -> Result {
        var start = Measurement.now()
        let dataset = SyntheticVisitLog.generate(customers: customers, visits: visits, days: days, seed: seed)
        let generateSeconds = Measurement.now() - start
        progress(
            "generated \(dataset.visits.count) visits, \(dataset.customers.count) customers in \(format(generateSeconds)) s"
        )

        start = Measurement.now()
        let history = VisitHistory(dataset: dataset)
        let indexSeconds = Measurement.now() - start
        progress("indexed in \(format(indexSeconds)) s")

        start = Measurement.now()
        let grid = AsOfGrid.weekly(covering: history)
        let builder = ExampleBuilder(history: history)
        let set = builder.build(grid: grid)
        let buildSeconds = Measurement.now() - start
        let dates = grid.dates(in: history)
        progress("\(set.count) weekly examples over \(dates.count) Mondays in \(format(buildSeconds)) s")

        start = Measurement.now()
        let training = builder.build(grid: grid, trainingCutoff: dates.last ?? Day(ordinal: 0))
        let pipeline = FeaturePipeline.fit(training: training, history: history)
        let fitSeconds = Measurement.now() - start
        progress("fitted on \(training.count) training examples in \(format(fitSeconds)) s")

        start = Measurement.now()
        // The encoder's constructor resolves codes once; batches then reuse it.
        let encoder = try! pipeline.encoder(for: history)
        var checksum: Float = 0
        var offset = 0
        while offset < set.count {
            let batch = encoder.tensors(for: set, range: offset..<min(offset + batchSize, set.count))
            checksum += batch.labels.scalars.reduce(0, +)
            offset += batchSize
        }
        let tensorSeconds = Measurement.now() - start
        progress("tensors for \(set.count) examples in \(format(tensorSeconds)) s (label sum \(checksum))")

        return Result(
            customers: dataset.customers.count, visits: dataset.visits.count, asOfDates: dates.count,
            examples: set.count,
            padded: set.counts.padded, generateSeconds: generateSeconds, indexSeconds: indexSeconds,
            buildSeconds: buildSeconds,
            fitSeconds: fitSeconds, tensorSeconds: tensorSeconds, batchSize: batchSize, peakRSSMiB: peakRSSMiB())
    }

    static func format(_ seconds: Double) -> String { String(format: "%.3f", seconds) }

    /// The Markdown table PERFORMANCE.md records.
    public static func table(_ result: Result) -> String {
        func rate(_ seconds: Double) -> String { String(format: "%.2f M/s", Double(result.examples) / seconds / 1e6) }
        return """
            \(result.visits) visits, \(result.customers) customers, \(result.asOfDates) weekly as-of dates → \
            \(result.examples) examples (\(result.padded) padded)

            | stage | seconds | examples/s |
            |---|---:|---:|
            | generate the synthetic log (not feature work) | \(format(result.generateSeconds)) | |
            | index (`VisitHistory`: the seven features of every visit) | \(format(result.indexSeconds)) | |
            | build weekly examples (`ExampleBuilder.build`) | \(format(result.buildSeconds)) | \(rate(result.buildSeconds)) |
            | **index + build** | **\(format(result.examplesSeconds))** | **\(rate(result.examplesSeconds))** |
            | fit the pipeline (training rows only) | \(format(result.fitSeconds)) | |
            | all tensors, batches of \(result.batchSize) | \(format(result.tensorSeconds)) | \(rate(result.tensorSeconds)) |

            peak RSS \(String(format: "%.0f", result.peakRSSMiB)) MiB
            """
    }
}
