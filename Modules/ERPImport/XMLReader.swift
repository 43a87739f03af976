#if canImport(Glibc)
    import Glibc
#endif
import CLibXML2

/// One record element as read: its line, its attributes (`@id`) and child elements in order.
public struct XMLRecord: Sendable {
    /// The line of the record's start tag.
    public var line: Int
    /// `(name, text)` in document order; attributes first, named `@name`.
    public var parts: [(name: String, text: String)]
    /// For each part, the reader's number for its name (``XMLReader/nameNumber``): the same
    /// name has the same number throughout one reader, so a table can resolve a name to its
    /// column once instead of hashing it in every record.
    public var nameNumbers: [Int] = []
    /// A problem found while reading (a repeated child element).
    public var problem: (reason: RejectReason, detail: String)?

    /// The record written back as XML, for `rejects.csv` (the reader streams, so the original
    /// bytes are gone; this is the same content, re-serialised).
    public var raw: String { String(decoding: rawUTF8, as: UTF8.self) }

    /// ``raw`` as UTF-8 bytes, escaped byte by byte (every accepted row's text is kept until
    /// its table ends, for the conflicting-duplicate rule, so this runs once per record).
    public var rawUTF8: [UInt8] {
        var out: [UInt8] = []
        // The size without escapes, so that the buffer is allocated once for nearly every record.
        var size = 2 * recordName.utf8.count + 5
        for (name, value) in parts { size += 2 * name.utf8.count + value.utf8.count + 5 }
        out.reserveCapacity(size + 16)
        func append(_ text: String) { out.append(contentsOf: text.utf8) }
        func appendEscaped(_ value: String) {
            var utf8 = value.utf8
            // Most values have nothing to escape: one bulk copy (the fast path of a contiguous
            // native string), byte by byte only when a special character is present.
            let needsEscaping =
                utf8.withContiguousStorageIfAvailable { bytes in
                    bytes.contains { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 }
                } ?? true
            if !needsEscaping {
                out.append(contentsOf: utf8)
                return
            }
            utf8 = value.utf8
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "&"): append("&amp;")
                case UInt8(ascii: "<"): append("&lt;")
                case UInt8(ascii: ">"): append("&gt;")
                case UInt8(ascii: "\""): append("&quot;")
                default: out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "<"))
        append(recordName)
        for (name, value) in parts where name.utf8.first == UInt8(ascii: "@") {
            out.append(0x20)
            out.append(contentsOf: name.utf8.dropFirst())
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "\""))
            appendEscaped(value)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: ">"))
        for (name, value) in parts where name.utf8.first != UInt8(ascii: "@") {
            out.append(UInt8(ascii: "<"))
            append(name)
            out.append(UInt8(ascii: ">"))
            appendEscaped(value)
            out.append(UInt8(ascii: "<"))
            out.append(UInt8(ascii: "/"))
            append(name)
            out.append(UInt8(ascii: ">"))
        }
        out.append(UInt8(ascii: "<"))
        out.append(UInt8(ascii: "/"))
        append(recordName)
        out.append(UInt8(ascii: ">"))
        return out
    }

    var recordName: String
}

/// A streaming XML reader on libxml2's `xmlTextReader`: memory stays flat in the file size
/// (the reader frees each record's nodes as it moves on).
///
/// Safety (BRIEF §5): parser options are `XML_PARSE_NONET` only — no `XML_PARSE_NOENT` (entities
/// are not substituted), no `XML_PARSE_DTDLOAD` (no external DTD is fetched). On top of that,
/// a DOCTYPE that declares any entity or names an external DTD, and any entity reference node,
/// stop the import with a file error before a record is produced; libxml2's own amplification
/// checks stop a billion-laughs document even earlier.
public final class XMLReader {
    private let source: InputSource
    private let recordName: String
    private var reader: OpaquePointer?
    private var errorState = ErrorState()
    private var names: [UnsafePointer<UInt8>: String] = [:]
    /// Element names by number (``nameNumber``), with the pointer libxml2 interned each under.
    /// Numbers are even for elements and odd for attributes (whose part names carry the `@`).
    private var elementPointers: [UnsafePointer<UInt8>] = [], elementNames: [String] = []
    private var attributePointers: [UnsafePointer<UInt8>] = [], attributeNames: [String] = []
    /// Per name number, the serial of the record in which it last appeared (a repeated child
    /// or attribute is one whose entry already holds the current record's serial), and for
    /// attributes the qualified name it appeared under (for the message).
    private var lastRecordOfName: [Int] = []
    private var qualifiedAttributeNames: [String] = []
    private var recordSerial = 0
    private var finished = false
    private let input: ReadContext
    /// The most child elements one record may have.
    static let maximumChildren = 10_000

