import Random

/// Pass 2 of the simulator: each customer's needs, visits, orders and ground truth, on the
/// customer's own random streams (one for the need process and visit outcomes, one for the
/// visit details that do not change an outcome), given the polling schedule.
struct CustomerSimulation {
    let configuration: SynthConfiguration
    let customers: [CustomerProfile]
    let reps: [RepProfile]
    let schedule: PollingSchedule
    /// Visits of every customer simulated so far, customer-major.
    var visits: [SimulatedVisit] = []
    var inboundOrders: [InboundOrder] = []
    var groundTruth: GroundTruth

    private let churnDaily: Double
    private let needEndDaily: Double
    // Scratch buffers reused across customers.
    private var orderDays: [Int] = []
    private var visitOrderDays: [Int] = []
    private var plan: [(day: Int, rep: Int)] = []
    private var lapsed: [Double]
    /// The follow-up call an inbound order on window day j triggers (visit-order probability only).
    private var inboundFollowUp: [(day: Int, rep: Int)?]
    /// The current customer's gap hazard by elapsed days (`NeedGap.hazard`), tabulated once per
    /// customer because the ground truth asks for it about 28 times per Monday.
    private var hazard: [Double] = []
    /// Each rep's method-averaged conversion with and without an open need.
    private let repOpenConversion: [Double]
    private let repClosedConversion: [Double]

    init(configuration: SynthConfiguration, customers: [CustomerProfile], reps: [RepProfile], schedule: PollingSchedule)
    {
        self.configuration = configuration
        self.customers = customers
        self.reps = reps
        self.schedule = schedule
        let mondays = max(0, (configuration.days - configuration.horizonDays) / 7 + 1)
        groundTruth = GroundTruth(
            mondays: mondays, customers: configuration.customers,
            probability: [Float](repeating: 0, count: mondays * configuration.customers),
            ordered: [Bool](repeating: false, count: mondays * configuration.customers),
            visitProbability: [Float](repeating: 0, count: mondays * configuration.customers),
            visitOrdered: [Bool](repeating: false, count: mondays * configuration.customers))
        churnDaily = Simulator.dailyProbability(annual: configuration.annualChurn)
        needEndDaily = 1 / configuration.meanNeedWorkingDays
        lapsed = [Double](repeating: 0, count: configuration.horizonDays)
        inboundFollowUp = [(day: Int, rep: Int)?](repeating: nil, count: configuration.horizonDays)
        repOpenConversion = reps.map(\.openConversion)
        repClosedConversion = reps.map(\.closedConversion)
        visits.reserveCapacity(schedule.visitDays.count + schedule.visitDays.count / 8)
    }

