import Dataset
import Formats
import Evaluation
import Foundation

/// The partial scores file: one partition's candidates scored but not yet ranked or explained
/// (`scorer --partial`), the input of `scorer merge`, which ranks and explains the candidates
/// of every partition together (Docs/ScaleOut.md, Docs/FileFormats.md).
///
/// ```
/// customer_id,rep_id,as_of,probability,expected_orders,…,p_order_28d,horizon_days,train_until,model_id,
///   days_since_last_order,usual_order_gap,orders_in_90_days,visits_in_30_days,days_since_last_visit,
///   last_result,total_orders,partial_format_version
/// ```
/// Every number is written in Swift's shortest round-trip form of the value computed (Float
/// for the probability, Double elsewhere), so that a merge reads back exactly what the scorer
/// had: ranks and reasons come out as the scorer alone would have made them. Empty fields are
/// nil. Every row repeats `partial_format_version`, as the scores file repeats its version.
/// Partial files concatenated (`cat p*.csv`) are read as one: a repeated header line starts
/// the next file's rows.
public enum PartialScoresFile {
    public static let formatVersion = 1

    public static let header =
        ["customer_id", "rep_id", "as_of", "probability"] + ScoresFile.forecastHeader + ScoresFile.provenanceHeader
        + [
            "model_id", "days_since_last_order", "usual_order_gap", "orders_in_90_days", "visits_in_30_days",
            "days_since_last_visit", "last_result", "total_orders", "partial_format_version"
        ]

