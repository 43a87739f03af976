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
            its own. A partitioned dataset is read one partition at a time. Docs/ScaleOut.md.

            Exit codes: 0 written, 1 bad usage, 2 bad dataset, 4 cannot write.

            Examples:
              scorer population --dataset parts/ --as-of 2020-01-06 --out population.json
              scorer population --dataset parts/ --as-of 2020-01-06,2020-01-13,2020-01-20 --out folds.json
            """, version: RevisitVersion.current)

    @Option(help: "The dataset (flat or partitioned) whose population is fitted.")
    var dataset: String
    @Option(help: "As-of dates YYYY-MM-DD, comma-separated.")
    var asOf: String
    @Option(name: .shortAndLong, help: "The population file to write (atomically).")
    var out: String
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
        if out == "-" { throw ValidationError("--out needs a file") }
    }

    func run() throws {
        let clock = ContinuousClock(), began = clock.now
        let file = try PopulationFile.fit(
            directory: dataset, dates: dates,
            progress: quiet ? nil : { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
        do {
            try AtomicFile.write(Data(try file.encoded()), to: out)
        } catch {
            throw ToolFailure(.cannotWrite, String(describing: error))
        }
        guard !quiet else { return }
        let fitted = file.fits.filter { $0.parameters != nil }.count
        FileHandle.standardError.write(
            Data(
                ("scorer population: \(file.populationSize) customers, \(fitted) of \(file.fits.count) dates fitted → \(out) "
                    + String(format: "(%.2f s)\n", (clock.now - began) / .seconds(1))).utf8))
    }
}
