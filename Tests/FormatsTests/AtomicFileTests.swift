import Foundation
import Formats
import Testing

@Suite("Atomic file writes")
struct AtomicFileTests {
    static func scratchDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "revisit-atomic-\(getpid())-\(UUID().uuidString)"
        ).path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func writesAndReplacesLeavingNoTemporaryFiles() throws {
        let directory = Self.scratchDirectory()
        let path = directory + "/out.csv"
        try AtomicFile.write(Data("first\n".utf8), to: path)
        try AtomicFile.write(Data("second\n".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out.csv"])
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(permissions.map { $0 & 0o044 } == 0o044, "other tools and users can read the output")
    }

    @Test func aFailedProducerLeavesTheOldFileUntouched() throws {
        struct Interrupted: Error {}
        let directory = Self.scratchDirectory()
        let path = directory + "/model.safetensors"
        try AtomicFile.write(Data("good".utf8), to: path)
        #expect(throws: Interrupted.self) {
            try AtomicFile.write(to: path) { fd in
                try Data("partial".utf8).withUnsafeBytes { try AtomicFile.writeAll(fd: fd, $0, path: path) }
                throw Interrupted()
            }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "good")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.safetensors"])
    }

    @Test func anUnwritableDirectoryGivesAnErrorNamingThePath() {
        do {
            try AtomicFile.write(Data("x".utf8), to: "/nonexistent-dir/out.json")
            Issue.record("expected an error")
        } catch let error as AtomicWriteError {
            #expect(error.description.hasPrefix("/nonexistent-dir/out.json: cannot write: create temporary file"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
