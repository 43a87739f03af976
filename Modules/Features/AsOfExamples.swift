import Dataset

/// How windows and labels are cut; stored in the pipeline JSON so scoring uses the training
/// settings.
public struct ExampleSettings: Codable, Sendable, Equatable {
    /// What happens to a history shorter than ``sequenceLength``.
    public enum Padding: String, Codable, Sendable {
        /// Left-pad with zeros and mark the padded steps 0 in the mask (default: new customers
        /// are scored too).
        case leftPadWithMask = "left_pad_with_mask"
        /// The study's rule: drop the example (counted in ``ExampleCounts/droppedShort``).
        case dropShort = "drop_short"
    }

    /// What the label of an as-of-t example is.
    public enum Label: String, Codable, Sendable {
        /// 1 when any of the customer's visits dated in [t, t + H) produced an order (BRIEF §2).
        case orderWithinHorizon = "order_within_horizon"
        /// The study's per-visit label: the result of the customer's first visit dated in
        /// [t, t + H) ("this visit converted"). A customer with no visit in the window gives no
        /// example (counted in ``ExampleCounts/noVisitInWindow``). With H = 1 and the
        /// `.visitDates` grid this is the study's "predict the next visit from the L before it".
        case nextVisitConverted = "next_visit_converted"
    }

    /// Window length L: the last L visits strictly before t.
    public var sequenceLength: Int
    /// Label horizon H in days: the label window is [t, t + H).
    public var horizonDays: Int
    public var padding: Padding
    public var label: Label

    public init(
        sequenceLength: Int = 10, horizonDays: Int = 28, padding: Padding = .leftPadWithMask,
        label: Label = .orderWithinHorizon
    ) {
        precondition(sequenceLength >= 1, "ExampleSettings: sequence length must be at least 1, got \(sequenceLength)")
        precondition(horizonDays >= 1, "ExampleSettings: horizon must be at least 1 day, got \(horizonDays)")
        self.sequenceLength = sequenceLength
        self.horizonDays = horizonDays
        self.padding = padding
        self.label = label
    }

    enum CodingKeys: String, CodingKey {
        case sequenceLength = "sequence_length"
        case horizonDays = "horizon_days"
        case padding, label
    }
}

/// The as-of dates examples are cut at.
public enum AsOfGrid: Sendable, Equatable {
    /// Every Monday in [from, through] (the default grid: weekly).
    case weekly(from: Day, through: Day)
    /// Every distinct visit date in [from, through] (the study's per-visit formulation).
    case visitDates(from: Day, through: Day)
    /// Exactly these dates (sorted and deduplicated), e.g. `[T]` for scoring at T.
    case dates([Day])

    /// The weekly grid over a whole dataset: the Mondays after its first visit date up to and
    /// including the Monday after its last (an as-of date needs at least one earlier day).
    public static func weekly(covering history: VisitHistory) -> AsOfGrid {
        guard let first = history.days.min(), let last = history.days.max() else { return .dates([]) }
        return .weekly(from: Day(ordinal: first + 1), through: Day(ordinal: last + 1))
    }

    /// The dates, sorted ascending.
    public func dates(in history: VisitHistory) -> [Day] {
        switch self {
        case .weekly(let from, let through):
            var monday = from.mondayOnOrBefore
            if monday < from { monday = monday.advanced(by: 7) }
            return Array(stride(from: monday, through: through, by: 7))
        case .visitDates(let from, let through):
            let distinct = Set(history.days.filter { $0 >= from.ordinal && $0 <= through.ordinal })
            return distinct.sorted().map(Day.init(ordinal:))
        case .dates(let dates):
            return Set(dates).sorted()
        }
    }
}

/// Which customers get an example at an as-of date t.
public enum CandidateSet: String, Codable, Sendable {
    /// Every customer with at least one visit dated before t (the call-list population).
    case withHistory = "with_history"
    /// The customers visited in the week [t, t + 7) (the study's evaluation set: it scored the
    /// customers the reps actually visited). Includes customers with no earlier visit; they are
    /// fully padded (or dropped under `.dropShort`).
    case visitedInWeek = "visited_in_week"
    /// The customers visited on day t itself (the per-visit formulation with `.visitDates`).
    case visitedOnDay = "visited_on_day"
}

