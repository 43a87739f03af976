/// Finds a key that appears twice in one JSON object. Foundation's `JSONSerialization` and
/// `JSONDecoder` keep one of the values silently; in a file a user edits by hand (a mapping)
/// or one that came from outside (a model's metadata), the duplicate is either a mistake or
/// an attempt to show one value to one reader and another to the next, so Revisit refuses it.
public enum JSONDuplicateKeys {
    /// The path of the first repeated key (`visits.columns.visit_id`, `[2].name`), or `nil`
    /// when every object's keys are distinct. Text that is not JSON gives `nil` (the caller's
    /// decoder reports that with its own message).
    public static func first(in bytes: [UInt8]) -> String? {
        var scanner = Scanner(bytes: bytes)
        return (try? scanner.value(path: "")) ?? nil
    }

    private struct NotJSON: Error {}

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        var depth = 0

        /// Scans one value; returns the path of a duplicate key inside it, if any.
        mutating func value(path: String) throws -> String? {
            // Bounded nesting: a crafted file must not exhaust the stack.
            depth += 1
            defer { depth -= 1 }
            guard depth <= 512 else { throw NotJSON() }
            skipSpace()
            guard index < bytes.count else { throw NotJSON() }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var keys = Set<String>()
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return nil }
                while true {
                    skipSpace()
                    let key = try string()
                    let keyPath = path.isEmpty ? key : "\(path).\(key)"
                    if !keys.insert(key).inserted { return keyPath }
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw NotJSON() }
                    index += 1
                    if let found = try value(path: keyPath) { return found }
                    skipSpace()
                    guard index < bytes.count else { throw NotJSON() }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    guard bytes[index] == UInt8(ascii: "}") else { throw NotJSON() }
                    index += 1
                    return nil
                }
            case UInt8(ascii: "["):
                index += 1
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return nil }
                var element = 0
                while true {
                    if let found = try value(path: "\(path)[\(element)]") { return found }
                    element += 1
                    skipSpace()
                    guard index < bytes.count else { throw NotJSON() }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    guard bytes[index] == UInt8(ascii: "]") else { throw NotJSON() }
                    index += 1
                    return nil
                }
            case UInt8(ascii: "\""):
                _ = try string()
                return nil
            default:
                // A number, true, false or null: up to the next delimiter.
                while index < bytes.count,
                    ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(
                        bytes[index])
                {
                    index += 1
                }
                return nil
            }
        }

        /// A string token, escapes decoded (so `"a"` and `"\u0061"` are the same key).
        mutating func string() throws -> String {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw NotJSON() }
            index += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flushRaw() {
                scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                raw.removeAll()
            }
            var pendingHigh: UInt32?
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") {
                    flushRaw()
                    return String(scalars)
                }
                guard byte == UInt8(ascii: "\\") else { raw.append(byte); continue }
                guard index < bytes.count else { throw NotJSON() }
                let escape = bytes[index]
                index += 1
                flushRaw()
                switch escape {
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count,
                        let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                    else { throw NotJSON() }
                    index += 4
                    if (0xD800...0xDBFF).contains(code) {
                        pendingHigh = code
                        continue
                    }
                    if let high = pendingHigh, (0xDC00...0xDFFF).contains(code) {
                        let combined = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
                        if let scalar = Unicode.Scalar(combined) { scalars.append(scalar) }
                    } else if let scalar = Unicode.Scalar(code) {
                        scalars.append(scalar)
                    }
                    pendingHigh = nil
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                default: scalars.append(Unicode.Scalar(escape))
                }
            }
            throw NotJSON()
        }
    }
}
