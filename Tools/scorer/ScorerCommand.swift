import ArgumentParser
import CommandLineChoices
import CommandLineSupport
import Dataset
import Features
import Formats
import Foundation
import Tensors
import Training
import Workflow

/// `scorer`: dataset + model → scores CSV (per-rep call lists). All logic is in
/// `Workflow.ScoringJob`; this file maps flags to options and failures to exit codes.
@main
struct ScorerCommand: ParsableCommand {
    static func main() {
        // `scorer merge …` finishes partial scores; everything else scores, as it always did.
        switch CommandLine.arguments.dropFirst().first {
        case "merge": runTool(ScorerMergeCommand.self, name: "scorer", subcommand: "merge")
        case "population": runTool(ScorerPopulationCommand.self, name: "scorer", subcommand: "population")
        default: break
        }
        runTool(ScorerCommand.self, name: "scorer")
    }

    static let configuration = CommandConfiguration(
        commandName: "scorer",
        abstract: "Score customers with a trained model and write ranked per-rep call lists.",
        discussion: """
            For every candidate customer at the as-of date: P(an order within the model's horizon), \
            the rank within the rep's list (the rep of the customer's last visit) and overall. Output: \
            CSV customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version, then what a timing or \
            count model adds (expected_orders, expected_days_to_order, median_days_to_order, p_order_7d, p_order_14d, \
            p_order_28d; empty for a model that predicts neither) (Docs/FileFormats.md). \
            The dataset is a directory written by `importer`, or with --visits - the rows of a dataset \
            visits.csv on standard input (plus --customers for profiles).

            Exit codes: 0 scored, 1 bad usage, \
            2 bad input (dataset, model, or a model whose features do not fit the dataset), 4 cannot write.

            Examples:
              scorer --model model.safetensors --dataset data/ --top-per-rep 20 --out lists.csv
              scorer --model model.safetensors --dataset data/ --as-of 2020-01-06 --top-per-rep 20 --out lists.csv --all-scores scores.csv
              grep -e '^visit_id' -e ',R007,' data/visits.csv | scorer --model model.safetensors --visits - --customers data/customers.csv   (one rep's visits)

            A partitioned dataset (`importer partition`) is read whole. Scored a partition at a time \
            (Spark: Tools/spark/score.py; Docs/ScaleOut.md): `scorer --partial --as-of DATE` per \
            partition with the whole dataset's population fit (`scorer population`), then `scorer \
            merge` over the partial files, which ranks and explains the candidates of all partitions \
            together — the lists of the whole dataset, byte for byte:
              scorer population --dataset parts/ --as-of 2020-01-06 --out population.json
              scorer --model model.safetensors --dataset parts/part-00003 --as-of 2020-01-06 --partial --population population.json --out p3.csv
              scorer merge p*.csv --top-per-rep 20 --out lists.csv   (`scorer merge --help`)
            """, version: RevisitVersion.current)

    @Option(name: .shortAndLong, help: "Model file written by `trainer`.")
    var model: String
    @Option(help: "Dataset directory written by `importer`.")
    var dataset: String?
    @Option(help: "Instead of --dataset: a dataset-format visits.csv ('-' = standard input).")
    var visits: String?
    @Option(help: "With --visits: a dataset-format customers.csv for the profiles.")
    var customers: String?
    @Option(help: "As-of date YYYY-MM-DD (only records before it are used). Default: the day after the last record.")
    var asOf: String?
    @Option(parsing: .unconditional, help: "Keep each rep's top K customers (the call list). Default: every candidate.")
    var topPerRep: Int?
    @Option(
        help:
            "Also write every candidate's scores to this CSV (before --top-per-rep cuts the list): what evaluator audit needs to set the list beside a random list of the same candidates."
    )
    var allScores: String?
    @Option(
        help:
            "Candidates: with-history (every customer with an earlier visit) or visited-in-week (those visited in [as-of, as-of + 7), the study's evaluation set)."
    )
    var candidates: CandidateChoice = .withHistory
    @Option(name: .shortAndLong, help: "Output CSV ('-' = standard output).")
    var out = "-"
    @OptionGroup var parallelism: ThreadOptions
    @OptionGroup var configuration: ConfigOption
    @Flag(
        help:
            "Write partial scores (unranked, with the facts the reasons need; Docs/ScaleOut.md) for `scorer merge` instead of scores. Needs --as-of."
    )
    var partial = false
    @Option(
        help:
            "With --partial: the whole dataset's population fit (`scorer population`), which a partition cannot make alone."
    )
    var population: String?
    @Flag(help: "No summary line on stderr.")
    var quiet = false
    @Flag(
        help:
            "The summary as one JSON object on stderr (rows, reps, as-of, model, outputs, time, the reasons' R²) instead of the summary lines; stdout may carry the scores."
    )
    var json = false

