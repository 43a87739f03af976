import Dataset
import Evaluation
import Foundation
import Testing

/// What the report opens with: the verdict, the top of each rep's latest list with its reasons
/// and history, and each rep's results, on the hand-made case (HandMadeCase's comments).
@Suite("Report: verdict, latest list, per rep")
struct ReportOpeningTests {
    @Test("Each rep's list precision beside the rep's own visits, largest gain first")
    func perRep() throws {
        let report = HandMadeCase.report()
        let perRep = try #require(report.perRep)
        #expect(perRep.model == "M")
        // R1: listed C1 ✓ C3 ✗ (day 0), C2 ✓ C3 ✓ (day 7) = 3/4; own visits days 2, 3 | 10 = 2 orders of 3.
        // R2: listed C4 ✗ C5 ✓, C5 ✓ C6 ✗ = 2/4; own visits days 1, 4, 5 | 8 = 1 order of 4.
        #expect(perRep.reps.map(\.rep) == ["R2", "R1"], "R2 gains most (+100% against +12.5%)")
        let r2 = perRep.reps[0], r1 = perRep.reps[1]
        #expect(r2.weeks == 2 && r2.listed == 4 && r2.listedOrdered == 2 && r2.visits == 4 && r2.visitOrders == 1)
        #expect(r2.listPrecision == .defined(0.5) && r2.repRate == .defined(0.25) && r2.lift == .defined(1))
        #expect(r1.listed == 4 && r1.listedOrdered == 3 && r1.visits == 3 && r1.visitOrders == 2)
        if case .defined(let lift) = r1.lift {
            #expect(abs(lift - 0.125) < 1e-12)
        } else {
            Issue.record("R1's lift is undefined")
        }
    }

    @Test("The latest list: each rep's first lines at the newest as-of date, open windows unknown, history before t")
    func latestList() throws {
        var scores = HandMadeCase.scores()
        scores[13].reasons = ["1 order in 90 days", "last visit: no_demand"]  // C4, R2, day 14
        let preview = try #require(HandMadeCase.report(scores: scores).listPreview)
        #expect(preview.model == "M" && preview.asOf == HandMadeCase.day(14) && preview.reps == 2)
        #expect(preview.lines.map(\.customer) == ["C1", "C4", "C5"])
        #expect(preview.lines.allSatisfy { $0.ordered == nil }, "day 14's window runs past the data")
        #expect(preview.lines[1].reasons == ["1 order in 90 days", "last visit: no_demand"])
        // C5 visited (and ordered) on day 1: 13 days before t; its day-30 visit is after t.
        #expect(preview.lines[2].visitDaysBefore == [13] && preview.lines[2].orderDaysBefore == [13])
        // C1: visits on days 3 (order) and 20 (after t) → only day 3.
        #expect(preview.lines[0].visitDaysBefore == [11] && preview.lines[0].orderDaysBefore == [11])
        let svg = preview.historyChart()
        #expect(svg.contains("R2 #1 C4") && svg.hasSuffix("</svg>\n"))
        let markdown = ReportMarkdown.render(HandMadeCase.report(scores: scores))
        #expect(
            markdown.contains("| R2 | 1 | C4 | 50.0% | 1 order in 90 days; last visit: no\\_demand | — |"),
            "\(markdown)")
    }

    @Test("The report opens with the verdict, before definitions and checksums")
    func opensWithTheVerdict() {
        let markdown = ReportMarkdown.render(HandMadeCase.report())
        let verdict = markdown.range(of: "## Verdict")!.lowerBound
        #expect(verdict < markdown.range(of: "## Per-week comparison")!.lowerBound)
        #expect(markdown.range(of: "## Per-week comparison")!.lowerBound < markdown.range(of: "## Inputs")!.lowerBound)
        #expect(
            markdown.range(of: "## Metrics over all")!.lowerBound < markdown.range(of: "## Definitions")!.lowerBound)
        // Averages of the hand-made case: lists 62.5%, reps 45%.
        #expect(
            markdown.contains(
                "Over 2 weeks, M's lists (each rep's top 2) converted 62.50% of the time, against 45.00% for the reps' own visits (+38.9%)"
            ),
            "\(markdown.prefix(800))")
        // Nothing evaluable: the verdict says when it will be.
        let open = HandMadeCase.scores().filter { $0.asOf == HandMadeCase.day(14) }
        #expect(
            ReportMarkdown.render(HandMadeCase.report(scores: open)).contains(
                "No week has a complete outcome window yet"))
    }

    @Test("Model ids read as names: the model and the day its training labels closed, the hash only to tell two apart")
    func readableModelNames() throws {
        var scores = HandMadeCase.scores(model: "cnn_lstm-3f2a9c0d11ee")
        for i in scores.indices { scores[i].trainUntil = HandMadeCase.day(-30) }
        let report = HandMadeCase.report(scores: scores)
        #expect(report.models.map(\.model) == ["cnn_lstm · trained 2023-12-02"])
        #expect(
            report.listPreview?.model == "cnn_lstm · trained 2023-12-02"
                && report.perRep?.model == "cnn_lstm · trained 2023-12-02")
        var twin = HandMadeCase.scores(model: "cnn_lstm-77e1a0b2c3d4")
        for i in twin.indices { twin[i].trainUntil = HandMadeCase.day(-30) }
        #expect(
            HandMadeCase.report(scores: scores + twin).models.map(\.model) == [
                "cnn_lstm · trained 2023-12-02 (3f2a9c0d)", "cnn_lstm · trained 2023-12-02 (77e1a0b2)"
            ])
        // No cut-off, or a backtest's contender name: the id as it is.
        #expect(
            HandMadeCase.report(scores: HandMadeCase.scores(model: "cnn_lstm-3f2a9c0d11ee")).models.map(\.model) == [
                "cnn_lstm-3f2a9c0d11ee"
            ])
    }
}
