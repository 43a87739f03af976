import Foundation
import Formats

/// A set of named tensors and a string→string metadata map in the safetensors layout
/// (https://github.com/huggingface/safetensors), so that PyTorch, numpy and Rust tools read
/// Revisit's files and Revisit reads theirs.
///
/// Layout:
/// ```
/// [8 bytes]  N, the header length, unsigned little-endian
/// [N bytes]  JSON: {"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}
///            padded with spaces to a multiple of 8 bytes
/// [rest]     raw little-endian tensor data; offsets are relative to the start of this region
/// ```
/// Supported dtypes: `F32` (as ``Tensor``), `I64` (as ``Int64Tensor``) and one-dimensional `U8`
/// (as a byte string: an embedded model in another library's format, such as XGBoost's).
///
/// **Writing** is deterministic: tensors are laid out by name in byte order, the header JSON
/// is written with a fixed key order and no whitespace, so the same content gives the same
/// bytes. Files are written atomically (``AtomicFile``).
///
/// **Reading** checks everything before trusting it and throws ``TensorFileError`` naming the
/// file: a header longer than the file or than 100 MB (the reference implementation's cap),
/// malformed JSON, an unknown dtype, a negative or overflowing shape, offsets whose length does
/// not match dtype × shape, overlapping or gapped tensors, and data shorter or longer than the
/// header declares (a truncated copy).
public struct TensorFile: Equatable, Sendable {
    /// Float32 tensors by name.
    public var tensors: [String: Tensor]
    /// Int64 tensors by name (counters, indices, optimizer step numbers).
    public var integerTensors: [String: Int64Tensor]
    /// One-dimensional U8 tensors by name: byte strings.
    public var byteTensors: [String: [UInt8]]
    /// The `__metadata__` map: format version, architecture, settings — string values only,
    /// as the safetensors specification requires.
    public var metadata: [String: String]

    public init(
        tensors: [String: Tensor] = [:], integerTensors: [String: Int64Tensor] = [:],
        byteTensors: [String: [UInt8]] = [:],
        metadata: [String: String] = [:]
    ) {
        self.tensors = tensors
        self.integerTensors = integerTensors
        self.byteTensors = byteTensors
        self.metadata = metadata
    }

    /// Largest header the reader accepts, as in the reference implementation.
    public static let maximumHeaderLength = 100_000_000

    // MARK: Writing

    /// The file's bytes.
    public func encoded() -> Data {
        precondition(
            Set(tensors.keys).isDisjoint(with: integerTensors.keys)
                && Set(tensors.keys).isDisjoint(with: byteTensors.keys)
                && Set(integerTensors.keys).isDisjoint(with: byteTensors.keys),
            "TensorFile: a name is used by two tensors of different dtypes")
        precondition(
            tensors["__metadata__"] == nil && integerTensors["__metadata__"] == nil
                && byteTensors["__metadata__"] == nil,
            "TensorFile: `__metadata__` is reserved and cannot name a tensor")
        enum Entry { case float(Tensor), integer(Int64Tensor), bytes([UInt8]) }
        var entries: [(name: String, entry: Entry)] = tensors.map { ($0.key, .float($0.value)) }
        entries += integerTensors.map { ($0.key, .integer($0.value)) }
        entries += byteTensors.map { ($0.key, .bytes($0.value)) }
        entries.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }

