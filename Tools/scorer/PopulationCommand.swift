import ArgumentParser
import CommandLineSupport
import Dataset
import Formats
import Foundation
import Workflow

/// `scorer population`: the whole dataset's population fit at each as-of date, for
/// `scorer --partial --population` in every partition. All logic is in `Workflow.PopulationFile`.
struct ScorerPopulationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scorer population",
        abstract: "Fit the whole dataset's population (BG/NBD at each as-of date) for scoring its partitions.",
        discussion: """
            The time-aware inputs (bgnbd_p_alive, bgnbd_p_purchase) come from BG/NBD fitted over \
            the customers of the whole dataset at each as-of date (at most 20,000, sampled by id \
            hash). A partition holds a fraction of them, so it is scored with this fit rather than \
            its own. A partitioned dataset is read one partition at a time, or — so that no machine \
            reads them all — each partition's sampled observations are written where it is (\
            `--partition K --observations`, a Spark task) and fitted from those files \
            (`--from-observations`): the same file either way. Docs/ScaleOut.md.

            Exit codes: 0 written, 1 bad usage, 2 bad dataset, 4 cannot write.

            Examples:
              scorer population --dataset parts/ --as-of 2020-01-06 --out population.json
              scorer population --dataset parts/ --as-of 2020-01-06,2020-01-13,2020-01-20 --out folds.json
              scorer population --dataset parts/ --as-of 2020-01-06 --partition 3 --observations --out obs3.csv
              scorer population --dataset parts/ --as-of 2020-01-06 --from-observations obs*.csv --out population.json
            """, version: RevisitVersion.current)

    @Option(help: "The dataset (flat or partitioned) whose population is fitted.")
    var dataset: String
    @Option(help: "As-of dates YYYY-MM-DD, comma-separated.")
    var asOf: String
    @Option(
        name: .shortAndLong,
        help: "The population file to write (atomically); with --observations, the observations ('-' = stdout).")
    var out: String
    @Option(help: "With --observations: the partition (of the partitioned --dataset) whose observations to write.")
    var partition: Int?
    @Flag(help: "Write partition --partition's sampled observations instead of a fit.")
    var observations = false
    @Option(
        parsing: .upToNextOption,
        help:
            "Fit from these observations files (from --observations, every partition once) instead of reading the partitions."
    )
    var fromObservations: [String] = []
    @OptionGroup var configuration: ConfigOption
    @Flag(help: "No summary line on stderr.")
    var quiet = false

    init() {}

    var dates: [Day] { asOf.split(separator: ",").compactMap { Day(iso: String($0)) } }

    func validate() throws {
        let pieces = asOf.split(separator: ",", omittingEmptySubsequences: false)
        guard !pieces.isEmpty, dates.count == pieces.count, dates.allSatisfy(Day.supportedRange.contains) else {
            throw ValidationError("--as-of must be dates YYYY-MM-DD separated by commas; got '\(asOf)'")
        }
        if observations != (partition != nil) { throw ValidationError("--observations and --partition go together") }
        if observations && !fromObservations.isEmpty {
            throw ValidationError("--observations writes one partition's; --from-observations fits from them")
        }
        if let partition, partition < 0 { throw ValidationError("--partition must be at least 0") }
        if out == "-" && !observations { throw ValidationError("--out needs a file") }
    }

    func run() throws {
        let clock = ContinuousClock(), began = clock.now
        if let partition {
            let rows = try PopulationFile.partitionObservations(directory: dataset, partition: partition, dates: dates)
            try ToolOutput.write([(out, PopulationFile.encodeObservations(rows, partition: partition, dates: dates))])
            return
        }
        let file: PopulationFile
        if fromObservations.isEmpty {
            file = try PopulationFile.fit(
                directory: dataset, dates: dates,
                progress: quiet ? nil : { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
        } else {
            var files: [(path: String, bytes: [UInt8])] = []
            for path in fromObservations {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ToolFailure(.badInput, "\(path): cannot be read")
                }
                files.append((path, [UInt8](data)))
            }
            do {
                file = try PopulationFile.fit(directory: dataset, dates: dates, observationFiles: files)
            } catch let error as PopulationFile.ReadError {
                throw ToolFailure(.badInput, error.description)
            }
        }
        try ToolOutput.write([(out, try file.encoded())])
        guard !quiet else { return }
        let fitted = file.fits.filter { $0.parameters != nil }.count
        FileHandle.standardError.write(
            Data(
                ("scorer population: \(file.populationSize) customers, \(fitted) of \(file.fits.count) dates fitted → \(out) "
                    + String(format: "(%.2f s)\n", (clock.now - began) / .seconds(1))).utf8))
    }
}
