#if canImport(Glibc)
    import Glibc
#endif
import CLibCSV
import ExternalSort

/// One CSV record as read: where it starts, its fields, its raw text, and any problem the
/// reader itself found (bad bytes, misplaced quotes, a file cut short).
public struct CSVRecord: Sendable {
    /// 1-based physical line where the record starts.
    public var line: Int
    /// The fields, decoded to UTF-8 (unquoted fields are trimmed of spaces and tabs by libcsv).
    public var fields: [String]
    /// The record's text as read, decoded to UTF-8 (undecodable bytes as `\xNN`), without its
    /// final line terminator.
    public var raw: [UInt8]
    /// A problem found while reading: the record must be rejected for it.
    public var problem: (reason: RejectReason, detail: String)?
}

/// A streaming CSV reader on libcsv (`csv_parse` with callbacks, RFC 4180).
///
/// The input is read in 1 MiB chunks and split into physical lines (ended by `\n`, `\r\n` or a
/// lone `\r`, so CR-only and mixed files keep true line numbers); each line is decoded to
/// UTF-8 (``TextEncoding``) and fed to libcsv on its own. Feeding line by line costs one extra
/// call per line and buys exact physical line numbers and the raw text of every record (which
/// libcsv does not report), and a place to resynchronise after a quoting error: the record in
/// progress is rejected and parsing restarts at the next line. `\n` never occurs inside a
/// GB18030 multi-byte character, so splitting before decoding is safe in both encodings.
public final class CSVReader {
    private let source: InputSource
    private let delimiter: UInt8
    private let quote: UInt8
    private let decoder: LineDecoder
    private var parser = csv_parser()
    private let state = ParseState()

    private var buffer: UnsafeMutableRawPointer
    private var bufferCapacity = 1 << 20
    private var start = 0  // first unconsumed byte
    private var end = 0  // one past the last byte read
    private var atEOF = false
    private var finished = false
    private var lineNumber = 0
    private var firstLine = true
    /// The longest physical line accepted (a longer one is a file error).
    static let maximumLineBytes = 64 << 20
    /// The longest record accepted, over all its lines: a quoted field that never closes
    /// would otherwise gather the rest of the file into one record. A longer record is
    /// rejected as a row (`record_too_large`, with the start of its text) and skipped to the
    /// line where its quoted field closes; the bound keeps memory flat. 16 MiB is far above any
    /// ERP row (a few kilobytes).
    static let maximumRecordBytes = 16 << 20
    /// How much of an over-long record `rejects.csv` keeps.
    static let rejectedRecordPrefix = 4096
    /// Skipping an over-long record: still inside its quoted field.
    private var skippingQuotedField = false

    /// One record's storage, reused from record to record (no allocation per record once the
    /// buffers have grown to the longest record): the fields' bytes back to back, where each
    /// field ends, the raw text, the line and the reader's problem.
    final class RecordBuffers {
        /// 1-based physical line where the record starts.
        var line = 1
        /// The fields' bytes, back to back (UTF-8: lines are decoded before libcsv splits them).
        var fieldBytes: [UInt8] = []
        /// Where field `i` ends in ``fieldBytes`` (it starts where field `i - 1` ends).
        var fieldEnds: [Int] = []
        /// The record's text as read, without its final line terminator.
        var raw: [UInt8] = []
        var problem: (reason: RejectReason, detail: String)?

        var fieldCount: Int { fieldEnds.count }

        /// Field `index` decoded as a `String` (ids, codes and dates are small strings: no
        /// allocation).
        func field(_ index: Int) -> String {
            withFields { field in field(index) }
        }

        /// Calls `body` with a function from a field's index to its text, the buffers borrowed
        /// once for all the fields (not retained per field).
        func withFields<Result>(_ body: ((Int) -> String) -> Result) -> Result {
            fieldBytes.withUnsafeBufferPointer { bytes in
                fieldEnds.withUnsafeBufferPointer { ends in
                    body { index in
                        let start = index == 0 ? 0 : ends[index - 1]
                        return String(
                            decoding: UnsafeBufferPointer(rebasing: bytes[start..<ends[index]]), as: UTF8.self)
                    }
                }
            }
        }

        func clear() {
            fieldBytes.removeAll(keepingCapacity: true)
            fieldEnds.removeAll(keepingCapacity: true)
            raw.removeAll(keepingCapacity: true)
            problem = nil
        }

        var record: CSVRecord {
            CSVRecord(line: line, fields: (0..<fieldCount).map(field), raw: raw, problem: problem)
        }
    }

    /// The record libcsv's callbacks are filling, and the completed ones waiting for
    /// ``advance()``. A fed line completes at most two records (a rejected one and the next), so
    /// the queue and the pool of spare buffers stay a few entries long.
    final class ParseState {
        let filling = RecordBuffers()
        /// ``filling``'s field buffers, held here while libcsv runs so that its callback
        /// appends to them without reaching through a second object per field.
        var fieldBytes: [UInt8] = []
        var fieldEnds: [Int] = []
        var completed: [RecordBuffers] = []
        var completedHead = 0
        var spare: [RecordBuffers] = []

