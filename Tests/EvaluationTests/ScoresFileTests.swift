import Dataset
import Evaluation
import Foundation
import Testing

@Suite("scores file")
struct ScoresFileTests {
    static let header = "customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version\n"
    static let headerV2 =
        "customer_id,rep_id,as_of,probability,rank_in_rep,rank,model_id,format_version,"
        + "expected_orders,expected_days_to_order,median_days_to_order,p_order_7d,p_order_14d,p_order_28d,horizon_days,train_until\n"
    static let headerV3 = String(headerV2.dropLast()) + ",reason_1,reason_2,reason_3\n"

    static func error(_ text: String) -> EvaluationError? {
        do {
            _ = try ScoresFile.decode(Array(text.utf8), path: "s.csv")
            return nil
        } catch let error as EvaluationError {
            return error
        } catch {
            return nil
        }
    }

    @Test func roundTripsAndWritesTheDocumentedLayout() throws {
        let rows = HandMadeCase.scores()
        let bytes = ScoresFile.encode(rows: rows)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(Self.headerV3 + "C1,R1,2024-01-01,0.9,1,1,M,3,,,,,,,,,,,\n"))
        #expect(try ScoresFile.decode(bytes, path: "s.csv") == rows)
        // Shortest round-trip decimals: every probability reads back bit for bit.
        let awkward = [
            ScoreRow(
                customerID: "a,b", repID: "R\"1", asOf: HandMadeCase.day(0), probability: 0.1 + 0.2,
                rankInRep: 1, rank: 1, modelID: "m")
        ]
        #expect(try ScoresFile.decode(ScoresFile.encode(rows: awkward), path: "s.csv") == awkward)
        // A Float probability is written as the Float's shortest decimal.
        let single = ScoreRow(
            customerID: "C1", repID: "R1", asOf: HandMadeCase.day(0), probability: Float(0.4182),
            rankInRep: 1, rank: 1, modelID: "m")
        let singleText = String(decoding: ScoresFile.encode(rows: [single]), as: UTF8.self)
        #expect(singleText.hasSuffix("\nC1,R1,2024-01-01,0.4182,1,1,m,3,,,,,,,,,,,\n"))
        #expect(try ScoresFile.decode(ScoresFile.encode(rows: [single]), path: "s.csv") == [single])
        // A forecast round-trips bit for bit; a partial one (counts only) leaves the rest empty.
        var timed = single
        timed.forecast = ScoreRow.Forecast(
            expectedOrders: 0.61, expectedDaysToOrder: 24.3, medianDaysToOrder: 19,
            withinDays: [0.21, 0.1 + 0.23, 0.4182])
        timed.horizonDays = 28
        timed.trainUntil = HandMadeCase.day(0)
        var counted = single
        counted.customerID = "C2"
        counted.forecast.expectedOrders = 1.25
        let both = String(decoding: ScoresFile.encode(rows: [timed, counted]), as: UTF8.self)
        #expect(
            both.hasSuffix(
                "\nC1,R1,2024-01-01,0.4182,1,1,m,3,0.61,24.3,19.0,0.21,0.33,0.4182,28,2024-01-01,,,\nC2,R1,2024-01-01,0.4182,1,1,m,3,1.25,,,,,,,,,,\n"
            ))
        #expect(try ScoresFile.decode(Array(both.utf8), path: "s.csv") == [timed, counted])
        // Reasons (version 3): quoted where they hold a comma, fewer than three leave the rest empty.
        var explained = timed
        explained.reasons = ["last order 41 days ago, usually every 38 days", "3 orders in 90 days"]
        let reasoned = String(decoding: ScoresFile.encode(rows: [explained]), as: UTF8.self)
        #expect(
            reasoned.hasSuffix(
                ",28,2024-01-01,\"last order 41 days ago, usually every 38 days\",3 orders in 90 days,\n"))
        #expect(try ScoresFile.decode(Array(reasoned.utf8), path: "s.csv") == [explained])
    }

    @Test("Version 2 files (no reasons) are still read; reasons are checked")
    func readsVersion2AndChecksReasons() throws {
        let v2 = try ScoresFile.decode(
            Array((Self.headerV2 + "C1,R1,2024-01-01,0.5,1,1,m,2,,,,,,,28,2023-12-01\n").utf8), path: "s.csv")
        #expect(v2.count == 1 && v2[0].reasons.isEmpty && v2[0].horizonDays == 28)
        let good = "C1,R1,2024-01-01,0.5,1,1,m,3,,,,,,,28,2023-12-01,a,b,c\n"
        #expect(try ScoresFile.decode(Array((Self.headerV3 + good).utf8), path: "s.csv")[0].reasons == ["a", "b", "c"])
        let gap = Self.error(Self.headerV3 + "C1,R1,2024-01-01,0.5,1,1,m,3,,,,,,,28,2023-12-01,,b,\n")
        #expect(
            gap?.description == "s.csv:2: reason_2 follows an empty reason_1: reasons fill from reason_1",
            "\(String(describing: gap))")
        let control = Self.error(Self.headerV3 + "C1,R1,2024-01-01,0.5,1,1,m,3,,,,,,,28,2023-12-01,\"a\u{7}b\",,\n")
        #expect(
            control?.description.contains("reason_1") == true
                && control?.description.contains("control characters") == true)
        let long = Self.error(
            Self.headerV3 + "C1,R1,2024-01-01,0.5,1,1,m,3,,,,,,,28,2023-12-01,\(String(repeating: "x", count: 301)),,\n"
        )
        #expect(long?.description.contains("longer than 300") == true)
    }

    @Test("Version 1 files (eight columns) are still read, with empty forecasts")
    func readsVersion1() throws {
        let rows = try ScoresFile.decode(Array((Self.header + "C1,R1,2024-01-01,0.5,1,1,m,1\n").utf8), path: "s.csv")
        #expect(rows.count == 1 && rows[0].probability == 0.5 && rows[0].forecast == ScoreRow.Forecast())
        // A version-2 row under a version-1 header is a file mixed from two builds.
        let mixed = Self.error(Self.header + "C1,R1,2024-01-01,0.5,1,1,m,1\nC2,R1,2024-01-01,0.4,2,2,m,2\n")
        #expect(
            mixed?.description
                == "s.csv:3: format_version '2' under a version-1 header: the file mixes two scores versions (rescore it whole with one scorer)",
            "\(String(describing: mixed))")
    }

    @Test("Forecast fields are checked: ranges, P(within d) non-decreasing, all three or none")
    func refusesBadForecasts() {
        let good = "C1,R1,2024-01-01,0.5,1,1,m,2,0.5,20,14,0.1,0.2,0.5,28,2023-12-01\n"
        let cases: [(String, String)] = [
            ("C2,R1,2024-01-01,0.5,2,2,m,2,-1,,,,,,,\n", "s.csv:3: expected_orders '-1' is not a number ≥ 0"),
            ("C2,R1,2024-01-01,0.5,2,2,m,2,inf,,,,,,,\n", "s.csv:3: expected_orders 'inf' is not a number ≥ 0"),
            (
                "C2,R1,2024-01-01,0.5,2,2,m,2,,5000,,,,,,\n",
                "s.csv:3: expected_days_to_order '5000' is not a number in [0, 3660]"
            ),
            (
                "C2,R1,2024-01-01,0.5,2,2,m,2,,,x,,,,,\n",
                "s.csv:3: median_days_to_order 'x' is not a number in [0, 3660]"
            ),
            ("C2,R1,2024-01-01,0.5,2,2,m,2,,,,0.1,1.2,0.5,,\n", "s.csv:3: p_order_14d '1.2' is not a number in [0, 1]"),
            (
                "C2,R1,2024-01-01,0.5,2,2,m,2,,,,0.3,0.2,0.5,,\n",
                "s.csv:3: p_order_7d, p_order_14d, p_order_28d (0.3, 0.2, 0.5) decrease; P(order within d days) cannot fall as d grows"
            ),
            (
                "C2,R1,2024-01-01,0.5,2,2,m,2,,,,0.1,,0.5,,\n",
                "s.csv:3: p_order_7d, p_order_14d and p_order_28d are given only in part: all three, or none"
            ),
            (
                "C2,R1,2024-01-01,0.5,2,2,m,2,,,,,,,0,\n",
                "s.csv:3: horizon_days '0' is not a whole number of days in 1…3660"
            ),
            (
                "C2,R1,2024-01-01,0.5,2,2,m,2,,,,,,,28,2024-13-01\n",
                "s.csv:3: train_until '2024-13-01' is not a date YYYY-MM-DD"
            ),
            ("C2,R1,2024-01-01,0.5,2,2,m,2\n", "s.csv:3: 8 fields; the header has 16")
        ]
        for (row, message) in cases {
            #expect(Self.error(Self.headerV2 + good + row)?.description == message, "row \(row)")
        }
        #expect(Self.error(Self.headerV2 + good) == nil)
    }

    @Test func refusesABadHeaderOnLine1() {
        let error = Self.error("customer,rep,as_of,probability\nC1,R1,2024-01-01,0.5\n")
        #expect(
            error?.description.hasPrefix("s.csv:1: header is customer,rep,as_of,probability; expected customer_id,")
                == true,
            "\(String(describing: error))")
        #expect(Self.error("")?.description.hasPrefix("s.csv:1: empty file") == true)
    }

    @Test func refusesAnotherFormatVersionWithAnActionableMessage() {
        // A future version-4 file whose columns changed is reported as a version problem, not a bad header.
        let renamed = Self.error("customer_id,as_of,p,model_id,format_version\nC1,2024-01-01,0.5,m,4\n")
        #expect(renamed == .unsupportedVersion(path: "s.csv", line: 2, found: "'4'", expected: [1, 2, 3]))
        #expect(
            renamed?.description.contains("s.csv:2: scores format_version '4'; this build reads versions 1, 2 and 3")
                == true,
            "\(String(describing: renamed))")
        #expect(renamed?.description.contains("rescore") == true)
    }

    @Test func namesTheLineOfABadValue() {
        let good = "C1,R1,2024-01-01,0.5,1,1,m,1\n"
        let cases: [(String, String)] = [
            ("C2,R1,2024-01-01,1.5,2,2,m,1\n", "s.csv:3: probability '1.5' is not a number in [0, 1]"),
            ("C2,R1,2024-01-01,abc,2,2,m,1\n", "s.csv:3: probability 'abc' is not a number in [0, 1]"),
            ("C2,R1,2024-01-01,nan,2,2,m,1\n", "s.csv:3: probability 'nan' is not a number in [0, 1]"),
            ("C2,R1,2024-02-30,0.5,2,2,m,1\n", "s.csv:3: as_of '2024-02-30' is not a date YYYY-MM-DD"),
            ("C2,R1,01/02/2024,0.5,2,2,m,1\n", "s.csv:3: as_of '01/02/2024' is not a date YYYY-MM-DD"),
            ("C2,R1,2024-01-01,0.5,0,2,m,1\n", "s.csv:3: rank_in_rep '0' is not a positive integer"),
            ("C2,R1,2024-01-01,0.5,1,x,m,1\n", "s.csv:3: rank 'x' is not a positive integer"),
            ("C2,R1,2024-01-01,0.5,1\n", "s.csv:3: 5 fields; the header has 8"),
            (",R1,2024-01-01,0.5,2,2,m,1\n", "s.csv:3: customer_id is empty"),
            ("C1,R1,2024-01-01,0.4,2,2,m,1\n", "s.csv:3: customer C1 is scored twice for as_of 2024-01-01 by model m")
        ]
        for (row, message) in cases {
            #expect(Self.error(Self.header + good + row)?.description == message, "row \(row)")
        }
        // A lone carriage return is still refused (a list that lost its line feeds).
        #expect(
            Self.error(Self.header + good + "C2,R1,2024-01-01,0.5,1,1,m,1\rC3,R1,2024-01-01,0.4,2,2,m,1\n")?.description
                .hasPrefix("s.csv:3: carriage return") == true)
    }

    /// A list opened and saved in a spreadsheet comes back with CRLF line ends and a UTF-8
    /// byte-order mark: it reads as the original, a quoted reason's comma included.
    @Test func readsAListThatWentThroughASpreadsheet() throws {
        let original =
            Self.headerV3
            + "C1,R1,2024-01-01,0.5,1,1,m,3,,,,,,,28,2024-01-01,\"last order 41 days ago, usually every 38 days\",,\n"
            + "C2,R1,2024-01-01,0.25,2,2,m,3,,,,,,,28,2024-01-01,,,\n"
        let saved = [UInt8]([0xEF, 0xBB, 0xBF]) + Array(original.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let rows = try ScoresFile.decode(saved, path: "s.csv")
        #expect(rows == (try ScoresFile.decode(Array(original.utf8), path: "s.csv")))
        #expect(rows.count == 2 && rows[0].reasons.first == "last order 41 days ago, usually every 38 days")
    }

    @Test func ranksWithinRepByProbabilityThenCustomerID() {
        let d0 = HandMadeCase.day(0), d7 = HandMadeCase.day(7)
        let ranks = ScoresFile.ranks(
            asOf: [d0, d0, d0, d0, d7], probabilities: [0.2, 0.5, 0.5, 0.9, 0.1], customers: ["A", "C", "B", "D", "A"],
            groups: ["R1", "R1", "R1", "R2", "R1"])
        // R1 at day 0: B (0.5, "B" < "C"), C, A; R2: D; R1 at day 7: A.
        #expect(ranks == [3, 2, 1, 1, 1])
    }
}