    /// What the read callback needs: the source, and the guard that scans the bytes first.
    final class ReadContext {
        let source: InputSource
        var markupGuard = XMLMarkupGuard()
        init(source: InputSource) { self.source = source }
    }

    /// The first error libxml2 reported (message and line), captured instead of printed.
    final class ErrorState {
        var message: String?
        var line: Int = 0
    }

    var displayName: String { source.displayName }
    var bytesRead: Int { source.bytesRead }
    var digest: String { source.digest }

    private static let readCallback:
        @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = {
            context, buffer, length in
            let input = Unmanaged<ReadContext>.fromOpaque(context!).takeUnretainedValue()
            guard let buffer, length > 0 else { return 0 }
            do {
                let count = try input.source.read(into: UnsafeMutableRawPointer(buffer), count: Int(length))
                guard input.markupGuard.scan(UnsafeRawBufferPointer(start: buffer, count: count)) else { return -1 }
                return Int32(count)
            } catch {
                return -1
            }
        }

    private static let errorCallback:
        @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<xmlError>?) -> Void = {
            context, error in
            let state = Unmanaged<ErrorState>.fromOpaque(context!).takeUnretainedValue()
            guard let error, state.message == nil else { return }
            // Warnings (level 1) do not stop parsing; keep the first error or fatal error.
            guard error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
            var message = error.pointee.message.map { String(cString: $0) } ?? "XML error \(error.pointee.code)"
            while message.last == "\n" { message.removeLast() }
            state.message = message
            state.line = Int(error.pointee.line)
        }

    init(source: InputSource, recordElement: String) throws {
        self.source = source
        input = ReadContext(source: source)
        recordName = recordElement
        let options = Int32(XML_PARSE_NONET.rawValue)
        reader = xmlReaderForIO(
            Self.readCallback, nil, Unmanaged.passUnretained(input).toOpaque(), source.displayName, nil, options)
        guard let reader else {
            throw ImportFailure.badInput(
                path: source.displayName, line: nil, reason: "libxml2 could not create a reader")
        }
        xmlTextReaderSetStructuredErrorHandler(
            reader, Self.errorCallback, Unmanaged.passUnretained(errorState).toOpaque())
    }

    deinit {
        if let reader { xmlFreeTextReader(reader) }
    }

    private func name(_ pointer: UnsafePointer<UInt8>?) -> String {
        guard let pointer else { return "" }
        // libxml2 interns names in its dictionary: the same pointer is the same name.
        if let known = names[pointer] { return known }
        let text = String(cString: pointer)
        names[pointer] = text
        return text
    }

    /// The number of the name libxml2 interned at `pointer` (its dictionary gives one pointer
    /// per distinct name for the reader's life): even for element names, odd for attribute
    /// names. A record uses a dozen names, so a linear scan of the pointers beats hashing.
    private func nameNumber(_ pointer: UnsafePointer<UInt8>, attribute: Bool) -> Int {
        let pointers = attribute ? attributePointers : elementPointers
        for index in 0..<min(pointers.count, Self.scannedNames) where pointers[index] == pointer {
            return 2 * index + (attribute ? 1 : 0)
        }
        // Past the first names (a crafted file with thousands of distinct ones), a dictionary.
        if pointers.count > Self.scannedNames, let known = numberOfPointer[attribute ? 1 : 0][pointer] { return known }
        let number: Int
        if attribute {
            attributePointers.append(pointer)
            attributeNames.append("@" + String(cString: pointer))
            number = 2 * (attributePointers.count - 1) + 1
        } else {
            elementPointers.append(pointer)
            elementNames.append(String(cString: pointer))
            number = 2 * (elementPointers.count - 1)
        }
        if number / 2 >= Self.scannedNames { numberOfPointer[attribute ? 1 : 0][pointer] = number }
        return addNumber(number)
    }

    /// Names looked up by a linear scan before the dictionary takes over.
    private static let scannedNames = 32
    /// Element names' numbers (index 0) and attribute names' (1) past the scanned ones: libxml2
    /// may intern an element and an attribute of the same spelling at one pointer.
    private var numberOfPointer: [[UnsafePointer<UInt8>: Int]] = [[:], [:]]

    private func addNumber(_ number: Int) -> Int {
        while lastRecordOfName.count <= number {
            lastRecordOfName.append(-1)
            qualifiedAttributeNames.append("")
        }
        return number
    }

    /// The part name (`Date`, `@id`) of a name number.
    public func partName(_ number: Int) -> String {
        number % 2 == 1 ? attributeNames[number / 2] : elementNames[number / 2]
    }

    /// How many distinct names (elements and attributes) this reader has numbered.
    var nameNumberCount: Int { lastRecordOfName.count }

    private func fail(_ reason: String, line: Int? = nil) -> ImportFailure {
        .badInput(path: source.displayName, line: line ?? Int(xmlTextReaderGetParserLineNumber(reader)), reason: reason)
    }

    private func syntaxError() -> ImportFailure {
        if let line = input.markupGuard.tooManyAttributesLine {
            return fail(
                "an element with more than \(XMLMarkupGuard.maximumAttributes) attributes; refused (an export's records carry a few)",
                line: line)
        }
        if let message = errorState.message {
            return fail("XML error: \(message)", line: errorState.line)
        }
        return fail("XML error")
    }

    /// The next record element, or `nil` after the document ends.
    /// - Throws: ``ImportFailure/badInput`` on a syntax error, a refused DTD or entity, or an
    ///   element other than the record element directly under the root.
    public func next() throws -> XMLRecord? {
        guard !finished, let reader else { return nil }
        var record: XMLRecord?
        var childName: String?
        var childNumber = 0
        var childText = ""
        while true {
            let status = xmlTextReaderRead(reader)
            if status == 0 {
                finished = true
                if errorState.message != nil { throw syntaxError() }
                if record != nil { throw fail("document ends inside <\(recordName)>") }
                try source.drain()
                return nil
            }
            guard status == 1 else { throw syntaxError() }
            let type = xmlTextReaderNodeType(reader)
            let depth = xmlTextReaderDepth(reader)
            switch type {
            case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue):
                try checkDocumentType()
            case Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue):
                throw fail(
                    "entity reference &\(name(xmlTextReaderConstName(reader))); refused (entities are never expanded)")
            case Int32(XML_READER_TYPE_ELEMENT.rawValue):
                let localName = xmlTextReaderConstLocalName(reader)
                let number = localName.map { nameNumber($0, attribute: false) }
                let element = number.map(partName) ?? ""
                let empty = xmlTextReaderIsEmptyElement(reader) == 1
                if depth == 1 {
                    guard element == recordName else {
                        throw fail("unexpected element <\(element)> under the root; expected <\(recordName)>")
                    }
                    recordSerial += 1
                    var parts: [(name: String, text: String)] = []
                    var numbers: [Int] = []
                    var problem: (reason: RejectReason, detail: String)?
                    if xmlTextReaderMoveToFirstAttribute(reader) == 1 {
                        repeat {
                            if xmlTextReaderIsNamespaceDecl(reader) == 1 { continue }  // xmlns, xmlns:x
                            guard let local = xmlTextReaderConstLocalName(reader) else { continue }
                            let attribute = nameNumber(local, attribute: true)
                            let qualified = name(xmlTextReaderConstName(reader))
                            // `x:id` and `id` are one local name: which one is the id would be a guess.
                            if lastRecordOfName[attribute] == recordSerial {
                                if problem == nil {
                                    problem = (
                                        .unexpectedMarkup,
                                        "attribute \(partName(attribute).dropFirst()) given twice (\(qualifiedAttributeNames[attribute]) and \(qualified))"
                                    )
                                }
                            }
                            lastRecordOfName[attribute] = recordSerial
                            qualifiedAttributeNames[attribute] = qualified
                            let value = xmlTextReaderConstValue(reader).map { String(cString: $0) } ?? ""
                            parts.append((partName(attribute), value))
                            numbers.append(attribute)
                        } while xmlTextReaderMoveToNextAttribute(reader) == 1
                        xmlTextReaderMoveToElement(reader)
                    }
                    // The node's own line: the parser's line is ahead of the reader by up to a chunk.
                    let line = Int(xmlGetLineNo(xmlTextReaderCurrentNode(reader)))
                    var current = XMLRecord(line: line, parts: parts, problem: problem, recordName: recordName)
                    current.nameNumbers = numbers
                    if empty { return current }
                    record = current
                } else if depth == 2, record != nil {
                    if element == recordName {
                        flag(&record!, .unexpectedMarkup, "a <\(element)> nested inside <\(recordName)>")
                    } else if let number {
                        if lastRecordOfName[number] == recordSerial {
                            flag(&record!, .repeatedElement, "element <\(element)> appears more than once")
                        }
                        lastRecordOfName[number] = recordSerial
                    }
                    if record!.parts.count >= Self.maximumChildren {
                        flag(&record!, .recordTooLarge, "more than \(Self.maximumChildren) child elements")
                    } else if empty {
                        record!.parts.append((element, ""))
                        record!.nameNumbers.append(number ?? -1)
                    } else {
                        childName = element
                        childNumber = number ?? -1
                        childText = ""
                    }
                } else if depth >= 3, record != nil {
                    // Markup inside a field: reading only its text would change the value.
                    flag(
                        &record!, .unexpectedMarkup,
                        "element <\(element)> inside <\(childName ?? recordName)>; a field holds text only")
                }
            case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue):
                if depth == 3, childName != nil, let value = xmlTextReaderConstValue(reader) {
                    // One text node per field as a rule; CDATA sections and text around them add up.
                    if childText.isEmpty {
                        childText = String(cString: value)
                    } else {
                        childText += String(cString: value)
                    }
                } else if depth == 2, record != nil {
                    flag(&record!, .unexpectedMarkup, "text directly inside <\(recordName)>, outside any field")
                }
            case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
                if depth == 2, let child = childName {
                    if record!.parts.count < Self.maximumChildren {
                        record!.parts.append((child, childText))
                        record!.nameNumbers.append(childNumber)
                    }
                    childName = nil
                } else if depth == 1, let done = record {
                    return done
                }
            default:
                break
            }
        }
    }

    /// Sets the record's problem unless it already has one (the first reason is reported).
    private func flag(_ record: inout XMLRecord, _ reason: RejectReason, _ detail: String) {
        if record.problem == nil { record.problem = (reason, detail) }
    }

    /// Refuses a DOCTYPE that declares entities (general or parameter) or points at an external
    /// DTD: such a document is either an attack (XXE, billion laughs) or not an ERP export.
    private func checkDocumentType() throws {
        guard let node = xmlTextReaderCurrentNode(reader), node.pointee.type == XML_DTD_NODE else { return }
        let dtd = UnsafeMutableRawPointer(node).assumingMemoryBound(to: xmlDtd.self)
        let line = input.markupGuard.doctypeLine
        if dtd.pointee.entities != nil || dtd.pointee.pentities != nil {
            throw fail(
                "DOCTYPE declares entities; refused (external and internal entities are never processed)", line: line)
        }
        if dtd.pointee.SystemID != nil || dtd.pointee.ExternalID != nil {
            throw fail("DOCTYPE names an external DTD; refused (nothing outside the file is ever loaded)", line: line)
        }
    }
}
