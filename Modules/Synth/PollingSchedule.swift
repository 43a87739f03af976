import Random

/// Pass 1 of the simulator: who owns which customer when, which reps are away, and the reps'
/// polling visits. Drawn from the book-keeping streams only, never from a visit's outcome, so
/// that the ground truth can take a rep's plan as given (Docs/Synth.md, "Ground truth").
struct PollingSchedule {
    /// Per customer, the days its owner changes and the new owner, starting with (0, first rep):
    /// `ownerDays[ownerOffsets[c]..<ownerOffsets[c + 1]]`.
    let ownerOffsets: [Int]
    let ownerDays: [Int32]
    let ownerReps: [Int32]
    /// Day the customer churns (`Int.max`: not within the export).
    let churnDay: [Int]
    /// Day the customer leaves its rep's book (churn + removal delay).
    let removalDay: [Int]
    /// `[reps, days]`: 1 where the rep is away that day.
    let absent: [UInt8]
    /// Polling visits grouped by customer, each group in day order:
    /// `visitDays[visitOffsets[c]..<visitOffsets[c + 1]]` with the visiting rep in `visitReps`.
    let visitOffsets: [Int]
    let visitDays: [Int32]
    let visitReps: [Int32]
    let days: Int

    init(configuration: SynthConfiguration, customers: [CustomerProfile]) {
        let customerCount = configuration.customers
        let repCount = configuration.reps
        let days = configuration.days
        self.days = days
        let seed = configuration.seed

        // Ownership: a random first rep, then reassignments at a constant daily hazard.
        var assignment = SeededRandom(seed: seed, stream: Simulator.Stream.assignment.rawValue)
        var reassignment = SeededRandom(seed: seed, stream: Simulator.Stream.reassignment.rawValue)
        var churnRandom = SeededRandom(seed: seed, stream: Simulator.Stream.churn.rawValue)
        let reassignDaily = repCount > 1 ? Simulator.dailyProbability(annual: configuration.annualReassignment) : 0
        let churnDaily = Simulator.dailyProbability(annual: configuration.annualChurn)
        var ownerOffsets = [0]
        var ownerDays: [Int32] = []
        var ownerReps: [Int32] = []
        var churnDay = [Int](repeating: Int.max, count: customerCount)
        var removalDay = [Int](repeating: Int.max, count: customerCount)
        ownerOffsets.reserveCapacity(customerCount + 1)
        for customer in 0..<customerCount {
            let churn = Simulator.geometricDay(daily: churnDaily, using: &churnRandom)
            churnDay[customer] = churn
            if churn < days { removalDay[customer] = churn + configuration.churnRemovalDays }
            var rep = assignment.int(below: repCount)
            ownerDays.append(0)
            ownerReps.append(Int32(rep))
            var day = 0
            while true {
                let wait = Simulator.geometricDay(daily: reassignDaily, using: &reassignment)
                if wait == Int.max || day + wait + 1 >= min(days, removalDay[customer]) { break }
                day += wait + 1
                let other = reassignment.int(below: repCount - 1)
                rep = other >= rep ? other + 1 : other
                ownerDays.append(Int32(day))
                ownerReps.append(Int32(rep))
            }
            ownerOffsets.append(ownerDays.count)
        }

        // Book changes by day: (day, customer, new rep or −1 for removal), in day order.
        var changes: [(day: Int, customer: Int, rep: Int)] = []
        for customer in 0..<customerCount {
            for index in (ownerOffsets[customer] + 1)..<ownerOffsets[customer + 1] {
                changes.append((Int(ownerDays[index]), customer, Int(ownerReps[index])))
            }
            if removalDay[customer] < days { changes.append((removalDay[customer], customer, -1)) }
        }
        changes.sort { ($0.day, $0.customer, $0.rep) < ($1.day, $1.customer, $1.rep) }

        var books = [[Int32]](repeating: [], count: repCount)
        var position = [Int](repeating: 0, count: customerCount)
        var owner = [Int](repeating: -1, count: customerCount)
        for customer in 0..<customerCount {
            let rep = Int(ownerReps[ownerOffsets[customer]])
            owner[customer] = rep
            position[customer] = books[rep].count
            books[rep].append(Int32(customer))
        }
        func removeFromBook(_ customer: Int) {
            let rep = owner[customer]
            guard rep >= 0 else { return }
            let index = position[customer]
            let last = books[rep].removeLast()
            if Int(last) != customer {
                books[rep][index] = last
                position[Int(last)] = index
            }
            owner[customer] = -1
        }

        // Stagger the first round so that the polling clocks start spread over one cycle.
        let cycleDays = max(
            1, Int(1.4 * Double(customerCount) / Double(repCount) / Double(max(1, configuration.visitsPerDay))))
        var lastPoll = (0..<customerCount).map { _ in -1 - assignment.int(below: cycleDays) }
        let weight = customers.map { $0.tag == .key ? configuration.keyAccountWeight : 1.0 }

        var absence = SeededRandom(seed: seed, stream: Simulator.Stream.absence.rawValue)
        var polling = SeededRandom(seed: seed, stream: Simulator.Stream.polling.rawValue)
        var absent = [UInt8](repeating: 0, count: repCount * days)
        var polledCustomers: [Int32] = []
        var polledDays: [Int32] = []
        var polledReps: [Int32] = []
        var changeIndex = 0
        var picked: [Int] = []
        var top: [(priority: Double, customer: Int)] = []
        for day in 0..<days {
            while changeIndex < changes.count && changes[changeIndex].day == day {
                let change = changes[changeIndex]
                removeFromBook(change.customer)
                if change.rep >= 0 {
                    owner[change.customer] = change.rep
                    position[change.customer] = books[change.rep].count
                    books[change.rep].append(Int32(change.customer))
                }
                changeIndex += 1
            }
            guard day % 7 < 5 else { continue }
            for rep in 0..<repCount {
                if absence.bernoulli(probability: configuration.absenceRate) {
                    absent[rep * days + day] = 1
                    continue
                }
                let book = books[rep]
                guard !book.isEmpty else { continue }
                picked.removeAll(keepingCapacity: true)
                var overdueSlots = 0
                for _ in 0..<configuration.visitsPerDay {
                    if polling.uniformDouble() < configuration.randomVisitShare {
                        let customer = Int(book[polling.int(below: book.count)])
                        if !picked.contains(customer) { picked.append(customer) }
                    } else {
                        overdueSlots += 1
                    }
                }
                // The most overdue customers: largest (days since last poll) × weight, ties to
                // the lower customer number; a short sorted list, since slots are few.
                top.removeAll(keepingCapacity: true)
                if overdueSlots > 0 {
                    for entry in book {
                        let customer = Int(entry)
                        let priority = Double(day - lastPoll[customer]) * weight[customer]
                        if top.count == overdueSlots {
                            let last = top[top.count - 1]
                            if priority < last.priority || (priority == last.priority && customer > last.customer) {
                                continue
                            }
                        }
                        if picked.contains(customer) { continue }
                        var index = top.count
                        while index > 0
                            && (top[index - 1].priority < priority
                                || (top[index - 1].priority == priority && top[index - 1].customer > customer))
                        {
                            index -= 1
                        }
                        top.insert((priority, customer), at: index)
                        if top.count > overdueSlots { top.removeLast() }
                    }
                }
                for entry in top { picked.append(entry.customer) }
                for customer in picked {
                    lastPoll[customer] = day
                    polledCustomers.append(Int32(customer))
                    polledDays.append(Int32(day))
                    polledReps.append(Int32(rep))
                }
            }
        }

        // Group by customer (a stable counting sort keeps each customer's visits in day order).
        var offsets = [Int](repeating: 0, count: customerCount + 1)
        for customer in polledCustomers { offsets[Int(customer) + 1] += 1 }
        for index in 0..<customerCount { offsets[index + 1] += offsets[index] }
        var fill = offsets
        var visitDays = [Int32](repeating: 0, count: polledCustomers.count)
        var visitReps = [Int32](repeating: 0, count: polledCustomers.count)
        for index in 0..<polledCustomers.count {
            let customer = Int(polledCustomers[index])
            visitDays[fill[customer]] = polledDays[index]
            visitReps[fill[customer]] = polledReps[index]
            fill[customer] += 1
        }
        self.ownerOffsets = ownerOffsets
        self.ownerDays = ownerDays
        self.ownerReps = ownerReps
        self.churnDay = churnDay
        self.removalDay = removalDay
        self.absent = absent
        self.visitOffsets = offsets
        self.visitDays = visitDays
        self.visitReps = visitReps
    }

    /// The customer's owner on `day`.
    func owner(of customer: Int, on day: Int) -> Int {
        var rep = Int(ownerReps[ownerOffsets[customer]])
        for index in ownerOffsets[customer]..<ownerOffsets[customer + 1] {
            if Int(ownerDays[index]) > day { break }
            rep = Int(ownerReps[index])
        }
        return rep
    }

    /// The follow-up call after an order on `orderDay`: the first working day at least `lag`
    /// days later on which the owner is at work, as (day, rep); `nil` when that falls after the
    /// export or after the customer has left the book.
    func followUp(customer: Int, orderDay: Int, lag: Int) -> (day: Int, rep: Int)? {
        var day = orderDay + lag
        while day < days && day < removalDay[customer] {
            if day % 7 < 5 {
                let rep = owner(of: customer, on: day)
                if absent[rep * days + day] == 0 { return (day, rep) }
            }
            day += 1
        }
        return nil
    }
}
