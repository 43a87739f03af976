import Dataset
import Formats
import Foundation

/// `importer partition`: a flat dataset directory → a partitioned one (``PartitionedDatasetManifest``),
/// N customer-hash partitions that Spark, DuckDB or a shell loop process independently and
/// that every Revisit tool reads as the flat dataset (Docs/ScaleOut.md).
///
/// Streaming, in bounded memory: the source's files are read record by record (checked against
/// its manifest's sizes and SHA-256 as they are read) and each record is appended to its
/// partition's file through a buffered writer. At most ``partitionsPerPass`` partitions are
/// open at a time (two files and two 1 MiB buffers each), so a thousand partitions take eight
/// passes over the source rather than 4,000 open files and 2 GiB of buffers. Records keep
/// their order, so each partition stays in dataset order. The output is committed as a whole
/// with ``AtomicDirectory`` under the target's ``FileLock``.
public enum DatasetPartitioning {
    /// What one run did.
    public struct Summary: Sendable {
        public var manifest: PartitionedDatasetManifest
        /// Passes over the source (``partitionsPerPass``).
        public var passes: Int
    }

    /// Partitions written per pass over the source.
    public static let partitionsPerPass = 128

    /// Splits the dataset at `source` into `count` partitions written as `target`.
    /// - Throws: ``ImportFailure`` (`badInput` for the source, `cannotWrite` for the target).
    public static func split(
        source: String, count: Int, target: String, wait: Bool = true, progress: ((String) -> Void)? = nil
    ) throws -> Summary {
        guard (1...CustomerPartitioning.maximumCount).contains(count) else {
            throw ImportFailure.badInput(
                path: target, line: nil,
                reason: "--partitions must be in 1…\(CustomerPartitioning.maximumCount), not \(count)")
        }
        let sourceURL = URL(fileURLWithPath: source).standardizedFileURL,
            targetURL = URL(fileURLWithPath: target).standardizedFileURL
        guard sourceURL.path != targetURL.path else {
            throw ImportFailure.badInput(
                path: target, line: nil, reason: "the output must be another directory than the dataset it splits")
        }
        let (sourceManifest, sourceBytes): (DatasetManifest, [UInt8])
        do {
            if Dataset.isPartitioned(directory: source) {
                throw ImportFailure.badInput(
                    path: source, line: nil,
                    reason: "is partitioned already; partition the flat dataset it came from")
            }
            (sourceManifest, sourceBytes) = try Dataset.readCheckedManifest(directory: source)
        } catch let error as DatasetError {
            throw ImportFailure.badInput(path: source, line: nil, reason: error.description)
        }
        let lock: FileLock
        do {
            lock = try FileLock.exclusive(for: target, wait: wait) { progress?("importer: \($0)") }
        } catch let error as FileLockError {
            throw ImportFailure.cannotWrite(path: target, reason: error.reason)
        }
        defer { withExtendedLifetime(lock) {} }
        // The source, too, must not change underneath: its shared lock for the whole run.
        let sourceLock = try? FileLock.sharedIfPresent(for: source) { progress?("importer: \($0)") }
        defer { withExtendedLifetime(sourceLock) {} }
        for note in AtomicDirectory.recoverLeftovers(of: target) { progress?("importer: \(note)") }

        var written: Summary?
        do {
            try AtomicDirectory.write(to: target, replacing: { $0.contains(Dataset.manifestFile) }) { temporary in
                var partitions: [PartitionedDatasetManifest.Partition] = []
                var passes = 0
                var start = 0
                while start < count {
                    let group = start..<min(count, start + partitionsPerPass)
                    partitions += try writePass(
                        group, count: count, source: source, manifest: sourceManifest,
                        sourceDigest: SHA256.hex(sourceBytes), into: temporary)
                    passes += 1
                    start = group.upperBound
                    progress?("importer: partitions \(group.lowerBound)…\(group.upperBound - 1) of \(count) written")
                }
                // The flat dataset's rejects, byte for byte (its manifest's digest still holds).
                let rejects = try BufferedFileWriter(path: temporary + "/" + Dataset.rejectsFile)
                try Dataset.copyVerified(directory: source, name: Dataset.rejectsFile, manifest: sourceManifest) {
                    try rejects.write($0)
                }
                _ = try rejects.finish()
                let manifest = PartitionedDatasetManifest(
                    count: count, partitions: partitions, source: sourceManifest,
                    sourceManifestSHA256: SHA256.hex(sourceBytes))
                try AtomicFile.write(Data(try manifest.encoded()), to: temporary + "/" + Dataset.manifestFile)
                written = Summary(manifest: manifest, passes: passes)
            }
        } catch let error as AtomicWriteError {
            throw ImportFailure.cannotWrite(path: target, reason: error.reason)
        } catch let error as DatasetError {
            throw ImportFailure.badInput(path: source, line: nil, reason: error.description)
        }
        return written!
    }

    /// What one partition accumulates while its rows are routed to it.
    private final class PartitionOutput {
        let visits: BufferedFileWriter
        let customers: BufferedFileWriter
        var visitCount = 0, customerCount = 0, distinctCustomers = 0, customersWithVisits = 0
        var lastCustomer: String?
        var firstDate: Day?, lastDate: Day?
        var reps = Set<String>()

