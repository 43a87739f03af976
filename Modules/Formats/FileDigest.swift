/// A file identified by its size and SHA-256, so that a reader can check two records name the
/// same bytes: the inputs and outputs of an import (`DatasetManifest.files`) and the inputs of a
/// report (`Evaluation.InputFile`).
public struct FileDigest: Sendable, Hashable, Codable {
    /// What the file is to its record: `input`/`output` in a dataset manifest; `scores`,
    /// `dataset`, `ground-truth`, … in a report.
    public var role: String
    /// The path as given on the command line (`-` for stdin), or a name inside a directory.
    public var path: String
    public var bytes: Int
    /// Lowercase hex SHA-256 of the bytes.
    public var sha256: String

    public init(role: String, path: String, bytes: Int, sha256: String) {
        self.role = role
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
    }

    /// The record of `contents`, read from `path`.
    public init(role: String, path: String, contents: [UInt8]) {
        self.init(role: role, path: path, bytes: contents.count, sha256: SHA256.hex(contents))
    }
}
