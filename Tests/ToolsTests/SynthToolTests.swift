import Foundation
import Testing

/// End-to-end checks of `synth`, run as a separate process like a user would.
@Suite("synth tool")
struct SynthToolTests {
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try ToolProcess.run("synth", arguments)
        return (result.status, result.stdout + result.stderr)
    }

    @Test func helpNamesTheFlagsAndDefaults() throws {
        let result = try Self.run(["--help"])
        #expect(result.status == 0, "\(result.output)")
        for flag in [
            "--out", "--seed", "--customers", "--reps", "--start", "--weeks", "--visits-per-day", "--open-conversion"
        ] {
            #expect(result.output.contains(flag), "--help does not mention \(flag)")
        }
        #expect(result.output.contains("2018-03-05"), "--help does not show the default start")
    }

    @Test func generatesATinyExport() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("synth-tool-\(getpid())").path
        try? FileManager.default.removeItem(atPath: directory)
        let result = try Self.run([
            "--out", directory, "--customers", "40", "--reps", "3", "--weeks", "8", "--seed", "5"
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("synth: done"), "no progress summary on stderr: \(result.output)")
        for name in [
            "customers.csv", "customers.xml", "visits.csv", "visits.xml", "inbound_orders.csv", "ground_truth.csv",
            "synth.json"
        ] {
            #expect(FileManager.default.fileExists(atPath: "\(directory)/\(name)"), "\(name) missing")
        }
        let visits = try String(contentsOfFile: "\(directory)/visits.csv", encoding: .utf8)
        #expect(
            visits.hasPrefix("visit_id,customer_id,rep_id,visit_date,method,target,purpose,result,notes\nV0000001,"))
        let truth = try String(contentsOfFile: "\(directory)/ground_truth.csv", encoding: .utf8)
        // 8 weeks with a 28-day window: Mondays of weeks 1–5 have a complete window; 40 customers each.
        #expect(truth.split(separator: "\n").count == 1 + 5 * 40)
    }

    @Test func badFlagsFailWithAMessage() throws {
        let notMonday = try Self.run(["--out", "/tmp/never-written", "--start", "2018-03-06"])
        #expect(notMonday.status != 0)
        #expect(notMonday.output.contains("--start must be a Monday"), "\(notMonday.output)")
        let noReps = try Self.run(["--out", "/tmp/never-written", "--reps", "0"])
        #expect(noReps.status != 0 && noReps.output.contains("--reps must be in"), "\(noReps.output)")
        let badList = try Self.run(["--out", "/tmp/never-written", "--type-mix", "0.5,0.5"])
        #expect(badList.status != 0 && badList.output.contains("--type-mix"), "\(badList.output)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written"))
    }
}
