import BGNBD
import Foundation
import Synchronization

/// The BG/NBD view of every example, as two time-aware inputs: `bgnbd_p_alive` (the posterior
/// probability that the customer is still buying) and `bgnbd_p_purchase` (P(≥ 1 order in
/// [t, t + H))). Buy-till-you-die models are the field's standard summary of a purchase history
/// (Fader, Hardie & Lee 2005); giving their posterior to the network lets it learn where the
/// parametric model is right and where the sequence says more.
///
/// **Leakage-free by construction.** The population parameters are refitted at every as-of
/// date t on the customers' (x, tₓ, T) from the orders dated before t only, so an as-of-t
/// example never sees a parameter estimated with a later record. Fits are cached per as-of
/// date on the history (``VisitHistory/purchaseModels``) and shared by every pipeline,
/// contender and backtest fold that uses the history.
///
/// **Bounded cost.** A fit uses at most ``maximumCustomers`` customers, chosen by a hash of the
/// customer id (the same ones at every date), so a 100-million-customer log costs what a
/// 20,000-customer one does; the parameters are population-level and need no more.
public final class PurchaseModelCache: @unchecked Sendable {
    /// Customers a per-date fit uses at most.
    public static let maximumCustomers = 20_000
    /// The fit's settings (lifetimes' penalizer as the quality benchmark uses it).
    public static let settings = BGNBD.FitSettings()

    private let lock = Mutex<[Int32: BGNBD.Parameters?]>([:])

    public init() {}

    /// The parameters fitted at as-of date `t` on `history` (nil when the fit is impossible:
    /// no customer has bought before t, or nobody has any age yet), or those ``preset(_:at:)`` gave.
    func parameters(at t: Int32, history: VisitHistory) -> BGNBD.Parameters? {
        if let cached = lock.withLock({ $0[t] }) { return cached }
        let fitted = Self.fit(at: t, history: history)
        lock.withLock { $0[t] = fitted }
        return fitted
    }

    /// Uses `parameters` at as-of date `t` instead of a fit on this history: the population
    /// of the whole dataset when this history is one partition of it (`scorer --partial
    /// --population`), so that a partition's scores are the whole dataset's.
    public func preset(_ parameters: BGNBD.Parameters?, at t: Int32) {
        lock.withLock { $0[t] = .some(parameters) }
    }

    static func fit(at t: Int32, history: VisitHistory) -> BGNBD.Parameters? {
        fit(observations(at: t, history: history, populationSize: history.customers.count).map(\.observation))
    }

    /// The population fit on `observations` (in customer order).
    public static func fit(_ observations: [BGNBD.Observation]) -> BGNBD.Parameters? {
        let (patterns, weights) = BGNBD.patterns(observations)
        return try? BGNBD.fit(patterns, weights: weights, settings: settings).parameters
    }

    /// The (x, tₓ, T) at t of the customers of `history` a fit uses, in customer order, when
    /// the whole population — `history` or a dataset it is one partition of — has
    /// `populationSize` customers with visits: all of them up to ``maximumCustomers``, else
    /// those whose id hash falls in the sample. The observations of a dataset's partitions,
    /// merged in customer id order, are the whole dataset's.
    public static func observations(at t: Int32, history: VisitHistory, populationSize: Int) -> [(
        customerID: String, observation: BGNBD.Observation
    )] {
        var observations: [(customerID: String, observation: BGNBD.Observation)] = []
        let sampled = populationSize > maximumCustomers
        for customer in history.customers {
            if sampled && Self.hash(customer.customerID) % UInt64(populationSize) >= UInt64(maximumCustomers) {
                continue
            }
            let end = history.firstVisit(in: customer.visits, onOrAfter: t)
            guard end > customer.visits.lowerBound else { continue }
            if let observation = history.orderStatistics[end - 1].observation(asOf: t) {
                observations.append((customer.customerID, observation))
            }
        }
        return observations
    }

    /// FNV-1a of the id: a stable, machine-independent choice of the sampled customers.
    static func hash(_ id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}

extension VisitHistory {
    /// P(alive) and P(≥ 1 order in [t, t + horizon)) of `example` under BG/NBD fitted at its
    /// as-of date; (0, 0) when no fit is possible at that date. A customer that has not ordered
    /// yet is taken as alive with x = 0 and T = the days since its first visit.
    func purchaseModelInputs(of example: AsOfExample, in set: ExampleSet, horizon: Int) -> (
        alive: Double, purchase: Double
    ) {
        guard let parameters = purchaseModels.parameters(at: example.asOf, history: self) else { return (0, 0) }
        let observation = bgnbdObservation(of: example, in: set)
        return (
            BGNBD.probabilityAlive(parameters, observation),
            BGNBD.probabilityOfPurchase(parameters, observation, horizon: Double(horizon))
        )
    }
}

extension VisitHistory {
    /// BG/NBD's conditional expected orders in (t, t + horizon] of `example` (Fader, Hardie &
    /// Lee 2005, eq. 10), under the population fitted at its as-of date on the orders before it
    /// (the same leakage-free, cached fit as `bgnbd_p_purchase`); nil when no fit is possible at
    /// that date. The count head boosts from it (``GradientBoostedTrees`` margins).
    public func bgnbdExpectedOrders(of example: AsOfExample, in set: ExampleSet, horizon: Int) -> Double? {
        guard let parameters = purchaseModels.parameters(at: example.asOf, history: self) else { return nil }
        return BGNBD.expectedPurchases(parameters, bgnbdObservation(of: example, in: set), horizon: Double(horizon))
    }
}
