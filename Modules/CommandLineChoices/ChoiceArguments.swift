import ArgumentParser
import Backtest
import Calibration
import Features
import Training
import Workflow

// The closed choices the tools' flags take, as typed values: the parser refuses anything else
// with the list of values, `--help` and the shell completions show them, and a tool's `run()`
// never re-checks a string. Spelling: hyphens on the command line (`one-hot`, `visit-dates`),
// as the flags themselves; the names early stopping and calibration already wrote into model
// files (`roc_auc`, `platt`) keep theirs.

extension ProbabilityCalibration.Method: ExpressibleByArgument {}
extension TrainingSettings.Monitor: ExpressibleByArgument {}
extension TrainingJob.GridKind: ExpressibleByArgument {}

/// `--features time-aware | study`.
extension FeatureSet: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.replacingOccurrences(of: "-", with: "_")) }
    public var argumentName: String { rawValue.replacingOccurrences(of: "_", with: "-") }
    public var defaultValueDescription: String { argumentName }
    public static var allValueStrings: [String] { allCases.map(\.argumentName) }
}

/// `--static-encoding integer | one-hot`.
extension StaticEncoding: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.replacingOccurrences(of: "-", with: "_")) }
    public var argumentName: String { rawValue.replacingOccurrences(of: "_", with: "-") }
    public var defaultValueDescription: String { argumentName }
    public static var allValueStrings: [String] { ["integer", "one-hot"] }
}

/// `--loss focal | bce` (the focal loss's α and γ, and BCE's positive weight, are flags of their own).
public enum LossChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    case focal, bce
}

/// `--candidates with-history | visited-in-week`: the candidate sets a list is drawn from.
public enum CandidateChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    case withHistory = "with-history"
    case visitedInWeek = "visited-in-week"
    public var candidates: CandidateSet { self == .withHistory ? .withHistory : .visitedInWeek }
}

/// `evaluator backtest --train-on same | with-history`.
public enum TrainingPopulation: String, CaseIterable, ExpressibleByArgument, Sendable {
    case same
    case withHistory = "with-history"
}

/// `--model NAME`: one contender of the registry (`Contenders.all`), so that a model added there
/// is a value here, in the help and in the completions, with no second list to keep.
public struct ContenderName: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public init?(argument: String) {
        guard Contenders.named(argument) != nil else { return nil }
        name = argument
    }
    public var description: String { name }
    public var defaultValueDescription: String { name }
    public static var allValueStrings: [String] { Contenders.trainableNames }
    public static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
    public static let defaultModel = ContenderName(argument: Contenders.defaultModel)!
}

/// `--models a,b,c`: contenders of the registry, each once, in report order.
/// Parsed by `@Option(transform:)` with ``parse(_:)``, so that a refusal names the bad contender.
public struct ContenderNames: Sendable, Equatable, CustomStringConvertible {
    public let names: [String]
    public init(_ names: [String]) { self.names = names }
    public var description: String { names.joined(separator: ",") }

    /// The names of `argument`, or the reason they are refused.
    public static func parse(_ argument: String) throws -> [String] {
        let names = argument.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if let bad = names.first(where: { Contenders.named($0) == nil }) {
            throw ValidationError(
                "unknown contender '\(bad)'; known: \(Contenders.trainableNames.joined(separator: ", "))")
        }
        guard Set(names).count == names.count else { throw ValidationError("a contender is named twice") }
        return names
    }
}

/// `evaluator backtest --list per-rep | top:N | share:F | threshold:P`.
extension ListRule {
    /// The rule a `--list` value names (`per-rep` takes K from `topPerRep`), or the reason it is refused.
    public static func parse(_ value: String, topPerRep: Int) throws -> ListRule {
        if value == "per-rep" { return .perRepTop(topPerRep) }
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw ValidationError("--list must be per-rep, top:N, share:F or threshold:P; got '\(value)'")
        }
        switch parts[0] {
        case "top":
            guard let n = Int(parts[1]), n >= 1 else {
                throw ValidationError("--list top:N needs N ≥ 1; got '\(parts[1])'")
            }
            return .top(n)
        case "share":
            guard let f = Double(parts[1]), f > 0, f <= 1 else {
                throw ValidationError("--list share:F needs 0 < F ≤ 1; got '\(parts[1])'")
            }
            return .topShare(f)
        case "threshold":
            guard let p = Double(parts[1]), p >= 0, p <= 1 else {
                throw ValidationError("--list threshold:P needs 0 ≤ P ≤ 1; got '\(parts[1])'")
            }
            return .threshold(p)
        default:
            throw ValidationError("--list must be per-rep, top:N, share:F or threshold:P; got '\(value)'")
        }
    }
}
