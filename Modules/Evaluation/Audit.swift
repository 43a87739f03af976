import Dataset
import Metrics

/// The evaluator's audit mode: a scores file judged against what happened in a dataset.
///
/// Each score row (customer c, as-of t) gets the label "c ordered in [t, t + H)" from the
/// dataset's visits (``Outcomes``); rows whose window runs past the data are excluded and
/// counted. Rows are grouped by `model_id` (one ``ModelResult`` each). With a synth ground
/// truth, `p_order` is scored on the same evaluated rows, ranked in each rep's list the way the
/// scorer ranks, as the report's ceiling.
public enum Audit {
    /// The model name of the ground-truth ceiling in reports.
    /// The ceiling's name when it is the simulator's P(any order), visit or inbound (a synth
    /// version 1 ground truth, or a transaction log, whose label is any order).
    public static let ceilingName = "ceiling (p_order)"
    /// The ceiling's name when it is the simulator's P(a visit ends in an order): the label a
    /// visit log's models are judged on (synth version 2).
    public static let visitCeilingName = "ceiling (p_visit_order)"

    /// The label window the audit uses: `requested` (the `--horizon` flag) when given, else the
    /// one the scores file records (`horizon_days`), else 28 days.
    ///
    /// - Throws: ``EvaluationError/mismatch(path:reason:)`` when the file's rows record more
    ///   than one window, or `requested` differs from the one they record (judging a 14-day
    ///   model on 28-day outcomes would flatter or sink it silently).
    public static func horizon(for scores: [ScoreRow], requested: Int?, path: String) throws -> Int {
        let recorded = Set(scores.compactMap(\.horizonDays)).sorted()
        guard recorded.count <= 1 else {
            throw EvaluationError.mismatch(
                path: path,
                reason:
                    "its rows record different label windows (horizon_days \(recorded.map(String.init).joined(separator: ", "))); audit one model's scores at a time"
            )
        }
        if let requested, let file = recorded.first, requested != file {
            throw EvaluationError.mismatch(
                path: path,
                reason:
                    "the scores were made for a \(file)-day window (horizon_days); --horizon \(requested) would judge them on another: drop --horizon, or pass --horizon \(file)"
            )
        }
        return requested ?? recorded.first ?? 28
    }

