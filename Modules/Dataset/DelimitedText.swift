/// Reading and writing the RFC 4180 CSV that Revisit itself writes (dataset files, scores).
///
/// This is deliberately not the importer's reader: ERP exports go through libcsv with
/// encodings, delimiters and per-row error recovery (`ERPImport`). Revisit's own files are
/// UTF-8, comma-separated, `\n`-terminated, with fields quoted only when they hold a comma, a
/// quote, CR or LF — so a strict byte-level reader suffices, and it is fast (a 1M-row dataset
/// reads in well under a second). Any deviation is a ``DatasetError/malformed`` naming the line.
public enum DelimitedText {
    /// Appends `field` to `output`, quoted when needed.
    public static func appendField(_ field: String, to output: inout [UInt8]) {
        var field = field
        field.withUTF8 { appendField(bytes: $0, to: &output) }
    }

    /// ``appendField(_:to:)`` for a field already in UTF-8 bytes (the importer's sort payloads),
    /// without making a `String` of it.
    public static func appendField(bytes field: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        if field.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
            output.append(0x22)
            for byte in field {
                if byte == 0x22 { output.append(0x22) }
                output.append(byte)
            }
            output.append(0x22)
        } else {
            output.append(contentsOf: field)
        }
    }

    /// Appends one record (fields joined by commas, then `\n`).
    public static func appendRecord(_ fields: [String], to output: inout [UInt8]) {
        for (index, field) in fields.enumerated() {
            if index > 0 { output.append(0x2C) }
            appendField(field, to: &output)
        }
        output.append(0x0A)
    }

    /// Parses a whole file into records of fields. `path` names the file in errors; line
    /// numbers are 1-based physical lines. The last record may omit its `\n`.
    ///
    /// `spreadsheetTolerant` is for files a person may have opened and saved in a spreadsheet
    /// (scores, call lists): `\r\n` line ends and a leading UTF-8 byte-order mark are accepted.
    /// A lone carriage return stays an error, and Revisit's own data files stay strict.
    public static func parse(_ bytes: [UInt8], path: String, spreadsheetTolerant: Bool = false) throws -> [(
        line: Int, fields: [String]
    )] {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var index = spreadsheetTolerant && bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        /// A `\r\n` line end where those are accepted.
        func crlf(at position: Int) -> Bool {
            spreadsheetTolerant && position + 1 < bytes.count && bytes[position] == 0x0D && bytes[position + 1] == 0x0A
        }
        var line = 1
        var recordLine = 1
        let count = bytes.count
        var fieldStarted = false
        while index < count {
            let byte = bytes[index]
            if byte == 0x22 && field.isEmpty && !fieldStarted {
                // Quoted field: runs to the closing quote; "" is a literal quote.
                index += 1
                while true {
                    guard index < count else {
                        throw DatasetError.malformed(path: path, line: recordLine, reason: "unterminated quoted field")
                    }
                    let inner = bytes[index]
                    if inner == 0x22 {
                        if index + 1 < count && bytes[index + 1] == 0x22 {
                            field.append(0x22)
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    if inner == 0x0A { line += 1 }
                    field.append(inner)
                    index += 1
                }
                fieldStarted = true
                guard index == count || bytes[index] == 0x2C || bytes[index] == 0x0A || crlf(at: index) else {
                    throw DatasetError.malformed(path: path, line: line, reason: "text after a closing quote")
                }
                continue
            }
            switch byte {
            case 0x2C:
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                fieldStarted = false
            case 0x0A:
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                fieldStarted = false
                records.append((recordLine, fields))
                fields = []
                line += 1
                recordLine = line
            case 0x0D where crlf(at: index):
                break  // the \n that follows ends the record
            case 0x0D:
                throw DatasetError.malformed(
                    path: path, line: line, reason: "carriage return outside quotes (Revisit files end lines with \\n)")
            case 0x22:
                throw DatasetError.malformed(path: path, line: line, reason: "quote inside an unquoted field")
            default:
                field.append(byte)
                fieldStarted = true
            }
            index += 1
        }
        if fieldStarted || !fields.isEmpty {
            fields.append(String(decoding: field, as: UTF8.self))
            records.append((recordLine, fields))
        }
        return records
    }
}
