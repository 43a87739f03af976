/// A customer as the simulator knows it: the exported profile and the hidden need rhythm.
public struct CustomerProfile: Sendable, Equatable {
    /// Exported: trader, manufacturer or design house.
    public let type: CustomerType
    /// Exported: the customer's industry.
    public let industry: Industry
    /// Exported: the sales team's tag (key accounts are polled more often).
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
    /// Day index from the export's first day (always a working day).
    public var day: Int32
    /// Customer index (0-based; exported as `C` + index + 1).
    public var customer: Int32
    /// Rep index (0-based; exported as `R` + index + 1).
    public var rep: Int32
    /// Contact method, from the rep's habits.
    public var method: VisitMethod
    /// Customer group from the ERP's order history at the visit date.
    public var target: VisitTarget
    /// The rep's stated purpose.
    public var purpose: VisitPurpose
    /// `order` or the failure reason.
    public var result: VisitResult
    /// Hidden: a need was open when the visit took place.
    public var needOpen: Bool
    /// Hidden: the visit is the rep's follow-up call after an order (outside the daily capacity).
    public var followUp: Bool
    /// The rep's note: phrases of ``VisitNote`` joined with "; " (empty: no note).
    public var note: String = ""
}

/// An order the customer placed without a visit, when an open need ended unprompted.
public struct InboundOrder: Sendable, Equatable {
    /// Day index from the export's first day (always a working day).
    public var day: Int32
    /// Customer index (0-based).
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
    /// `[mondays, customers]`: P(a visit in the window ends in an order), the label a visit log's
    /// models are judged on (inbound orders are not in the visit export).
    public var visitProbability: [Float]
    /// `[mondays, customers]`: a visit in the window ended in an order.
    public var visitOrdered: [Bool]
}

/// Everything one simulation produces; `SynthWriter` turns it into files.
public struct SimulatedExport: Sendable {
    /// The settings that produced it.
    public let configuration: SynthConfiguration
    /// Customers by index.
    public let customers: [CustomerProfile]
    /// Reps by index.
    public let reps: [RepProfile]
    /// Sorted by (day, rep, customer); the export numbers visits in this order.
    public let visits: [SimulatedVisit]
    /// Sorted by (day, customer).
    public let inboundOrders: [InboundOrder]
    /// Probabilities and outcomes per customer and Monday.
    public let groundTruth: GroundTruth
}
