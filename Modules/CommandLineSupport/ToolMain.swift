import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The exit codes every Revisit tool documents (Docs/CLI.md).
public enum ToolExitCode: Int32, Sendable {
    case success = 0
    /// Bad flags or arguments (ArgumentParser's own code would be 64; the tools say 1).
    case usage = 1
    /// A bad input file: dataset, model, checkpoint, scores.
    case badInput = 2
    /// Cannot write an output.
    case cannotWrite = 4
    /// A check an operator must act on: tonight's export drifted past a threshold
    /// (`evaluator drift`), or a trend warning under `--fail-on-warning`.
    case attention = 5
    /// Stopped by SIGINT/SIGTERM (128 + SIGINT, the shell's convention).
    case interrupted = 130
}

/// A failure a tool reports with its message and exit code.
public struct ToolFailure: Error, CustomStringConvertible {
    public let code: ToolExitCode
    public let message: String
    public init(_ code: ToolExitCode, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// Runs a root command, mapping failures to the documented exit codes: parse and
/// `validate()` errors exit 1 with ArgumentParser's message (`--help` exits 0); from `run()`,
/// a `ToolFailure` or `ExitCode` keeps its code and anything else is a bad input (2). Messages
/// go to stderr prefixed with the tool's name.
///
/// `subcommand`: the command is a mode the tool's first argument names (`scorer merge …`):
/// that argument is dropped before parsing, and `--config`'s `[TOOL.SUBCOMMAND]` table applies.
public func runTool<Command: ParsableCommand>(_ command: Command.Type, name: String, subcommand: String? = nil)
    -> Never
{
    var parsed: any ParsableCommand  // the root or the subcommand that was named
    var arguments = expandedArguments(Command.self, name: name, subcommands: subcommand.map { [$0] } ?? [])
    if let subcommand, arguments.arguments.first == subcommand { arguments.arguments.removeFirst() }
    do {
        parsed = try Command.parseAsRoot(arguments.arguments)
    } catch {
        if Command.exitCode(for: error) == .success { Command.exit(withError: error) }  // --help, --version
        let message = usageMessage(
            Command.self, for: error, arguments: arguments.arguments, configSource: arguments.source)
        FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
        exit(ToolExitCode.usage.rawValue)
    }
    do {
        try parsed.run()
        exit(0)
    } catch let failure as ToolFailure {
        FileHandle.standardError.write(Data("\(name): \(failure.message)\n".utf8))
        exit(failure.code.rawValue)
    } catch let code as ExitCode {
        exit(code.rawValue)
    } catch {
        // `--help` parses to ArgumentParser's help command, whose run() throws a clean exit.
        if Command.exitCode(for: error) == .success { Command.exit(withError: error) }
        FileHandle.standardError.write(Data("\(name): \(oneLineDescription(error))\n".utf8))
        exit(ToolExitCode.badInput.rawValue)
    }
}

/// The process's arguments with `--config FILE` expanded (``ConfigFile``); a config file that
/// cannot be used is a usage error (exit 1) naming it.
public func expandedArguments<Command: ParsableCommand>(
    _ command: Command.Type, name: String, subcommands extra: [String] = []
) -> (arguments: [String], source: String?) {
    let subcommands =
        Command.configuration.subcommands.map { $0.configuration.commandName ?? String(describing: $0).lowercased() }
        + extra
    do {
        return try ConfigFile.expand(Array(CommandLine.arguments.dropFirst()), tool: name, subcommands: subcommands)
    } catch {
        FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
        exit(ToolExitCode.usage.rawValue)
    }
}

/// The message for a parse or validation error of `command`, after the tool's own prefix:
/// ArgumentParser's message without its "Error: " (one prefix per line, the tool's), and for a
/// command whose first argument must be a subcommand, a misspelt one named as such with the
/// nearest name (`unknown subcommand 'backtst'; did you mean 'backtest'?`) rather than
/// "Unexpected argument".
public func usageMessage<Command: ParsableCommand>(
    _ command: Command.Type, for error: any Error, arguments: [String] = Array(CommandLine.arguments.dropFirst()),
    configSource: String? = nil
) -> String {
    let message = parseMessage(command, for: error, arguments: arguments)
    guard let configSource else { return message }
    // Say on the first line that flags came from a file: the bad one may be there.
    let lines = message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    return lines[0] + " (flags from \(configSource) included)" + (lines.count > 1 ? "\n" + lines[1] : "")
}

func parseMessage<Command: ParsableCommand>(_ command: Command.Type, for error: any Error, arguments: [String])
    -> String
{
    let subcommands = Command.configuration.subcommands.map {
        $0.configuration.commandName ?? String(describing: $0).lowercased()
    }
    if !subcommands.isEmpty, Command.configuration.defaultSubcommand == nil,
        let first = arguments.first, !first.hasPrefix("-"), !subcommands.contains(first), first != "help"
    {
        let nearest = subcommands.map { ($0, editDistance(first, $0)) }.min { $0.1 < $1.1 }
        let suggestion = nearest.flatMap { $0.1 <= max(2, first.count / 3) ? "; did you mean '\($0.0)'?" : nil } ?? "."
        let name = Command.configuration.commandName ?? "TOOL"
        return
            "unknown subcommand '\(first)'\(suggestion) Subcommands: \(subcommands.joined(separator: ", ")) (`\(name) --help`)."
    }
    var message = Command.fullMessage(for: error)
    if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
    return message
}

/// Levenshtein distance between two short strings (subcommand names).
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// One line for any error a tool prints: a Revisit error's own description; for a Foundation
/// (Cocoa) error, its file path and the operating system's reason rather than the raw
/// `NSCocoaErrorDomain Code=… UserInfo={…}` dump; newlines folded so the message stays one line.
public func oneLineDescription(_ error: any Error) -> String {
    let nsError = error as NSError
    if nsError.domain == NSCocoaErrorDomain {
        let path = (nsError.userInfo[NSFilePathErrorKey] as? String) ?? (nsError.userInfo[NSURLErrorKey] as? URL)?.path
        var reason = nsError.localizedDescription
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain
        {
            reason = String(cString: strerror(Int32(underlying.code)))
        }
        return [path, reason].compactMap { $0 }.joined(separator: ": ").replacingOccurrences(of: "\n", with: " ")
    }
    return "\(error)".replacingOccurrences(of: "\n", with: " ")
}