    /// A partial scores file that cannot be read or does not belong with the others.
    public struct ReadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The file's bytes for one scoring run's partial result.
    public static func encode(_ partial: ScoringJob.PartialResult) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(partial.rows.count * 120 + 256)
        DelimitedText.appendRecord(header, to: &output)
        func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        func integer(_ value: Int?) -> String { value.map(String.init) ?? "" }
        let version = String(formatVersion)
        for (row, facts) in zip(partial.rows, partial.facts) {
            let f = row.forecast
            var fields = [
                row.customerID, row.repID, row.asOf.iso, "\(row.probability)", number(f.expectedOrders),
                number(f.expectedDaysToOrder), number(f.medianDaysToOrder)
            ]
            fields += f.withinDays?.map { "\($0)" } ?? ScoreRow.Forecast.days.map { _ in "" }
            fields += [integer(row.horizonDays), row.trainUntil?.iso ?? "", partial.modelID]
            if let facts {
                fields += [
                    integer(facts.daysSinceLastOrder), number(facts.usualOrderGap), String(facts.ordersIn90Days),
                    String(facts.visitsIn30Days), integer(facts.daysSinceLastVisit), facts.lastResult,
                    String(facts.totalOrders)
                ]
            } else {
                fields += ["", "", "", "", "", "", ""]
            }
            fields.append(version)
            DelimitedText.appendRecord(fields, to: &output)
        }
        return output
    }

    /// One file's rows, checked: header, version, every number, one model per as-of date.
    /// - Throws: ``ReadError`` naming the file and line.
    public static func parse(_ bytes: [UInt8], path: String) throws -> [(
        row: ScoringJob.ScoredCustomer, facts: CallReasons.Facts?, modelID: String
    )] {
        let records: [(line: Int, fields: [String])]
        do {
            records = try DelimitedText.parse(bytes, path: path)
        } catch {
            throw ReadError(description: "\(error)")
        }
        guard let first = records.first else { throw ReadError(description: "\(path):1: empty file: no header") }
        guard first.fields == header else {
            let hint =
                first.fields.first == ScoresFile.header.first && first.fields.contains("rank_in_rep")
                ? " (this is a scores file; `scorer merge` reads what `scorer --partial` writes)" : ""
            throw ReadError(
                description:
                    "\(path):1: not a partial scores file version \(formatVersion): header is \(Snippet.bounded(first.fields.joined(separator: ",")))\(hint)"
            )
        }
        var rows: [(row: ScoringJob.ScoredCustomer, facts: CallReasons.Facts?, modelID: String)] = []
        rows.reserveCapacity(records.count - 1)
        for (line, f) in records.dropFirst() {
            // Concatenated partial files (`cat p*.csv`, a Spark task's output) are one: a
            // repeated header starts the next part.
            if f == header { continue }
            func fail(_ column: String) -> ReadError {
                let index = header.firstIndex(of: column)!
                return ReadError(
                    description:
                        "\(path):\(line): \(column) '\(Snippet.bounded(index < f.count ? f[index] : ""))' is not valid")
            }
            guard f.count == header.count else {
                throw ReadError(description: "\(path):\(line): \(f.count) fields; the header has \(header.count)")
            }
            guard f[header.count - 1] == String(formatVersion) else { throw fail("partial_format_version") }
            // Every number of a partial file is a count, a number of days or a probability:
            // finite and not negative; probabilities at most 1, days and horizon within the
            // scores file's bounds (its reader would refuse the merged file otherwise).
            func double(_ index: Int, atMost limit: Double = .greatestFiniteMagnitude) throws -> Double? {
                if f[index].isEmpty { return nil }
                guard let value = Double(f[index]), value.isFinite, value >= 0, value <= limit else {
                    throw fail(header[index])
                }
                return value
            }
            func int(_ index: Int, atMost limit: Int = .max) throws -> Int? {
                if f[index].isEmpty { return nil }
                guard let value = Int(f[index]), value >= 0, value <= limit else { throw fail(header[index]) }
                return value
            }
            // Ids as the scores file accepts them (its reader would refuse the merged file);
            // a customer and a model id are never empty, a rep id may be.
            for column in [0, 1, 12] {
                guard column == 1 || !f[column].isEmpty, ScoresFile.identifierProblem(f[column]) == nil else {
                    throw fail(header[column])
                }
            }
            guard let asOf = Day(iso: f[2]), Day.supportedRange.contains(asOf) else { throw fail("as_of") }
            guard let probability = Float(f[3]), probability.isFinite, (0...1).contains(probability) else {
                throw fail("probability")
            }
            var forecast = ScoreRow.Forecast()
            forecast.expectedOrders = try double(4)
            forecast.expectedDaysToOrder = try double(5, atMost: 3660)
            forecast.medianDaysToOrder = try double(6, atMost: 3660)
            let within = try (7..<10).map { try double($0, atMost: 1) }
            if within.allSatisfy({ $0 != nil }) {
                forecast.withinDays = within.map { $0! }
            } else if within.contains(where: { $0 != nil }) {
                throw fail("p_order_7d")
            }
            let trainUntil: Day?
            if f[11].isEmpty {
                trainUntil = nil
            } else {
                guard let day = Day(iso: f[11]) else { throw fail("train_until") }
                trainUntil = day
            }
            let row = ScoringJob.ScoredCustomer(
                customerID: f[0], repID: f[1], asOf: asOf, probability: probability, rankInRep: 0, rank: 0,
                forecast: forecast, horizonDays: try int(10, atMost: 3660), trainUntil: trainUntil)
            var facts: CallReasons.Facts?
            if !f[19].isEmpty {
                guard let orders90 = try int(15), let visits30 = try int(16), let total = try int(19) else {
                    throw fail("orders_in_90_days")
                }
                facts = CallReasons.Facts(
                    daysSinceLastOrder: try int(13), usualOrderGap: try double(14), ordersIn90Days: orders90,
                    visitsIn30Days: visits30, daysSinceLastVisit: try int(17), lastResult: f[18], totalOrders: total)
            }
            rows.append((row, facts, f[12]))
        }
        return rows
    }

    /// The rows of several partial files as one ``ScoringJob/PartialResult`` per as-of date, in
    /// date order, each in candidate order (customer id bytes) — the order the scorer gives the
    /// candidates of a whole dataset, which is what makes the merged reasons and ranks the
    /// scorer's own. Refuses a customer scored twice for one date (two partitions holding one
    /// customer) and two models for one date.
    /// - Throws: ``ReadError``.
    public static func merge(_ files: [(path: String, bytes: [UInt8])]) throws -> [ScoringJob.PartialResult] {
        var byDate: [Day: [(row: ScoringJob.ScoredCustomer, facts: CallReasons.Facts?)]] = [:]
        var modelOfDate: [Day: (model: String, path: String)] = [:]
        for file in files {
            for entry in try parse(file.bytes, path: file.path) {
                let date = entry.row.asOf
                if let known = modelOfDate[date], known.model != entry.modelID {
                    throw ReadError(
                        description:
                            "\(file.path): as-of \(date.iso) scored by model \(entry.modelID); \(known.path) scored it by \(known.model) — one model per as-of date"
                    )
                }
                modelOfDate[date] = (entry.modelID, file.path)
                byDate[date, default: []].append((entry.row, entry.facts))
            }
        }
        var results: [ScoringJob.PartialResult] = []
        for date in byDate.keys.sorted() {
            let entries = byDate[date]!.sorted { Visit.bytewiseLess($0.row.customerID, $1.row.customerID) }
            for (a, b) in zip(entries, entries.dropFirst()) where a.row.customerID == b.row.customerID {
                throw ReadError(
                    description:
                        "customer '\(Snippet.bounded(a.row.customerID))' is scored twice for \(date.iso): the partial files overlap (the same partition twice, or partitions of different splits)"
                )
            }
            results.append(
                ScoringJob.PartialResult(
                    rows: entries.map(\.row), facts: entries.map(\.facts), modelID: modelOfDate[date]!.model))
        }
        return results
    }
}
