import ArgumentParser
import CommandLineSupport
import Evaluation
import Formats
import Foundation
import Workflow

/// `scorer merge`: the partial scores of every partition (`scorer --partial`) → the scores
/// file the scorer would have written for the whole dataset. All logic is in
/// `Workflow.PartialScoresFile` and `ScoringJob.finish`.
struct ScorerMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scorer merge",
        abstract: "Rank and explain the partial scores of a dataset's partitions as one call list.",
        discussion: """
            Reads partial scores files (what `scorer --partial` writes per partition), checks that \
            no customer is scored twice for a date and that each as-of date has one model, and \
            writes the scores file (Docs/FileFormats.md): the reasons' surrogate fitted over all \
            candidates of each date, ranks within each rep and overall. For the same candidates this \
            is, byte for byte, what `scorer` writes for the unpartitioned dataset. Several as-of \
            dates (a backtest's folds, each with its own model) may be merged into one file. \
            Docs/ScaleOut.md.

            Exit codes: 0 merged, 1 bad usage, 2 bad input (a file that is not partial scores, \
            overlapping partitions, two models for one date), 4 cannot write.

            Examples:
              scorer merge partial/*.csv --top-per-rep 20 --out lists.csv --all-scores scores.csv
              scorer merge fold-2020-01-06/*.csv fold-2020-01-13/*.csv --out backtest-scores.csv
            """, version: RevisitVersion.current)

    @Argument(help: ArgumentHelp("Partial scores files ('-' = standard input, once).", valueName: "partial"))
    var partials: [String]
    @Option(parsing: .unconditional, help: "Keep each rep's top K customers (the call list). Default: every candidate.")
    var topPerRep: Int?
    @Option(help: "Also write every candidate's scores to this CSV (before --top-per-rep cuts the list).")
    var allScores: String?
    @Option(name: .shortAndLong, help: "Output CSV ('-' = standard output).")
    var out = "-"
    @OptionGroup var configuration: ConfigOption
    @Flag(help: "No summary line on stderr.")
    var quiet = false
    @Flag(help: "The summary as one JSON object on stderr.")
    var json = false

    init() {}

    func validate() throws {
        if partials.isEmpty { throw ValidationError("give at least one partial scores file") }
        if partials.filter({ $0 == "-" }).count > 1 { throw ValidationError("'-' (standard input) may be given once") }
        try validateCallListOutputs(topPerRep: topPerRep, allScores: allScores, out: out)
    }

    func run() throws {
        let clock = ContinuousClock(), began = clock.now
        var files: [(path: String, bytes: [UInt8])] = []
        for path in partials {
            if path == "-" {
                files.append(("<stdin>", [UInt8](FileHandle.standardInput.readDataToEndOfFile())))
            } else {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ToolFailure(.badInput, "\(path): cannot be read")
                }
                files.append((path, [UInt8](data)))
            }
        }
        let merged: [ScoringJob.PartialResult]
        do {
            merged = try PartialScoresFile.merge(files)
        } catch let error as PartialScoresFile.ReadError {
            throw ToolFailure(.badInput, error.description)
        }
        let results = merged.map { ScoringJob.finish($0, topPerRep: nil) }
        var listed: [ScoreRowBatch] = [], all: [ScoreRowBatch] = []
        for result in results {
            all.append(ScoreRowBatch(rows: result.rows, modelID: result.modelID))
            listed.append(
                ScoreRowBatch(
                    rows: topPerRep.map { ScoringJob.callList(result.rows, topPerRep: $0) } ?? result.rows,
                    modelID: result.modelID))
        }
        try ToolOutput.write(
            (allScores.map { [($0, ScoreRowBatch.encode(all))] } ?? []) + [(out, ScoreRowBatch.encode(listed))])
        let rows = listed.reduce(0) { $0 + $1.rows.count }, candidates = all.reduce(0) { $0 + $1.rows.count }
        let seconds = (clock.now - began) / .seconds(1)
        let dates = results.compactMap { $0.rows.first?.asOf.iso }
        if json {
            let summary: JSONLine = .object([
                ("tool", .string("scorer merge")), ("files", .int(files.count)), ("rows", .int(rows)),
                ("candidates", .int(candidates)), ("as_of", .array(dates.map { .string($0) })),
                ("out", .string(out)), ("all_scores", .string(allScores)), ("seconds", .number(seconds))
            ])
            FileHandle.standardError.write(Data((summary.text + "\n").utf8))
        } else if !quiet {
            FileHandle.standardError.write(
                Data(
                    ("scorer merge: \(candidates) candidates from \(files.count) partial files, \(dates.count) as-of date\(dates.count == 1 ? "" : "s") (\(dates.joined(separator: ", "))) → \(rows) rows in \(out) "
                        + String(format: "(%.2f s)\n", seconds)).utf8))
        }
    }
}

/// Rows of one as-of date with the model that scored them.
struct ScoreRowBatch {
    var rows: [ScoringJob.ScoredCustomer]
    var modelID: String

    static func encode(_ batches: [ScoreRowBatch]) -> [UInt8] {
        ScoresFile.encode(rows: batches.flatMap { ScoringJob.scoreRows($0.rows, modelID: $0.modelID) })
    }
}

/// The checks of `--top-per-rep`, `--all-scores` and `--out` that `scorer` and `scorer merge` share.
func validateCallListOutputs(topPerRep: Int?, allScores: String?, out: String) throws {
    if let topPerRep, !(1...1_000_000).contains(topPerRep) {
        throw ValidationError("--top-per-rep must be in 1...1000000")
    }
    if let allScores {
        if allScores == "-" { throw ValidationError("--all-scores needs a file, not '-'") }
        if allScores == out { throw ValidationError("--all-scores and --out must be different files") }
        if topPerRep == nil {
            throw ValidationError(
                "--all-scores goes with --top-per-rep (without it --out already holds every candidate)")
        }
    }
}
