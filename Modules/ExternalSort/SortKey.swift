/// Builds byte strings whose `memcmp` order is the order wanted, for ``ExternalSorter`` keys,
/// and length-prefixed payloads that ``PayloadReader`` takes apart again.
///
/// - Strings compare as their UTF-8 bytes (Swift's `String <` compares by Unicode canonical
///   equivalence instead; Revisit's files are sorted by bytes, as `LC_ALL=C sort` and DuckDB
///   sort them). A string is written with every 0x00 byte as 0x00 0xFF and ends in 0x00 0x00,
///   so that a string sorts before every longer string it is a prefix of, whatever its bytes.
/// - Unsigned integers are big-endian; a signed 32-bit integer has its sign bit flipped.
public struct SortKey {
    public private(set) var bytes: [UInt8] = []

    public init() { bytes.reserveCapacity(64) }

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    public mutating func append(ordered text: String) {
        var text = text
        text.withUTF8 { append(ordered: UnsafeRawBufferPointer($0)) }
    }

    /// ``append(ordered:)`` for a string's UTF-8 bytes (a field read back from a payload).
    public mutating func append(ordered utf8: UnsafeRawBufferPointer) {
        if !utf8.contains(0) {
            // Text (every id): one copy, not a byte-by-byte append.
            bytes.appendBytes(utf8)
        } else {
            for byte in utf8 {
                bytes.append(byte)
                if byte == 0 { bytes.append(0xFF) }
            }
        }
        bytes.append(0)
        bytes.append(0)
    }

    public mutating func append(_ value: UInt8) { bytes.append(value) }

    /// The bytes of the string ``append(ordered:)`` wrote at the start of `key`.
    public static func decodeOrdered<Bytes: Collection>(_ key: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var output: [UInt8] = []
        var iterator = key.makeIterator()
        while let byte = iterator.next() {
            if byte == 0 {
                guard iterator.next() == 0xFF else { break }
            }
            output.append(byte)
        }
        return output
    }

    public mutating func append(bigEndian value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.appendBytes($0) }
    }

    public mutating func append(bigEndian value: Int32) {
        withUnsafeBytes(of: (UInt32(bitPattern: value) ^ 0x8000_0000).bigEndian) { bytes.appendBytes($0) }
    }
}

/// A payload under construction: fixed-width little-endian integers and length-prefixed bytes.
public struct PayloadBuilder {
    public private(set) var bytes: [UInt8] = []

    public init() { bytes.reserveCapacity(256) }

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    public mutating func append(_ value: UInt8) { bytes.append(value) }

    public mutating func append(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.appendBytes($0) }
    }

    public mutating func append(_ value: Int32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.appendBytes($0) }
    }

    /// Length (u32) then the bytes. (Concrete overloads, not one generic method: across the
    /// module boundary a generic one runs unspecialised, looking up metadata on every row.)
    public mutating func append(field: UnsafeRawBufferPointer) {
        withUnsafeBytes(of: UInt32(field.count).littleEndian) { bytes.appendBytes($0) }
        bytes.appendBytes(field)
    }

    public mutating func append(field: [UInt8]) {
        field.withUnsafeBytes { append(field: $0) }
    }

    public mutating func append(field text: String) {
        var text = text
        text.withUTF8 { append(field: UnsafeRawBufferPointer($0)) }
    }
}

/// Reads what ``PayloadBuilder`` wrote, in the same order. The views are valid as long as the
/// payload they come from (until the sorted stream moves on).
public struct PayloadReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public mutating func uint8() -> UInt8 {
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func uint64() -> UInt64 {
        defer { position += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    public mutating func int32() -> Int32 {
        defer { position += 4 }
        return Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: Int32.self))
    }

    public mutating func field() -> UnsafeRawBufferPointer {
        let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
        position += 4
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    public mutating func string() -> String { String(decoding: field(), as: UTF8.self) }
}

extension Array where Element == UInt8 {
    /// Appends `raw`'s bytes with one copy. (`append(contentsOf:)` with an untyped buffer
    /// copies byte by byte through the generic sequence path: 5% of an import's samples.)
    @inlinable
    public mutating func appendBytes(_ raw: UnsafeRawBufferPointer) {
        append(contentsOf: raw.assumingMemoryBound(to: UInt8.self))
    }
}
