import Foundation
import Tensors
import TestSupport
import Testing

@Suite("Tensor files in the safetensors layout")
struct TensorFileTests {
    struct Expected: Decodable {
        struct Entry: Decodable { let dtype: String, shape: [Int], bits: [AnyNumber] }
        let metadata: [String: String]
        let tensors: [String: Entry]
    }

    /// A JSON value that is an integer or a decimal string (the fixture writes Int64 as strings).
    struct AnyNumber: Decodable {
        let text: String
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(UInt32.self) {
                text = String(value)
            } else {
                text = try container.decode(String.self)
            }
        }
    }

    static let expectedPath = fixturePath("tensors/python_written.json")

    static func temporaryPath(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("revisit-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name).path
    }

    @Test func readsAFileWrittenByPythonSafetensors() throws {
        let file = try TensorFile.read(from: fixturePath("tensors/python_written.safetensors"))
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Self.expectedPath)))
        #expect(file.metadata == expected.metadata)
        #expect(Set(file.tensors.keys).union(file.integerTensors.keys) == Set(expected.tensors.keys))
        for (name, entry) in expected.tensors {
            if entry.dtype == "F32" {
                let tensor = try #require(file.tensors[name], "missing \(name)")
                #expect(tensor.shape == entry.shape, "\(name)")
                #expect(tensor.scalars.map { String($0.bitPattern) } == entry.bits.map(\.text), "\(name)")
            } else {
                let tensor = try #require(file.integerTensors[name], "missing \(name)")
                #expect(tensor.shape == entry.shape, "\(name)")
                #expect(tensor.scalars.map(String.init) == entry.bits.map(\.text), "\(name)")
            }
        }
    }

    @Test func rewritingThePythonFileKeepsEveryValueAndIsDeterministic() throws {
        let file = try TensorFile.read(from: fixturePath("tensors/python_written.safetensors"))
        let path = Self.temporaryPath("roundtrip.safetensors")
        try file.write(to: path)
        let reread = try TensorFile.read(from: path)
        #expect(reread.metadata == file.metadata)
        #expect(Set(reread.tensors.keys) == Set(file.tensors.keys))
        for (name, tensor) in file.tensors {
            #expect(reread.tensors[name]!.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern), "\(name)")
        }
        #expect(reread.integerTensors == file.integerTensors)
        #expect(reread.encoded() == file.encoded())
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == file.encoded())
    }

    @Test(.enabled(if: PythonEnvironment.enabled, "needs a Python with safetensors: `make test` provisions one"))
    func pythonReadsRevisitFiles() throws {
        // Revisit re-encodes the Python fixture from its own in-memory tensors; Python must read
        // back exactly the values and metadata that it originally wrote.
        let file = try TensorFile.read(from: fixturePath("tensors/python_written.safetensors"))
        let path = Self.temporaryPath("for-python.safetensors")
        try file.write(to: path)
        let result = try PythonEnvironment.run([
            fixturePath("tensors/check_safetensors_interop.py"), path, Self.expectedPath
        ])
        #expect(result.status == 0, "check_safetensors_interop.py: \(result.stderr)")
    }

    // MARK: Malformed files

    static func validBytes() -> Data {
        TensorFile(tensors: ["a": Tensor([1, 2, 3]), "b": Tensor.zeros([2, 2])], metadata: ["k": "v"]).encoded()
    }

    static func withHeader(_ json: String, dataBytes: Int) -> Data {
        var data = Data()
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(json.utf8))
        data.append(Data(count: dataBytes))
        return data
    }

    static func reason(_ data: Data) -> String? {
        do {
            _ = try TensorFile.decode(data, source: "bad.safetensors")
            return nil
        } catch let error as TensorFileError {
            #expect(error.description.hasPrefix("bad.safetensors: "))
            return error.reason
        } catch {
            return "unexpected error type \(error)"
        }
    }

    @Test func rejectsTruncatedAndInconsistentFilesWithAReason() {
        let valid = Self.validBytes()
        #expect(Self.reason(valid) == nil)
        let cases: [(Data, String)] = [
            (Data([1, 2, 3]), "truncated"),
            (valid.prefix(valid.count - 1), "truncated"),
            (valid + Data([0]), "trailing bytes"),
            (valid.prefix(20), "truncated: header length"),
            (Self.withHeader("{\"a\":", dataBytes: 0), "not valid JSON"),
            (Self.withHeader("[1,2]", dataBytes: 0), "not a JSON object"),
            (Self.withHeader(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, dataBytes: 4), "dtype F16"),
            (
                Self.withHeader(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8),
                "needs 12 bytes"
            ),
            (
                Self.withHeader(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, dataBytes: 4),
                "no valid shape"
            ),
            (
                Self.withHeader(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, dataBytes: 4),
                "no valid shape"
            ),
            (Self.withHeader(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, dataBytes: 8), "data_offsets"),
            (
                Self.withHeader(
                    #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                    dataBytes: 8), "overlaps"
            ),
            (Self.withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, dataBytes: 8), "gap"),
            (
                Self.withHeader(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, dataBytes: 8),
                "truncated: tensor \"a\""
            ),
            (Self.withHeader(#"{"__metadata__":{"n":1}}"#, dataBytes: 0), "is not a string"),
            (Self.withHeader(#"{"__metadata__":[]}"#, dataBytes: 0), "not an object"),
            (Self.withHeader(#"{"a":3}"#, dataBytes: 0), "not an object")
        ]
        for (data, fragment) in cases {
            let reason = Self.reason(data)
            #expect(reason?.contains(fragment) == true, "expected “\(fragment)”, got \(reason ?? "success")")
        }
        var huge = Data()
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { huge.append(contentsOf: $0) }
        #expect(Self.reason(huge)?.contains("exceeds") == true)
    }

    @Test func missingFileNamesThePath() {
        #expect(throws: TensorFileError.self) { try TensorFile.read(from: "/nonexistent/x.safetensors") }
        do { _ = try TensorFile.read(from: "/nonexistent/x.safetensors") } catch {
            #expect("\(error)".contains("/nonexistent/x.safetensors"))
        }
    }

    @Test func encodingIsByteStableAndHeaderAligned() throws {
        let file = TensorFile(
            tensors: ["z.weight": Tensor(shape: [2, 1], scalars: [1, -1]), "a.bias": Tensor([0.5])],
            integerTensors: ["step": Int64Tensor(shape: [], scalars: [20])],
            metadata: ["format_version": "1", "name": "quote \" backslash \\ tab \t 中"])
        let bytes = file.encoded()
        #expect(bytes == file.encoded())
        let headerLength = Int(
            bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        #expect(headerLength % 8 == 0)
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        #expect(
            header.hasPrefix(
                #"{"__metadata__":{"format_version":"1","name":"quote \" backslash \\ tab \t 中"},"a.bias":"#))
        let decoded = try TensorFile.decode(bytes, source: "x")
        #expect(decoded == file)
    }
}
