import Dataset

/// A dataset indexed for feature building: each customer's visits as a contiguous range, the
/// seven sequential features of every visit precomputed, and the customer profiles joined.
///
/// Built once per dataset in O(V) time and about 40 bytes per visit beyond the dataset itself;
/// examples then refer to visits by index instead of copying them, so a million-visit log with
/// millions of as-of examples stays small. A visit log (`Kind.visits`) and a transaction log
/// (`Kind.transactions`, every row an order, no rep) go through the same code.
public struct VisitHistory: Sendable {
    /// One customer that has at least one visit.
    public struct CustomerVisits: Sendable {
        public var customerID: String
        /// Indices into ``visits`` (dataset order: date, then visit id).
        public var visits: Range<Int>
        /// Index into ``Dataset/customers``; `nil` when the log names a customer with no profile
        /// (its profile fields then encode as unknown).
        public var profile: Int?
    }

    /// The dataset, its visits in dataset order (sorted here if they arrived unsorted).
    public let dataset: Dataset
    /// Customers with at least one visit, in id order.
    public let customers: [CustomerVisits]
    /// Visit date ordinals, `[V]`.
    public let days: [Int32]
    /// Whether each visit produced an order, `[V]`.
    public let orders: [Bool]
    /// Rep of each visit as an index into ``repIDs`` (`-1` = no rep), `[V]`.
    public let reps: [Int32]
    /// Distinct non-empty rep ids, in order of first appearance.
    public let repIDs: [String]
    /// The seven raw sequential features of every visit, row-major `[V, 7]`
    /// (``SequentialFeature``).
    public let features: [Float]
    /// Index into ``customers`` of each visit's customer, `[V]`.
    public let customerOfVisit: [Int32]
    /// Index of the customer's last order at or before each visit (`-1` = none yet), `[V]`:
    /// "days since last order" in O(1).
    public let lastOrder: [Int32]
    /// The visits' numeric extra columns, row-major `[V, K]` (K = manifest visit numeric
    /// columns), NaN = missing: read in hot loops without copying `Visit` values.
    public let numeric: [Double]
    /// The customer's ``OrderStatistics`` through each visit (that visit included), `[V]`: the
    /// time-aware aggregates and BG/NBD's summary of any as-of date in O(1).
    public let orderStatistics: [OrderStatistics]
    /// Per visit and numeric column, the customer's running sum of the present values and their
    /// count through that visit, row-major `[V, K]`.
    public let numericSums: [Double]
    public let numericCounts: [Int32]
    /// BG/NBD fits per as-of date, made on first use and shared by everything that reads this
    /// history (``PurchaseModelCache``).
    public let purchaseModels = PurchaseModelCache()

    /// Indexes `dataset`. Visits that are not in dataset order are sorted first (a copy), so an
    /// in-memory dataset built in any order gives the same features as the written one.
    public init(dataset: Dataset) {
        var dataset = dataset
        let sorted = zip(dataset.visits, dataset.visits.dropFirst()).allSatisfy { Visit.datasetOrder($0, $1) }
        if !sorted { dataset.visits.sort(by: Visit.datasetOrder) }
        if !zip(dataset.customers, dataset.customers.dropFirst()).allSatisfy({ $0.customerID < $1.customerID }) {
            dataset.customers.sort { $0.customerID < $1.customerID }
        }
        let visits = dataset.visits
        let count = visits.count
        var days = [Int32](repeating: 0, count: count)
        var orders = [Bool](repeating: false, count: count)
        var reps = [Int32](repeating: -1, count: count)
        var repIndex: [String: Int32] = [:]
        var repIDs: [String] = []
        for (index, visit) in visits.enumerated() {
            days[index] = visit.date.ordinal
            orders[index] = visit.isOrder
            if !visit.repID.isEmpty {
                if let known = repIndex[visit.repID] {
                    reps[index] = known
                } else {
                    let new = Int32(repIDs.count)
                    repIndex[visit.repID] = new
                    repIDs.append(visit.repID)
                    reps[index] = new
                }
            }
        }
        var customers: [CustomerVisits] = []
        var customerOfVisit = [Int32](repeating: 0, count: count)
        var features: [Float] = []
        features.reserveCapacity(count * SequentialFeature.count)
        var profileCursor = 0
        var start = 0
        while start < count {
            let id = visits[start].customerID
            var end = start + 1
            while end < count && visits[end].customerID == id { end += 1 }
            // Both lists are sorted by id: a merge join finds each profile in O(1) amortised.
            while profileCursor < dataset.customers.count && dataset.customers[profileCursor].customerID < id {
                profileCursor += 1
            }
            let profile =
                profileCursor < dataset.customers.count && dataset.customers[profileCursor].customerID == id
                ? profileCursor : nil
            for index in start..<end { customerOfVisit[index] = Int32(customers.count) }
            customers.append(CustomerVisits(customerID: id, visits: start..<end, profile: profile))
            appendSequentialFeatures(
                days: days[start..<end], orders: orders[start..<end], reps: reps[start..<end], to: &features)
            start = end
        }
        var numeric: [Double] = []
        let K = dataset.manifest.visitColumns.numeric.count
        numeric.reserveCapacity(count * K)
        for visit in visits {
            for value in visit.numeric { numeric.append(value ?? .nan) }
        }
        precondition(
            numeric.count == count * K,
            "VisitHistory: visits carry \(numeric.count) numeric values; the manifest names \(K) per visit")
        var lastOrder = [Int32](repeating: -1, count: count)
        var orderStatistics = [OrderStatistics](repeating: OrderStatistics(), count: count)
        var numericSums = [Double](repeating: 0, count: count * K)
        var numericCounts = [Int32](repeating: 0, count: count * K)
        for customer in customers {
            var last: Int32 = -1
            var statistics = OrderStatistics()
            var sums = [Double](repeating: 0, count: K)
            var present = [Int32](repeating: 0, count: K)
            for index in customer.visits {
                if orders[index] { last = Int32(index) }
                lastOrder[index] = last
                statistics.add(day: days[index], isOrder: orders[index])
                orderStatistics[index] = statistics
                for k in 0..<K {
                    let value = numeric[index * K + k]
                    if !value.isNaN {
                        sums[k] += value
                        present[k] += 1
                    }
                    numericSums[index * K + k] = sums[k]
                    numericCounts[index * K + k] = present[k]
                }
            }
        }
        self.lastOrder = lastOrder
        self.numeric = numeric
        self.orderStatistics = orderStatistics
        self.numericSums = numericSums
        self.numericCounts = numericCounts
        self.dataset = dataset
        self.customers = customers
        self.days = days
        self.orders = orders
        self.reps = reps
        self.repIDs = repIDs
        self.features = features
        self.customerOfVisit = customerOfVisit
    }

    /// Reads a dataset directory (``Dataset/load(directory:)``) and indexes it.
    public init(directory: String) throws {
        self.init(dataset: try Dataset.load(directory: directory))
    }

    /// The raw seven features of visit `index`, `[7]`.
    public func features(ofVisit index: Int) -> ArraySlice<Float> {
        features[(index * SequentialFeature.count)..<((index + 1) * SequentialFeature.count)]
    }

    /// The first index in `range` whose visit is dated on or after `day` (binary search over
    /// the customer's dates, which are sorted); `range.upperBound` when there is none.
    @inlinable
    public func firstVisit(in range: Range<Int>, onOrAfter day: Int32) -> Int {
        var low = range.lowerBound
        var high = range.upperBound
        while low < high {
            let middle = (low + high) / 2
            if days[middle] < day { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
