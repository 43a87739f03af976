import CLibCSV
import CLibXML2
import COpenBLAS
import Testing

/// The three system libraries are found, linked and behave as the importer and the tensor
/// code rely on (a fresh machine gets them from `make deps`).
@Suite("System libraries: libcsv, libxml2, OpenBLAS")
struct SystemLibrariesTests {
    final class Fields { var values: [String] = []; var rows = 0 }

    @Test func libcsvParsesQuotedFieldsWithDelimitersAndNewlines() {
        var parser = csv_parser()
        #expect(csv_init(&parser, UInt8(CSV_STRICT | CSV_APPEND_NULL)) == 0)
        defer { csv_free(&parser) }
        let input = "a,\"b, with comma\",\"line\nbreak\",\"say \"\"hi\"\"\"\r\n"
        let fields = Fields()
        let context = Unmanaged.passUnretained(fields).toOpaque()
        let bytes = Array(input.utf8)
        let consumed = csv_parse(
            &parser, bytes, bytes.count,
            { field, length, data in
                let fields = Unmanaged<Fields>.fromOpaque(data!).takeUnretainedValue()
                fields.values.append(
                    String(decoding: UnsafeRawBufferPointer(start: field, count: length), as: UTF8.self))
            },
            { _, data in
                Unmanaged<Fields>.fromOpaque(data!).takeUnretainedValue().rows += 1
            }, context)
        csv_fini(&parser, nil, nil, context)
        #expect(consumed == bytes.count)
        #expect(fields.values == ["a", "b, with comma", "line\nbreak", "say \"hi\""])
        #expect(fields.rows == 1)
    }

    @Test func libxml2StreamingReaderWithoutNetworkOrEntitySubstitution() {
        let document = "<VisitExport><Visit id=\"V1\"><CustomerId>C7</CustomerId></Visit></VisitExport>"
        let bytes = Array(document.utf8CString)
        let reader = bytes.withUnsafeBufferPointer {
            xmlReaderForMemory(
                $0.baseAddress, Int32(document.utf8.count), nil, "UTF-8", Int32(XML_PARSE_NONET.rawValue))
        }
        #expect(reader != nil)
        defer { xmlFreeTextReader(reader) }
        var names: [String] = []
        var text: [String] = []
        while xmlTextReaderRead(reader) == 1 {
            if xmlTextReaderNodeType(reader) == Int32(XML_READER_TYPE_ELEMENT.rawValue) {
                names.append(String(cString: xmlTextReaderConstName(reader)))
            } else if xmlTextReaderNodeType(reader) == Int32(XML_READER_TYPE_TEXT.rawValue) {
                text.append(String(cString: xmlTextReaderConstValue(reader)))
            }
        }
        #expect(names == ["VisitExport", "Visit", "CustomerId"])
        #expect(text == ["C7"])
    }

    @Test func openBLASMultipliesAndReportsItsKernels() {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 0, count: 4)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, &c, 2)
        #expect(c == [19, 22, 43, 50])
        #expect(!String(cString: openblas_get_corename()).isEmpty)
    }
}