    mutating func simulate(customer: Int) {
        let configuration = configuration
        let profile = customers[customer]
        let days = configuration.days
        let horizon = configuration.horizonDays
        let seed = configuration.seed
        var random = SeededRandom(seed: seed, stream: Simulator.Stream.customerStreams + 2 * UInt64(customer))
        var details = SeededRandom(seed: seed, stream: Simulator.Stream.customerStreams + 2 * UInt64(customer) + 1)
        var notes = SeededRandom(seed: seed, stream: Simulator.Stream.noteStreams + UInt64(customer))
        let gap = NeedGap(
            minimum: configuration.minNeedGapDays, shape: configuration.needRegularity,
            meanDays: profile.meanNeedGapDays)

        // Start mid-cycle: the last need ended up to one mean cycle ago, and the next has not
        // opened before day 0 (G drawn given G ≥ days since then).
        let longestStart = max(1, configuration.minNeedGapDays + Int(profile.meanNeedGapDays))
        var lastClose = -random.int(below: longestStart)
        // Elapsed days since a need ended never exceed the start offset plus the export.
        hazard.removeAll(keepingCapacity: true)
        for elapsed in 0...(days + longestStart) { hazard.append(gap.hazard(elapsed: elapsed)) }
        var nextOpen = lastClose + gap.draw(atLeast: -lastClose, using: &random)
        var needOpen = false
        var churned = false
        var lastOrderDay: Int? = profile.prospect ? nil : -1 - random.int(below: 180)
        var followUp: (day: Int, rep: Int)?
        let churnDay = schedule.churnDay[customer]
        let pollStart = schedule.visitOffsets[customer]
        let pollEnd = schedule.visitOffsets[customer + 1]
        var pollIndex = pollStart
        orderDays.removeAll(keepingCapacity: true)
        visitOrderDays.removeAll(keepingCapacity: true)

        for day in 0..<days {
            if day % 7 == 0 && day / 7 < groundTruth.mondays {
                for visitOrdersOnly in [false, true] {
                    let probability = orderProbability(
                        customer: customer, monday: day, churned: churned, needOpen: needOpen, lastClose: lastClose,
                        gap: gap,
                        pollIndex: pollIndex, pollEnd: pollEnd, followUp: followUp, visitOrdersOnly: visitOrdersOnly)
                    if visitOrdersOnly {
                        groundTruth.visitProbability[(day / 7) * groundTruth.customers + customer] = Float(probability)
                    } else {
                        groundTruth.probability[(day / 7) * groundTruth.customers + customer] = Float(probability)
                    }
                }
            }
            if day == churnDay {
                churned = true
                needOpen = false  // the open need lapses: a churned customer buys elsewhere
            }
            if !churned && !needOpen && day == nextOpen { needOpen = true }
            guard day % 7 < 5 else { continue }

            var visitRep: Int?
            var isFollowUp = false
            if pollIndex < pollEnd && Int(schedule.visitDays[pollIndex]) == day {
                visitRep = Int(schedule.visitReps[pollIndex])
                pollIndex += 1
            }
            if let pending = followUp, pending.day == day {
                // A polling visit on the follow-up day serves as the follow-up.
                if visitRep == nil { visitRep = pending.rep }
                isFollowUp = true
                followUp = nil
            }
            if let rep = visitRep {
                let repProfile = reps[rep]
                let method = VisitMethod(rawValue: UInt8(Simulator.draw(repProfile.methodMix, using: &details)))!
                let target = VisitTarget.derive(day: day, lastOrderDay: lastOrderDay, tag: profile.tag)
                let purpose = isFollowUp ? .followUp : Self.purpose(for: target, using: &details)
                let conversion =
                    churned
                    ? 0
                    : needOpen
                        ? repProfile.openConversionByMethod[Int(method.rawValue)]
                        : repProfile.closedConversionByMethod[Int(method.rawValue)]
                let result: VisitResult
                let wasOpen = needOpen
                if random.uniformDouble() < conversion {
                    result = .order
                    orderDays.append(day)
                    visitOrderDays.append(day)
                    lastOrderDay = day
                    if needOpen {
                        needOpen = false
                        lastClose = day
                        nextOpen = day + gap.draw(using: &random)
                    }
                    followUp = schedule.followUp(customer: customer, orderDay: day, lag: configuration.followUpDays)
                } else {
                    result = Self.failure(needOpen: needOpen, method: method, using: &details)
                }
                // Before the outcome's effects: "a need opens within 21 days" as it stood at the visit.
                let projectAhead = !churned && !wasOpen && nextOpen > day && nextOpen - day <= 21
                visits.append(
                    SimulatedVisit(
                        day: Int32(day), customer: Int32(customer), rep: Int32(rep), method: method, target: target,
                        purpose: purpose, result: result, needOpen: wasOpen, followUp: isFollowUp,
                        note: note(projectAhead: projectAhead, using: &notes)))
            }
            // A need ends on its own with a constant hazard per working day.
            if needOpen && random.uniformDouble() < needEndDaily {
                needOpen = false
                lastClose = day
                nextOpen = day + gap.draw(using: &random)
                if random.uniformDouble() < configuration.inboundShare {
                    orderDays.append(day)
                    lastOrderDay = day
                    let rep = schedule.owner(of: customer, on: day)
                    inboundOrders.append(InboundOrder(day: Int32(day), customer: Int32(customer), rep: Int32(rep)))
                    followUp = schedule.followUp(customer: customer, orderDay: day, lag: configuration.followUpDays)
                }
            }
        }

        // Outcomes: did an order (visit or inbound) fall in [M, M + H)? A visit order?
        var orderIndex = 0, visitIndex = 0
        for monday in 0..<groundTruth.mondays {
            let start = monday * 7
            while orderIndex < orderDays.count && orderDays[orderIndex] < start { orderIndex += 1 }
            while visitIndex < visitOrderDays.count && visitOrderDays[visitIndex] < start { visitIndex += 1 }
            groundTruth.ordered[monday * groundTruth.customers + customer] =
                orderIndex < orderDays.count && orderDays[orderIndex] < start + horizon
            groundTruth.visitOrdered[monday * groundTruth.customers + customer] =
                visitIndex < visitOrderDays.count && visitOrderDays[visitIndex] < start + horizon
        }
    }