        var header = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                .map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, entry) in entries {
            let (dtype, shape, byteCount): (String, [Int], Int)
            switch entry {
            case .float(let t): (dtype, shape, byteCount) = ("F32", t.shape, t.count * 4)
            case .integer(let t): (dtype, shape, byteCount) = ("I64", t.shape, t.scalars.count * 8)
            case .bytes(let b): (dtype, shape, byteCount) = ("U8", [b.count], b.count)
            }
            let shapeText = shape.map(String.init).joined(separator: ",")
            fields.append(
                "\(jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shapeText)],\"data_offsets\":[\(offset),\(offset + byteCount)]}"
            )
            offset += byteCount
        }
        header += fields.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        // Pad so the data region starts 8-byte aligned, as the reference writer does.
        while (headerBytes.count % 8) != 0 { headerBytes.append(0x20) }

        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for (_, entry) in entries {
            switch entry {
            case .float(let t):
                t.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
            case .integer(let t):
                for value in t.scalars { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
            case .bytes(let b):
                data.append(contentsOf: b)
            }
        }
        return data
    }

    /// Writes the file atomically (temporary file, fsync, rename).
    /// `value` as a metadata string: JSON with sorted keys, so the same value always gives the
    /// same bytes (model files and checkpoints retrain to identical files).
    public static func metadataJSON<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    // MARK: Reading

    /// Reads and validates a tensor file.
    public static func read(from path: String) throws -> TensorFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw TensorFileError(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, source: path)
    }

    /// Decodes and validates the bytes of a tensor file; `source` names it in errors.
    public static func decode(_ data: Data, source: String) throws -> TensorFile {
        func fail(_ reason: String) -> TensorFileError { TensorFileError(path: source, reason: reason) }
        guard data.count >= 8 else {
            throw fail(
                "truncated: \(data.count) bytes, shorter than the 8-byte header length (not a safetensors file?)")
        }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | (UInt64($1.element) << (8 * UInt64($1.offset)))
        }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw fail(
                "header length \(headerLength) exceeds the \(maximumHeaderLength)-byte limit (not a safetensors file, or corrupt)"
            )
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("truncated: header length is \(headerLength) bytes but only \(data.count - 8) follow")
        }
        let headerStart = data.startIndex + 8
        let headerData = data[headerStart..<(headerStart + Int(headerLength))]
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData, options: [])
        } catch {
            throw fail("header is not valid JSON: \(error.localizedDescription)")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        // JSONSerialization keeps one of two equal keys silently: two tensors or two metadata
        // values under one name would show one reader one value and the next another.
        if let repeated = JSONDuplicateKeys.first(in: [UInt8](headerData)) {
            throw fail("header key '\(repeated)' appears twice")
        }

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let map = raw as? [String: Any] else { throw fail("`__metadata__` is not an object") }
            for (key, value) in map {
                guard let text = value as? String else {
                    throw fail("`__metadata__` value for \"\(key)\" is not a string (safetensors allows strings only)")
                }
                metadata[key] = text
            }
        }

        let dataStart = headerStart + Int(headerLength)
        let dataLength = data.count - 8 - Int(headerLength)
        struct Span { let name: String, begin: Int, end: Int }
        var spans: [Span] = []
        var result = TensorFile(metadata: metadata)
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any] else { throw fail("entry \"\(name)\" is not an object") }
            guard let dtype = info["dtype"] as? String else { throw fail("tensor \"\(name)\" has no string dtype") }
            guard let shapeValues = info["shape"] as? [Any],
                let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 })
            else {
                throw fail("tensor \"\(name)\" has no valid shape (non-negative integers)")
            }
            guard let offsetValues = info["data_offsets"] as? [Any], let offsets = integers(offsetValues),
                offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1]
            else {
                throw fail("tensor \"\(name)\" has no valid data_offsets [begin, end]")
            }
            let elementSize: Int
            switch dtype {
            case "F32": elementSize = 4
            case "I64": elementSize = 8
            case "U8":
                guard shape.count == 1 else {
                    throw fail(
                        "tensor \"\(name)\" is U8 of shape \(shape); Revisit reads U8 byte strings (one dimension) only"
                    )
                }
                elementSize = 1
            default:
                throw fail(
                    "tensor \"\(name)\" has dtype \(dtype); Revisit reads F32, I64 and U8 (convert with tensor.float() before saving)"
                )
            }
            var elements = 1
            for extent in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
                guard !overflow else { throw fail("tensor \"\(name)\" shape \(shape) overflows") }
                elements = product
            }
            let (begin, end) = (offsets[0], offsets[1])
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: elementSize)
            guard !overflow, end - begin == byteCount else {
                throw fail(
                    "tensor \"\(name)\": \(dtype) shape \(shape) needs \(overflow ? "more than Int.max" : String(byteCount)) bytes, data_offsets give \(end - begin)"
                )
            }
            guard end <= dataLength else {
                throw fail(
                    "truncated: tensor \"\(name)\" ends at byte \(end) of the data region, which has \(dataLength) bytes"
                )
            }
            spans.append(Span(name: name, begin: begin, end: end))
            let bytes = data[(dataStart + begin)..<(dataStart + end)]
            if dtype == "U8" {
                result.byteTensors[name] = [UInt8](bytes)
            } else if dtype == "F32" {
                var tensor = Tensor(uninitializedShape: shape)
                tensor.withUnsafeMutableBufferPointer { out in
                    bytes.withUnsafeBytes { raw in
                        for i in 0..<elements {
                            out[i] = Float(
                                bitPattern: UInt32(
                                    littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                        }
                    }
                }
                result.tensors[name] = tensor
            } else {
                let values = bytes.withUnsafeBytes { raw in
                    (0..<elements).map {
                        Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))
                    }
                }
                result.integerTensors[name] = Int64Tensor(shape: shape, scalars: values)
            }
        }
        // The tensors must tile the data region exactly: no overlap, no gap, nothing after.
        spans.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expectedBegin = 0
        for span in spans {
            guard span.begin == expectedBegin else {
                throw fail(
                    span.begin < expectedBegin
                        ? "tensor \"\(span.name)\" overlaps the previous tensor (data_offsets begin at \(span.begin), expected \(expectedBegin))"
                        : "gap in the data region before tensor \"\(span.name)\" (bytes \(expectedBegin)..<\(span.begin) belong to no tensor)"
                )
            }
            expectedBegin = span.end
        }
        guard expectedBegin == dataLength else {
            throw fail(
                "data region has \(dataLength) bytes but the tensors account for \(expectedBegin) (trailing bytes or a bad header)"
            )
        }
        return result
    }

    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            // JSONSerialization yields NSNumber; reject fractions and booleans.
            guard let number = value as? NSNumber,
                ["q", "l", "i", "s", "Q", "L", "I", "S"].contains(String(cString: number.objCType))
            else { return nil }
            result.append(number.intValue)
        }
        return result
    }
}

/// A dense Int64 tensor as stored in a tensor file (no arithmetic: counters and indices).
public struct Int64Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var scalars: [Int64]

    public init(shape: [Int], scalars: [Int64]) {
        precondition(
            shape.reduce(1, *) == scalars.count,
            "Int64Tensor: shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }
}

/// A tensor file that cannot be read, naming the file and what is wrong with it.
public struct TensorFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// A JSON string literal for `text` (quotes, backslashes and control characters escaped):
/// `JSONLine`'s escaping, so a header and a tool's JSON summary spell strings alike.
func jsonString(_ text: String) -> String { JSONLine.quoted(text) }
