import ArgumentParser
import Foundation
import TOMLKit

/// `--config FILE`: a pipeline's flags in one versioned TOML file instead of long command lines,
/// one table per command:
///
/// ```toml
/// [trainer]
/// model = "cnn_lstm_bgnbd"
/// epochs = 4
/// training-weeks = 52
///
/// [scorer]
/// top-per-rep = 20
///
/// [evaluator.backtest]
/// models = ["cnn_lstm", "xgboost", "bgnbd"]   # a list is written comma-separated
/// folds = 8
/// no-notes = true                              # a flag: true sets it, false leaves it out
/// ```
///
/// Keys are the long flag names without `--`; values are strings, numbers, booleans (flags) or
/// lists. The table's flags go before the command line's own, so a flag given on the command
/// line wins (a single-valued option takes its last value). Positional arguments (the trainer's
/// dataset, the importer's export) stay on the command line.
public enum ConfigFile {
    /// A config file that cannot be used, with the file, the line where known, and why.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `arguments` (without the executable) with `--config FILE` (or `--config=FILE`) replaced
    /// by the flags of FILE's table for the command: `[tool]`, or `[tool.subcommand]` when the
    /// first argument is one of `subcommands`. Unchanged without `--config`.
    public static func expand(_ arguments: [String], tool: String, subcommands: [String] = []) throws -> (
        arguments: [String], source: String?
    ) {
        var arguments = arguments
        var path: String?
        if let index = arguments.firstIndex(of: "--config") {
            guard index + 1 < arguments.count else { throw Failure(description: "--config needs a file") }
            path = arguments[index + 1]
            arguments.removeSubrange(index...(index + 1))
        } else if let index = arguments.firstIndex(where: { $0.hasPrefix("--config=") }) {
            path = String(arguments[index].dropFirst("--config=".count))
            arguments.remove(at: index)
        }
        guard let path else { return (arguments, nil) }
        guard arguments.firstIndex(of: "--config") == nil, !arguments.contains(where: { $0.hasPrefix("--config=") })
        else {
            throw Failure(description: "--config is given twice")
        }
        let subcommand = arguments.first.flatMap { subcommands.contains($0) ? $0 : nil }
        let section = [tool] + (subcommand.map { [$0] } ?? [])
        let flags = try flags(path: path, section: section)
        let insertAt = subcommand == nil ? 0 : 1
        arguments.insert(contentsOf: flags, at: insertAt)
        return (arguments, "\(path) [\(section.joined(separator: "."))]")
    }

    /// The flags of table `section` (e.g. `["evaluator", "backtest"]`) in the TOML file at `path`.
    public static func flags(path: String, section: [String]) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "\(path): cannot read the config file (\(String(cString: strerror(errno))))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Failure(description: "\(path): the config file is not UTF-8")
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw Failure(description: "\(path):\(error.source.begin.line): \(error.description)")
        }
        var table = root
        for (depth, name) in section.enumerated() {
            guard let next = table[name]?.table else {
                let known = tableNames(root).joined(separator: ", ")
                throw Failure(
                    description: "\(path): no [\(section[...depth].joined(separator: "."))] table for this command"
                        + (known.isEmpty ? " (the file has no tables)" : " (the file has: \(known))")
                        + "; add one, empty if this command needs no flags from the file")
            }
            table = next
        }
        var flags: [String] = []
        for key in table.keys.sorted() {
            let value = table[key]!
            let flag = "--" + key
            let where_ = "\(path): [\(section.joined(separator: "."))] \(key)"
            switch value.type {
            case .bool: if value.bool! { flags.append(flag) }
            case .int: flags += [flag, String(value.int!)]
            case .double: flags += [flag, "\(value.double!)"]
            case .string: flags += [flag, value.string!]
            case .array:
                var items: [String] = []
                for item in value.array! {
                    switch item.type {
                    case .string: items.append(item.string!)
                    case .int: items.append(String(item.int!))
                    case .double: items.append("\(item.double!)")
                    default: throw Failure(description: "\(where_): a list may hold strings and numbers only")
                    }
                }
                flags += [flag, items.joined(separator: ",")]
            case .table:
                throw Failure(
                    description:
                        "\(where_): a table where a flag's value belongs (a subcommand's flags go in [\((section + [key]).joined(separator: "."))] only when it is the command run)"
                )
            default:
                throw Failure(description: "\(where_): dates and times are written as strings (\"2020-01-06\")")
            }
        }
        return flags
    }

    /// Every table path of `table` (`trainer`, `evaluator.backtest`), for the message that names them.
    static func tableNames(_ table: TOMLTable, prefix: String = "") -> [String] {
        table.keys.sorted().flatMap { key -> [String] in
            guard let child = table[key]?.table else { return [] }
            let name = prefix.isEmpty ? key : prefix + "." + key
            let children = tableNames(child, prefix: name)
            return children.isEmpty || child.keys.contains(where: { child[$0]?.table == nil })
                ? [name] + children : children
        }
    }
}

/// `--config FILE` in a command's help and completions. The file is read by ``runTool(_:name:)``
/// before parsing (``ConfigFile``), so this option never holds a value when `run()` sees it.
public struct ConfigOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A TOML file holding this command's flags in its [TOOL] or [TOOL.SUBCOMMAND] table; flags on the command line win. Docs/CLI.md, \"Config files\".",
            valueName: "file"))
    public var config: String?
    public init() {}
}
