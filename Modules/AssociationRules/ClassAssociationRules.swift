/// Class association rules and the classifier built on them (CBA: Liu, Hsu & Ma, *Integrating
/// Classification and Association Rule Mining*, KDD 1998,
/// https://www.aaai.org/Papers/KDD/1998/KDD98-012.pdf).
///
/// Each transaction is a set of antecedent items and a class (ordered in the horizon or not).
/// The two classes join the transactions as two extra items, Apriori (``FrequentItemsets``)
/// mines itemsets of up to `maxAntecedent + 1` items, and every frequent itemset made of one
/// class item and at least one antecedent item gives a rule `X → class` with
///
/// - support    = count(X ∪ {class}) / N,
/// - confidence = count(X ∪ {class}) / count(X),
/// - lift       = confidence / (count(class) / N),
///
/// the same rules, with the same figures, that `efficient-apriori` gives on the same
/// transactions (`Fixtures/rules`). A transaction is scored by its highest-precedence matching
/// rule (CBA's order: confidence, then support, then the shorter antecedent): the rule's
/// confidence when it predicts an order, one minus it when it predicts none, and the training
/// base rate when no rule matches.
public struct ClassAssociationRules: Sendable, Equatable, Codable {
    public struct Settings: Sendable, Equatable, Codable {
        /// The least share of transactions that hold a rule's antecedent and class together.
        public var minimumSupport = 0.01
        /// The least confidence a rule needs to be kept (0 keeps every frequent rule).
        public var minimumConfidence = 0.0
        /// The most antecedent items in a rule.
        public var maxAntecedent = 3
        public init() {}

        /// Why these settings cannot mine, or nil.
        public var problem: String? {
            if !(minimumSupport > 0 && minimumSupport <= 1) {
                return "rule support must be in (0, 1], got \(minimumSupport)"
            }
            if !(0...1).contains(minimumConfidence) {
                return "rule confidence must be in [0, 1], got \(minimumConfidence)"
            }
            if !(1...6).contains(maxAntecedent) {
                return "a rule's antecedent must have 1 to 6 items, got \(maxAntecedent)"
            }
            return nil
        }

        enum CodingKeys: String, CodingKey {
            case minimumSupport = "minimum_support", minimumConfidence = "minimum_confidence", maxAntecedent =
                "max_antecedent"
        }
    }

    /// `antecedent → order` (or `→ no order`), with its counts.
    public struct Rule: Sendable, Equatable, Codable {
        /// Antecedent item ids, ascending.
        public var antecedent: [Int32]
        /// Whether the rule's class is "ordered within the horizon".
        public var predictsOrder: Bool
        /// Transactions holding the antecedent and the class.
        public var count: Int
        /// Transactions holding the antecedent.
        public var antecedentCount: Int
        public var support: Double
        public var confidence: Double
        public var lift: Double

        /// P(order) under this rule.
        public var orderProbability: Double { predictsOrder ? confidence : 1 - confidence }

        enum CodingKeys: String, CodingKey {
            case antecedent, predictsOrder = "predicts_order", count, antecedentCount = "antecedent_count", support,
                confidence, lift
        }
    }

    public var settings: Settings
    /// Rules in precedence order (the first matching one scores).
    public var rules: [Rule]
    public var transactions: Int
    public var positives: Int

    /// The share of training transactions that ordered: the score when no rule matches.
    public var baseRate: Double { transactions == 0 ? 0 : Double(positives) / Double(transactions) }

    /// CBA's rule precedence: higher confidence, then higher support, then fewer items, then
    /// (for a total, reproducible order) the items and the class.
    public static func precedes(_ a: Rule, _ b: Rule) -> Bool {
        if a.confidence != b.confidence { return a.confidence > b.confidence }
        if a.count != b.count { return a.count > b.count }
        if a.antecedent.count != b.antecedent.count { return a.antecedent.count < b.antecedent.count }
        if a.antecedent != b.antecedent { return a.antecedent.lexicographicallyPrecedes(b.antecedent) }
        return a.predictsOrder && !b.predictsOrder
    }