    /// Builds the report.
    ///
    /// - Parameters:
    ///   - scores: the rows of the scores file(s).
    ///   - outcomes: the dataset's index, with H = `settings.horizonDays`.
    ///   - groundTruth: synth ground truth, or nil.
    ///   - settings: list length, k values, bootstrap.
    ///   - inputs: the input files with their checksums, recorded as given.
    public static func run(
        scores: [ScoreRow], outcomes: Outcomes, groundTruth: [GroundTruthRow]? = nil, settings: EvaluationSettings,
        inputs: [InputFile]
    ) -> EvaluationReport {
        precondition(
            outcomes.horizonDays == settings.horizonDays,
            "Audit.run: outcomes use H = \(outcomes.horizonDays) days, settings say \(settings.horizonDays)")
        var settings = settings
        settings.comparison = ComparisonBaseline(kind: outcomes.kind)
        var counts = RowCounts(scoreRows: scores.count, dataEnd: outcomes.end)
        var byModel: [String: [LabeledScore]] = [:]
        var asOfDates = Set<Day>()
        var completeDates = Set<Day>()
        for row in scores {
            asOfDates.insert(row.asOf)
            if let cutOff = row.trainUntil, row.asOf < cutOff {
                counts.excludedInSample += 1
                continue
            }
            guard let label = outcomes.label(customer: row.customerID, asOf: row.asOf) else {
                counts.excludedIncompleteWindow += 1
                continue
            }
            completeDates.insert(row.asOf)
            counts.evaluatedRows += 1
            if !outcomes.knows(customer: row.customerID) { counts.unknownCustomers += 1 }
            byModel[row.modelID, default: []].append(
                LabeledScore(
                    customerID: row.customerID, repID: row.repID, asOf: row.asOf, probability: row.probability,
                    rankInRep: row.rankInRep, label: label))
        }
        counts.asOfDates = asOfDates.count
        counts.completeAsOfDates = completeDates.count
        let repsWeek: (Day) -> RepsWeek?
        if settings.comparison == .randomList {
            // The base rate of the evaluated (customer, as-of) pairs of each date: the expected
            // precision of a random list of them.
            var pairs: [Day: [String: Bool]] = [:]
            for rows in byModel.values { for row in rows { pairs[row.asOf, default: [:]][row.customerID] = row.label } }
            let rates = pairs.mapValues { RepsWeek(visits: $0.count, orders: $0.values.filter { $0 }.count) }
            repsWeek = { rates[$0] }
        } else {
            repsWeek = { outcomes.repsWeek(starting: $0) }
        }
        let names = readableNames(scores)
        let models = byModel.keys.sorted().map {
            ModelResult(model: names[$0] ?? $0, rows: byModel[$0]!, repsWeek: repsWeek, settings: settings)
        }

        var notes: [String] = []
        // A published list (each rep's top K and nothing below it) can only be compared with
        // itself: a random list of "the same candidates" and the ceiling's top K are then the
        // list's own rows. Say so, and how to audit honestly.
        let cutLists = byModel.filter {
            !$0.value.isEmpty && $0.value.allSatisfy { $0.rankInRep <= settings.topPerRep }
        }.keys.sorted()
        if !cutLists.isEmpty {
            notes.append(
                "The scores of \(cutLists.map { names[$0] ?? $0 }.joined(separator: ", ")) hold no row ranked below the list length "
                    + "(\(settings.topPerRep) per rep): they are the published list, not every candidate's scores, so the random list and the "
                    + "ceiling are drawn from the list itself and equal it. Audit every candidate's scores (scorer --all-scores FILE) "
                    + "to compare the list with what else the rep could have called.")
        }
        if counts.excludedIncompleteWindow > 0 {
            notes.append(
                "\(counts.excludedIncompleteWindow) of \(counts.scoreRows) score rows excluded: their \(settings.horizonDays)-day "
                    + "label window runs past the end of the data (\(outcomes.end.map { "last day \($0.advanced(by: -1))" } ?? "no visits"))."
            )
        }
        if counts.excludedInSample > 0 {
            notes.append(
                "\(counts.excludedInSample) of \(counts.scoreRows) score rows excluded: they were scored inside their model's "
                    + "training period (as_of before the file's train_until), so their outcomes trained the model that scored them."
            )
        }
        if counts.unknownCustomers > 0 {
            notes.append(
                "\(counts.unknownCustomers) evaluated rows name customers the dataset does not know; they count as "
                    + "\"no order\". Check that the scores and the dataset belong together.")
        }

        var ceiling: ModelResult? = nil
        if let groundTruth {
            // A visit log's labels are visit orders (inbound orders are not in it): the ceiling
            // must predict that label, or it sits below the reliability diagonal by the inbound
            // share. A ground truth without the visit-order probability falls back, with a note.
            let visitLabels = outcomes.kind == .visits
            let useVisitProbability = visitLabels && groundTruth.allSatisfy { $0.visitProbability != nil }
            var truth: [GroundTruthKey: Double] = [:]
            truth.reserveCapacity(groundTruth.count)
            for row in groundTruth {
                truth[GroundTruthKey(customer: row.customerID, asOf: row.asOf)] =
                    useVisitProbability ? row.visitProbability! : row.probability
            }
            if visitLabels && !useVisitProbability {
                notes.append(
                    "The ground truth has no p_visit_order (synth format 1): the ceiling is p_order, the probability of any order, "
                        + "inbound ones included, which a visit log's labels do not count; it overstates the label's probability. Regenerate it with this release's synth."
                )
            }
            // The evaluated (customer, as-of) pairs, each once, with the rep the scores name.
            var pairs: [GroundTruthKey: LabeledScore] = [:]
            for rows in byModel.values {
                for row in rows { pairs[GroundTruthKey(customer: row.customerID, asOf: row.asOf)] = row }
            }
            var rows: [LabeledScore] = []
            var missing = 0
            for (key, row) in pairs {
                guard let p = truth[key] else {
                    missing += 1
                    continue
                }
                var scored = row
                scored.probability = p
                rows.append(scored)
            }
            rows.sort { ($0.asOf, $0.customerID) < ($1.asOf, $1.customerID) }
            let ranks = ScoresFile.ranks(
                asOf: rows.map(\.asOf), probabilities: rows.map(\.probability), customers: rows.map(\.customerID),
                groups: rows.map(\.repID))
            for index in rows.indices { rows[index].rankInRep = ranks[index] }
            counts.missingGroundTruth = missing
            if missing > 0 {
                notes.append(
                    "\(missing) evaluated (customer, as-of) pairs have no ground-truth row; the ceiling leaves them out."
                )
            }
            ceiling = ModelResult(
                model: useVisitProbability ? visitCeilingName : ceilingName, rows: rows, repsWeek: repsWeek,
                settings: settings)
        }
        var report = EvaluationReport(
            mode: "audit", settings: settings, inputs: inputs, counts: counts, models: models, ceiling: ceiling,
            notes: notes)
        var preview = ListPreview.make(scores, outcomes: outcomes)
        if let model = preview?.model { preview?.model = names[model] ?? model }
        report.listPreview = preview
        if settings.comparison == .reps, let first = scores.first?.modelID, let rows = byModel[first] {
            report.perRep = PerRepResults(
                model: names[first] ?? first, reps: RepResult.make(rows, listK: settings.topPerRep, outcomes: outcomes))
        }
        return report
    }

    /// Names people can read for the scores' model ids: a scorer's `cnn_lstm-3f2a9c0d11ee`
    /// whose rows all carry one `train_until` T reads `cnn_lstm · trained 2020-02-28` (T, the
    /// day its training labels closed by), with the id's hash kept only when two models would
    /// otherwise read alike. Other ids (a backtest's contender names, ids without a cut-off) stay.
    static func readableNames(_ scores: [ScoreRow]) -> [String: String] {
        var cutOffs: [String: Set<Day?>] = [:]
        for row in scores { cutOffs[row.modelID, default: []].insert(row.trainUntil) }
        var names: [String: String] = [:]
        for (id, days) in cutOffs {
            guard days.count == 1, let day = days.first!, let dash = id.lastIndex(of: "-") else { continue }
            let hash = id[id.index(after: dash)...]
            guard hash.count == 12, hash.allSatisfy(\.isHexDigit), dash > id.startIndex else { continue }
            names[id] = "\(id[..<dash]) · trained \(day.iso)"
        }
        let counts = Dictionary(grouping: names.values, by: { $0 }).mapValues(\.count)
        for (id, name) in names where counts[name]! > 1 {
            names[id] = "\(name) (\(id[id.index(after: id.lastIndex(of: "-")!)...].prefix(8)))"
        }
        return names
    }

    private struct GroundTruthKey: Hashable {
        var customer: String
        var asOf: Day
    }
}
