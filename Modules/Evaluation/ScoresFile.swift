import Dataset
import Formats
import Foundation

/// One row of a scores file: the probability a model gave one customer at one as-of date, and
/// where that put the customer in the rep's call list.
public struct ScoreRow: Sendable, Hashable, Codable {
    /// The customer, as in the dataset.
    public var customerID: String
    /// The rep whose list the customer is on at `asOf`.
    public var repID: String
    /// The as-of date t: the model saw only records dated before t; the label is "ordered in [t, t + H)".
    public var asOf: Day
    /// P(order in [t, t + H)), in [0, 1].
    public var probability: Double
    /// 1 = first in this rep's list for this as-of date (ties broken by customer id).
    public var rankInRep: Int
    /// Position among all customers scored at this as-of date (1 = highest).
    public var rank: Int
    /// The model that produced the score (the model file's id).
    public var modelID: String
    /// What a timing or count model adds (version 2; nil when the model does not predict it,
    /// an empty field in the file).
    public var forecast = Forecast()
    /// The model's label window H in days and its training cut-off T (labels closing by T
    /// trained it), so that an audit uses the same H and leaves out in-sample rows (as_of < T).
    /// Version 2; nil where the writer did not know them.
    public var horizonDays: Int?
    public var trainUntil: Day?
    /// Why the customer is on the list, in plain words, strongest first (at most
    /// ``ScoresFile/reasonCount``; version 3; empty where the writer gave none): the facts of
    /// the customer's history that raised its score most (Docs/Features.md, "Reasons").
    public var reasons: [String] = []

    /// When and how many, beside the probability: a timing model's expected and median days to
    /// the next order and P(order within 7, 14 and 28 days) from its own distribution
    /// (uncalibrated, Docs/Features.md "Purchase timing"), a count model's expected order days
    /// in [t, t + H).
    public struct Forecast: Sendable, Hashable, Codable {
        public var expectedOrders: Double?
        public var expectedDaysToOrder: Double?
        public var medianDaysToOrder: Double?
        /// P(order within 7, 14, 28 days), in that order, non-decreasing.
        public var withinDays: [Double]?
        /// The day counts of ``withinDays``.
        public static let days = [7, 14, 28]

        /// Each value at Float precision, as the shortest decimal of the nearest Float (what the
        /// probability column does): `0.07192587`, not `0.07192586932594068`. Models compute
        /// in Float; the extra digits were noise.
        public var atFloatPrecision: Forecast {
            func round(_ value: Double) -> Double { Double("\(Float(value))") ?? value }
            return Forecast(
                expectedOrders: expectedOrders.map(round), expectedDaysToOrder: expectedDaysToOrder.map(round),
                medianDaysToOrder: medianDaysToOrder.map(round), withinDays: withinDays?.map(round))
        }

        public init(
            expectedOrders: Double? = nil, expectedDaysToOrder: Double? = nil, medianDaysToOrder: Double? = nil,
            withinDays: [Double]? = nil
        ) {
            precondition(
                withinDays == nil || withinDays!.count == Self.days.count,
                "ScoreRow.Forecast: \(withinDays!.count) probabilities for \(Self.days)")
            self.expectedOrders = expectedOrders
            self.expectedDaysToOrder = expectedDaysToOrder
            self.medianDaysToOrder = medianDaysToOrder
            self.withinDays = withinDays
        }
    }

    public init(
        customerID: String, repID: String, asOf: Day, probability: Double, rankInRep: Int, rank: Int, modelID: String
    ) {
        self.customerID = customerID
        self.repID = repID
        self.asOf = asOf
        self.probability = probability
        self.rankInRep = rankInRep
        self.rank = rank
        self.modelID = modelID
    }

    /// A row from a model's `Float` probability, stored as the `Double` nearest to the Float's
    /// shortest decimal (`Double("\(p)")`), so the file shows `0.4182`, not the widened
    /// `0.41820001602172852`, and reading it back gives this row exactly.
    public init(
        customerID: String, repID: String, asOf: Day, probability: Float, rankInRep: Int, rank: Int, modelID: String
    ) {
        precondition(probability.isFinite, "ScoreRow: probability \(probability) is not finite")
        self.init(
            customerID: customerID, repID: repID, asOf: asOf, probability: Double("\(probability)")!,
            rankInRep: rankInRep,
            rank: rank, modelID: modelID)
    }
}