    /// P(order in [M, M + H) | state at the start of M, the rep's plan): a forward pass over the
    /// window of the probability mass that has *not* ordered yet, split into "waiting since
    /// `lastClose`", "need open", "waiting since a lapse on window day j" and "churned". It
    /// applies, day by day and in the simulator's order, churn, need opening (the gap's exact
    /// hazard), the planned visits (polling visits and a pending follow-up; each converts with the
    /// rep's method-averaged probability) and the need's end (inbound order or lapse). Orders
    /// leave the mass; the answer is 1 − what remains. Visits that only an order in the window
    /// would cause (follow-ups) cannot matter to "at least one order", so the plan is fixed.
    ///
    /// With `visitOrdersOnly`, P(a *visit* in the window ends in an order), the label of a visit
    /// log: an inbound order no longer leaves the mass but closes the need like a lapse, and the
    /// follow-up call it triggers joins the plan for that part of the mass (it converts at the
    /// closed rate, the need having just ended). Exact while the follow-up comes before the need
    /// could reopen (follow-up lag ≤ the minimum gap, as by default); past that, the inbound part
    /// that reopened first misses its follow-up call, and the probability is low by at most its
    /// conversion chance.
    private mutating func orderProbability(
        customer: Int, monday: Int, churned: Bool, needOpen: Bool, lastClose: Int, gap: NeedGap,
        pollIndex: Int, pollEnd: Int, followUp: (day: Int, rep: Int)?, visitOrdersOnly: Bool
    ) -> Double {
        if churned { return 0 }
        let horizon = configuration.horizonDays
        plan.removeAll(keepingCapacity: true)
        var index = pollIndex
        while index < pollEnd && Int(schedule.visitDays[index]) < monday + horizon {
            plan.append((Int(schedule.visitDays[index]), Int(schedule.visitReps[index])))
            index += 1
        }
        if let followUp, followUp.day < monday + horizon, !plan.contains(where: { $0.day == followUp.day }) {
            plan.append(followUp)
            plan.sort { $0.day < $1.day }
        }
        // Churn has the same daily probability in every state, so it commutes with the other
        // steps: run the window without churn and weight by survival afterwards. The mass still
        // alive at the start of window day t (no-churn dynamics) is `alive`; churning that day
        // takes (1 − s)·s^t of it, for good, without an order.
        var waiting = needOpen ? 0.0 : 1.0
        var open = needOpen ? 1.0 : 0.0
        var lapsedTotal = 0.0
        var gone = 0.0
        let survive = 1 - churnDaily
        var survival = 1.0  // s^t
        let end = needEndDaily
        let inbound = configuration.inboundShare
        let minimum = gap.minimum
        var planIndex = 0
        for offset in 0..<horizon {
            let day = monday + offset
            lapsed[offset] = 0
            inboundFollowUp[offset] = nil
            gone += (waiting + open + lapsedTotal) * churnDaily * survival
            survival *= survive
            if waiting > 0 {
                let opening = waiting * hazard[day - lastClose]
                waiting -= opening
                open += opening
            }
            // A need that lapsed on window day j cannot reopen within the minimum gap.
            if offset > minimum {
                for j in 0..<(offset - minimum) where lapsed[j] > 0 {
                    let opening = lapsed[j] * hazard[offset - j]
                    lapsed[j] -= opening
                    lapsedTotal -= opening
                    open += opening
                }
            }
            guard day % 7 < 5 else { continue }
            while planIndex < plan.count && plan[planIndex].day == day {
                let rep = plan[planIndex].rep
                open *= 1 - repOpenConversion[rep]
                let closedMiss = 1 - repClosedConversion[rep]
                waiting *= closedMiss
                lapsedTotal = 0
                for j in 0..<offset {
                    lapsed[j] *= closedMiss
                    lapsedTotal += lapsed[j]
                }
                planIndex += 1
            }
            if visitOrdersOnly {
                // The follow-up calls inbound orders triggered, on days the plan has no visit:
                // the inbound share of what still waits since that day may convert.
                for j in 0..<offset {
                    guard let call = inboundFollowUp[j], call.day == day, lapsed[j] > 0 else { continue }
                    let converted = lapsed[j] * inbound * repClosedConversion[call.rep]
                    lapsed[j] -= converted
                    lapsedTotal -= converted
                }
            }
            let ending = open * end
            open -= ending
            if visitOrdersOnly {
                lapsed[offset] = ending
                if ending > 0,
                    let call = schedule.followUp(customer: customer, orderDay: day, lag: configuration.followUpDays),
                    call.day < monday + horizon, !plan.contains(where: { $0.day == call.day })
                {
                    inboundFollowUp[offset] = call
                }
            } else {
                lapsed[offset] = ending * (1 - inbound)
            }
            lapsedTotal += lapsed[offset]
        }
        let remaining = (waiting + open + lapsedTotal) * survival + gone
        return min(1, max(0, 1 - remaining))
    }

