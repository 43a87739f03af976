import Dataset

/// Every parameter of the visit simulator. Defaults generate the bundled sample
/// (`Fixtures/sample`): about 1,000 customers, 20 reps, two years. `Docs/Synth.md` explains the
/// model each parameter belongs to; `synth --help` exposes each one as a flag.
public struct SynthConfiguration: Sendable, Codable, Equatable {
    /// Seed of every random stream (each concern draws from its own stream of this seed).
    public var seed: UInt64 = 20_180_305
    /// Number of customers.
    public var customers = 1000
    /// Number of reps.
    public var reps = 20
    /// First simulated day; must be a Monday so that weeks and the ground truth align on Mondays.
    public var start = Day(year: 2018, month: 3, day: 5)!
    /// Length of the export in weeks.
    public var weeks = 104
    /// Ground-truth horizon H in days: the label window is [Monday, Monday + H).
    public var horizonDays = 28
    /// P(a visit's note mentions a coming project) when the customer's next need opens within
    /// the next 21 days (the notes' signal; 0 = notes carry nothing), and otherwise.
    public var noteSignal = 0.3
    public var noteNoise = 0.03

    // MARK: Customers

    /// Shares of trader, manufacturer, design house.
    public var typeMix = [0.35, 0.45, 0.20]
    /// Need-frequency multipliers of trader, manufacturer, design house.
    public var typeRates = [1.4, 1.0, 0.6]
    /// Shares of consumer, automotive, medical, industrial, telecom.
    public var industryMix = [0.35, 0.20, 0.10, 0.20, 0.15]
    /// Need-frequency multipliers of consumer, automotive, medical, industrial, telecom.
    public var industryRates = [1.4, 0.8, 0.6, 0.9, 1.1]
    /// Shares of key, high potential, small/medium.
    public var tagMix = [0.10, 0.25, 0.65]
    /// Need-frequency multipliers of key, high potential, small/medium.
    public var tagRates = [1.6, 1.2, 0.8]
    /// Mean days between the end of one need and the opening of the next, before the profile
    /// multipliers and the customer's own factor.
    public var meanNeedGapDays = 75.0
    /// Minimum days between the end of a need and the next opening (a production cycle does not
    /// restart at once). At least 1.
    public var minNeedGapDays = 14
    /// Shape k of the Erlang gap distribution: 1 is memoryless (Poisson needs), larger is more
    /// regular (coefficient of variation 1/√k).
    public var needRegularity = 3
    /// Standard deviation of the log of each customer's hidden rate factor (mean 1).
    public var needHeterogeneity = 0.4
    /// Mean working days a need stays open when no visit converts it.
    public var meanNeedWorkingDays = 10.0
    /// Probability that a need that ends without a visit order ends in an unprompted inbound order
    /// (otherwise it lapses: the customer bought elsewhere).
    public var inboundShare = 0.35
    /// Share of customers who have never ordered when the export starts (prospects).
    public var prospectShare = 0.3
    /// Probability that a customer churns within a year (constant daily hazard).
    public var annualChurn = 0.08
    /// Days after churning until the customer is taken off the rep's book.
    public var churnRemovalDays = 120
    /// Probability that a customer is moved to another rep within a year (constant daily hazard).
    public var annualReassignment = 0.05

    // MARK: Reps and visits

    /// Polling visits per rep per working day.
    public var visitsPerDay = 2
    /// Share of working days a rep is away (leave, training, sickness), drawn independently.
    public var absenceRate = 0.04
    /// Share of a rep's polling slots given to a customer picked at random from the book
    /// ("gut feeling") instead of the round-robin's most overdue customer.
    public var randomVisitShare = 0.2
    /// Round-robin weight of key accounts: the overdue clock of a key account runs this much faster.
    public var keyAccountWeight = 2.0
    /// Calendar days after an order until the rep's follow-up call (moved to the rep's next
    /// working day).
    public var followUpDays = 7
    /// Reps' method shares: phone, im, onsite, email (each rep's own mix varies around these).
    public var methodMix = [0.45, 0.25, 0.15, 0.15]
    /// Conversion multipliers of phone, im, onsite, email.
    public var methodEffect = [1.0, 0.8, 1.4, 0.5]
    /// Base probability that a visit converts while a need is open (times method and skill).
    public var openConversion = 0.55
    /// Base probability that a visit converts when no need is open (a small spot order).
    public var closedConversion = 0.008
    /// Rep skill is uniform on [1 − spread, 1 + spread]; it multiplies the conversion probability.
    public var skillSpread = 0.4

