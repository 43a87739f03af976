import ArgumentParser
import CommandLineSupport
import Formats
import Dataset
import ERPImport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `importer`: ERP visit exports (CSV or XML) → a validated dataset directory. Exit codes are
/// part of the interface (Docs/CLI.md): 0 ok, 1 usage, 2 bad input, 3 reject rate, 4 cannot write.
@main
struct ImporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "importer",
        abstract: "Import an ERP visit export (CSV or XML) into a validated dataset directory.",
        discussion: """
            Writes DIR/visits.csv, customers.csv, rejects.csv (every refused row with file, line, \
            reason, detail and raw text) and manifest.json (counts, date range, mapping, sha256 of \
            every input and output), atomically: a temporary directory beside DIR, then one atomic \
            exchange. One import writes DIR at a time (a lock file .DIR.lock beside it); another waits, \
            or fails with --no-wait. Leftovers of an interrupted import are cleaned by the next one.

            Exit codes: 0 ok; 1 usage error; 2 bad input file (unreadable, empty, no or wrong \
            header, XML syntax error, refused DTD/entity, bad mapping); 3 reject rate above \
            --max-reject-rate, default 5% from 10 rejected rows on (nothing written; the message names \
            the largest causes and what to change); 4 cannot write the dataset directory (or, with \
            --no-wait, another import is writing it).
            Errors are printed as `importer: FILE:LINE: reason`. See Docs/CLI.md and Docs/FileFormats.md.

            Scale-out: `importer partition --dataset DIR --partitions N --out PARTS` splits a dataset \
            into N customer-hash partitions that every tool reads as the whole (Docs/ScaleOut.md).

            First contact with a new export: `importer inspect FILE [--customers FILE] \
            [--write-mapping M.json]` shows its dialect and columns and drafts a mapping \
            (`importer inspect --help`).

            Examples:
              importer export/visits.csv --customers export/customers.csv --out data/
              importer erp/visits.xml --customers erp/customers.xml --mapping mapping.json --out data/
              importer tonight.csv --customers customers.csv --out data/ --append
              gunzip -c visits.csv.gz | importer - --customers customers.csv --out data/
            """, version: RevisitVersion.current)

    @Argument(help: ArgumentHelp("The visit (or transaction) export; '-' reads standard input.", valueName: "visits"))
    var visits: String

    @Option(help: ArgumentHelp("The customer export (CSV or XML).", valueName: "file"))
    var customers: String?

    @Option(
        help: ArgumentHelp(
            "Mapping file (JSON): column names, value maps, date formats, delimiter, encoding, extras.",
            valueName: "file"))
    var mapping: String?

    @Option(help: ArgumentHelp("Input syntax, csv or xml (default: by extension; stdin is csv).", valueName: "csv|xml"))
    var format: InputFormat?

    @Option(name: .long, help: ArgumentHelp("The dataset directory to write.", valueName: "dir"))
    var out: String

    @Flag(
        help:
            "Merge into the existing dataset at --out (same export twice changes only the manifest's history); refused when --out holds no dataset."
    )
    var append = false

    @Flag(help: "When another import is writing --out, fail at once (exit 4) instead of waiting for it.")
    var noWait = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Fail (exit 3, write nothing) when more than this share of rows is rejected, 0…1.", valueName: "R"))
    var maxRejectRate: Double?

    @Option(
        help: ArgumentHelp(
            "Memory for the import's sort buffers, e.g. 512M or 4G (default 1G, at least 64M): rows beyond it are sorted in runs spilled beside --out and merged.",
            valueName: "size"))
    var memory: MemorySize = MemorySize(bytes: ImportOptions.defaultMemoryBudget)

    @Flag(help: "No progress lines on stderr.")
    var quiet = false
    @OptionGroup var configuration: ConfigOption
    @Flag(
        help:
            "Print the summary as one JSON object on stdout (counts by table with the rejects by reason, date range, time) instead of the summary line."
    )
    var json = false

    static let defaultMaxRejectRate = 0.05
    static let defaultMinimumRejects = 10

    func validate() throws {
        if let rate = maxRejectRate, !(0...1).contains(rate) {
            throw ValidationError("--max-reject-rate must be between 0 and 1, not \(rate)")
        }
        if memory.bytes < ImportOptions.minimumMemoryBudget {
            throw ValidationError("--memory must be at least 64M (a record may take 16 MiB twice), not \(memory.text)")
        }
        if visits == "-" && customers == "-" {
            throw ValidationError("only one input can be standard input ('-')")
        }
    }

    func run() throws {
        let started = Date()
        var loaded = Mapping()
        if let path = mapping { loaded = try Mapping.load(path: path) }
        let formatter = ISO8601DateFormatter()
        var options = ImportOptions(
            visitsPath: visits, customersPath: customers, format: format, mapping: loaded, mappingPath: mapping,
            outputDirectory: out,
            append: append, maxRejectRate: maxRejectRate, timestamp: formatter.string(from: started))
        options.waitForLock = !noWait
        options.memoryBudget = memory.bytes
        if maxRejectRate == nil {
            // The default cap: a first import that loses its rows to an unfamiliar vocabulary or
            // date format must not pass as a success.
            options.maxRejectRate = Self.defaultMaxRejectRate
            options.minimumRejectsForRate = Self.defaultMinimumRejects
        }
        let report = try DatasetImport.run(options) { line in
            if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        let seconds = Date().timeIntervalSince(started)
        if json {
            print(report.summaryJSON(output: out, seconds: seconds).text)
            return
        }
        let note = report.alreadyImported ? " (inputs already imported: only history changed)" : ""
        print("importer: \(report.countsText), \(String(format: "%.2f", seconds)) s → \(out)\(note)")
    }
}