    /// The rep's stated purpose: chosen before the visit from the target group alone (reps do
    /// not see needs), so it carries no information about the outcome beyond the target.
    static func purpose(for target: VisitTarget, using random: inout SeededRandom) -> VisitPurpose {
        let weights: [Double]  // demand mining, follow-up, quotation, relationship
        switch target {
        case .firstOrder: weights = [0.7, 0, 0.05, 0.25]
        case .dormant3m: weights = [0.5, 0, 0.2, 0.3]
        case .active, .keyAccount: weights = [0.3, 0.15, 0.2, 0.35]
        }
        return VisitPurpose(rawValue: UInt8(Simulator.draw(weights, using: &random)))!
    }

    /// A visit's note: zero to two routine phrases, and a project mention with probability
    /// `noteSignal` when a need opens within 21 days (`noteNoise` otherwise), on the customer's
    /// notes stream.
    func note(projectAhead: Bool, using random: inout SeededRandom) -> String {
        var parts: [String] = []
        for _ in 0..<random.int(below: 3) {
            parts.append(VisitNote.routine[random.int(below: VisitNote.routine.count)])
        }
        let mention = random.uniformDouble() < (projectAhead ? configuration.noteSignal : configuration.noteNoise)
        let phrase = VisitNote.project[random.int(below: VisitNote.project.count)]
        if mention { parts.insert(phrase, at: random.int(below: parts.count + 1)) }
        return parts.joined(separator: "; ")
    }

    /// Why a visit failed. With a need open the customer had demand, so a failure is mostly a
    /// lost quote; without one, mostly "no demand". Nobody fails to answer an on-site visit.
    static func failure(needOpen: Bool, method: VisitMethod, using random: inout SeededRandom) -> VisitResult {
        // no demand, no answer, not decision maker, price rejected
        var weights = needOpen ? [0.1, 0.25, 0.2, 0.45] : [0.6, 0.25, 0.15, 0]
        if method == .onsite { weights[1] = 0 }
        let index = Simulator.draw(weights, using: &random)
        return [VisitResult.noDemand, .noAnswer, .notDecisionMaker, .priceRejected][index]
    }
}