    init() {}

    func validate() throws {
        if (dataset == nil) == (visits == nil) {
            throw ValidationError("give exactly one of --dataset DIR and --visits FILE")
        }
        if customers != nil && visits == nil { throw ValidationError("--customers goes with --visits") }
        if let asOf, !(Day(iso: asOf).map(Day.supportedRange.contains) ?? false) {
            throw ValidationError(
                "--as-of must be a date YYYY-MM-DD in \(Day.supportedRange.lowerBound.iso)…\(Day.supportedRange.upperBound.iso); got '\(asOf)'"
            )
        }
        if partial {
            if asOf == nil {
                throw ValidationError(
                    "--partial needs --as-of: partitions end on different days, and every partition must be scored as of the same date"
                )
            }
            if topPerRep != nil || allScores != nil {
                throw ValidationError(
                    "--partial writes every candidate unranked; --top-per-rep and --all-scores go with `scorer merge`")
            }
            if population == nil {
                throw ValidationError(
                    "--partial needs --population FILE (from `scorer population --dataset WHOLE --as-of DATE`): the time-aware inputs use a population fit over the whole dataset, not one partition"
                )
            }
        }
        if population != nil && !partial { throw ValidationError("--population goes with --partial") }
        try validateCallListOutputs(topPerRep: topPerRep, allScores: allScores, out: out)
    }

