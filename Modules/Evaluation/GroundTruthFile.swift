import Dataset
import Foundation

/// One row of a synth `ground_truth.csv`: the true probability that the customer orders in
/// [as_of, as_of + H), and whether it did (Docs/Synth.md, Docs/FileFormats.md).
public struct GroundTruthRow: Sendable, Hashable {
    public var customerID: String
    public var asOf: Day
    /// The simulator's exact P(order in the window | hidden state).
    public var probability: Double
    /// Whether a visit order or an inbound order fell in the window (the simulator's own label).
    public var ordered: Bool
    /// P(a visit in the window ends in an order): the label of a visit log (synth version 2;
    /// nil in a version 1 file).
    public var visitProbability: Double?
    /// Whether a visit in the window ended in an order (synth version 2).
    public var visitOrdered: Bool?

    public init(
        customerID: String, asOf: Day, probability: Double, ordered: Bool, visitProbability: Double? = nil,
        visitOrdered: Bool? = nil
    ) {
        self.customerID = customerID
        self.asOf = asOf
        self.probability = probability
        self.ordered = ordered
        self.visitProbability = visitProbability
        self.visitOrdered = visitOrdered
    }
}

/// Reader of `ground_truth.csv`: `customer_id,as_of,p_order,ordered,p_visit_order,visit_ordered`
/// (synth format version 2), or its first four columns (version 1).
///
/// The file carries no version of its own; the `synth.json` beside it does. When that manifest is
/// present the reader checks `format` = `revisit-synth` and `formatVersion` 1 or 2 and refuses
/// anything else; a ground-truth file copied away from its manifest is read by its header alone.
public enum GroundTruthFile {
    /// The header's fields (version 2).
    public static let header = ["customer_id", "as_of", "p_order", "ordered", "p_visit_order", "visit_ordered"]
    /// The synth manifest versions whose ground truth this build reads.
    public static let synthFormatVersions = [1, 2]

    /// Reads and checks `path`. Throws ``EvaluationError`` with the file and line.
    public static func read(path: String) throws -> [GroundTruthRow] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError.missingFile(path: path)
        }
        let manifestPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("synth.json")
            .path
        if let manifest = FileManager.default.contents(atPath: manifestPath) {
            struct Probe: Decodable {
                var format: String?
                var formatVersion: Int?
            }
            let probe = try? JSONDecoder().decode(Probe.self, from: manifest)
            guard probe?.format == "revisit-synth", let version = probe?.formatVersion,
                synthFormatVersions.contains(version)
            else {
                throw EvaluationError.malformed(
                    path: manifestPath, line: 1,
                    reason:
                        "format \(probe?.format ?? "missing") version \(probe?.formatVersion.map(String.init) ?? "missing"); "
                        + "this build reads the ground truth of revisit-synth versions 1 and 2")
            }
        }
        return try decode([UInt8](data), path: path)
    }

    /// Parses and checks the bytes of a ground-truth file; `path` names it in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> [GroundTruthRow] {
        let records: [(line: Int, fields: [String])]
        do {
            records = try DelimitedText.parse(bytes, path: path)
        } catch let error as DatasetError {
            throw EvaluationError.from(error)
        }
        guard let first = records.first, first.fields == header || first.fields == Array(header.prefix(4)) else {
            throw EvaluationError.malformed(
                path: path, line: 1,
                reason:
                    "header is \(records.first?.fields.joined(separator: ",") ?? "missing"); expected \(header.joined(separator: ",")) "
                    + "(synth version 2) or its first four columns (version 1)")
        }
        let columns = first.fields.count
        var rows: [GroundTruthRow] = []
        rows.reserveCapacity(records.count - 1)
        for (line, f) in records.dropFirst() {
            func bad(_ reason: String) -> EvaluationError { .malformed(path: path, line: line, reason: reason) }
            guard f.count == columns else { throw bad("\(f.count) fields; the header has \(columns)") }
            guard !f[0].isEmpty else { throw bad("customer_id is empty") }
            guard let asOf = Day(iso: f[1]) else { throw bad("as_of '\(f[1])' is not a date YYYY-MM-DD") }
            guard let p = Double(f[2]), p.isFinite, p >= 0, p <= 1 else {
                throw bad("p_order '\(f[2])' is not a number in [0, 1]")
            }
            guard f[3] == "0" || f[3] == "1" else { throw bad("ordered '\(f[3])' is not 0 or 1") }
            var row = GroundTruthRow(customerID: f[0], asOf: asOf, probability: p, ordered: f[3] == "1")
            if columns == 6 {
                guard let v = Double(f[4]), v.isFinite, v >= 0, v <= 1 else {
                    throw bad("p_visit_order '\(f[4])' is not a number in [0, 1]")
                }
                guard f[5] == "0" || f[5] == "1" else { throw bad("visit_ordered '\(f[5])' is not 0 or 1") }
                row.visitProbability = v
                row.visitOrdered = f[5] == "1"
            }
            rows.append(row)
        }
        return rows
    }
}
