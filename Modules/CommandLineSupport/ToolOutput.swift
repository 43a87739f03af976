import Formats
import Foundation

/// A tool's result file: `-` is standard output, anything else is written atomically
/// (``AtomicFile``); a failure to write is the documented exit 4 (``ToolFailure``).
public enum ToolOutput {
    /// Writes each `(path, bytes)` of `files` in order (a side file such as `--all-scores`
    /// first, so that the main output never appears without it).
    public static func write(_ files: [(path: String, bytes: [UInt8])]) throws {
        do {
            for (path, bytes) in files {
                if path == "-" {
                    FileHandle.standardOutput.write(Data(bytes))
                } else {
                    try AtomicFile.write(Data(bytes), to: path)
                }
            }
        } catch {
            throw ToolFailure(.cannotWrite, String(describing: error))
        }
    }
}
