#if canImport(Glibc)
    import Glibc
#endif

/// The text encodings an ERP export may use, and the per-line decoding to UTF-8.
///
/// Decoding never replaces a bad byte silently: ``decode(_:)`` reports the line invalid, and the
/// reader rejects the record that holds it (`invalid_encoding`), keeping the bytes as `\xNN`
/// escapes in `rejects.csv`.
public enum TextEncoding: Sendable, Equatable {
    case utf8
    /// GB18030 (a superset of GBK and GB2312), through glibc's iconv.
    case gb18030

    /// `utf-8`/`utf8`, `gb18030`, `gbk`/`gb2312` (read as GB18030, their superset); case-insensitive.
    public init?(name: String) {
        switch name.lowercased() {
        case "utf-8", "utf8": self = .utf8
        case "gb18030", "gbk", "gb2312", "cp936": self = .gb18030
        default: return nil
        }
    }

    /// The byte-order mark this encoding may start with.
    var byteOrderMark: [UInt8] { self == .utf8 ? [0xEF, 0xBB, 0xBF] : [0x84, 0x31, 0x95, 0x33] }
}

/// Converts lines to UTF-8. One per input file; owns its iconv descriptor (released in deinit).
final class LineDecoder {
    let encoding: TextEncoding
    private var converter: iconv_t?
    private var output: [UInt8] = []

    init(encoding: TextEncoding) {
        self.encoding = encoding
        if encoding == .gb18030 {
            let descriptor = iconv_open("UTF-8", "GB18030")
            // (iconv_t)-1 signals failure; glibc always ships GB18030, so this is a broken install.
            precondition(
                Int(bitPattern: descriptor) != -1,
                "iconv_open(UTF-8, GB18030) failed: glibc's gconv modules are missing")
            converter = descriptor
        }
    }

    deinit {
        if let converter { iconv_close(converter) }
    }

    /// The line as UTF-8 bytes; `valid` is false when some byte is not valid in the encoding,
    /// in which case `bytes` holds the line with each undecodable byte written as `\xNN`.
    func decode(_ line: UnsafeBufferPointer<UInt8>) -> (bytes: [UInt8], valid: Bool) {
        switch encoding {
        case .utf8:
            if Self.isValidUTF8(line) { return (Array(line), true) }
            return (Self.escapingInvalid(line), false)
        case .gb18030:
            return convert(line)
        }
    }

    /// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 { index += 1; continue }
            let length = sequenceLength(bytes, at: index)
            if length == 0 { return false }
            index += length
        }
        return true
    }

    /// Length of the valid UTF-8 sequence starting at `index`, or 0 when it is not valid.
    static func sequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = bytes[index]
        let count = bytes.count
        func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            index + offset < count && range.contains(bytes[index + offset])
        }
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return continuation(1) ? 2 : 0
        case 0xE0: return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : 0
        case 0xED: return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
        case 0xF0: return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4: return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default: return 0
        }
    }

    /// Valid sequences kept, every other byte as the four characters `\xNN`.
    static func escapingInvalid(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let length = sequenceLength(bytes, at: index)
            if length > 0 {
                output.append(contentsOf: bytes[index..<index + length])
                index += length
            } else {
                appendEscaped(bytes[index], to: &output)
                index += 1
            }
        }
        return output
    }

    static func appendEscaped(_ byte: UInt8, to output: inout [UInt8]) {
        let digits = Array("0123456789ABCDEF".utf8)
        output.append(contentsOf: [0x5C, 0x78, digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    private func convert(_ line: UnsafeBufferPointer<UInt8>) -> (bytes: [UInt8], valid: Bool) {
        guard let converter, line.count > 0 else { return ([], true) }
        // GB18030 needs at most 4 bytes per character and UTF-8 at most 4 per character, and
        // every GB18030 character is at least 1 byte: 4 output bytes per input byte suffice.
        if output.count < 4 * line.count + 16 { output = [UInt8](repeating: 0, count: 4 * line.count + 16) }
        var result: [UInt8] = []
        result.reserveCapacity(line.count * 2)
        var valid = true
        var inputOffset = 0
        iconv(converter, nil, nil, nil, nil)  // reset the shift state: each line stands alone
        output.withUnsafeMutableBufferPointer { out in
            while inputOffset < line.count {
                var inPointer: UnsafeMutablePointer<CChar>? =
                    UnsafeMutableRawPointer(mutating: line.baseAddress! + inputOffset).assumingMemoryBound(
                        to: CChar.self)
                var inLeft = line.count - inputOffset
                var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(out.baseAddress!)
                    .assumingMemoryBound(to: CChar.self)
                var outLeft = out.count
                let status = iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
                result.append(contentsOf: out[0..<(out.count - outLeft)])
                let consumed = (line.count - inputOffset) - inLeft
                inputOffset += consumed
                if status == -1 && inputOffset < line.count {
                    // EILSEQ (invalid) or EINVAL (incomplete at the end of the line): keep the
                    // byte visibly escaped, mark the line invalid, resume after it.
                    valid = false
                    Self.appendEscaped(line[inputOffset], to: &result)
                    inputOffset += 1
                    iconv(converter, nil, nil, nil, nil)
                }
            }
        }
        return (result, valid)
    }
}
