import ArgumentParser
import CommandLineSupport
import Dataset
import Formats
import Foundation
import Synth

/// `synth`: writes a simulated ERP export (visits, customers, inbound orders) with its ground
/// truth into a directory. The model and every flag: Docs/Synth.md; the logic: Modules/Synth.
@main
struct SynthCommand: ParsableCommand {
    /// Failures as one line `synth: …` with the documented exit codes (CommandLineSupport).
    static func main() { runTool(SynthCommand.self, name: "synth") }

    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Simulate an ERP visit log with ground truth (customers, reps, needs, visits, orders).",
        discussion: """
            Writes customers.csv, customers.xml, visits.csv, visits.xml, inbound_orders.csv, \
            ground_truth.csv and synth.json (settings and format version, written last) into --out. \
            The same seed and flags give the same bytes. Lists take comma-separated numbers in the \
            vocabulary order shown. Model and defaults: Docs/Synth.md.

            Examples:
              synth --out export/
              synth --out big/ --customers 100000 --reps 200 --weeks 156 --no-xml
            """, version: RevisitVersion.current)

    @Option(help: "Output directory (created if missing; files in it are replaced atomically).")
    var out: String

    @Option(parsing: .unconditional, help: "Seed of every random stream.")
    var seed: UInt64 = SynthConfiguration().seed
    @Option(parsing: .unconditional, help: "Number of customers.")
    var customers = SynthConfiguration().customers
    @Option(parsing: .unconditional, help: "Number of reps.")
    var reps = SynthConfiguration().reps
    @Option(parsing: .unconditional, help: "First day, YYYY-MM-DD, a Monday.")
    var start = SynthConfiguration().start.description
    @Option(parsing: .unconditional, help: "Weeks to simulate.")
    var weeks = SynthConfiguration().weeks
    @Option(parsing: .unconditional, help: "Ground-truth window H in days: p(order in [Monday, Monday + H)).")
    var horizon = SynthConfiguration().horizonDays

    @Option(parsing: .unconditional, help: "Customer-type shares: trader,manufacturer,design_house.")
    var typeMix = NumberList(SynthConfiguration().typeMix)
    @Option(parsing: .unconditional, help: "Need-frequency multipliers by type: trader,manufacturer,design_house.")
    var typeRates = NumberList(SynthConfiguration().typeRates)
    @Option(parsing: .unconditional, help: "Industry shares: consumer,automotive,medical,industrial,telecom.")
    var industryMix = NumberList(SynthConfiguration().industryMix)
    @Option(parsing: .unconditional, help: "Need-frequency multipliers by industry (same order).")
    var industryRates = NumberList(SynthConfiguration().industryRates)
    @Option(parsing: .unconditional, help: "Tag shares: key,high_potential,small_medium.")
    var tagMix = NumberList(SynthConfiguration().tagMix)
    @Option(parsing: .unconditional, help: "Need-frequency multipliers by tag (same order).")
    var tagRates = NumberList(SynthConfiguration().tagRates)
    @Option(parsing: .unconditional, help: "Mean days from the end of a need to the next opening, before multipliers.")
    var meanNeedGap = SynthConfiguration().meanNeedGapDays
    @Option(parsing: .unconditional, help: "Minimum days from the end of a need to the next opening.")
    var minNeedGap = SynthConfiguration().minNeedGapDays
    @Option(
        parsing: .unconditional, help: "Erlang shape of the need gap (1: Poisson needs; larger: more regular cycles).")
    var needRegularity = SynthConfiguration().needRegularity
    @Option(parsing: .unconditional, help: "Std. dev. of the log of each customer's hidden need-rate factor.")
    var needHeterogeneity = SynthConfiguration().needHeterogeneity
    @Option(parsing: .unconditional, help: "Mean working days a need stays open when no visit converts it.")
    var meanNeedDays = SynthConfiguration().meanNeedWorkingDays
    @Option(parsing: .unconditional, help: "Share of unconverted needs that end in an unprompted inbound order.")
    var inboundShare = SynthConfiguration().inboundShare
    @Option(
        parsing: .unconditional,
        help:
            "P(a visit's note mentions a coming project) when the customer's next need opens within 21 days (0: notes carry no signal)."
    )
    var noteSignal = SynthConfiguration().noteSignal
    @Option(parsing: .unconditional, help: "P(a visit's note mentions a project) otherwise.")
    var noteNoise = SynthConfiguration().noteNoise
    @Option(parsing: .unconditional, help: "Share of customers who have never ordered at the start.")
    var prospectShare = SynthConfiguration().prospectShare
    @Option(parsing: .unconditional, help: "Probability that a customer churns within a year.")
    var annualChurn = SynthConfiguration().annualChurn
    @Option(parsing: .unconditional, help: "Days after churning until the customer leaves the rep's book.")
    var churnRemovalDays = SynthConfiguration().churnRemovalDays
    @Option(parsing: .unconditional, help: "Probability that a customer moves to another rep within a year.")
    var annualReassignment = SynthConfiguration().annualReassignment

    @Option(parsing: .unconditional, help: "Polling visits per rep per working day.")
    var visitsPerDay = SynthConfiguration().visitsPerDay
    @Option(parsing: .unconditional, help: "Share of working days a rep is away.")
    var absenceRate = SynthConfiguration().absenceRate
    @Option(
        parsing: .unconditional,
        help: "Share of polling slots spent on a random customer of the book instead of the most overdue.")
    var randomVisitShare = SynthConfiguration().randomVisitShare
    @Option(parsing: .unconditional, help: "How much faster a key account's overdue clock runs in the round-robin.")
    var keyAccountWeight = SynthConfiguration().keyAccountWeight
    @Option(parsing: .unconditional, help: "Days after an order until the rep's follow-up call.")
    var followUpDays = SynthConfiguration().followUpDays
    @Option(parsing: .unconditional, help: "Reps' method shares: phone,im,onsite,email.")
    var methodMix = NumberList(SynthConfiguration().methodMix)
    @Option(parsing: .unconditional, help: "Conversion multipliers by method: phone,im,onsite,email.")
    var methodEffect = NumberList(SynthConfiguration().methodEffect)
    @Option(parsing: .unconditional, help: "Base conversion of a visit while a need is open.")
    var openConversion = SynthConfiguration().openConversion
    @Option(parsing: .unconditional, help: "Base conversion of a visit when no need is open.")
    var closedConversion = SynthConfiguration().closedConversion
    @Option(parsing: .unconditional, help: "Rep skill is uniform on [1 - spread, 1 + spread].")
    var skillSpread = SynthConfiguration().skillSpread

    @Flag(help: "Write only the CSV layouts (no customers.xml, visits.xml).")
    var noXML = false

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    init() {}

    /// The settings the flags describe, or a message naming the bad flag.
    func settings() throws -> SynthConfiguration {
        var settings = SynthConfiguration()
        guard let startDate = Day(iso: start) else {
            throw ValidationError("--start must be a date YYYY-MM-DD, got '\(start)'")
        }
        settings.seed = seed
        settings.customers = customers
        settings.reps = reps
        settings.start = startDate
        settings.weeks = weeks
        settings.horizonDays = horizon
        settings.typeMix = typeMix.values
        settings.typeRates = typeRates.values
        settings.industryMix = industryMix.values
        settings.industryRates = industryRates.values
        settings.tagMix = tagMix.values
        settings.tagRates = tagRates.values
        settings.meanNeedGapDays = meanNeedGap
        settings.minNeedGapDays = minNeedGap
        settings.needRegularity = needRegularity
        settings.needHeterogeneity = needHeterogeneity
        settings.meanNeedWorkingDays = meanNeedDays
        settings.inboundShare = inboundShare
        settings.noteSignal = noteSignal
        settings.noteNoise = noteNoise
        settings.prospectShare = prospectShare
        settings.annualChurn = annualChurn
        settings.churnRemovalDays = churnRemovalDays
        settings.annualReassignment = annualReassignment
        settings.visitsPerDay = visitsPerDay
        settings.absenceRate = absenceRate
        settings.randomVisitShare = randomVisitShare
        settings.keyAccountWeight = keyAccountWeight
        settings.followUpDays = followUpDays
        settings.methodMix = methodMix.values
        settings.methodEffect = methodEffect.values
        settings.openConversion = openConversion
        settings.closedConversion = closedConversion
        settings.skillSpread = skillSpread
        if let problem = settings.problem { throw ValidationError(problem) }
        return settings
    }

    func validate() throws { _ = try settings() }

    func run() throws {
        let settings = try settings()
        let clock = ContinuousClock()
        let began = clock.now
        let log: ((String) -> Void)? = quiet ? nil : { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        let export = Simulator.run(settings, progress: log)
        log?("synth: writing \(export.visits.count) visits, \(export.inboundOrders.count) inbound orders to \(out)")
        do {
            try SynthWriter.write(export, to: out, includeXML: !noXML)
        } catch let error as AtomicWriteError {
            throw ToolFailure(.cannotWrite, error.description)
        } catch {
            throw ToolFailure(.cannotWrite, "\(out): cannot write the export: \(oneLineDescription(error))")
        }
        let seconds = (clock.now - began) / .seconds(1)
        let orders = export.visits.lazy.filter { $0.result == .order }.count
        let rate = export.visits.isEmpty ? 0 : Double(orders) / Double(export.visits.count)
        log?(
            "synth: done in \(String(format: "%.2f", seconds)) s: \(export.customers.count) customers, "
                + "\(export.visits.count) visits (\(String(format: "%.1f", 100 * rate))% orders), "
                + "\(export.groundTruth.mondays * export.groundTruth.customers) ground-truth rows")
    }
}

/// Comma-separated numbers, e.g. `0.35,0.45,0.2`.
struct NumberList: ExpressibleByArgument, CustomStringConvertible {
    let values: [Double]

    init(_ values: [Double]) { self.values = values }

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        var values: [Double] = []
        for part in parts {
            guard let value = Double(part.trimmingCharacters(in: .whitespaces)) else { return nil }
            values.append(value)
        }
        self.values = values
    }

    var description: String { values.map { String($0) }.joined(separator: ",") }
    var defaultValueDescription: String { description }
}
