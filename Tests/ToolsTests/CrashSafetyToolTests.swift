import Dataset
import Formats
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Nothing lost (issue 14, data loss): concurrent appends, a kill at every step of a commit,
/// leftovers cleaned by the next run, `--append` onto nothing, a report directory written as
/// one commit. Each test failed before the fix it names.
@Suite("crash safety and concurrency", .serialized)
struct CrashSafetyToolTests {
    static let header = "visit_id,customer_id,rep_id,visit_date,method,target,purpose,result\n"

    /// A visits export of `count` rows whose ids start with `prefix` (distinct across files).
    static func export(_ directory: String, _ prefix: String, count: Int) throws -> String {
        var text = header
        for index in 0..<count {
            let day = 1 + index % 28, month = 1 + (index / 28) % 12
            text +=
                "\(prefix)\(index),C\(index % 50),R\(index % 5),2020-\(String(format: "%02d", month))-\(String(format: "%02d", day)),phone,active,follow_up,\(index % 7 == 0 ? "order" : "no_answer")\n"
        }
        let path = "\(directory)/\(prefix).csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Entries beside `target` that an interrupted writer leaves.
    static func leftovers(of target: String) throws -> [String] {
        let parent = (target as NSString).deletingLastPathComponent, name = (target as NSString).lastPathComponent
        return try FileManager.default.contentsOfDirectory(atPath: parent)
            .filter { $0.hasPrefix(".\(name).tmp-") || $0.hasPrefix(".\(name).old-") }
    }

    /// Four `importer --append` runs started at once into one dataset: every row of every
    /// export is there afterwards, and the counts reconcile (before the lock, one import of
    /// two was lost with both exiting 0).
    @Test func concurrentAppendsKeepEveryRow() throws {
        let directory = try ToolProcess.temporaryDirectory("concurrent")
        let dataset = directory + "/data"
        let base = try ToolProcess.run(
            "importer", [try Self.export(directory, "B", count: 200), "--out", dataset, "--quiet"])
        try #require(base.status == 0, "\(base.stderr)")
        let exports = try (0..<4).map { try Self.export(directory, "A\($0)x", count: 300) }
        let running = try exports.map {
            try ToolProcess.start("importer", [$0, "--out", dataset, "--append", "--quiet"])
        }
        for process in running {
            process.process.waitUntilExit()
            let stderr = String(decoding: process.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.process.terminationStatus == 0, "\(stderr)")
        }
        let loaded = try Dataset.load(directory: dataset)
        #expect(loaded.visits.count == 200 + 4 * 300, "every appended row is in the dataset")
        #expect(loaded.manifest.visitCounts.read == 1_400 && loaded.manifest.visitCounts.reconciles)
        #expect(loaded.manifest.history.count == 5)
        #expect(try Self.leftovers(of: dataset).isEmpty)
    }

    /// `--no-wait` fails at once (exit 4, one line naming the holder) while another writer
    /// holds the lock; without it the importer waits and then succeeds.
    @Test func aSecondWriterWaitsOrFailsWithNoWait() throws {
        let directory = try ToolProcess.temporaryDirectory("lock")
        let dataset = directory + "/data"
        let export = try Self.export(directory, "L", count: 50)
        var lock: FileLock? = try FileLock.exclusive(for: dataset, wait: false)
        let refused = try ToolProcess.run("importer", [export, "--out", dataset, "--no-wait"])
        #expect(refused.status == 4, "\(refused.stderr)")
        #expect(refused.stderr.contains("another process (pid \(getpid())) is writing it"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        let waiting = try ToolProcess.start("importer", [export, "--out", dataset])
        Thread.sleep(forTimeInterval: 0.5)
        #expect(waiting.process.isRunning, "the importer waits while the lock is held")
        withExtendedLifetime(lock) {}
        lock = nil
        waiting.process.waitUntilExit()
        let stderr = String(decoding: waiting.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(waiting.process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("waiting for another process"), "\(stderr)")
        #expect(try Dataset.load(directory: dataset).visits.count == 50)
    }

    /// SIGKILL at every step of the commit, with the one-step exchange and with the two-rename
    /// fallback: the dataset is always there, old or new, never missing; the next run cleans
    /// (or, for the fallback, restores from) what the killed one left, and appends on top.
    @Test(arguments: [
        ("files-written", false), ("committed", false), ("files-written", true), ("old-moved-aside", true),
        ("committed", true)
    ])
    func aKillAtAnyCommitStepLeavesTheOldOrTheNewDataset(step: String, fallback: Bool) throws {
        let directory = try ToolProcess.temporaryDirectory("kill-\(step)")
        let dataset = directory + "/data"
        #expect(
            try ToolProcess.run("importer", [try Self.export(directory, "O", count: 120), "--out", dataset, "--quiet"])
                .status == 0)
        var environment = ProcessInfo.processInfo.environment
        environment["REVISIT_TEST_KILL_AT"] = step
        if fallback { environment["REVISIT_TEST_NO_EXCHANGE"] = "1" }
        let killed = try ToolProcess.run(
            "importer", [try Self.export(directory, "N", count: 30), "--out", dataset, "--append", "--quiet"],
            environment: environment)
        #expect(killed.status == SIGKILL, "killed at \(step): \(killed.stderr)")
        let leftovers = try Self.leftovers(of: dataset)
        #expect(!leftovers.isEmpty, "a kill at \(step) leaves something to clean")
        if step == "old-moved-aside" {
            // The one moment the target is absent: the next writer must restore it, not start afresh.
            #expect(!FileManager.default.fileExists(atPath: dataset))
        } else {
            let seen = try Dataset.load(directory: dataset).visits.count
            #expect(seen == (step == "committed" ? 150 : 120), "old or new, whole")
        }
        let next = try ToolProcess.run(
            "importer", [try Self.export(directory, "M", count: 10), "--out", dataset, "--append"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try Self.leftovers(of: dataset).isEmpty, "the next run cleans what the killed one left")
        let expected = (step == "committed" ? 150 : 120) + 10
        #expect(try Dataset.load(directory: dataset).visits.count == expected, "\(next.stderr)")
        if step == "old-moved-aside" { #expect(next.stderr.contains("restored the previous content")) }
    }

    /// `--append` onto a directory that does not exist is refused: it used to start a brand-new
    /// dataset silently (after a lost commit, 60 visits instead of 23,100).
    @Test func appendRefusesATargetThatDoesNotExist() throws {
        let directory = try ToolProcess.temporaryDirectory("append-missing")
        let result = try ToolProcess.run(
            "importer", [try Self.export(directory, "X", count: 5), "--out", directory + "/none", "--append"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("cannot append: no dataset here; import without --append"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/none"))
    }

    /// A report directory is one commit: a kill after the new files are written keeps the old
    /// report whole (no mix of old and new files), and the next run replaces it.
    @Test func aReportDirectoryIsCommittedInOneStep() throws {
        let directory = try ToolProcess.temporaryDirectory("report-commit")
        let dataset = directory + "/data"
        #expect(
            try ToolProcess.run("importer", [try Self.export(directory, "R", count: 300), "--out", dataset, "--quiet"])
                .status == 0)
        var scores = "customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version\n"
        for customer in 0..<10 {
            scores +=
                "C\(customer),R\(customer % 5),2020-03-02,0.\(customer),\(customer / 5 + 1),\(customer + 1),first,1\n"
        }
        try scores.write(toFile: directory + "/a.csv", atomically: true, encoding: .utf8)
        try scores.replacingOccurrences(of: ",first,", with: ",second,").write(
            toFile: directory + "/b.csv", atomically: true, encoding: .utf8)
        let report = directory + "/report"
        let first = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", directory + "/a.csv", "--dataset", dataset, "--out", report, "--quiet",
                "--bootstrap", "10"
            ])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: report + "/report.md"))
        var environment = ProcessInfo.processInfo.environment
        environment["REVISIT_TEST_KILL_AT"] = "files-written"
        let killed = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", directory + "/b.csv", "--dataset", dataset, "--out", report, "--quiet",
                "--bootstrap", "10"
            ],
            environment: environment)
        #expect(killed.status == SIGKILL)
        #expect(try Data(contentsOf: URL(fileURLWithPath: report + "/report.md")) == before, "the old report is whole")
        let again = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", directory + "/b.csv", "--dataset", dataset, "--out", report, "--quiet",
                "--bootstrap", "10"
            ])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOfFile: report + "/report.md", encoding: .utf8).contains("second"))
        #expect(try Self.leftovers(of: report).isEmpty)
        // A directory of someone else's files is never replaced.
        let foreign = directory + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try "keep".write(toFile: foreign + "/notes.txt", atomically: true, encoding: .utf8)
        let refused = try ToolProcess.run(
            "evaluator",
            [
                "audit", "--scores", directory + "/a.csv", "--dataset", dataset, "--out", foreign, "--quiet",
                "--bootstrap", "10"
            ])
        #expect(refused.status == 4 && refused.stderr.contains("refusing to replace it"), "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: foreign + "/notes.txt"))
    }
}