    /// Mines rules from `transactions` (antecedent items below `itemCount`) and their classes.
    public init(transactions: [[Int32]], labels: [Bool], itemCount: Int, settings: Settings = Settings()) {
        precondition(
            transactions.count == labels.count,
            "ClassAssociationRules: \(transactions.count) transactions, \(labels.count) labels")
        precondition(settings.problem == nil, "ClassAssociationRules: \(settings.problem ?? "")")
        let orderItem = Int32(itemCount), noOrderItem = Int32(itemCount + 1)
        let withClass = zip(transactions, labels).map { items, ordered in items + [ordered ? orderItem : noOrderItem] }
        let mined = FrequentItemsets(
            transactions: withClass, itemCount: itemCount + 2, minimumSupport: settings.minimumSupport,
            maxLength: settings.maxAntecedent + 1)
        var counts: [[Int32]: Int] = [:]
        for itemset in mined.itemsets { counts[itemset.items] = itemset.count }
        let n = transactions.count
        let positives = labels.filter { $0 }.count
        var rules: [Rule] = []
        for itemset in mined.itemsets where itemset.items.count >= 2 {
            // Items ascend and the class items are the two largest: a rule has exactly one, last.
            let classItem = itemset.items.last!
            guard classItem >= orderItem, itemset.items[itemset.items.count - 2] < orderItem else { continue }
            let antecedent = Array(itemset.items.dropLast())
            guard let antecedentCount = counts[antecedent] else { continue }  // a subset of a frequent set is frequent
            let classCount = classItem == orderItem ? positives : n - positives
            let confidence = Double(itemset.count) / Double(antecedentCount)
            guard confidence >= settings.minimumConfidence else { continue }
            rules.append(
                Rule(
                    antecedent: antecedent, predictsOrder: classItem == orderItem, count: itemset.count,
                    antecedentCount: antecedentCount,
                    support: Double(itemset.count) / Double(n), confidence: confidence,
                    lift: confidence / (Double(classCount) / Double(n))))
        }
        rules.sort(by: Self.precedes)
        self.settings = settings
        self.rules = rules
        self.transactions = n
        self.positives = positives
    }

    /// Rebuilds mined rules (from a model file), checking them: the caller has checked the
    /// item ids against its vocabulary. Throws the reason when they are not such rules.
    public init(settings: Settings, rules: [Rule], transactions: Int, positives: Int) throws {
        struct Invalid: Error, CustomStringConvertible { let description: String }
        if let problem = settings.problem { throw Invalid(description: problem) }
        guard transactions >= 0, (0...transactions).contains(positives) else {
            throw Invalid(description: "\(positives) positives of \(transactions) transactions")
        }
        for (index, rule) in rules.enumerated() {
            guard !rule.antecedent.isEmpty, rule.antecedent.count <= settings.maxAntecedent,
                zip(rule.antecedent, rule.antecedent.dropFirst()).allSatisfy({ $0 < $1 }),
                rule.antecedent.allSatisfy({ $0 >= 0 }),
                rule.count >= 0, rule.count <= rule.antecedentCount, rule.antecedentCount <= transactions,
                rule.confidence.isFinite, (0...1).contains(rule.confidence), rule.support.isFinite,
                (0...1).contains(rule.support),
                rule.lift.isFinite, rule.lift >= 0
            else {
                throw Invalid(
                    description: "rule \(index) is not a rule over these \(transactions) transactions: \(rule)")
            }
        }
        self.settings = settings
        self.rules = rules.sorted(by: Self.precedes)
        self.transactions = transactions
        self.positives = positives
    }

    /// The index into ``rules`` of the first rule whose antecedent `holds` accepts item by item, or nil.
    public func firstMatch(_ holds: (Int32) -> Bool) -> Int? {
        rules.firstIndex { $0.antecedent.allSatisfy(holds) }
    }

    /// P(order) for a transaction: the first matching rule's, or the base rate.
    public func orderProbability(_ holds: (Int32) -> Bool) -> Double {
        firstMatch(holds).map { rules[$0].orderProbability } ?? baseRate
    }

    /// The rules that predict an order, by lift (then precedence): the "patterns that precede an
    /// order" of the report. A rule that does not improve on a more general one (Bayardo,
    /// Agrawal & Gunopulos, *Constraint-Based Rule Mining in Large, Dense Databases*, 2000: its
    /// confidence is no higher than that of a rule whose antecedent is a proper subset of its
    /// own) says nothing new and is left out.
    public func orderRulesByLift(limit: Int) -> [Rule] {
        let order = rules.filter(\.predictsOrder)
        var best: [[Int32]: Double] = [:]
        for rule in order { best[rule.antecedent] = rule.confidence }
        func improves(_ rule: Rule) -> Bool {
            let n = rule.antecedent.count
            guard n > 1 else { return true }
            for mask in 1..<((1 << n) - 1) {
                let subset = rule.antecedent.indices.filter { mask & (1 << $0) != 0 }.map { rule.antecedent[$0] }
                if let general = best[subset], general >= rule.confidence { return false }
            }
            return true
        }
        return Array(
            order.filter(improves).sorted { $0.lift != $1.lift ? $0.lift > $1.lift : Self.precedes($0, $1) }.prefix(
                limit))
    }
}
