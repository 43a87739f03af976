import Foundation
import Testing

@testable import AssociationRules

/// Agreement with `efficient-apriori` 2.0.6 on seeded transactions
/// (`Fixtures/rules/generate_rules_reference.py`): the same class association rules with the
/// same counts, support, confidence and lift; and CBA's scoring rule on hand-made cases.
@Suite("Association rules against efficient-apriori")
struct AssociationRulesTests {
    struct Reference: Decodable {
        struct Rule: Decodable {
            var lhs: [String]
            var rhs: String
            var count: Int
            var count_lhs: Int
            var support: Double
            var confidence: Double
            var lift: Double
        }
        struct Case: Decodable {
            var seed: Int
            var min_support: Double
            var max_antecedent: Int
            var transactions: [[String]]
            var labels: [Bool]
            var rules: [Rule]
        }
        var cases: [Case]
    }

    static let reference: Reference = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Fixtures/rules/rules_reference.json")
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    /// Item names to ids, in sorted name order.
    static func encode(_ transactions: [[String]]) -> (ids: [[Int32]], names: [String]) {
        let names = Array(Set(transactions.joined())).sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Int32($0)) })
        return (transactions.map { $0.map { index[$0]! }.sorted() }, names)
    }

    @Test("Every case gives efficient-apriori's rules, counts, support, confidence and lift", arguments: [0, 1, 2])
    func agreesWithEfficientApriori(caseIndex: Int) {
        let reference = Self.reference.cases[caseIndex]
        let (ids, names) = Self.encode(reference.transactions)
        var settings = ClassAssociationRules.Settings()
        settings.minimumSupport = reference.min_support
        settings.maxAntecedent = reference.max_antecedent
        let mined = ClassAssociationRules(
            transactions: ids, labels: reference.labels, itemCount: names.count, settings: settings)
        #expect(mined.rules.count == reference.rules.count)
        #expect(!reference.rules.isEmpty)
        let ours = Dictionary(
            uniqueKeysWithValues: mined.rules.map {
                (
                    "\($0.antecedent.map { names[Int($0)] }.joined(separator: ",")) -> \($0.predictsOrder ? "order" : "no_order")",
                    $0
                )
            })
        for expected in reference.rules {
            let key = "\(expected.lhs.joined(separator: ",")) -> \(expected.rhs)"
            guard let rule = ours[key] else {
                Issue.record("rule \(key) of efficient-apriori is missing")
                continue
            }
            #expect(rule.count == expected.count && rule.antecedentCount == expected.count_lhs, "\(key)")
            #expect(abs(rule.support - expected.support) < 1e-12, "\(key)")
            #expect(abs(rule.confidence - expected.confidence) < 1e-12, "\(key)")
            #expect(abs(rule.lift - expected.lift) < 1e-12, "\(key)")
        }
    }

    @Test("The planted pattern (a1 and a3 → order) has the highest lift among order rules")
    func plantedPatternLeads() {
        // The case whose support threshold (2%) admits {a1, a3, order} (about 4% of its rows).
        let reference = Self.reference.cases[1]
        let (ids, names) = Self.encode(reference.transactions)
        var settings = ClassAssociationRules.Settings()
        settings.minimumSupport = reference.min_support
        settings.maxAntecedent = reference.max_antecedent
        let mined = ClassAssociationRules(
            transactions: ids, labels: reference.labels, itemCount: names.count, settings: settings)
        let top = mined.orderRulesByLift(limit: 1)[0]
        #expect(Set(top.antecedent.map { names[Int($0)] }).isSuperset(of: ["a1", "a3"]))
        #expect(top.lift > 2)
        // The report's list leaves out rules that do not beat a more general rule's confidence.
        let listed = mined.orderRulesByLift(limit: 1000)
        let all = mined.rules.filter(\.predictsOrder)
        for rule in listed where rule.antecedent.count > 1 {
            for general in all where Set(general.antecedent).isStrictSubset(of: rule.antecedent) {
                #expect(general.confidence < rule.confidence)
            }
        }
        #expect(listed.contains { $0.antecedent.count > 1 })
    }

    @Test("Frequent itemsets: counts by brute force, and the support boundary as efficient-apriori draws it")
    func frequentItemsetsByBruteForce() {
        let transactions: [[Int32]] = [[0, 1, 2], [0, 1], [1, 2], [0, 2], [0, 1, 2, 3], [3]]
        let mined = FrequentItemsets(transactions: transactions, itemCount: 4, minimumSupport: 2.0 / 6.0, maxLength: 3)
        #expect(mined.minimumCount == 2)
        // Every itemset of up to 3 items, counted directly.
        var expected: [[Int32]: Int] = [:]
        for mask in 1..<16 {
            let items = (0..<4).filter { mask & (1 << $0) != 0 }.map(Int32.init)
            guard items.count <= 3 else { continue }
            let count = transactions.filter { Set($0).isSuperset(of: items) }.count
            if count >= 2 { expected[items] = count }
        }
        #expect(Dictionary(uniqueKeysWithValues: mined.itemsets.map { ($0.items, $0.count) }) == expected)
        #expect(FrequentItemsets.minimumCount(support: 0.3, transactions: 10) == 3)
        #expect(FrequentItemsets.minimumCount(support: 0.31, transactions: 10) == 4)
    }

    @Test("Scoring takes the highest-precedence matching rule; no match gives the base rate")
    func cbaScoring() throws {
        // Item 0 → order (3 of 4), item 1 → no order (4 of 4), nothing else frequent with a class.
        let transactions: [[Int32]] = [[0], [0], [0], [0], [1], [1], [1], [1], [2], [2]]
        let labels = [true, true, true, false, false, false, false, false, true, false]
        var settings = ClassAssociationRules.Settings()
        settings.minimumSupport = 0.3
        settings.maxAntecedent = 2
        let rules = ClassAssociationRules(transactions: transactions, labels: labels, itemCount: 3, settings: settings)
        #expect(rules.baseRate == 0.4)
        #expect(rules.orderProbability { $0 == 0 } == 0.75)
        #expect(rules.orderProbability { $0 == 1 } == 0)  // no_order with confidence 1
        #expect(rules.orderProbability { $0 == 2 } == 0.4)  // item 2 holds no frequent rule
        // Both matching: the more confident rule (1 → no order, confidence 1) wins.
        #expect(rules.orderProbability { $0 <= 1 } == 0)
        // A round trip through the checked initialiser keeps the rules; a broken rule is refused.
        let rebuilt = try ClassAssociationRules(settings: settings, rules: rules.rules, transactions: 10, positives: 4)
        #expect(rebuilt == rules)
        var broken = rules.rules
        broken[0].confidence = 1.5
        #expect(throws: (any Error).self) {
            try ClassAssociationRules(settings: settings, rules: broken, transactions: 10, positives: 4)
        }
        broken = rules.rules
        broken[0].antecedent = [2, 1]
        #expect(throws: (any Error).self) {
            try ClassAssociationRules(settings: settings, rules: broken, transactions: 10, positives: 4)
        }
    }
}