extension InputFormat: ExpressibleByArgument {}

/// A byte count as people write it: `1073741824`, `512K`, `512M`, `4G` (powers of 1024; a
/// trailing `B` or `iB` is allowed).
struct MemorySize: ExpressibleByArgument {
    var bytes: Int
    var text: String

    init(bytes: Int) {
        self.bytes = bytes
        text = "\(bytes >> 20)M"
    }

    init?(argument: String) {
        var digits = argument.uppercased()
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) { digits.removeLast(suffix.count) }
        var shift = 0
        if let unit = digits.last, let power = ["K": 10, "M": 20, "G": 30, "T": 40][String(unit)] {
            shift = power
            digits.removeLast()
        }
        guard let value = Int(digits), value > 0, value <= Int.max >> shift else { return nil }
        bytes = value << shift
        text = argument
    }

    var defaultValueDescription: String { text }
}

extension ImporterCommand {
    /// Maps errors to the documented exit codes (ArgumentParser's own usage code is 64).
    static func main() {
        // `importer inspect …` is its own command; everything else is an import, so that
        // `importer FILE --out DIR` and `importer --help` stay as they were.
        // `--config FILE`: its [importer] table, or [importer.inspect] for `importer inspect`.
        let expanded = expandedArguments(ImporterCommand.self, name: "importer", subcommands: ["inspect", "partition"])
        let arguments = expanded.arguments
        if arguments.first == "inspect" { InspectCommand.main(Array(arguments.dropFirst())) }
        if arguments.first == "partition" { runTool(PartitionCommand.self, name: "importer", subcommand: "partition") }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let failure as ImportFailure {
            FileHandle.standardError.write(Data("importer: \(failure)\n".utf8))
            switch failure {
            case .badInput: Glibc.exit(2)
            case .rejectRateExceeded: Glibc.exit(3)
            case .cannotWrite: Glibc.exit(4)
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)  // --help, --version
            }
            FileHandle.standardError.write(
                Data(
                    "importer: \(usageMessage(ImporterCommand.self, for: error, arguments: arguments, configSource: expanded.source))\n"
                        .utf8))
            Glibc.exit(1)
        }
    }
}
