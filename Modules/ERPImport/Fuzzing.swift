/// Entry points for the libFuzzer harnesses (`Tools/fuzz-csv`, `Tools/fuzz-xml`): run the whole
/// reading and validation path of one table on arbitrary bytes. Any thrown ``ImportFailure``
/// is an expected outcome; a crash, a hang or a sanitizer report is a bug.
public enum Fuzzing {
    /// Reads `bytes` as a visits CSV. The first byte picks the variant (delimiter, encoding),
    /// so one corpus exercises the semicolon and GB18030 paths too.
    public static func csv(_ bytes: [UInt8]) {
        var mapping = Mapping()
        if let first = bytes.first {
            if first & 1 == 1 { mapping.delimiter = ";" }
            if first & 2 == 2 { mapping.encoding = "gb18030" }
        }
        consume(bytes.isEmpty ? [] : Array(bytes.dropFirst()), format: .csv, mapping: mapping)
    }

    /// Reads `bytes` as a visits XML export.
    public static func xml(_ bytes: [UInt8]) {
        consume(bytes, format: .xml, mapping: Mapping())
    }

    static func consume(_ bytes: [UInt8], format: InputFormat, mapping: Mapping) {
        let sources = Mapping.visitFields.map { mapping.visitSource($0, format: format) }
        let validator = RowValidator(
            fields: Mapping.visitFields, required: Mapping.visitFields.map { _ in true }, sources: sources,
            categoricalFields: ["method", "target", "purpose", "result"], extraCategorical: [], numericCount: 0,
            table: mapping.visits, dateFormats: mapping.dateFormats.compactMap(DateFormat.init))
        do {
            let table = try TableSource(
                source: InputSource(bytes: bytes, name: "fuzz"), format: format, mapping: mapping, recordElement: "Visit", sources: sources)
            while let row = try table.next() {
                if case .rejected = validator.validate(row) { _ = row.raw }
            }
        } catch {
            // File-level refusals are the reader working as designed.
        }
    }
}