        func finishRecord() {
            let done = spare.popLast() ?? RecordBuffers()
            swap(&done.fieldBytes, &fieldBytes)
            swap(&done.fieldEnds, &fieldEnds)
            swap(&done.raw, &filling.raw)
            done.line = filling.line
            done.problem = filling.problem
            while let last = done.raw.last, last == 0x0A || last == 0x0D { done.raw.removeLast() }
            completed.append(done)
            filling.clear()
            fieldBytes.removeAll(keepingCapacity: true)
            fieldEnds.removeAll(keepingCapacity: true)
        }
    }

    /// The input's display name (`-` for stdin), bytes read and SHA-256 so far.
    var displayName: String { source.displayName }
    var bytesRead: Int { source.bytesRead }
    var digest: String { source.digest }

    init(source: InputSource, delimiter: UInt8, quote: UInt8, encoding: TextEncoding) throws {
        self.source = source
        self.delimiter = delimiter
        self.quote = quote
        decoder = LineDecoder(encoding: encoding)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferCapacity, alignment: 16)
        try resetParser(first: true)
    }

    deinit {
        csv_free(&parser)
        buffer.deallocate()
    }

    private func resetParser(first: Bool) throws {
        if !first { csv_free(&parser) }
        // CSV_STRICT: a quote inside an unquoted field or text after a closing quote is an
        // error (not silently kept); CSV_STRICT_FINI: an unterminated quote at the end of the
        // input is an error (a truncated file), not a field that runs to EOF.
        guard csv_init(&parser, UInt8(CSV_STRICT | CSV_STRICT_FINI)) == 0 else {
            throw ImportFailure.badInput(
                path: source.displayName, line: nil, reason: "libcsv could not allocate its parser")
        }
        csv_set_delim(&parser, delimiter)
        csv_set_quote(&parser, quote)
    }

    /// The record ``advance()`` last made current; valid until the next call.
    private(set) var current: RecordBuffers?

    /// Makes the next record ``current`` in reused buffers; `false` at the end of the input.
    func advance() throws -> Bool {
        if let current {
            current.clear()
            state.spare.append(current)
            self.current = nil
        }
        while true {
            if state.completedHead < state.completed.count {
                current = state.completed[state.completedHead]
                state.completedHead += 1
                if state.completedHead == state.completed.count {
                    state.completed.removeAll(keepingCapacity: true)
                    state.completedHead = 0
                }
                return true
            }
            if finished { return false }
            try feedNextLine()
        }
    }

    /// The next record, or `nil` at the end of the input (a copy of ``advance()``'s).
    public func next() throws -> CSVRecord? {
        try advance() ? current!.record : nil
    }

    private static let fieldCallback: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Void =
        {
            pointer, length, context in
            Unmanaged<ParseState>.fromOpaque(context!)._withUnsafeGuaranteedRef { state in
                if let pointer, length > 0 {
                    state.fieldBytes.appendBytes(UnsafeRawBufferPointer(start: pointer, count: length))
                }
                state.fieldEnds.append(state.fieldBytes.count)
            }
        }

    private static let recordCallback: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Void = { _, context in
        Unmanaged<ParseState>.fromOpaque(context!)._withUnsafeGuaranteedRef { $0.finishRecord() }
    }

    /// True when libcsv is between records (its `pstate` is ROW_NOT_BEGUN).
    private var betweenRecords: Bool { parser.pstate == 0 }

    private func feedNextLine() throws {
        guard let line = try nextPhysicalLine() else {
            finish()
            return
        }
        lineNumber += 1
        if skippingQuotedField {
            skipOverLongRecord(line)
            return
        }
        var bytes = line
        if firstLine {
            firstLine = false
            let mark = decoder.encoding.byteOrderMark
            if bytes.count >= mark.count && zip(bytes, mark).allSatisfy({ $0 == $1 }) {
                bytes = UnsafeBufferPointer(rebasing: bytes[mark.count...])
            }
        }
        if betweenRecords {
            // Blank lines between records are not records (libcsv skips them too).
            if bytes.allSatisfy({ $0 == 0x0A || $0 == 0x0D }) { return }
            state.filling.line = lineNumber
        }
        let decoded = decoder.decode(bytes)
        if !decoded.valid && state.filling.problem == nil {
            state.filling.problem = (
                .invalidEncoding,
                "line \(lineNumber): bytes not valid \(decoder.encoding == .utf8 ? "UTF-8" : "GB18030") (shown as \\xNN in raw)"
            )
        }
        let context = Unmanaged.passUnretained(state).toOpaque()
        let parsed: Int
        if decoded.valid && decoder.encoding == .utf8 {
            state.filling.raw.append(contentsOf: bytes)
            parsed = csv_parse(
                &parser, bytes.baseAddress, bytes.count, Self.fieldCallback, Self.recordCallback, context)
            if parsed < bytes.count { try recoverFromParseError() }
        } else {
            state.filling.raw.append(contentsOf: decoded.bytes)
            parsed = decoded.bytes.withUnsafeBytes { raw in
                csv_parse(&parser, raw.baseAddress, raw.count, Self.fieldCallback, Self.recordCallback, context)
            }
            if parsed < decoded.bytes.count { try recoverFromParseError() }
        }
        if betweenRecords {
            state.filling.line = lineNumber + 1
        } else if state.filling.raw.count > Self.maximumRecordBytes {
            rejectOverLongRecord()
        }
    }

    /// Rejects the record in progress as too large, keeping the start of its text, and skips
    /// the rest of it: inside a quoted field, to the line where the field closes.
    private func rejectOverLongRecord() {
        let total = state.filling.raw.count
        let insideQuotes = parser.quoted != 0
        state.filling.raw.removeSubrange(Self.rejectedRecordPrefix...)
        state.filling.raw.append(contentsOf: Array("…".utf8))
        state.fieldBytes.removeAll()
        state.fieldEnds.removeAll()
        state.filling.problem = (
            .recordTooLarge,
            "the record starting on line \(state.filling.line) is longer than \(Self.maximumRecordBytes >> 20) MiB (\(total) bytes by line \(lineNumber)); raw keeps its first \(Self.rejectedRecordPrefix) bytes"
        )
        state.finishRecord()
        try? resetParser(first: false)
        skippingQuotedField = insideQuotes
        state.filling.line = lineNumber + 1
    }

    /// Consumes one line of an over-long record's open quoted field: the field (and the
    /// record) ends on the line where a quote closes it (`""` is an escaped quote).
    private func skipOverLongRecord(_ line: UnsafeBufferPointer<UInt8>) {
        var index = 0
        var inside = true
        while index < line.count {
            if line[index] == quote {
                if inside, index + 1 < line.count, line[index + 1] == quote {
                    index += 2
                    continue
                }
                inside.toggle()
            }
            index += 1
        }
        if !inside {
            skippingQuotedField = false
            state.filling.line = lineNumber + 1
        }
    }

    /// A quote out of place: reject the record in progress (its raw text holds the whole line)
    /// and restart the parser at the next line.
    private func recoverFromParseError() throws {
        if state.filling.problem == nil || state.filling.problem?.reason == .invalidEncoding {
            state.filling.problem = (
                .malformedQuotes, "line \(lineNumber): quote in an unquoted field or text after a closing quote"
            )
        }
        state.finishRecord()
        try resetParser(first: false)
    }

    private func finish() {
        finished = true
        if skippingQuotedField { return }  // already rejected as record_too_large
        let context = Unmanaged.passUnretained(state).toOpaque()
        if csv_fini(&parser, Self.fieldCallback, Self.recordCallback, context) != 0 {
            state.filling.problem = (
                .truncatedRecord, "input ends inside a quoted field that opened on line \(state.filling.line) or later"
            )
            state.finishRecord()
        }
    }

    /// The next physical line including its terminator (`\n`, `\r\n` or a lone `\r`; the last
    /// line may lack one), or `nil` at EOF.
    private func nextPhysicalLine() throws -> UnsafeBufferPointer<UInt8>? {
        while true {
            if start < end {
                let base = (buffer + start).assumingMemoryBound(to: UInt8.self)
                let available = end - start
                let newline = memchr(base, 0x0A, available).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) }
                // A CR before the first LF ends the line there, unless it is the CR of a CRLF.
                let searchCR = newline ?? available
                if let cr = memchr(base, 0x0D, searchCR).map({ UnsafeRawPointer($0) - UnsafeRawPointer(base) }) {
                    if cr + 1 < available || atEOF {
                        let length = (cr + 1 < available && base[cr + 1] == 0x0A) ? cr + 2 : cr + 1
                        start += length
                        return UnsafeBufferPointer(start: base, count: length)
                    }
                    // A CR at the end of what is buffered: read on to see whether an LF follows.
                } else if let newline {
                    start += newline + 1
                    return UnsafeBufferPointer(start: base, count: newline + 1)
                }
            }
            if atEOF {
                guard start < end else { return nil }
                let line = UnsafeBufferPointer(
                    start: (buffer + start).assumingMemoryBound(to: UInt8.self), count: end - start)
                start = end
                return line
            }
            // Move the partial line to the front; grow when one line fills the whole buffer.
            if start > 0 {
                memmove(buffer, buffer + start, end - start)
                end -= start
                start = 0
            }
            if end == bufferCapacity {
                // A bound on one physical line keeps a file with no newlines from taking all memory.
                guard bufferCapacity < Self.maximumLineBytes else {
                    throw ImportFailure.badInput(
                        path: source.displayName, line: lineNumber + 1,
                        reason: "line longer than \(Self.maximumLineBytes >> 20) MiB")
                }
                let grown = UnsafeMutableRawPointer.allocate(byteCount: bufferCapacity * 2, alignment: 16)
                grown.copyMemory(from: buffer, byteCount: end)
                buffer.deallocate()
                buffer = grown
                bufferCapacity *= 2
            }
            let got = try source.read(into: buffer + end, count: bufferCapacity - end)
            if got == 0 { atEOF = true } else { end += got }
        }
    }
}
