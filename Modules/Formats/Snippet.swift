/// A bounded, printable excerpt of text that came from a file, for error messages: a crafted
/// file (or a link to one) must not be able to print a megabyte, a terminal escape sequence or
/// a fake second message line through a tool's stderr.
public enum Snippet {
    /// `text` with control characters shown as `\u{…}` and, past `limit` characters, cut with
    /// `…(N characters)`.
    public static func bounded(_ text: String, limit: Int = 120) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                let total = text.unicodeScalars.count
                out += "…(\(total) characters)"
                return out
            }
            if isControl(scalar) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }

    /// Whether `scalar` would break a line of output or drive a terminal: C0 and C1 controls
    /// and the Unicode line and paragraph separators.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}