/// The scores file, format version 3: what the scorer writes and the evaluator reads.
///
/// ```
/// customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version,expected_orders,expected_days_to_order,median_days_to_order,p_order_7d,p_order_14d,p_order_28d,horizon_days,train_until,reason_1,reason_2,reason_3
/// C000017,R003,2019-06-03,0.4182,1,12,3f2a9c0d11ee,3,0.61,24.3,19,0.21,0.33,0.4182,28,2019-06-03,"last order 41 days ago, usually every 38 days",3 orders in 90 days,last visit: no answer
/// C000018,R003,2019-06-03,0.3911,2,15,3f2a9c0d11ee,3,,,,,,,28,2019-06-03,2 visits in 30 days,,
/// ```
/// UTF-8 CSV (Revisit's strict RFC 4180 form, `DelimitedText`), `\n` line ends, one row per
/// (model, customer, as-of date); `as_of` is `YYYY-MM-DD`; `probability` is in [0, 1], written in
/// Swift's shortest round-trip form; `rank_in_rep` and `rank` are positive integers; every row
/// repeats `format_version` (3) so that `awk` and pandas see the version without a side file.
/// The six forecast columns (``ScoreRow/Forecast``) are empty where the model does not predict
/// them; `horizon_days` and `train_until` say which H the model was trained for and where its
/// training labels stopped (empty where unknown); `reason_1…3` say in plain words why the customer
/// is listed (``ScoreRow/reasons``; empty where none). Versions 1 (the first eight columns) and 2
/// (without the reasons) are still read. Several as-of dates (and
/// several models) may share a file. See Docs/FileFormats.md.
public enum ScoresFile {
    /// The version this build writes.
    public static let formatVersion = 3
    /// The versions this build reads.
    public static let readableVersions = [1, 2, 3]
    /// Version 1's header: the eight columns every version starts with.
    public static let coreHeader = [
        "customer_id", "rep_id", "as_of", "probability", "rank_in_rep", "rank", "model_id", "format_version"
    ]
    /// The forecast columns version 2 adds.
    public static let forecastHeader =
        [
            "expected_orders", "expected_days_to_order", "median_days_to_order"
        ] + ScoreRow.Forecast.days.map { "p_order_\($0)d" }
    /// The provenance columns version 2 adds last.
    public static let provenanceHeader = ["horizon_days", "train_until"]
    /// The reasons per row (version 3).
    public static let reasonCount = 3
    /// The reason columns version 3 adds last.
    public static let reasonHeader = (1...reasonCount).map { "reason_\($0)" }
    /// The exact header line's fields (this build writes).
    public static let header = coreHeader + forecastHeader + provenanceHeader + reasonHeader

    /// The header of `version`.
    static func header(version: Int) -> [String] {
        switch version {
        case 1: return coreHeader
        case 2: return coreHeader + forecastHeader + provenanceHeader
        default: return header
        }
    }

