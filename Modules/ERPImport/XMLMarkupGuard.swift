/// A byte scanner in front of libxml2 that bounds what libxml2 itself would spend unbounded
/// time on, and remembers where a DOCTYPE starts.
///
/// libxml2 2.9 checks an element's attributes for duplicates pairwise: 100,000 attributes on
/// one start tag (a 1 MB file) take most of a minute of CPU before the reader sees the
/// element. The guard counts attributes per start tag in the bytes as they are handed to the
/// parser and stops the read past ``maximumAttributes``, so the import fails at once with the
/// line. It follows start tags only (`<` then a name character), quoted values (which may hold
/// `>` and `=`), and skips comments, processing instructions and declarations. The DOCTYPE's
/// line is recorded for the refusal message (the parser's own line number runs ahead of it by
/// a read-ahead chunk).
struct XMLMarkupGuard {
    /// The most attributes one element may carry (an ERP record has a handful).
    static let maximumAttributes = 1_000

    // The state, as bytes rather than an enum with a payload: the loop below runs once per
    // input byte, and a plain switch on a byte compiles to a jump table.
    private static let text: UInt8 = 0  // between tags
    private static let tagOpened: UInt8 = 1  // just after `<`
    private static let startTag: UInt8 = 2  // inside `<name …`, counting `=` outside quotes
    private static let quoted: UInt8 = 3  // inside an attribute value of a start tag (closed by `quote`)
    private static let otherMarkup: UInt8 = 4  // `</…>`, `<!…>`, `<?…?>`: nothing counted

    private var state = XMLMarkupGuard.text
    private var quote: UInt8 = 0
    private var attributes = 0
    private var line = 1
    private var tagLine = 1
    /// The line of the first `<!DOCTYPE`, once seen.
    private(set) var doctypeLine: Int?
    private var bangMatch = 0  // bytes of "!DOCTYPE" matched after `<`
    /// The line of a start tag over the bound, once seen: the read stops there.
    private(set) var tooManyAttributesLine: Int?

    /// Scans `bytes`; false when a start tag passed the bound (stop feeding the parser).
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        let doctype: StaticString = "!DOCTYPE"
        let doctypeBytes = doctype.utf8Start, doctypeCount = doctype.utf8CodeUnitCount
        var state = self.state, line = self.line
        defer {
            self.state = state
            self.line = line
        }
        for index in 0..<bytes.count {
            let byte = base[index]
            if byte == 0x0A { line += 1 }
            switch state {
            case Self.text:
                if byte == UInt8(ascii: "<") {
                    state = Self.tagOpened
                    tagLine = line
                    bangMatch = 0
                }
            case Self.tagOpened:
                if byte == UInt8(ascii: "!") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "/") {
                    state = Self.otherMarkup
                    bangMatch = byte == UInt8(ascii: "!") ? 1 : 0
                } else {
                    state = Self.startTag
                    attributes = 0
                }
            case Self.startTag:
                if byte == UInt8(ascii: ">") {
                    state = Self.text
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    state = Self.quoted
                    quote = byte
                } else if byte == UInt8(ascii: "=") {
                    attributes += 1
                    if attributes > Self.maximumAttributes {
                        tooManyAttributesLine = tagLine
                        return false
                    }
                }
            case Self.quoted:
                if byte == quote { state = Self.startTag }
            default:  // other markup
                if bangMatch > 0 && bangMatch < doctypeCount {
                    bangMatch = doctypeBytes[bangMatch] == byte ? bangMatch + 1 : 0
                    if bangMatch == doctypeCount, doctypeLine == nil { doctypeLine = tagLine }
                }
                // A DOCTYPE's internal subset holds `>` of its declarations: the guard only
                // needs to find the next start tag, and a `<` inside the subset starts one of
                // those declarations (`<!ENTITY`), which is other markup again.
                if byte == UInt8(ascii: ">") { state = Self.text }
            }
        }
        return true
    }
}
