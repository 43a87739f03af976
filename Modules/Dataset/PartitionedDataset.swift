import Formats
import Foundation

/// Which partition a customer's rows live in: FNV-1a (64 bit) of the customer id's UTF-8 bytes,
/// mixed by MurmurHash3's 64-bit finaliser, modulo the partition count (Docs/ScaleOut.md).
///
/// A hash of the id alone, so that every row of one customer, visits and profile, lands in one
/// partition whatever file it came from, and a customer keeps its partition across imports.
/// FNV-1a alone spreads badly over a power-of-two count (its low bits depend only on the low
/// bits of each byte, so `C0001`…`C1000` fill 4 partitions in a rigid pattern); the finaliser
/// makes every output bit depend on every input bit. Both are a few lines in any language
/// (Tools/spark/revisit_spark.py has them in Python), so a Spark or DuckDB job can route a new
/// row without Revisit. Not a cryptographic hash, and need not be: the ids are the user's own.
public enum CustomerPartitioning {
    /// The name the manifest records for the rule.
    public static let hashName =
        "fnv-1a-64 of the customer_id's UTF-8 bytes, then murmur3 fmix64, modulo the partition count"

    /// The most partitions a dataset may have (`part-00000` … `part-99999`).
    public static let maximumCount = 100_000

    /// FNV-1a, 64 bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3), then fmix64.
    public static func hash(_ customerID: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in customerID.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// The partition of `customerID` among `count` (0 ..< count).
    public static func partition(of customerID: String, count: Int) -> Int {
        Int(hash(customerID) % UInt64(count))
    }

    /// The directory name of partition `index`: `part-00000`, `part-00001`, …
    public static func directoryName(_ index: Int) -> String {
        let digits = String(index)
        return "part-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
}

/// `manifest.json` of a partitioned dataset: a directory of customer-hash partitions, each a
/// complete dataset directory of its own (`part-00000/manifest.json`, `visits.csv`,
/// `customers.csv`, `rejects.csv`), that every tool reads as the flat dataset it was split from.
///
/// ```
/// DIR/manifest.json            this manifest: the partitions, each one's manifest SHA-256,
///                              and the flat dataset's own manifest (`source`)
/// DIR/rejects.csv              the flat dataset's rejects, as its manifest recorded them
/// DIR/part-00000/…             a dataset directory holding the customers that hash to 0
/// ```
///
/// Its own `format` name, so that a build that predates partitions refuses the directory with
/// the format it found rather than reading half of it. The chain of digests — this manifest
/// records each partition's manifest SHA-256, which records its files' — makes one SHA-256 (of
/// this file) name all of the data, as a flat manifest's does.
public struct PartitionedDatasetManifest: Codable, Sendable, Equatable {
    public static let formatName = "revisit-partitioned-dataset"
    public static let currentVersion = 1

    /// How customers were assigned to partitions.
    public struct Partitioning: Codable, Sendable, Equatable {
        /// The column hashed: always `customer_id` (a customer's history in one partition).
        public var key: String
        public var hash: String
        public var count: Int
    }

    /// One partition: its directory (relative), its manifest's SHA-256, its row counts.
    public struct Partition: Codable, Sendable, Equatable {
        public var directory: String
        public var manifestSHA256: String
        public var visits: Int
        /// Rows of its customers.csv.
        public var customers: Int
        /// Distinct customers among its visits (what population-level fits count).
        public var customersWithVisits: Int

        public init(directory: String, manifestSHA256: String, visits: Int, customers: Int, customersWithVisits: Int) {
            self.directory = directory
            self.manifestSHA256 = manifestSHA256
            self.visits = visits
            self.customers = customers
            self.customersWithVisits = customersWithVisits
        }

        enum CodingKeys: String, CodingKey {
            case directory, visits, customers
            case manifestSHA256 = "manifest_sha256"
            case customersWithVisits = "customers_with_visits"
        }
    }

    public var format: String
    public var formatVersion: Int
    public var partitioning: Partitioning
    public var partitions: [Partition]
    /// The manifest of the flat dataset the partitions were split from (its counts, columns,
    /// dates, mapping and history; its `files` name the flat directory's files), and its SHA-256.
    public var source: DatasetManifest
    public var sourceManifestSHA256: String

    /// Distinct customers with visits over all partitions (a population fit's modulus).
    public var customersWithVisits: Int { partitions.reduce(0) { $0 + $1.customersWithVisits } }

    public init(count: Int, partitions: [Partition], source: DatasetManifest, sourceManifestSHA256: String) {
        format = Self.formatName
        formatVersion = Self.currentVersion
        partitioning = Partitioning(key: "customer_id", hash: CustomerPartitioning.hashName, count: count)
        self.partitions = partitions
        self.source = source
        self.sourceManifestSHA256 = sourceManifestSHA256
    }

    enum CodingKeys: String, CodingKey {
        case format, partitioning, partitions, source
        case formatVersion = "format_version"
        case sourceManifestSHA256 = "source_manifest_sha256"
    }

    /// Stable, pretty JSON (sorted keys), as ``Dataset/encodeManifest(_:)`` writes a flat one.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(self)) + [0x0A]
    }
}

/// Which partitions of a partitioned dataset a tool reads: all, or a sample of them (a uniform
/// random sample of customers, since the hash spreads customers evenly; `trainer
/// --sample-partitions`).
public struct PartitionSelection: Sendable, Equatable, CustomStringConvertible {
    /// Sorted, distinct partition indices.
    public let indices: [Int]