    /// The file's bytes: the header, then `rows` in the order given.
    public static func encode(rows: [ScoreRow]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(rows.count * 56 + 80)
        DelimitedText.appendRecord(header, to: &output)
        let version = String(formatVersion)
        func field(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        for row in rows {
            let f = row.forecast
            var fields: [String] = [
                row.customerID, row.repID, row.asOf.iso, "\(row.probability)", String(row.rankInRep),
                String(row.rank), row.modelID, version, field(f.expectedOrders), field(f.expectedDaysToOrder),
                field(f.medianDaysToOrder)
            ]
            fields += f.withinDays?.map { "\($0)" } ?? ScoreRow.Forecast.days.map { _ in "" }
            fields += [row.horizonDays.map(String.init) ?? "", row.trainUntil?.iso ?? ""]
            fields += (0..<reasonCount).map { $0 < row.reasons.count ? row.reasons[$0] : "" }
            DelimitedText.appendRecord(fields, to: &output)
        }
        return output
    }

    /// Reads and checks the scores file at `path`.
    ///
    /// - Throws: ``EvaluationError`` naming the file and line: a missing file, a wrong header, a
    ///   row of another format version, a bad date, probability or rank, an empty id, or a
    ///   repeated (model, customer, as-of date).
    public static func read(path: String) throws -> [ScoreRow] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError.missingFile(path: path)
        }
        return try decode([UInt8](data), path: path)
    }

    /// Parses and checks the bytes of a scores file; `path` names it in errors (`-` for stdin).
    public static func decode(_ bytes: [UInt8], path: String) throws -> [ScoreRow] {
        let records: [(line: Int, fields: [String])]
        do {
            // A list that went through a spreadsheet comes back with \r\n and perhaps a BOM.
            records = try DelimitedText.parse(bytes, path: path, spreadsheetTolerant: true)
        } catch let error as DatasetError {
            throw EvaluationError.from(error)
        }
        guard let first = records.first else {
            throw EvaluationError.malformed(
                path: path, line: 1, reason: "empty file: no header (expected \(header.joined(separator: ",")))")
        }
        guard let version = readableVersions.first(where: { first.fields == header(version: $0) }) else {
            // A file of another version announces it in its format_version column: say so, not "bad header".
            if let column = first.fields.firstIndex(of: "format_version"), records.count > 1,
                records[1].fields.count > column, !readableVersions.map(String.init).contains(records[1].fields[column])
            {
                throw EvaluationError.unsupportedVersion(
                    path: path, line: records[1].line, found: "'\(records[1].fields[column])'",
                    expected: readableVersions)
            }
            throw EvaluationError.malformed(
                path: path, line: first.line,
                reason: "header is \(first.fields.joined(separator: ",")); expected \(header.joined(separator: ",")) "
                    + "(scores format version \(formatVersion)), it without the reason columns (version 2) or its first eight columns (version 1)"
            )
        }
        let columns = header(version: version).count
        var rows: [ScoreRow] = []
        rows.reserveCapacity(records.count - 1)
        var seen = Set<Key>()
        var models = Set<String>()
        let versionText = String(version)
        for (line, f) in records.dropFirst() {
            func bad(_ reason: String) -> EvaluationError { .malformed(path: path, line: line, reason: reason) }
            guard f.count == columns else { throw bad("\(f.count) fields; the header has \(columns)") }
            guard f[7] == versionText else {
                guard readableVersions.map(String.init).contains(f[7]) else {
                    throw EvaluationError.unsupportedVersion(
                        path: path, line: line, found: "'\(f[7])'", expected: readableVersions)
                }
                // The header says which version the file is; a row of another one is a file mixed from two builds.
                throw bad(
                    "format_version '\(f[7])' under a version-\(version) header: the file mixes two scores versions "
                        + "(rescore it whole with one scorer)")
            }
            guard !f[0].isEmpty else { throw bad("customer_id is empty") }
            guard let asOf = Day(iso: f[2]) else { throw bad("as_of '\(f[2])' is not a date YYYY-MM-DD") }
            guard let probability = Double(f[3]), probability.isFinite, probability >= 0, probability <= 1 else {
                throw bad("probability '\(f[3])' is not a number in [0, 1]")
            }
            guard let rankInRep = Int(f[4]), rankInRep >= 1 else {
                throw bad("rank_in_rep '\(f[4])' is not a positive integer")
            }
            guard let rank = Int(f[5]), rank >= 1 else { throw bad("rank '\(f[5])' is not a positive integer") }
            guard !f[6].isEmpty else { throw bad("model_id is empty") }
            // Ids travel into report headings, tables and the terminal: printable and short.
            for (column, value) in [("customer_id", f[0]), ("rep_id", f[1]), ("model_id", f[6])] {
                if let problem = ScoresFile.identifierProblem(value) {
                    throw bad("\(column) '\(Snippet.bounded(value, limit: 40))' \(problem)")
                }
            }
            if models.insert(f[6]).inserted, models.count > maximumModels {
                throw bad(
                    "more than \(maximumModels) distinct model_id values; a report compares a few models (split the file per model)"
                )
            }
            guard seen.insert(Key(model: f[6], customer: f[0], asOf: asOf)).inserted else {
                throw bad("customer \(f[0]) is scored twice for as_of \(f[2]) by model \(f[6])")
            }
            var row = ScoreRow(
                customerID: f[0], repID: f[1], asOf: asOf, probability: probability, rankInRep: rankInRep, rank: rank,
                modelID: f[6])
            if version >= 2 {
                do {
                    row.forecast = try forecast(Array(f[8..<(8 + forecastHeader.count)]))
                } catch let problem as ForecastProblem {
                    throw bad(problem.reason)
                }
                let (horizon, cutOff) = (f[8 + forecastHeader.count], f[9 + forecastHeader.count])
                if !horizon.isEmpty {
                    guard let days = Int(horizon), (1...3660).contains(days) else {
                        throw bad(
                            "horizon_days '\(Snippet.bounded(horizon, limit: 40))' is not a whole number of days in 1…3660"
                        )
                    }
                    row.horizonDays = days
                }
                if !cutOff.isEmpty {
                    guard let day = Day(iso: cutOff) else {
                        throw bad("train_until '\(Snippet.bounded(cutOff, limit: 40))' is not a date YYYY-MM-DD")
                    }
                    row.trainUntil = day
                }
            }
            if version >= 3 {
                for (offset, reason) in f[(columns - reasonCount)...].enumerated() where !reason.isEmpty {
                    if let problem = reasonProblem(reason) {
                        throw bad("reason_\(offset + 1) '\(Snippet.bounded(reason, limit: 40))' \(problem)")
                    }
                    guard row.reasons.count == offset else {
                        throw bad("reason_\(offset + 1) follows an empty reason_\(offset): reasons fill from reason_1")
                    }
                    row.reasons.append(reason)
                }
            }
            rows.append(row)
        }
        return rows
    }

    struct ForecastProblem: Error { let reason: String }

    /// The forecast columns of one row, checked: each empty or a finite number in its range
    /// (orders ≥ 0; days in [0, 3660], the cap of Features.PurchaseTiming; probabilities in
    /// [0, 1], the three non-decreasing and all present or all empty).
    static func forecast(_ f: [String]) throws -> ScoreRow.Forecast {
        func number(_ index: Int, _ range: ClosedRange<Double>) throws -> Double? {
            guard !f[index].isEmpty else { return nil }
            guard let value = Double(f[index]), value.isFinite, range.contains(value) else {
                let bound =
                    range.upperBound.isInfinite
                    ? "≥ \(Int(range.lowerBound))" : "in [\(Int(range.lowerBound)), \(Int(range.upperBound))]"
                throw ForecastProblem(
                    reason:
                        "\(forecastHeader[index]) '\(Snippet.bounded(f[index], limit: 40))' is not a number \(bound)")
            }
            return value
        }
        var forecast = ScoreRow.Forecast(
            expectedOrders: try number(0, 0...Double.infinity), expectedDaysToOrder: try number(1, 0...3660),
            medianDaysToOrder: try number(2, 0...3660))
        let within = try (3..<forecastHeader.count).map { try number($0, 0...1) }
        if within.allSatisfy({ $0 != nil }) {
            let values = within.map { $0! }
            guard zip(values, values.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw ForecastProblem(
                    reason:
                        "p_order_7d, p_order_14d, p_order_28d (\(values.map { "\($0)" }.joined(separator: ", "))) decrease; "
                        + "P(order within d days) cannot fall as d grows")
            }
            forecast.withinDays = values
        } else if within.contains(where: { $0 != nil }) {
            throw ForecastProblem(
                reason: "p_order_7d, p_order_14d and p_order_28d are given only in part: all three, or none")
        }
        return forecast
    }

    /// The most distinct `model_id`s one file may hold: a report has a section, a table row and
    /// a chart series per model, so its size grows with them.
    public static let maximumModels = 100
    /// The longest id (customer, rep, model) a scores file may carry, in characters.
    public static let maximumIdentifierLength = 200

    /// Why `value` cannot be an id in a report (control characters, a line break, too long), or `nil`.
    public static func identifierProblem(_ value: String) -> String? {
        if value.unicodeScalars.contains(where: Snippet.isControl) {
            return "contains control characters or a line break"
        }
        if value.count > maximumIdentifierLength { return "is longer than \(maximumIdentifierLength) characters" }
        return nil
    }

    /// The longest reason a scores file may carry, in characters.
    public static let maximumReasonLength = 300

    /// Why `value` cannot be a reason shown in a report (control characters, too long), or `nil`.
    static func reasonProblem(_ value: String) -> String? {
        if value.unicodeScalars.contains(where: Snippet.isControl) {
            return "contains control characters or a line break"
        }
        if value.count > maximumReasonLength { return "is longer than \(maximumReasonLength) characters" }
        return nil
    }

    private struct Key: Hashable {
        var model: String
        var customer: String
        var asOf: Day
    }

    /// Ranks rows the way the scorer does: within each (as-of date, group) by probability
    /// descending, ties by customer id ascending; returns the 1-based positions, in input order.
    /// With `group` = the rep this is `rank_in_rep`; with a constant group, `rank`.
    public static func ranks(
        asOf: [Day], probabilities: [Double], customers: [String], groups: [String]
    ) -> [Int] {
        precondition(
            asOf.count == probabilities.count && asOf.count == customers.count && asOf.count == groups.count,
            "ScoresFile.ranks: \(asOf.count) dates, \(probabilities.count) probabilities, \(customers.count) customers, \(groups.count) groups"
        )
        let order = asOf.indices.sorted { a, b in
            if asOf[a] != asOf[b] { return asOf[a] < asOf[b] }
            if groups[a] != groups[b] { return groups[a] < groups[b] }
            if probabilities[a] != probabilities[b] { return probabilities[a] > probabilities[b] }
            return customers[a] < customers[b]
        }
        var result = [Int](repeating: 0, count: asOf.count)  // [N]
        var position = 0
        for (k, index) in order.enumerated() {
            if k > 0, asOf[order[k - 1]] == asOf[index], groups[order[k - 1]] == groups[index] {
                position += 1
            } else {
                position = 1
            }
            result[index] = position
        }
        return result
    }
}