        init(directory: String) throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            visits = try BufferedFileWriter(path: directory + "/" + Dataset.visitsFile)
            customers = try BufferedFileWriter(path: directory + "/" + Dataset.customersFile)
        }
    }

    /// One pass over the source writing the partitions in `group`.
    private static func writePass(
        _ group: Range<Int>, count: Int, source: String, manifest: DatasetManifest, sourceDigest: String,
        into temporary: String
    ) throws -> [PartitionedDatasetManifest.Partition] {
        let outputs = try group.map {
            try PartitionOutput(directory: temporary + "/" + CustomerPartitioning.directoryName($0))
        }
        let visitHeader = Dataset.visitHeader + manifest.visitColumns.categorical + manifest.visitColumns.numeric
        let customerHeader =
            Dataset.customerHeader + manifest.customerColumns.categorical + manifest.customerColumns.numeric
        var record: [UInt8] = []
        DelimitedText.appendRecord(visitHeader, to: &record)
        for output in outputs { try output.visits.write(record) }
        record.removeAll(keepingCapacity: true)
        DelimitedText.appendRecord(customerHeader, to: &record)
        for output in outputs { try output.customers.write(record) }

        // Both files are sorted by customer id: walked together, so that a customer's profile
        // row knows whether the customer has visits (the manifest's customer_count counts
        // customers with visits and customers listed without any, as the importer does).
        let visits = try DatasetFileReader(
            directory: source, name: Dataset.visitsFile, manifest: manifest, header: visitHeader)
        let customers = try DatasetFileReader(
            directory: source, name: Dataset.customersFile, manifest: manifest, header: customerHeader)
        var pendingCustomer = try customers.next()?.fields
        var previousVisitCustomer: String?
        func routeCustomers(before limit: String?) throws {
            while let fields = pendingCustomer,
                limit.map({ Visit.bytewiseLess(fields[CustomerColumn.customerID], $0) }) ?? true
            {
                let partition = CustomerPartitioning.partition(of: fields[CustomerColumn.customerID], count: count)
                if group.contains(partition) {
                    let output = outputs[partition - group.lowerBound]
                    record.removeAll(keepingCapacity: true)
                    DelimitedText.appendRecord(fields, to: &record)
                    try output.customers.write(record)
                    output.customerCount += 1
                    if fields[CustomerColumn.customerID] != previousVisitCustomer { output.distinctCustomers += 1 }
                }
                pendingCustomer = try customers.next()?.fields
            }
        }
        while let (_, fields) = try visits.next() {
            let customer = fields[VisitColumn.customerID]
            if customer != previousVisitCustomer {
                try routeCustomers(before: customer)
                previousVisitCustomer = customer
            }
            let partition = CustomerPartitioning.partition(of: customer, count: count)
            guard group.contains(partition) else { continue }
            let output = outputs[partition - group.lowerBound]
            record.removeAll(keepingCapacity: true)
            DelimitedText.appendRecord(fields, to: &record)
            try output.visits.write(record)
            output.visitCount += 1
            if output.lastCustomer != customer {
                output.distinctCustomers += 1
                output.customersWithVisits += 1
                output.lastCustomer = customer
            }
            if let day = Day(iso: fields[VisitColumn.visitDate]) {
                output.firstDate = min(output.firstDate ?? day, day)
                output.lastDate = max(output.lastDate ?? day, day)
            }
            if !fields[VisitColumn.repID].isEmpty { output.reps.insert(fields[VisitColumn.repID]) }
        }
        try routeCustomers(before: nil)

        var entries: [PartitionedDatasetManifest.Partition] = []
        for (offset, output) in outputs.enumerated() {
            let index = group.lowerBound + offset
            let directory = temporary + "/" + CustomerPartitioning.directoryName(index)
            let rejects = try BufferedFileWriter(path: directory + "/" + Dataset.rejectsFile)
            try rejects.write(Dataset.encodeRejects([]))
            let files = [
                try output.visits.finishedDigest(name: Dataset.visitsFile),
                try output.customers.finishedDigest(name: Dataset.customersFile),
                try rejects.finishedDigest(name: Dataset.rejectsFile)
            ]
            let inputs = manifest.files.filter { $0.role == "output" && $0.path != Dataset.rejectsFile }.map {
                DatasetManifest.FileDigest(
                    role: "input", path: source + "/" + $0.path, bytes: $0.bytes, sha256: $0.sha256)
            }
            let partManifest = DatasetManifest(
                kind: manifest.kind, visitColumns: manifest.visitColumns, customerColumns: manifest.customerColumns,
                visitCounts: DatasetManifest.Counts(read: output.visitCount, accepted: output.visitCount),
                customerCounts: DatasetManifest.Counts(read: output.customerCount, accepted: output.customerCount),
                firstDate: output.firstDate, lastDate: output.lastDate, customerCount: output.distinctCustomers,
                repCount: output.reps.count, files: inputs + files, mapping: manifest.mapping,
                history: [
                    "partition \(index) of \(count) (\(CustomerPartitioning.hashName)) of the dataset whose manifest.json has SHA-256 \(sourceDigest)"
                ])
            let bytes = try Dataset.encodeManifest(partManifest)
            try AtomicFile.write(Data(bytes), to: directory + "/" + Dataset.manifestFile)
            entries.append(
                PartitionedDatasetManifest.Partition(
                    directory: CustomerPartitioning.directoryName(index), manifestSHA256: SHA256.hex(bytes),
                    visits: output.visitCount, customers: output.customerCount,
                    customersWithVisits: output.customersWithVisits))
        }
        return entries
    }
}
