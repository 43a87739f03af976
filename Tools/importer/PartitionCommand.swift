import ArgumentParser
import CommandLineSupport
import Dataset
import ERPImport
import Formats
import Foundation

/// `importer partition`: a dataset directory → N customer-hash partitions (Docs/ScaleOut.md).
/// All logic is in `ERPImport.DatasetPartitioning`.
struct PartitionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "importer partition",
        abstract: "Split a dataset into customer-hash partitions that Spark or DuckDB process one by one.",
        discussion: """
            Writes OUT/manifest.json (the partitions, each one's manifest SHA-256, and the source \
            dataset's manifest), OUT/rejects.csv (the source's) and OUT/part-00000 … part-(N-1), \
            each a complete dataset directory holding the customers whose id hashes there \
            (FNV-1a 64 of the id's UTF-8 bytes, mixed by MurmurHash3's finaliser, modulo N): a \
            customer's visits and profile are in exactly one partition. Every tool reads OUT as the dataset it was split from; \
            `scorer --partial` scores one partition, `scorer merge` joins them. DuckDB and Spark read \
            the partitions as they are (read_csv('OUT/part-*/visits.csv')). Streaming: memory does \
            not grow with the dataset; at most 128 partitions are written per pass over the source. \
            The output is written atomically, under a lock, like an import.

            Exit codes: 0 done, 1 bad usage, 2 bad source dataset, 4 cannot write OUT.

            Examples:
              importer partition --dataset data/ --partitions 16 --out parts/
              duckdb -c "select count(*) from read_csv('parts/part-*/visits.csv')"
            """, version: RevisitVersion.current)

    @Option(help: "The dataset directory to split (written by `importer`).")
    var dataset: String
    @Option(parsing: .unconditional, help: "How many partitions (1…100000).")
    var partitions: Int
    @Option(name: .shortAndLong, help: "The partitioned dataset directory to write.")
    var out: String
    @Flag(help: "Fail at once (exit 4) instead of waiting when another process writes OUT.")
    var noWait = false
    @OptionGroup var configuration: ConfigOption
    @Flag(help: "No summary line on stderr.")
    var quiet = false

    init() {}

    func validate() throws {
        guard (1...CustomerPartitioning.maximumCount).contains(partitions) else {
            throw ValidationError("--partitions must be in 1…\(CustomerPartitioning.maximumCount), not \(partitions)")
        }
    }

    func run() throws {
        let clock = ContinuousClock(), began = clock.now
        let summary: DatasetPartitioning.Summary
        do {
            summary = try DatasetPartitioning.split(
                source: dataset, count: partitions, target: out, wait: !noWait,
                progress: quiet ? nil : { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
        } catch let failure as ImportFailure {
            switch failure {
            case .cannotWrite: throw ToolFailure(.cannotWrite, failure.description)
            default: throw ToolFailure(.badInput, failure.description)
            }
        }
        guard !quiet else { return }
        let sizes = summary.manifest.partitions.map(\.visits)
        FileHandle.standardError.write(
            Data(
                ("importer: \(sizes.reduce(0, +)) visits of \(summary.manifest.source.customerCount) customers in \(partitions) partitions (visits per partition \(sizes.min() ?? 0)…\(sizes.max() ?? 0)) → \(out) "
                    + "(\(summary.passes) pass\(summary.passes == 1 ? "" : "es"), "
                    + String(format: "%.2f s)\n", (clock.now - began) / .seconds(1)))
                    .utf8))
    }
}