@Suite("ground-truth file")
struct GroundTruthFileTests {
    @Test func readsTheSynthLayoutAndNamesBadLines() throws {
        let good = "customer_id,as_of,p_order,ordered\nC1,2024-01-01,0.1946,1\n"
        #expect(
            try GroundTruthFile.decode(Array(good.utf8), path: "gt.csv")
                == [GroundTruthRow(customerID: "C1", asOf: HandMadeCase.day(0), probability: 0.1946, ordered: true)])
        func message(_ text: String) -> String? {
            do {
                _ = try GroundTruthFile.decode(Array(text.utf8), path: "gt.csv")
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(message(good + "C2,2024-01-01,1.2,0\n") == "gt.csv:3: p_order '1.2' is not a number in [0, 1]")
        #expect(message(good + "C2,2024-01-01,0.2,yes\n") == "gt.csv:3: ordered 'yes' is not 0 or 1")
        #expect(
            message("customer_id,as_of,p\n")?.hasPrefix("gt.csv:1: header is customer_id,as_of,p; expected") == true)
        // Version 2 adds the visit-order probability and outcome.
        let two = "customer_id,as_of,p_order,ordered,p_visit_order,visit_ordered\nC1,2024-01-01,0.1946,1,0.1200,0\n"
        #expect(
            try GroundTruthFile.decode(Array(two.utf8), path: "gt.csv")
                == [
                    GroundTruthRow(
                        customerID: "C1", asOf: HandMadeCase.day(0), probability: 0.1946, ordered: true,
                        visitProbability: 0.12, visitOrdered: false)
                ])
        #expect(
            message(two + "C2,2024-01-01,0.2,0,1.5,0\n") == "gt.csv:3: p_visit_order '1.5' is not a number in [0, 1]")
        #expect(message(two + "C2,2024-01-01,0.2,0\n") == "gt.csv:3: 4 fields; the header has 6")
    }

    @Test func checksTheSynthManifestBesideIt() throws {
        let directory = HandMadeCase.temporaryDirectory("gt")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "customer_id,as_of,p_order,ordered\nC1,2024-01-01,0.5,0\n".write(
            toFile: directory + "/ground_truth.csv", atomically: true, encoding: .utf8)
        try #"{"format": "revisit-synth", "formatVersion": 1}"#.write(
            toFile: directory + "/synth.json", atomically: true, encoding: .utf8)
        #expect(try GroundTruthFile.read(path: directory + "/ground_truth.csv").count == 1)
        try #"{"format": "revisit-synth", "formatVersion": 2}"#.write(
            toFile: directory + "/synth.json", atomically: true, encoding: .utf8)
        #expect(try GroundTruthFile.read(path: directory + "/ground_truth.csv").count == 1)
        try #"{"format": "revisit-synth", "formatVersion": 3}"#.write(
            toFile: directory + "/synth.json", atomically: true, encoding: .utf8)
        #expect(throws: EvaluationError.self) { try GroundTruthFile.read(path: directory + "/ground_truth.csv") }
        do {
            _ = try GroundTruthFile.read(path: directory + "/ground_truth.csv")
        } catch {
            #expect("\(error)".contains("synth.json:1: format revisit-synth version 3; this build reads"), "\(error)")
        }
    }
}