/// One (customer, t) example. It holds indices, not copies: features are read from the
/// ``VisitHistory`` it was built from, so millions of examples stay small (32 bytes each).
public struct AsOfExample: Sendable, Equatable {
    /// Index into ``VisitHistory/customers``.
    public var customer: Int32
    /// The as-of date t (day ordinal).
    public var asOf: Int32
    /// One past the customer's last visit dated before t: the history is
    /// `customers[customer].visits.lowerBound ..< historyEnd` (possibly empty).
    public var historyEnd: Int32
    /// Index into ``ExampleSet/shiftedHistories`` for a shift-augmented copy, else `-1`.
    public var shifted: Int32
    /// 1 = ordered (per ``ExampleSettings/Label``), 0 = did not.
    public var label: Float
    /// Whether the label window [t, t + H) ends on or before the day after the dataset's last
    /// date, i.e. whether the label was fully observed (false when scoring at the end of data).
    public var labelComplete: Bool

    public init(customer: Int32, asOf: Int32, historyEnd: Int32, shifted: Int32 = -1, label: Float, labelComplete: Bool)
    {
        self.customer = customer
        self.asOf = asOf
        self.historyEnd = historyEnd
        self.shifted = shifted
        self.label = label
        self.labelComplete = labelComplete
    }
}

/// What example building kept, padded and dropped.
public struct ExampleCounts: Sendable, Equatable, Codable {
    /// (customer, t) pairs in the candidate set.
    public var candidates = 0
    /// Examples kept (including shift-augmented copies).
    public var examples = 0
    /// Kept examples whose history was shorter than L (left-padded; mask has zeros).
    public var padded = 0
    /// Kept examples with no visit before t at all (fully padded; only `.visitedInWeek`/`.visitedOnDay`).
    public var emptyHistory = 0
    /// Dropped by the study's policy: fewer than L visits before t.
    public var droppedShort = 0
    /// Dropped because the label window [t, t + H) does not close on or before the training cutoff T.
    public var droppedAfterCutoff = 0
    /// Dropped under `.nextVisitConverted` because the customer had no visit in [t, t + H).
    public var noVisitInWindow = 0
    /// Shift-augmented copies added (``ShiftAugmentation``).
    public var augmented = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case candidates, examples, padded
        case emptyHistory = "empty_history"
        case droppedShort = "dropped_short"
        case droppedAfterCutoff = "dropped_after_cutoff"
        case noVisitInWindow = "no_visit_in_window"
        case augmented
    }
}

/// A set of as-of examples over one ``VisitHistory``, with its counts.
public struct ExampleSet: Sendable {
    public var settings: ExampleSettings
    /// In as-of order, then customer order (shift-augmented copies at the end).
    public var examples: [AsOfExample]
    public var counts: ExampleCounts
    /// Rewritten histories of shift-augmented copies: visit indices kept, in dataset order.
    public var shiftedHistories: [[Int32]]

    public init(
        settings: ExampleSettings, examples: [AsOfExample], counts: ExampleCounts, shiftedHistories: [[Int32]] = []
    ) {
        self.settings = settings
        self.examples = examples
        self.counts = counts
        self.shiftedHistories = shiftedHistories
    }

    public var count: Int { examples.count }
}

/// Builds as-of examples (BRIEF §2): for each as-of date t and each candidate customer, the last
/// L visits dated strictly before t and the label from [t, t + H).
///
/// Leakage-proof by construction: a history is the customer's visits up to the first one dated
/// on or after t (binary search on the sorted dates), every sequential feature of a visit
/// depends on that visit and earlier ones only, and static features come from the profile and
/// the last visit before t. Tests delete every record dated on or after t and compare.
public struct ExampleBuilder: Sendable {
    public let history: VisitHistory
    public let settings: ExampleSettings

    public init(history: VisitHistory, settings: ExampleSettings = ExampleSettings()) {
        self.history = history
        self.settings = settings
    }