    public init(indices: [Int]) { self.indices = Array(Set(indices)).sorted() }

    /// `0-3,7,9-10` → 0, 1, 2, 3, 7, 9, 10; nil when the text is not such a list.
    public init?(parsing text: String) {
        var indices: [Int] = []
        for piece in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = piece.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count),
                let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]), 0 <= low, low <= high,
                high < CustomerPartitioning.maximumCount
            else { return nil }
            indices.append(contentsOf: low...high)
        }
        guard !indices.isEmpty else { return nil }
        self.init(indices: indices)
    }

    /// The compact form (`0-3,7`), as the model file's provenance records it.
    public var description: String {
        var pieces: [String] = []
        var index = 0
        while index < indices.count {
            var end = index
            while end + 1 < indices.count && indices[end + 1] == indices[end] + 1 { end += 1 }
            pieces.append(end == index ? "\(indices[index])" : "\(indices[index])-\(indices[end])")
            index = end + 1
        }
        return pieces.joined(separator: ",")
    }
}

extension Dataset {
    /// The format name of `directory/manifest.json` (nil when it cannot be read as JSON): what
    /// tells a partitioned dataset from a flat one.
    public static func manifestFormat(directory: String) -> String? {
        guard let bytes = try? readDatasetFile(directory + "/" + manifestFile) else { return nil }
        return FormatProbe(json: Data(bytes))?.format
    }

    /// Whether `directory` holds a partitioned dataset.
    public static func isPartitioned(directory: String) -> Bool {
        manifestFormat(directory: directory) == PartitionedDatasetManifest.formatName
    }

    /// Reads and checks a partitioned dataset's `manifest.json`; returns it and its bytes.
    public static func readPartitionedManifest(directory: String) throws -> (
        manifest: PartitionedDatasetManifest, bytes: [UInt8]
    ) {
        let path = directory + "/" + manifestFile
        let bytes = try readDatasetFile(path)
        return (try decodePartitionedManifest(bytes, path: path), bytes)
    }

    /// ``readPartitionedManifest(directory:)`` on bytes already read from `path`.
    static func decodePartitionedManifest(_ bytes: [UInt8], path: String) throws -> PartitionedDatasetManifest {
        let probe = FormatProbe(json: Data(bytes)) ?? FormatProbe()
        guard probe.format == PartitionedDatasetManifest.formatName,
            probe.formatVersion == PartitionedDatasetManifest.currentVersion
        else {
            throw DatasetError.unsupportedFormat(
                path: path,
                found:
                    "\(probe.found), not \(PartitionedDatasetManifest.formatName) version \(PartitionedDatasetManifest.currentVersion)"
            )
        }
        let manifest: PartitionedDatasetManifest
        do {
            manifest = try JSONDecoder().decode(PartitionedDatasetManifest.self, from: Data(bytes))
        } catch {
            throw DatasetError.malformed(path: path, line: 1, reason: "partitioned manifest does not decode: \(error)")
        }
        let count = manifest.partitioning.count
        guard manifest.partitioning.key == "customer_id", manifest.partitioning.hash == CustomerPartitioning.hashName,
            (1...CustomerPartitioning.maximumCount).contains(count), manifest.partitions.count == count,
            manifest.partitions.enumerated().allSatisfy({
                $0.element.directory == CustomerPartitioning.directoryName($0.offset)
            })
        else {
            throw DatasetError.integrity(
                path: path,
                reason:
                    "its partitioning is not \(count) partitions part-00000… by \(CustomerPartitioning.hashName)")
        }
        for (name, counts) in [
            ("source.visit_counts", manifest.source.visitCounts),
            ("source.customer_counts", manifest.source.customerCounts)
        ] where !counts.reconciles {
            throw DatasetError.integrity(path: path, reason: "\(name) do not reconcile")
        }
        guard manifest.partitions.reduce(0, { $0 + $1.visits }) == manifest.source.visitCounts.accepted else {
            throw DatasetError.integrity(
                path: path, reason: "its partitions' visits do not add up to the source's accepted visits")
        }
        return manifest
    }

