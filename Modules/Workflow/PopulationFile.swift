import BGNBD
import Dataset
import Features
import Formats
import Foundation

/// The population-level parameters a partition cannot estimate alone: BG/NBD fitted at each
/// as-of date over the whole dataset's customers (the time-aware inputs `bgnbd_p_alive` and
/// `bgnbd_p_purchase`, ``PurchaseModelCache``). `scorer population` writes it once per run,
/// `scorer --partial --population` reads it in every partition, so each partition's scores
/// are the ones the whole dataset gives (Docs/ScaleOut.md).
///
/// ```json
/// {"format": "revisit-population", "format_version": 1, "dataset_manifest_sha256": "…",
///  "population_size": 1000, "fits": [{"as_of": "2020-02-29", "customers": 981,
///  "parameters": {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}}]}
/// ```
/// `parameters` is absent where no fit is possible at that date (nobody has bought yet).
public struct PopulationFile: Codable, Sendable, Equatable {
    public static let formatName = "revisit-population"
    public static let currentVersion = 1

    /// One as-of date's fit.
    public struct Fit: Codable, Sendable, Equatable {
        public var asOf: Day
        /// Customers whose (x, tₓ, T) went into the fit.
        public var customers: Int
        public var parameters: BGNBD.Parameters?

        enum CodingKeys: String, CodingKey {
            case asOf = "as_of"
            case customers, parameters
        }
    }

    public var format = Self.formatName
    public var formatVersion = Self.currentVersion
    /// The SHA-256 of the manifest of the dataset fitted on (flat or partitioned).
    public var datasetManifestSHA256: String
    /// Customers with visits in the whole dataset (the sample rule's modulus).
    public var populationSize: Int
    public var fits: [Fit]

    enum CodingKeys: String, CodingKey {
        case format, fits
        case formatVersion = "format_version"
        case datasetManifestSHA256 = "dataset_manifest_sha256"
        case populationSize = "population_size"
    }

    /// A population file that cannot be used, with the reason.
    public struct ReadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// One customer's (x, tₓ, T) at one as-of date, as a fit uses it.
    public typealias Observation = (customerID: String, observation: BGNBD.Observation)

    /// Fits the population of the dataset at `directory` at each of `dates`. A partitioned
    /// dataset is read one partition at a time (memory: one partition, plus the sampled
    /// customers' observations, at most ``PurchaseModelCache/maximumCustomers`` per date), its
    /// observations merged in customer id order, which is the order the whole dataset gives.
    /// - Throws: ``DatasetError``.
    public static func fit(directory: String, dates: [Day], progress: ((String) -> Void)? = nil) throws
        -> PopulationFile
    {
        guard Dataset.isPartitioned(directory: directory) else {
            let dataset = try Dataset.load(directory: directory)
            let history = VisitHistory(dataset: dataset)
            let observations = dates.map {
                PurchaseModelCache.observations(
                    at: $0.ordinal, history: history, populationSize: history.customers.count)
            }
            return make(
                dates: dates, observations: observations, digest: dataset.manifestSHA256,
                populationSize: history.customers.count)
        }
        let top = try Dataset.readPartitionedManifest(directory: directory)
        var observations = [[Observation]](repeating: [], count: dates.count)
        for index in top.manifest.partitions.indices {
            for (d, part) in try partitionObservations(
                directory: directory, manifest: top, partition: index, dates: dates
            )
            .enumerated() {
                observations[d] += part
            }
            progress?("scorer population: partition \(index + 1) of \(top.manifest.partitions.count) read")
        }
        return make(
            dates: dates, observations: observations, digest: SHA256.hex(top.bytes),
            populationSize: top.manifest.customersWithVisits)
    }

    /// The sampled observations of partition `partition` of the partitioned dataset at
    /// `directory`, per date: what one Spark task contributes to the fit (`scorer population
    /// --partition K --observations`), so that no machine reads every partition.
    /// - Throws: ``DatasetError``.
    public static func partitionObservations(directory: String, partition: Int, dates: [Day]) throws
        -> [[Observation]]
    {
        try partitionObservations(
            directory: directory, manifest: try Dataset.readPartitionedManifest(directory: directory),
            partition: partition, dates: dates)
    }

    static func partitionObservations(
        directory: String, manifest top: (manifest: PartitionedDatasetManifest, bytes: [UInt8]), partition: Int,
        dates: [Day]
    ) throws -> [[Observation]] {
        let part = try Dataset.loadPartitioned(
            directory: directory, manifest: top, selection: PartitionSelection(indices: [partition]))
        let history = VisitHistory(dataset: part)
        return dates.map {
            PurchaseModelCache.observations(
                at: $0.ordinal, history: history, populationSize: top.manifest.customersWithVisits)
        }
    }

    /// The fit of the partitioned dataset at `directory` from its partitions' observations
    /// (``encodeObservations(_:partition:dates:)`` files, in any order, every partition exactly
    /// once): the same file ``fit(directory:dates:progress:)`` writes, without reading the
    /// partitions.
    /// - Throws: ``ReadError`` for observations that cannot be used or are incomplete; ``DatasetError``.
    public static func fit(directory: String, dates: [Day], observationFiles: [(path: String, bytes: [UInt8])])
        throws -> PopulationFile
    {
        let (manifest, bytes) = try Dataset.readPartitionedManifest(directory: directory)
        var observations = [[Observation]](repeating: [], count: dates.count)
        var partitions = Set<Int>()
        for file in observationFiles {
            let (covered, rows) = try parseObservations(file.bytes, path: file.path, dates: dates)
            for partition in covered {
                guard partition < manifest.partitions.count, partitions.insert(partition).inserted else {
                    throw ReadError(
                        description:
                            "\(file.path): observations of partition \(partition) given twice, or of a partition \(directory) does not have"
                    )
                }
            }
            for (d, observation) in rows { observations[d].append(observation) }
        }
        if let missing = (0..<manifest.partitions.count).first(where: { !partitions.contains($0) }) {
            throw ReadError(
                description:
                    "the observations of partition \(missing) (of \(manifest.partitions.count)) are missing: a fit without them would not be the whole dataset's"
            )
        }
        return make(
            dates: dates, observations: observations, digest: SHA256.hex(bytes),
            populationSize: manifest.customersWithVisits)
    }

