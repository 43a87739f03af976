import ArgumentParser
import Features

/// `--scaling zero-one | minus-one-one`: the command-line spelling (hyphens, as every other
/// choice here) of the pipeline's `zero_one` / `minus_one_one`.
extension ScalingRange: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.replacingOccurrences(of: "-", with: "_")) }

    /// The value as a flag takes it.
    public var argumentName: String { rawValue.replacingOccurrences(of: "_", with: "-") }
    public var defaultValueDescription: String { argumentName }
    public static var allValueStrings: [String] { allCases.map(\.argumentName) }
}
