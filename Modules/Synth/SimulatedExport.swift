/// A customer as the simulator knows it: the exported profile and the hidden need rhythm.
public struct CustomerProfile: Sendable, Equatable {
    /// Exported profile fields.
    public let type: CustomerType
    public let industry: Industry
    public let tag: CustomerTag
    /// Hidden: `true` when the customer had never ordered before the export starts.
    public let prospect: Bool
    /// Hidden: mean of the Erlang part of the gap between needs (days), after profile multipliers
    /// and the customer's own lognormal factor.
    public let meanNeedGapDays: Double
}

/// A rep: hidden skill and method habits, and the per-visit conversion probabilities they imply.
public struct RepProfile: Sendable, Equatable {
    /// Multiplies every conversion probability of this rep's visits.
    public let skill: Double
    /// The rep's method shares (phone, im, onsite, email), summing to 1.
    public let methodMix: [Double]
    /// Conversion probability of a visit by method while a need is open (capped at 0.95).
    public let openConversionByMethod: [Double]
    /// Conversion probability of a visit by method when no need is open.
    public let closedConversionByMethod: [Double]
    /// Expected conversion of one of this rep's visits during an open need (method mix averaged).
    public var openConversion: Double { zip(methodMix, openConversionByMethod).reduce(0) { $0 + $1.0 * $1.1 } }
    /// Expected conversion of one of this rep's visits when no need is open.
    public var closedConversion: Double { zip(methodMix, closedConversionByMethod).reduce(0) { $0 + $1.0 * $1.1 } }
}

/// One visit in the log. `day` counts from the export's first day; `needOpen` and `followUp`
/// are hidden (not exported): they let tests check the model.
public struct SimulatedVisit: Sendable, Equatable {
    public var day: Int32
    public var customer: Int32
    public var rep: Int32
    public var method: VisitMethod
    public var target: VisitTarget
    public var purpose: VisitPurpose
    public var result: VisitResult
    /// Hidden: a need was open when the visit took place.
    public var needOpen: Bool
    /// Hidden: the visit is the rep's follow-up call after an order (outside the daily capacity).
    public var followUp: Bool
}

/// An order the customer placed without a visit, when an open need ended unprompted.
public struct InboundOrder: Sendable, Equatable {
    /// Day index from the export's first day (always a working day).
    public var day: Int32
    public var customer: Int32
    /// The rep who owned the customer that day (the ERP credits the order to the account's rep).
    public var rep: Int32
}

/// The ground truth: for every customer and every Monday M whose window [M, M + H) lies inside
/// the export, the model's probability that the customer orders in the window given the hidden
/// state at the start of M, and whether it did.
public struct GroundTruth: Sendable, Equatable {
    /// Number of Mondays with a row (weeks whose window closes inside the export).
    public let mondays: Int
    /// Number of customers.
    public let customers: Int
    /// `[mondays, customers]`, row-major: probability for (Monday w, customer c) at `w * customers + c`.
    public var probability: [Float]
    /// `[mondays, customers]`: the customer ordered (visit order or inbound order) in the window.
    public var ordered: [Bool]
}

/// Everything one simulation produces; `SynthWriter` turns it into files.
public struct SimulatedExport: Sendable {
    /// The settings that produced it.
    public let configuration: SynthConfiguration
    public let customers: [CustomerProfile]
    public let reps: [RepProfile]
    /// Sorted by (day, rep, customer); the export numbers visits in this order.
    public let visits: [SimulatedVisit]
    /// Sorted by (day, customer).
    public let inboundOrders: [InboundOrder]
    public let groundTruth: GroundTruth
}
