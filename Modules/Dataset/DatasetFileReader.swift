#if canImport(Glibc)
    import Glibc
#endif
import Formats

/// One data file of a dataset directory read record by record, in bounded memory, with the
/// checks ``Dataset/load(directory:writerHoldsLock:waiting:)`` makes on a whole file: a regular
/// file (no symbolic link), the expected header, the header's field count on every row, and —
/// when the last record has been read — the size and SHA-256 the manifest recorded. The
/// importer's `--append` reads the dataset it extends this way, so that appending to a
/// dataset of any size holds only the importer's sort buffers.
public final class DatasetFileReader {
    public let path: String
    private let descriptor: Int32
    private let recorded: DatasetManifest.FileDigest?
    private var hasher = SHA256()
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEOF = false
    private var bytesRead = 0
    private var line = 1
    private let fieldCount: Int
    private var verified = false

    /// Opens `directory/name` and checks its header.
    /// - Throws: ``DatasetError``.
    public convenience init(directory: String, name: String, manifest: DatasetManifest, header: [String]) throws {
        let path = directory + "/" + name
        try self.init(path: path, header: header, recorded: try Dataset.recordedOutput(name, of: manifest, path: path))
    }

    /// Opens `path` and checks its header; `recorded` nil: a file this process just wrote,
    /// read back without a digest to compare.
    public init(path: String, header: [String], recorded: DatasetManifest.FileDigest?) throws {
        self.path = path
        self.recorded = recorded
        descriptor = try Dataset.openDatasetFile(path)
        fieldCount = header.count
        guard let first = try nextRecord() else {
            throw DatasetError.malformed(path: path, line: 1, reason: "empty file: no header")
        }
        guard first.fields == header else {
            throw DatasetError.malformed(
                path: path, line: 1,
                reason:
                    "header is \(Snippet.bounded(first.fields.joined(separator: ","))); expected \(header.joined(separator: ","))"
            )
        }
    }

    deinit { close(descriptor) }

    /// The next record, or nil after the last one (when the file's size and digest have been
    /// checked).
    public func next() throws -> (line: Int, fields: [String])? {
        guard let record = try nextRecord() else {
            try verify()
            return nil
        }
        guard record.fields.count == fieldCount else {
            throw DatasetError.malformed(
                path: path, line: record.line, reason: "\(record.fields.count) fields; the header has \(fieldCount)")
        }
        return record
    }

    private func verify() throws {
        guard !verified, let recorded else { return }
        verified = true
        try Dataset.check(path: path, bytes: bytesRead, sha256: hasher.hexDigest(), against: recorded)
    }

    /// One record's bytes (up to its `\n` outside quotes), parsed by ``DelimitedText``.
    private func nextRecord() throws -> (line: Int, fields: [String])? {
        var scan = start
        var inQuotes = false
        while true {
            while scan < buffer.count {
                let byte = buffer[scan]
                if byte == 0x22 { inQuotes.toggle() } else if byte == 0x0A && !inQuotes { break }
                scan += 1
            }
            if scan < buffer.count || atEOF { break }
            // Keep the unfinished record, read more.
            if start > 0 {
                buffer.removeFirst(start)
                scan -= start
                start = 0
            }
            try refill()
        }
        let end = min(scan + 1, buffer.count)
        guard end > start else { return nil }
        let recordLine = line
        let slice = Array(buffer[start..<end])
        start = end
        var records = try DelimitedText.parse(slice, path: path)
        for byte in slice where byte == 0x0A { line += 1 }
        guard records.count == 1 else {
            // An empty trailing piece cannot occur (end > start); more than one record cannot either.
            throw DatasetError.malformed(path: path, line: recordLine, reason: "unreadable record")
        }
        records[0].line = recordLine
        return records[0]
    }

    private func refill() throws {
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        while true {
            let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + old, chunk) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else {
                throw DatasetError.integrity(path: path, reason: "cannot be read: \(String(cString: strerror(errno)))")
            }
            buffer.removeLast(chunk - got)
            if got == 0 { atEOF = true }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[old..<old + got])) }
            bytesRead += got
            return
        }
    }
}

extension Dataset {
    /// Copies the data file `name` of `directory` byte for byte into `writer`, checking it
    /// against the size and SHA-256 the manifest recorded (an `--append` that changes nothing
    /// but the history copies the dataset's files this way).
    /// - Throws: ``DatasetError`` when the file is not the one recorded; what `write` throws.
    public static func copyVerified(
        directory: String, name: String, manifest: DatasetManifest, write: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let path = directory + "/" + name
        let recorded = try recordedOutput(name, of: manifest, path: path)
        let descriptor = try openDatasetFile(path)
        defer { close(descriptor) }
        var hasher = SHA256()
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else {
                throw DatasetError.integrity(path: path, reason: "cannot be read: \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            try chunk.withUnsafeBytes { raw in
                let part = UnsafeRawBufferPointer(rebasing: raw[0..<got])
                hasher.update(part)
                try write(part)
            }
            total += got
        }
        try check(path: path, bytes: total, sha256: hasher.hexDigest(), against: recorded)
    }
}
