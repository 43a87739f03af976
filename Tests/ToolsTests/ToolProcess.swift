import Foundation
import Testing

/// Runs a built tool as a separate process, as a user or a cron job would.
enum ToolProcess {
    /// The build directory holding the test bundle and the executables.
    static let binDirectory: URL = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if directory.pathExtension == "xctest" { directory = directory.deletingLastPathComponent() }
        return directory
    }()

    static func path(_ tool: String) -> String { binDirectory.appendingPathComponent(tool).path }

    /// Runs `tool` to completion; stdout and stderr are returned separately.
    static func run(
        _ tool: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try start(tool, arguments, stdin: stdin, environment: environment)
        let out = process.stdout.fileHandleForReading.readDataToEndOfFile()
        let err = process.stderr.fileHandleForReading.readDataToEndOfFile()
        process.process.waitUntilExit()
        return (
            process.process.terminationStatus, String(decoding: out, as: UTF8.self),
            String(decoding: err, as: UTF8.self)
        )
    }

    /// Starts `tool` and returns at once (for signal tests).
    static func start(
        _ tool: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil
    ) throws -> (process: Process, stdout: Pipe, stderr: Pipe) {
        let executable = path(tool)
        #expect(FileManager.default.isExecutableFile(atPath: executable), "\(tool) not built at \(executable)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let input = Pipe()
            process.standardInput = input
            try process.run()
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        return (process, out, err)
    }

    /// A simulated export (`synth`, CSV only) and its imported dataset in `directory`: the
    /// suites' fixtures. Traps with the tool's message when either step fails.
    static func simulatedDataset(in directory: String, customers: Int, reps: Int, weeks: Int, seed: Int) -> (
        export: String, dataset: String
    ) {
        let export = directory + "/export", dataset = directory + "/data"
        let synth = try! run(
            "synth",
            [
                "--out", export, "--customers", String(customers), "--reps", String(reps), "--weeks", String(weeks),
                "--seed", String(seed), "--quiet", "--no-xml"
            ])
        precondition(synth.status == 0, synth.stderr)
        let imported = try! run(
            "importer", [export + "/visits.csv", "--customers", export + "/customers.csv", "--out", dataset, "--quiet"])
        precondition(imported.status == 0, imported.stderr)
        return (export, dataset)
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("revisit-\(name)-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
