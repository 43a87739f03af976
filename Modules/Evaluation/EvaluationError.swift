import Dataset

/// A data error in an evaluator input (a scores file, a ground-truth file), naming the file, the
/// line where there is one, and the reason, so a tool can print it as `FILE:LINE: reason`.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    /// The file does not exist or cannot be read.
    case missingFile(path: String)
    /// A row or the header is wrong.
    case malformed(path: String, line: Int, reason: String)
    /// The file is of a format version this build does not read.
    /// `expected`: the versions this build reads.
    case unsupportedVersion(path: String, line: Int, found: String, expected: [Int])
    /// The file is well formed but does not fit the request (another label window).
    case mismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): cannot read the file"
        case .malformed(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .mismatch(let path, let reason):
            return "\(path): \(reason)"
        case .unsupportedVersion(let path, let line, let found, let expected):
            let versions =
                expected.count == 1
                ? "version \(expected[0])"
                : "versions " + expected.dropLast().map(String.init).joined(separator: ", ") + " and \(expected.last!)"
            return "\(path):\(line): scores format_version \(found); this build reads \(versions) — "
                + "rescore with a scorer from the same release as this evaluator, or use the evaluator that matches the scorer"
        }
    }

    /// The same error for a `DatasetError` raised by the shared CSV parser.
    static func from(_ error: DatasetError) -> EvaluationError {
        switch error {
        case .missingFile(let path): .missingFile(path: path)
        case .malformed(let path, let line, let reason): .malformed(path: path, line: line, reason: reason)
        case .unsupportedFormat(let path, let found): .malformed(path: path, line: 1, reason: found)
        case .integrity(let path, let reason): .malformed(path: path, line: 1, reason: reason)
        }
    }
}
