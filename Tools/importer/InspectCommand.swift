import ArgumentParser
import ERPImport
import CommandLineSupport
import Formats
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `importer inspect`: what an export holds, before the first import, and a draft mapping.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "importer inspect",
        abstract: "Show an export's dialect and columns (CSV or XML), and draft a mapping that imports it.",
        discussion: """
            Reads the export (and the customer export) and prints, for CSV, the encoding, byte-order \
            mark and delimiter, for XML the record element (the root's first child), and per column the standard field it most likely holds, its type, its \
            distinct values with counts and the date formats that read all of it. --write-mapping \
            writes a draft mapping: the columns found, each file's dialect, and the values seen as \
            each categorical field's vocabulary, so the inspected files import with no \
            unknown_value rejects; 'orders' lists the result values that look like an order — check \
            it (its comment lists every result value). Exit codes: 0 done, 1 usage, 2 unreadable \
            file, 4 cannot write the mapping. Docs/CLI.md.

            Examples:
              importer inspect export/visits.csv --customers export/customers.csv
              importer inspect export/visits.csv --customers export/customers.csv --write-mapping mapping.json
            """)

    @Argument(help: ArgumentHelp("The visit (or transaction) export, CSV or XML (by extension).", valueName: "visits"))
    var visits: String

    @Option(help: ArgumentHelp("The customer export, CSV or XML.", valueName: "file"))
    var customers: String?

    @Option(parsing: .unconditional, help: "Read only the first N rows of each file (default: all).")
    var rows: Int?

    @Option(help: ArgumentHelp("Write the draft mapping here (atomically).", valueName: "file"))
    var writeMapping: String?
    @OptionGroup var configuration: ConfigOption

    func validate() throws {
        if let rows, rows < 1 { throw ValidationError("--rows must be at least 1, not \(rows)") }
    }

    func run() throws {
        let visitInspection = try ExportInspection.inspect(path: visits, role: .visits, maximumRows: rows)
        let customerInspection = try customers.map {
            try ExportInspection.inspect(path: $0, role: .customers, maximumRows: rows)
        }
        print(ExportInspection.describe(visitInspection), terminator: "")
        if let customerInspection { print(ExportInspection.describe(customerInspection), terminator: "") }
        let mapping = ExportInspection.draftMapping(visits: visitInspection, customers: customerInspection)
        print(
            "orders (result values that look like an order; check): \(mapping.orders.isEmpty ? "none found" : mapping.orders.joined(separator: ", "))"
        )
        if let writeMapping {
            let text = ExportInspection.draftJSON(mapping, visits: visitInspection, customers: customerInspection)
            do {
                try AtomicFile.write(Data(text.utf8), to: writeMapping)
            } catch let error as AtomicWriteError {
                throw ImportFailure.cannotWrite(path: writeMapping, reason: error.reason)
            }
            print("draft mapping: \(writeMapping) (import with --mapping \(writeMapping))")
        }
    }

    /// Runs `importer inspect` with `arguments`, mapping failures to the documented exit codes.
    static func main(_ arguments: [String]) -> Never {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            Glibc.exit(0)
        } catch let failure as ImportFailure {
            FileHandle.standardError.write(Data("importer inspect: \(failure)\n".utf8))
            if case .cannotWrite = failure { Glibc.exit(4) }
            Glibc.exit(2)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(
                Data("importer inspect: \(usageMessage(InspectCommand.self, for: error, arguments: arguments))\n".utf8))
            Glibc.exit(1)
        }
    }
}
