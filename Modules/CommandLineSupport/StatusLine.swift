import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Progress on stderr as people expect it from a long command: on a terminal, one status line
/// redrawn in place (at most five times a second) with permanent lines printed above it; when
/// stderr is a file or a pipe (a log, CI), the permanent lines only, so logs stay clean.
public final class StatusLine: @unchecked Sendable {
    public let quiet: Bool
    public let terminal: Bool
    private var lastDraw: ContinuousClock.Instant?
    private var drawn = false
    private let lock = NSLock()

    public init(quiet: Bool, terminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.quiet = quiet
        self.terminal = terminal
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    /// A permanent line (above the status line on a terminal).
    public func line(_ text: String) {
        guard !quiet else { return }
        lock.withLock {
            if drawn { write("\r\u{1B}[K") }
            write(text + "\n")
            drawn = false
            lastDraw = nil
        }
    }

    /// Redraws the status line (terminal only), unless it was drawn less than 200 ms ago.
    public func status(_ text: @autoclosure () -> String) {
        guard !quiet, terminal else { return }
        lock.withLock {
            let now = ContinuousClock.now
            if let lastDraw, now - lastDraw < .milliseconds(200) { return }
            lastDraw = now
            write("\r\u{1B}[K" + text())
            drawn = true
        }
    }

    /// Clears the status line (at the end of the run).
    public func finish() {
        lock.withLock {
            if drawn { write("\r\u{1B}[K") }
            drawn = false
        }
    }
}
