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

    private enum State {
        case text
        case tagOpened  // just after `<`
        case startTag  // inside `<name …`, counting `=` outside quotes
        case quoted(UInt8)  // inside an attribute value of a start tag
        case otherMarkup  // `</…>`, `<!…>`, `<?…?>`: nothing counted
    }

    private var state = State.text
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
        let doctype = Array("!DOCTYPE".utf8)
        for byte in bytes {
            if byte == 0x0A { line += 1 }
            switch state {
            case .text:
                if byte == UInt8(ascii: "<") { state = .tagOpened; tagLine = line; bangMatch = 0 }
            case .tagOpened:
                if byte == UInt8(ascii: "!") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "/") {
                    state = .otherMarkup
                    bangMatch = byte == UInt8(ascii: "!") ? 1 : 0
                } else {
                    state = .startTag
                    attributes = 0
                }
            case .startTag:
                if byte == UInt8(ascii: ">") {
                    state = .text
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    state = .quoted(byte)
                } else if byte == UInt8(ascii: "=") {
                    attributes += 1
                    if attributes > Self.maximumAttributes {
                        tooManyAttributesLine = tagLine
                        return false
                    }
                }
            case .quoted(let quote):
                if byte == quote { state = .startTag }
            case .otherMarkup:
                if bangMatch > 0 && bangMatch < doctype.count {
                    bangMatch = doctype[bangMatch] == byte ? bangMatch + 1 : 0
                    if bangMatch == doctype.count, doctypeLine == nil { doctypeLine = tagLine }
                }
                // A DOCTYPE's internal subset holds `>` of its declarations: the guard only
                // needs to find the next start tag, and a `<` inside the subset starts one of
                // those declarations (`<!ENTITY`), which is other markup again.
                if byte == UInt8(ascii: ">") { state = .text }
            }
        }
        return true
    }
}
