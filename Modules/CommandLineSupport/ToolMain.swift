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
public func runTool<Command: ParsableCommand>(_ command: Command.Type, name: String) -> Never {
    var parsed: any ParsableCommand  // the root or the subcommand that was named
    do {
        parsed = try Command.parseAsRoot()
    } catch {
        if Command.exitCode(for: error) == .success { Command.exit(withError: error) }  // --help, --version
        FileHandle.standardError.write(Data("\(name): \(Command.fullMessage(for: error))\n".utf8))
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

/// One line for any error a tool prints: a Revisit error's own description; for a Foundation
/// (Cocoa) error, its file path and the operating system's reason rather than the raw
/// `NSCocoaErrorDomain Code=… UserInfo={…}` dump; newlines folded so the message stays one line.
public func oneLineDescription(_ error: any Error) -> String {
    let nsError = error as NSError
    if nsError.domain == NSCocoaErrorDomain {
        let path = (nsError.userInfo[NSFilePathErrorKey] as? String) ?? (nsError.userInfo[NSURLErrorKey] as? URL)?.path
        var reason = nsError.localizedDescription
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(underlying.code)))
        }
        return [path, reason].compactMap { $0 }.joined(separator: ": ").replacingOccurrences(of: "\n", with: " ")
    }
    return "\(error)".replacingOccurrences(of: "\n", with: " ")
}