    /// Examples at every date of `grid` for `candidates`.
    ///
    /// - Parameter trainingCutoff: T for a training set used at date T: only examples whose
    ///   label window closes on or before T (t + H ≤ T) are kept; the others are counted in
    ///   ``ExampleCounts/droppedAfterCutoff``. `nil` keeps every date (scoring, evaluation).
    /// - Complexity: O(V + C · G) for `.withHistory` (one forward pointer per customer), O(V ·
    ///   G_v) at worst for the visit-based candidate sets.
    public func build(grid: AsOfGrid, candidates: CandidateSet = .withHistory, trainingCutoff: Day? = nil) -> ExampleSet
    {
        let dates = grid.dates(in: history).map(\.ordinal)
        let horizon = Int32(settings.horizonDays)
        let L = settings.sequenceLength
        // Data is observed through the last visit date: a label window [t, t+H) is complete when
        // t + H ≤ last + 1.
        let observedEnd = (history.days.max() ?? Int32.min) + 1
        var counts = ExampleCounts()
        var examples: [AsOfExample] = []
        let days = history.days
        let orders = history.orders

        func consider(customer: Int, range: Range<Int>, end: Int, t: Int32) {
            counts.candidates += 1
            if let cutoff = trainingCutoff, t + horizon > cutoff.ordinal {
                counts.droppedAfterCutoff += 1
                return
            }
            let length = end - range.lowerBound
            if length < L && settings.padding == .dropShort {
                counts.droppedShort += 1
                return
            }
            // Label: scan the visits in [t, t + H); they start at `end`.
            var label: Float = 0
            var index = end
            switch settings.label {
            case .orderWithinHorizon:
                while index < range.upperBound && days[index] < t + horizon {
                    if orders[index] { label = 1; break }
                    index += 1
                }
            case .nextVisitConverted:
                guard index < range.upperBound && days[index] < t + horizon else {
                    counts.noVisitInWindow += 1
                    return
                }
                label = orders[index] ? 1 : 0
            }
            if length < L { counts.padded += 1 }
            if length == 0 { counts.emptyHistory += 1 }
            examples.append(
                AsOfExample(
                    customer: Int32(customer), asOf: t, historyEnd: Int32(end), label: label,
                    labelComplete: t + horizon <= observedEnd))
        }

        switch candidates {
        case .withHistory:
            // Date-major output order; each customer keeps a cursor that only moves forward.
            var cursors = history.customers.map(\.visits.lowerBound)
            for t in dates {
                for (customer, entry) in history.customers.enumerated() {
                    let range = entry.visits
                    // A customer with no visit before t is not a candidate.
                    guard days[range.lowerBound] < t else { continue }
                    var end = cursors[customer]
                    while end < range.upperBound && days[end] < t { end += 1 }
                    cursors[customer] = end
                    consider(customer: customer, range: range, end: end, t: t)
                }
            }
        case .visitedInWeek, .visitedOnDay:
            let span: Int32 = candidates == .visitedInWeek ? 7 : 1
            // Visits sorted by date give, per t, the customers visited in [t, t + span).
            let byDate = (0..<days.count).sorted { days[$0] != days[$1] ? days[$0] < days[$1] : $0 < $1 }
            var cursor = 0
            for t in dates {
                while cursor < byDate.count && days[byDate[cursor]] < t { cursor += 1 }
                var visited: [Int32] = []
                var scan = cursor
                while scan < byDate.count && days[byDate[scan]] < t + span {
                    visited.append(history.customerOfVisit[byDate[scan]])
                    scan += 1
                }
                for customer in Set(visited).sorted() {
                    let range = history.customers[Int(customer)].visits
                    let end = history.firstVisit(in: range, onOrAfter: t)
                    consider(customer: Int(customer), range: range, end: end, t: t)
                }
            }
        }
        counts.examples = examples.count
        return ExampleSet(settings: settings, examples: examples, counts: counts)
    }

    /// The examples of one as-of date for scoring: every candidate, labels where observed.
    public func scoringExamples(asOf t: Day, candidates: CandidateSet = .withHistory) -> ExampleSet {
        build(grid: .dates([t]), candidates: candidates)
    }
}

extension VisitHistory {
    /// The customer id of an example.
    public func customerID(of example: AsOfExample) -> String { customers[Int(example.customer)].customerID }

    /// The rep of the last visit dated before t (the call list is per rep); empty when the
    /// customer has no earlier visit or the log has no reps. Never a visit on or after t.
    public func repID(of example: AsOfExample, in set: ExampleSet) -> String {
        // Through the rep index, not `dataset.visits[last]`: copying a Visit retains all of
        // its strings, which dominated tensor building.
        guard let last = lastVisit(of: example, in: set), reps[last] >= 0 else { return "" }
        return repIDs[Int(reps[last])]
    }

    /// The visit indices of the example's history (after shift augmentation, if any), oldest
    /// first: its last `limit` visits dated before t, or all of them.
    public func historyVisits(of example: AsOfExample, in set: ExampleSet, last limit: Int = .max) -> [Int] {
        if example.shifted >= 0 { return set.shiftedHistories[Int(example.shifted)].suffix(limit).map(Int.init) }
        let start = customers[Int(example.customer)].visits.lowerBound, end = Int(example.historyEnd)
        return Array(max(start, end - limit)..<end)
    }

    /// Index of the last visit of the example's history (after shift augmentation, if any).
    public func lastVisit(of example: AsOfExample, in set: ExampleSet) -> Int? {
        if example.shifted >= 0 { return set.shiftedHistories[Int(example.shifted)].last.map(Int.init) }
        let start = customers[Int(example.customer)].visits.lowerBound
        return Int(example.historyEnd) > start ? Int(example.historyEnd) - 1 : nil
    }
}