    func loadDataset() throws -> Dataset {
        if let dataset { return try Dataset.load(directory: dataset) }
        let path = visits!
        let bytes: [UInt8] =
            path == "-"
            ? [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            : try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let source = path == "-" ? "<stdin>" : path
        var loaded = try Dataset.parseVisits(bytes, path: source, columns: DatasetManifest.ExtraColumns())
        loaded.sort(by: Visit.datasetOrder)
        let profiles =
            try customers.map { try Dataset.readCustomers(path: $0, columns: DatasetManifest.ExtraColumns()) } ?? []
        return Dataset(manifest: DatasetManifest(kind: .visits), visits: loaded, customers: profiles)
    }

    func run() throws {
        BLASKernelSelection.reexecuteWithFastestKernelsIfNeeded()
        parallelism.apply()
        var options = ScoringJob.Options()
        options.asOf = asOf.flatMap { Day(iso: $0) }
        // With --all-scores the job keeps every candidate and the list is cut from them here.
        options.topPerRep = allScores == nil ? topPerRep : nil
        options.candidates = candidates.candidates
        let clock = ContinuousClock(), began = clock.now
        let result: ScoringJob.Result
        let history = VisitHistory(dataset: try loadDataset())
        // Warnings: a line each on stderr, or in the JSON summary with --json.
        var warnings: [String] = []
        if let asOf = options.asOf, let last = history.days.max(), asOf.ordinal > last + 1 + 365 {
            // The time-aware inputs (days since the last visit and order) are clipped to the
            // training range: scoring far past the data still works, but every customer looks
            // equally long gone.
            warnings.append(
                "--as-of \(asOf.iso) is \(asOf.ordinal - last) days after the last record; the days since each customer's last visit and order exceed what the model was trained on and are clipped to its range"
            )
        }
        if partial, let population, let asOf = options.asOf {
            do {
                try PopulationFile.read(path: population).apply(to: history, asOf: asOf, path: population)
            } catch let error as PopulationFile.ReadError {
                throw ToolFailure(.badInput, error.description)
            }
            try writePartial(try ScoringJob.score(modelPath: model, history: history, options: options), began: began)
            return
        }
        result = try ScoringJob.run(modelPath: model, history: history, options: options)
        if let first = result.rows.first,
            let warning = ScoringJob.inSampleWarning(asOf: first.asOf, trainUntil: first.trainUntil)
        {
            warnings.append(warning)
        }
        if visits != nil && customers == nil {
            warnings.append(
                "--visits without --customers: every customer's profile (type, industry, tag) reads as unknown")
        }
        if !json {
            for warning in warnings { FileHandle.standardError.write(Data("scorer: warning: \(warning)\n".utf8)) }
        }
        let listed = allScores != nil ? ScoringJob.callList(result.rows, topPerRep: topPerRep!) : result.rows
        try ToolOutput.write(
            (allScores.map { [($0, ScoringJob.encodeScores(result.rows, modelID: result.modelID))] } ?? [])
                + [(out, ScoringJob.encodeScores(listed, modelID: result.modelID))])
        if json {
            let summary: JSONLine = .object([
                ("tool", .string("scorer")), ("rows", .int(listed.count)),
                ("reps", .int(Set(listed.map(\.repID)).count)),
                ("candidates", .int(result.rows.count)),
                ("as_of", .string(result.rows.first?.asOf.iso ?? options.asOf?.iso)),
                ("model_id", .string(result.modelID)), ("out", .string(out)), ("all_scores", .string(allScores)),
                ("reasons_r_squared", .number(result.reasonsRSquared)),
                ("seconds", .number((clock.now - began) / .seconds(1))),
                ("warnings", .array(warnings.map { .string($0) }))
            ])
            FileHandle.standardError.write(Data((summary.text + "\n").utf8))
        } else if !quiet {
            let reps = Set(listed.map(\.repID)).count
            let asOfText = result.rows.first?.asOf.iso ?? options.asOf?.iso ?? "-"
            FileHandle.standardError.write(
                Data(
                    ("scorer: \(listed.count) customers in \(reps) rep lists as of \(asOfText) with \(result.modelID) → \(out) "
                        + (allScores.map { "; all \(result.rows.count) candidates → \($0) " } ?? "")
                        + String(format: "(%.2f s)\n", (clock.now - began) / .seconds(1))).utf8))
            // How far the plain-words reasons can be trusted: the share of the model's ranking
            // (its logit) their linear surrogate reproduces.
            let fit =
                result.reasonsRSquared.map { String(format: "R² %.2f", $0) }
                ?? "no surrogate (too few candidates or constant scores)"
            FileHandle.standardError.write(
                Data(
                    "scorer: reasons (reason_1…3) from a linear surrogate of the scores over the candidates: \(fit)\n"
                        .utf8))
        }
    }

    /// `--partial`: one partition's candidates, unranked, for `scorer merge`.
    func writePartial(_ partial: ScoringJob.PartialResult, began: ContinuousClock.Instant) throws {
        try ToolOutput.write([(out, PartialScoresFile.encode(partial))])
        let seconds = (ContinuousClock.now - began) / .seconds(1)
        if json {
            let summary: JSONLine = .object([
                ("tool", .string("scorer")), ("partial_rows", .int(partial.rows.count)),
                ("as_of", .string(asOf)), ("model_id", .string(partial.modelID)), ("out", .string(out)),
                ("seconds", .number(seconds))
            ])
            FileHandle.standardError.write(Data((summary.text + "\n").utf8))
        } else if !quiet {
            FileHandle.standardError.write(
                Data(
                    ("scorer: \(partial.rows.count) candidates as of \(asOf ?? "-") with \(partial.modelID) → \(out) "
                        + String(format: "(partial: unranked, for scorer merge; %.2f s)\n", seconds)).utf8))
        }
    }
}
