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

    /// Fits the population of the dataset at `directory` at each of `dates`. A partitioned
    /// dataset is read one partition at a time (memory: one partition, plus the sampled
    /// customers' observations, at most ``PurchaseModelCache/maximumCustomers`` per date), its
    /// observations merged in customer id order, which is the order the whole dataset gives.
    /// - Throws: ``DatasetError``.
    public static func fit(directory: String, dates: [Day], progress: ((String) -> Void)? = nil) throws
        -> PopulationFile
    {
        var observations = [[(customerID: String, observation: BGNBD.Observation)]](repeating: [], count: dates.count)
        let digest: String, populationSize: Int
        if Dataset.isPartitioned(directory: directory) {
            let (manifest, bytes) = try Dataset.readPartitionedManifest(directory: directory)
            digest = SHA256.hex(bytes)
            populationSize = manifest.partitions.reduce(0) { $0 + $1.customersWithVisits }
            for index in manifest.partitions.indices {
                let part = try Dataset.loadPartitioned(
                    directory: directory, selection: PartitionSelection(indices: [index]))
                let history = VisitHistory(dataset: part)
                for (d, date) in dates.enumerated() {
                    observations[d] += PurchaseModelCache.observations(
                        at: date.ordinal, history: history, populationSize: populationSize)
                }
                progress?("scorer population: partition \(index + 1) of \(manifest.partitions.count) read")
            }
            for d in dates.indices { observations[d].sort { Visit.bytewiseLess($0.customerID, $1.customerID) } }
        } else {
            let dataset = try Dataset.load(directory: directory)
            digest = dataset.manifestSHA256
            let history = VisitHistory(dataset: dataset)
            populationSize = history.customers.count
            for (d, date) in dates.enumerated() {
                observations[d] = PurchaseModelCache.observations(
                    at: date.ordinal, history: history, populationSize: populationSize)
            }
        }
        let fits = zip(dates, observations).map { date, sample in
            Fit(
                asOf: date, customers: sample.count,
                parameters: PurchaseModelCache.fit(sample.map(\.observation)))
        }
        return PopulationFile(datasetManifestSHA256: digest, populationSize: populationSize, fits: fits)
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
        struct Probe: Decodable {
            var format: String?
            var formatVersion: Int?
            enum CodingKeys: String, CodingKey { case format, formatVersion = "format_version" }
        }
        let probe = try? JSONDecoder().decode(Probe.self, from: data)
        guard probe?.format == formatName, probe?.formatVersion == currentVersion else {
            throw ReadError(
                description:
                    "\(path): format \(probe?.format ?? "missing") version \(probe?.formatVersion.map(String.init) ?? "missing"); this build reads \(formatName) version \(currentVersion) — write it with `scorer population`"
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