    /// Reads a partitioned dataset (all partitions, or `selection`) as one dataset: each
    /// partition through ``load(directory:writerHoldsLock:waiting:)`` (format, sizes, SHA-256,
    /// sort order, counts), its `manifest.json` checked against the SHA-256 the top manifest
    /// recorded; every customer checked to be in the partition its id hashes to; the rows
    /// merged back into dataset order. The result is the flat dataset the partitions were split
    /// from, with the source's manifest and, as its provenance digest, the SHA-256 of the top
    /// manifest.
    /// - Throws: ``DatasetError`` naming the file.
    public static func loadPartitioned(
        directory: String, selection: PartitionSelection? = nil, waiting: (String) -> Void = { _ in }
    ) throws -> Dataset {
        try loadPartitioned(
            directory: directory, manifest: try readPartitionedManifest(directory: directory), selection: selection,
            waiting: waiting)
    }

    /// ``loadPartitioned(directory:selection:waiting:)`` with the top manifest the caller has read
    /// already (``readPartitionedManifest(directory:)``), so that a caller reading partitions
    /// one by one parses it once. The partitions' own digests still tie every file read to it.
    public static func loadPartitioned(
        directory: String, manifest top: (manifest: PartitionedDatasetManifest, bytes: [UInt8]),
        selection: PartitionSelection?, waiting: (String) -> Void = { _ in }
    ) throws -> Dataset {
        let lock = try? FileLock.sharedIfPresent(for: directory, waiting: waiting)
        defer { withExtendedLifetime(lock) {} }
        let (manifest, bytes) = top
        let count = manifest.partitioning.count
        let indices = selection?.indices ?? Array(0..<count)
        if let outside = indices.first(where: { $0 >= count }) {
            throw DatasetError.malformed(
                path: directory + "/" + manifestFile, line: 1,
                reason: "partition \(outside) was asked for; the dataset has partitions 0…\(count - 1)")
        }
        var visits: [Visit] = [], customers: [Customer] = []
        for index in indices {
            let entry = manifest.partitions[index]
            let partDirectory = directory + "/" + entry.directory
            let partManifestPath = partDirectory + "/" + manifestFile
            // The digest of the manifest bytes the load itself read: no second read to race.
            let part = try load(directory: partDirectory, writerHoldsLock: true)
            guard part.manifestSHA256 == entry.manifestSHA256 else {
                throw DatasetError.integrity(
                    path: partManifestPath,
                    reason:
                        "SHA-256 \(part.manifestSHA256.prefix(12))… differs from the \(entry.manifestSHA256.prefix(12))… \(directory)/manifest.json recorded"
                )
            }
            guard part.manifest.visitColumns == manifest.source.visitColumns,
                part.manifest.customerColumns == manifest.source.customerColumns,
                part.visits.count == entry.visits, part.customers.count == entry.customers
            else {
                throw DatasetError.integrity(
                    path: partManifestPath, reason: "its columns or counts differ from \(directory)/manifest.json")
            }
            // Both files are sorted by customer id: one hash per customer, not per row.
            func checkMembership(_ ids: [String], file: String) throws {
                var previous: String?
                for (line, id) in ids.enumerated() where id != previous {
                    previous = id
                    let home = CustomerPartitioning.partition(of: id, count: count)
                    guard home == index else {
                        throw DatasetError.integrity(
                            path: partDirectory + "/" + file,
                            reason:
                                "line \(line + 2): customer '\(Snippet.bounded(id))' belongs in \(CustomerPartitioning.directoryName(home))"
                        )
                    }
                }
            }
            try checkMembership(part.visits.map(\.customerID), file: visitsFile)
            try checkMembership(part.customers.map(\.customerID), file: customersFile)
            visits += part.visits
            customers += part.customers
        }
        // Each partition is in dataset order and holds whole customers; sorting the
        // concatenation restores the flat order (customer ids are unique across partitions).
        visits.sort(by: Visit.datasetOrder)
        customers.sort { Visit.bytewiseLess($0.customerID, $1.customerID) }
        var source = manifest.source
        if selection != nil {
            // A sample: the counts and dates describe the rows read, not the whole dataset.
            source.visitCounts = DatasetManifest.Counts(read: visits.count, accepted: visits.count)
            source.customerCounts = DatasetManifest.Counts(read: customers.count, accepted: customers.count)
            source.firstDate = visits.map(\.date).min()
            source.lastDate = visits.map(\.date).max()
            // As the importer counts: customers with visits and those listed without any.
            source.customerCount = Set(visits.map(\.customerID)).union(customers.map(\.customerID)).count
            source.repCount = Set(visits.map(\.repID)).count
            source.history.append("sample: partitions \(selection!) of \(count)")
        }
        var dataset = Dataset(manifest: source, visits: visits, customers: customers)
        dataset.manifestSHA256 = SHA256.hex(bytes)
        return dataset
    }
}
