import Dataset
import Foundation

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
        var validator = RowValidator(
            fields: Mapping.visitFields, required: Mapping.visitFields.map { _ in true }, sources: sources,
            categoricalFields: ["method", "target", "purpose", "result"], extraCategorical: [], numericCount: 0,
            table: mapping.visits, dateFormats: mapping.dateFormats.compactMap(DateFormat.init))
        // The oracle, beyond "no crash": every row read is accepted or rejected (the counts
        // reconcile), every rejected row has a line inside the input and its raw text, and the
        // accepted rows survive a round trip through the dataset's own visits.csv (the dataset
        // reloads to the same visits).
        let physicalLines = Self.physicalLineCount(bytes)
        var read = 0, accepted: [Visit] = [], rejected = 0
        do {
            let table = try TableSource(
                source: InputSource(bytes: bytes, name: "fuzz"), format: format, mapping: mapping,
                recordElement: "Visit", sources: sources)
            var row = table.makeRow()
            var values = validator.makeOutput()
            while try table.next(into: &row) {
                read += 1
                switch validator.validate(row, into: &values) {
                case .rejected(let reason, _, _):
                    rejected += 1
                    let raw = row.raw
                    check(
                        row.line >= 1 && row.line <= physicalLines,
                        "rejected row (\(reason)) names line \(row.line) of \(physicalLines)")
                    check(!raw.isEmpty, "rejected row (\(reason)) on line \(row.line) has no raw text")
                case .accepted:
                    guard let day = Day(iso: values[3]) else {
                        check(false, "accepted date \(values[3]) is not ISO"); continue
                    }
                    accepted.append(
                        Visit(
                            visitID: values[0], customerID: values[1], repID: values[2], date: day, method: values[4],
                            target: values[5],
                            purpose: values[6], result: values[7], isOrder: values[7] == "order"))
                }
            }
        } catch {
            // File-level refusals are the reader working as designed.
            return
        }
        check(read == accepted.count + rejected, "read \(read) ≠ accepted \(accepted.count) + rejected \(rejected)")
        do {
            let reloaded = try Dataset.parseVisits(
                Dataset.encodeVisits(accepted, columns: .init()), path: "fuzz", columns: .init())
            check(reloaded == accepted, "accepted visits do not read back from visits.csv unchanged")
        } catch {
            check(false, "accepted visits do not reload: \(error)")
        }
    }

    /// Lines as the readers count them: ended by `\n`, `\r\n` or a lone `\r`.
    static func physicalLineCount(_ bytes: [UInt8]) -> Int {
        var lines = 1
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0A {
                lines += 1
            } else if bytes[index] == 0x0D {
                lines += 1
                if index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
            }
            index += 1
        }
        return lines
    }

    /// A broken invariant is a finding: trap, so that libFuzzer saves the input.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz oracle: \(message())") }
    }
}