    /// The defaults (the sample's settings).
    public init() {}

    /// Number of simulated days.
    public var days: Int { weeks * 7 }

    /// A description of the first invalid setting, or `nil` when all are usable.
    public var problem: String? {
        func isDistribution(_ values: [Double], count: Int) -> Bool {
            values.count == count && values.allSatisfy { $0 >= 0 && $0.isFinite } && values.reduce(0, +) > 0
        }
        func isPositive(_ values: [Double], count: Int) -> Bool {
            values.count == count && values.allSatisfy { $0 > 0 && $0.isFinite }
        }
        if customers < 1 || customers > 9_999_999 { return "--customers must be in 1...9999999" }
        if reps < 1 || reps > 9999 { return "--reps must be in 1...9999" }
        if weeks < 1 || weeks > 1040 { return "--weeks must be in 1...1040" }
        if start.weekday != 1 { return "--start must be a Monday (\(start) is not)" }
        if horizonDays < 1 { return "--horizon must be at least 1 day" }
        if !isDistribution(typeMix, count: 3) { return "--type-mix needs 3 non-negative shares" }
        if !isPositive(typeRates, count: 3) { return "--type-rates needs 3 positive multipliers" }
        if !isDistribution(industryMix, count: 5) { return "--industry-mix needs 5 non-negative shares" }
        if !isPositive(industryRates, count: 5) { return "--industry-rates needs 5 positive multipliers" }
        if !isDistribution(tagMix, count: 3) { return "--tag-mix needs 3 non-negative shares" }
        if !isPositive(tagRates, count: 3) { return "--tag-rates needs 3 positive multipliers" }
        if !isDistribution(methodMix, count: 4) { return "--method-mix needs 4 non-negative shares" }
        if !isPositive(methodEffect, count: 4) { return "--method-effect needs 4 positive multipliers" }
        if !(meanNeedGapDays > 0 && meanNeedGapDays.isFinite) { return "--mean-need-gap must be positive" }
        if minNeedGapDays < 1 { return "--min-need-gap must be at least 1 day" }
        if needRegularity < 1 || needRegularity > 50 { return "--need-regularity must be in 1...50" }
        if !(needHeterogeneity >= 0 && needHeterogeneity <= 3) { return "--need-heterogeneity must be in 0...3" }
        if !(meanNeedWorkingDays >= 1 && meanNeedWorkingDays.isFinite) { return "--mean-need-days must be at least 1" }
        for (name, value) in [
            ("--inbound-share", inboundShare), ("--prospect-share", prospectShare), ("--annual-churn", annualChurn),
            ("--annual-reassignment", annualReassignment), ("--absence-rate", absenceRate),
            ("--random-visit-share", randomVisitShare), ("--open-conversion", openConversion),
            ("--closed-conversion", closedConversion), ("--note-signal", noteSignal), ("--note-noise", noteNoise)
        ] where !(value >= 0 && value <= 1) {
            return "\(name) must be a probability in 0...1"
        }
        if annualChurn >= 1 || annualReassignment >= 1 {
            return "--annual-churn and --annual-reassignment must be below 1"
        }
        if absenceRate >= 1 { return "--absence-rate must be below 1" }
        if churnRemovalDays < 0 { return "--churn-removal-days cannot be negative" }
        if visitsPerDay < 0 || visitsPerDay > 100 { return "--visits-per-day must be in 0...100" }
        if !(keyAccountWeight > 0 && keyAccountWeight.isFinite) { return "--key-account-weight must be positive" }
        if followUpDays < 1 { return "--follow-up-days must be at least 1" }
        if !(skillSpread >= 0 && skillSpread < 1) { return "--skill-spread must be in 0..<1" }
        return nil
    }
}