    /// The file from each date's observations, sorted into customer id order first (the
    /// whole dataset's order, whatever order the partitions came in).
    static func make(dates: [Day], observations: [[Observation]], digest: String, populationSize: Int)
        -> PopulationFile
    {
        let fits = zip(dates, observations).map { date, sample in
            let ordered = sample.sorted { Visit.bytewiseLess($0.customerID, $1.customerID) }
            return Fit(
                asOf: date, customers: ordered.count,
                parameters: PurchaseModelCache.fit(ordered.map(\.observation)))
        }
        return PopulationFile(datasetManifestSHA256: digest, populationSize: populationSize, fits: fits)
    }

    /// The header of an observations file. Each file starts with one row per partition it
    /// covers, with that partition and every other field empty but the version (so that an
    /// empty partition is still seen to be there), then one row per sampled customer and date.
    public static let observationsHeader = [
        "partition", "customer_id", "as_of", "x", "tx", "T", "observations_format_version"
    ]

    /// Partition `partition`'s observations file, numbers in shortest round-trip form (so the
    /// fit reads back exactly what the partition computed).
    public static func encodeObservations(_ observations: [[Observation]], partition: Int, dates: [Day]) -> [UInt8] {
        var output: [UInt8] = []
        let version = String(currentVersion)
        DelimitedText.appendRecord(observationsHeader, to: &output)
        DelimitedText.appendRecord([String(partition), "", "", "", "", "", version], to: &output)
        for (date, sample) in zip(dates, observations) {
            for o in sample {
                DelimitedText.appendRecord(
                    [
                        String(partition), o.customerID, date.iso, "\(o.observation.x)", "\(o.observation.tx)",
                        "\(o.observation.T)", version
                    ], to: &output)
            }
        }
        return output
    }

    /// The partitions an observations file covers and its rows (date index, observation),
    /// checked; concatenated files read as one.
    static func parseObservations(_ bytes: [UInt8], path: String, dates: [Day]) throws -> (
        partitions: [Int], rows: [(Int, Observation)]
    ) {
        let records: [(line: Int, fields: [String])]
        do {
            records = try DelimitedText.parse(bytes, path: path)
        } catch {
            throw ReadError(description: "\(error)")
        }
        guard records.first?.fields == observationsHeader else {
            throw ReadError(
                description: "\(path):1: not an observations file (header \(observationsHeader.joined(separator: ",")))"
            )
        }
        var partitions: [Int] = [], rows: [(Int, Observation)] = []
        for (line, f) in records.dropFirst() where f != observationsHeader {
            guard f.count == observationsHeader.count, f[6] == String(currentVersion), let partition = Int(f[0]),
                partition >= 0
            else {
                throw ReadError(description: "\(path):\(line): not a valid observations row")
            }
            if f[1...5].allSatisfy(\.isEmpty) {
                partitions.append(partition)
                continue
            }
            guard partitions.contains(partition), let date = Day(iso: f[2]), let d = dates.firstIndex(of: date),
                let x = Double(f[3]), let tx = Double(f[4]), let t = Double(f[5]), x >= 0, tx >= 0, t >= tx, t.isFinite
            else {
                throw ReadError(
                    description:
                        "\(path):\(line): not a valid observation (a date --as-of names, 0 ≤ tx ≤ T, after its partition's row)"
                )
            }
            rows.append((d, (f[1], BGNBD.Observation(x: x, tx: tx, T: t))))
        }
        return (partitions, rows)
    }

    /// Stable JSON (sorted keys; numbers in shortest round-trip form).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(self)) + [0x0A]
    }

    /// Reads and checks a population file (untrusted: format, version, finite parameters).
    /// - Throws: ``ReadError`` naming the file.
    public static func read(path: String) throws -> PopulationFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReadError(description: "\(path): cannot be read")
        }
        let probe = FormatProbe(json: data) ?? FormatProbe()
        guard probe.format == formatName, probe.formatVersion == currentVersion else {
            throw ReadError(
                description:
                    "\(path): \(probe.found); this build reads \(formatName) version \(currentVersion) — write it with `scorer population`"
            )
        }
        let file: PopulationFile
        do {
            file = try JSONDecoder().decode(PopulationFile.self, from: data)
        } catch {
            throw ReadError(description: "\(path): does not decode as \(formatName): \(error)")
        }
        for fit in file.fits {
            if let p = fit.parameters, ![p.r, p.alpha, p.a, p.b].allSatisfy({ $0.isFinite && $0 > 0 }) {
                throw ReadError(description: "\(path): the parameters for \(fit.asOf.iso) are not positive and finite")
            }
        }
        return file
    }

    /// Gives `history` this file's parameters at `asOf`.
    /// - Throws: ``ReadError`` when the file has no fit for that date.
    public func apply(to history: VisitHistory, asOf: Day, path: String) throws {
        guard let fit = fits.first(where: { $0.asOf == asOf }) else {
            throw ReadError(
                description:
                    "\(path): has no fit for --as-of \(asOf.iso) (it has \(fits.map(\.asOf.iso).joined(separator: ", "))); run `scorer population` with that date"
            )
        }
        history.purchaseModels.preset(fit.parameters, at: asOf.ordinal)
    }
}
