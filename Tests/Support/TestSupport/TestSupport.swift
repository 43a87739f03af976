import Foundation
import Tensors
import Testing

// Helpers shared by every test target: fixture paths, the Python used for interoperability
// checks, seeded random shapes, and closeness checks that compare shapes before values.

/// The repository root, found from this file's path (Tests/Support/TestSupport/TestSupport.swift).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// The absolute path of a file under `Fixtures/`.
public func fixturePath(_ relative: String) -> String {
    repositoryRoot.appendingPathComponent("Fixtures/\(relative)").path
}

/// A JSON reference fixture under `Fixtures/`, decoded (a missing or malformed fixture is a
/// broken checkout: it stops the test run with the path).
public func fixtureJSON<T: Decodable>(_ relative: String, as type: T.Type = T.self) -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: fixturePath(relative))))
    } catch {
        fatalError("Fixtures/\(relative): \(error)")
    }
}

/// A Python interpreter with numpy and safetensors, for the interop checks: `REVISIT_PYTHON`
/// (set by `make test`, which provisions it), else the reference-benchmark venv when present.
/// With `REVISIT_REQUIRE_PYTHON=1` (also set by `make test`) a missing interpreter fails the
/// run instead of disabling the Python-side checks.
public enum PythonEnvironment {
    public static let interpreter: String? = {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = environment["REVISIT_PYTHON"], !explicit.isEmpty { candidates.append(explicit) }
        candidates.append(NSHomeDirectory() + "/.cache/revisit-bench/venv/bin/python")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    public static var required: Bool { ProcessInfo.processInfo.environment["REVISIT_REQUIRE_PYTHON"] == "1" }
    public static var enabled: Bool { interpreter != nil || required }

    /// Runs the interpreter with `arguments`; returns the exit status and standard error.
    public static func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        guard let interpreter else {
            Issue.record(
                "REVISIT_REQUIRE_PYTHON=1 but no Python with safetensors: run `make test` or set REVISIT_PYTHON")
            return (-1, "")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = arguments
        let errorPipe = Pipe()
        process.standardError = errorPipe
        try process.run()
        let errorData = errorPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: errorData, as: UTF8.self))
    }
}

/// A random shape of the given rank with extents in `range` (seeded, so failures reproduce).
public func randomShape(rank: Int, extents range: ClosedRange<Int>, _ random: inout SeededRandom) -> [Int] {
    (0..<rank).map { _ in range.lowerBound + random.int(below: range.count) }
}

/// Expects equal shapes first, then elementwise closeness: |a − b| ≤ absolute + relative·|b|.
public func expectClose(
    _ actual: Tensor, _ expected: Tensor, relative: Float = 0, absolute: Float = 0,
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.shape == expected.shape, comment, sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let a = actual.scalars, b = expected.scalars
    var worst = (index: -1, excess: Float(0))
    for i in a.indices {
        let allowed = absolute + relative * abs(b[i])
        let difference = abs(a[i] - b[i])
        let bothNaN = a[i].isNaN && b[i].isNaN
        let sameInfinity = a[i].isInfinite && a[i] == b[i]
        if !(bothNaN || sameInfinity) && !(difference <= allowed)
            && (difference - allowed > worst.excess || worst.index < 0)
        {
            worst = (i, difference - allowed)
        }
    }
    #expect(
        worst.index < 0,
        "element \(worst.index): \(worst.index >= 0 ? a[worst.index] : 0) vs \(worst.index >= 0 ? b[worst.index] : 0) \(comment.map { "(\($0))" } ?? "")",
        sourceLocation: sourceLocation)
}
