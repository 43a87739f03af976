import Foundation
import Random

/// The visit simulator (model: `Docs/Synth.md`). It runs in two passes:
///
/// 1. **Polling schedule** (`PollingSchedule`): books, reassignments, churn removals, absences and
///    each rep's round-robin polling. Nothing in it depends on any visit's outcome, so it is
///    exogenous to every customer's need process.
/// 2. **Customers**, one at a time on their own random streams: needs open on the customer's
///    cycle, visits convert, needs end in an inbound order or lapse, reps call back after orders
///    (follow-ups, outside the daily capacity). At the start of every Monday the ground-truth
///    probability is computed from the hidden state and the rep's plan for the window.
///
/// Same configuration (seed included) → same export, on every machine.
public enum Simulator {
    /// Random stream numbers: one per concern, so that changing how one concern draws leaves the
    /// others' draws as they were. Customer streams start at `customerStreams`.
    enum Stream: UInt64 {
        case profiles = 1, reps, assignment, churn, reassignment, absence, polling
        static let customerStreams: UInt64 = 1 << 32
        /// Each customer's notes stream: drawn apart from every other stream, so that adding
        /// notes changed no other column of an export with the same seed.
        static let noteStreams: UInt64 = 1 << 48
    }

    /// Simulates an export. `progress` receives a line now and then on long runs (for stderr).
    public static func run(
        _ configuration: SynthConfiguration, progress: ((String) -> Void)? = nil
    ) -> SimulatedExport {
        precondition(configuration.problem == nil, "Simulator.run: \(configuration.problem ?? "")")
        let customers = makeCustomers(configuration)
        let reps = makeReps(configuration)
        progress?("synth: polling schedule for \(configuration.reps) reps over \(configuration.weeks) weeks")
        let schedule = PollingSchedule(configuration: configuration, customers: customers)
        progress?("synth: \(schedule.visitDays.count) polling visits; simulating \(configuration.customers) customers")
        var simulation = CustomerSimulation(
            configuration: configuration, customers: customers, reps: reps, schedule: schedule)
        let step = max(1, configuration.customers / 10)
        for customer in 0..<configuration.customers {
            simulation.simulate(customer: customer)
            if (customer + 1) % step == 0 && configuration.customers >= 20_000 {
                progress?("synth: \(customer + 1)/\(configuration.customers) customers")
            }
        }
        var visits = simulation.visits
        let repCount = UInt64(configuration.reps)
        // One visit per customer per day at most, so (day, rep, customer) is a total order.
        visits.sort {
            let left = (UInt64($0.day) * repCount + UInt64($0.rep)) << 24 | UInt64($0.customer)
            let right = (UInt64($1.day) * repCount + UInt64($1.rep)) << 24 | UInt64($1.customer)
            return left < right
        }
        var inbound = simulation.inboundOrders
        inbound.sort { ($0.day, $0.customer) < ($1.day, $1.customer) }
        return SimulatedExport(
            configuration: configuration, customers: customers, reps: reps, visits: visits, inboundOrders: inbound,
            groundTruth: simulation.groundTruth)
    }

    /// Draws an index with probability proportional to `weights`.
    static func draw(_ weights: [Double], using random: inout SeededRandom) -> Int {
        let total = weights.reduce(0, +)
        var u = random.uniformDouble() * total
        for (index, weight) in weights.enumerated() {
            if u < weight { return index }
            u -= weight
        }
        return weights.lastIndex { $0 > 0 } ?? 0
    }

    static func makeCustomers(_ configuration: SynthConfiguration) -> [CustomerProfile] {
        var random = SeededRandom(seed: configuration.seed, stream: Stream.profiles.rawValue)
        let sigma = configuration.needHeterogeneity
        return (0..<configuration.customers).map { _ in
            let type = CustomerType(rawValue: UInt8(draw(configuration.typeMix, using: &random)))!
            let industry = Industry(rawValue: UInt8(draw(configuration.industryMix, using: &random)))!
            let tag = CustomerTag(rawValue: UInt8(draw(configuration.tagMix, using: &random)))!
            let prospect = random.bernoulli(probability: configuration.prospectShare)
            // Lognormal factor with mean 1: exp(σz − σ²/2).
            let factor = Foundation.exp(sigma * Double(random.normal()) - sigma * sigma / 2)
            let rate =
                configuration.typeRates[Int(type.rawValue)] * configuration.industryRates[Int(industry.rawValue)]
                * configuration.tagRates[Int(tag.rawValue)] * factor
            return CustomerProfile(
                type: type, industry: industry, tag: tag, prospect: prospect,
                meanNeedGapDays: max(1, configuration.meanNeedGapDays / rate))
        }
    }

    static func makeReps(_ configuration: SynthConfiguration) -> [RepProfile] {
        var random = SeededRandom(seed: configuration.seed, stream: Stream.reps.rawValue)
        return (0..<configuration.reps).map { _ in
            let skill = 1 + configuration.skillSpread * (2 * random.uniformDouble() - 1)
            // Each rep's habits vary around the team's mix: every share scaled by U[0.5, 1.5].
            var mix = configuration.methodMix.map { $0 * (0.5 + random.uniformDouble()) }
            let total = mix.reduce(0, +)
            mix = mix.map { $0 / total }
            let open = configuration.methodEffect.map { min(0.95, configuration.openConversion * $0 * skill) }
            let closed = configuration.methodEffect.map { min(0.95, configuration.closedConversion * $0 * skill) }
            return RepProfile(
                skill: skill, methodMix: mix, openConversionByMethod: open, closedConversionByMethod: closed)
        }
    }

    /// First day ≥ 0 of an event with constant daily probability `daily` (geometric), or `Int.max`.
    static func geometricDay(daily: Double, using random: inout SeededRandom) -> Int {
        guard daily > 0 else { return Int.max }
        let u = 1 - random.uniformDouble()  // (0, 1]
        let day = Foundation.log(u) / Foundation.log1p(-daily)
        return day < 1e9 ? Int(day) : Int.max
    }

    /// The daily probability equivalent to `annual` per 365 days.
    static func dailyProbability(annual: Double) -> Double {
        annual <= 0 ? 0 : -Foundation.expm1(Foundation.log1p(-annual) / 365)
    }
}
