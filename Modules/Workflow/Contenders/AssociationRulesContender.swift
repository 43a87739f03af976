import AssociationRules
import Calibration
import Evaluation
import Features
import Foundation
import Tensors

/// Association rules as a baseline (the RNN study compared with them, BRIEF §1): class
/// association rules `items → order in [t, t + H)` mined by Apriori over every training example's
/// recent history (``ClassAssociationRules``), a customer scored by CBA's highest-precedence
/// matching rule. Docs/Features.md, "Association rules", lists the items:
///
/// - the method, target, purpose and result of each of the last three visits before t
///   (`last_visit.result=no_answer`, `2nd_last_visit.method=phone`, …; empty fields give none);
/// - days since the last visit and since the last order, and orders in the last 365 days, in
///   fixed bands (`days_since_last_order=28-55`, `orders_last_365_days=2-3`), so that a
///   transaction log, whose rows carry no method or result, still has patterns.
///
/// Its scores are the rules' confidences: empirical probabilities of the training examples,
/// left uncalibrated. Model file: metadata `association_rules` =
/// `{"items": [names], "rules": {settings, rules (antecedents as indices into items), transactions, positives}}`.
public struct AssociationRulesContender: Contender {
    public init() {}
    public var name: String { "association_rules" }
    public var summary: String {
        "class association rules (Apriori, CBA) over the last visits' events, recency and frequency"
    }
    public var kind: ContenderKind { .statistical }
    public var defaultStaticEncoding: StaticEncoding { .oneHot }
    public var usesFeaturePipeline: Bool { false }
    public var defaultCalibration: ProbabilityCalibration.Method { .none }

    struct Document: Codable {
        var items: [String]
        var rules: ClassAssociationRules
    }

    public func fit(_ job: FitJob) throws -> FitResult? {
        let split = try TrainingJob.splitExamples(history: job.history, options: job.options)
        var vocabulary = RuleItems()
        var transactions: [[Int32]] = []
        transactions.reserveCapacity(split.train.count)
        for example in split.train.examples {
            transactions.append(vocabulary.items(of: example, in: split.train, history: job.history, adding: true))
        }
        let rules = ClassAssociationRules(
            transactions: transactions, labels: split.train.examples.map { $0.label == 1 },
            itemCount: vocabulary.names.count,
            settings: job.options.rules)
        if job.shouldStop() { return nil }
        let model = FittedAssociationRules(document: Document(items: vocabulary.names, rules: rules))
        let top = rules.orderRulesByLift(limit: 1).first.map { "; best by lift: \(model.describe($0))" } ?? ""
        return FitResult(
            model: model, trainingRows: split.train.count,
            notes: [
                "association_rules: \(rules.rules.count) rules over \(vocabulary.names.count) items from \(split.train.count) examples "
                    + "(support ≥ \(job.options.rules.minimumSupport))\(top)"
            ])
    }

    public func load(_ file: ModelFile, path: String) throws -> any FittedModel {
        func fail(_ reason: String) -> ModelFile.ReadError { .init(path: path, reason: reason) }
        guard let text = file.contents.metadata["association_rules"],
            let document = try? JSONDecoder().decode(Document.self, from: Data(text.utf8))
        else {
            throw fail("metadata 'association_rules' is missing or malformed")
        }
        guard Set(document.items).count == document.items.count, document.items.allSatisfy({ !$0.isEmpty }) else {
            throw fail("its rule items are not distinct non-empty names")
        }
        let rules: ClassAssociationRules
        do {
            rules = try ClassAssociationRules(
                settings: document.rules.settings, rules: document.rules.rules,
                transactions: document.rules.transactions,
                positives: document.rules.positives)
        } catch {
            throw fail("its rules cannot be used: \(error)")
        }
        if let bad = rules.rules.first(where: { $0.antecedent.contains { Int($0) >= document.items.count } }) {
            throw fail("a rule names item \(bad.antecedent.max()!) of \(document.items.count)")
        }
        return FittedAssociationRules(document: Document(items: document.items, rules: rules))
    }
}

/// The items of an example's history, interned as small integers.
struct RuleItems {
    private(set) var names: [String] = []
    private var index: [String: Int32] = [:]

    init() {}
    init(names: [String]) {
        self.names = names
        index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Int32($0)) })
    }

    static let positions = ["last_visit", "2nd_last_visit", "3rd_last_visit"]
    static let dayBands: [Int32] = [0, 7, 14, 28, 56, 112, 224]
    static let orderCountBands: [Int32] = [0, 1, 2, 4, 8]

    /// `[lower, upper)` day bands, the last open.
    static func band(_ value: Int32, _ edges: [Int32]) -> String {
        for (lower, upper) in zip(edges, edges.dropFirst()) where value < upper {
            return upper - lower == 1 ? "\(lower)" : "\(lower)-\(upper - 1)"
        }
        return "\(edges.last!)+"
    }

    /// The names of `example`'s items (unsorted).
    static func names(of example: AsOfExample, in set: ExampleSet, history: VisitHistory) -> [String] {
        let visits = history.historyVisits(of: example, in: set)
        let t = example.asOf
        var names: [String] = []
        // In a transaction log every row is an order: the last visit is the last order, and the
        // visit items' result is always `order`, so only the order items say anything.
        if history.dataset.manifest.kind != .transactions {
            for (position, visit) in visits.suffix(positions.count).reversed().enumerated() {
                let record = history.dataset.visits[visit]
                for (field, value) in [
                    ("method", record.method), ("target", record.target), ("purpose", record.purpose),
                    ("result", record.result)
                ]
                where !value.isEmpty {
                    names.append("\(positions[position]).\(field)=\(value)")
                }
            }
            if let last = visits.last {
                names.append("days_since_last_visit=" + band(t - history.days[last], dayBands))
            }
        }
        let orders = visits.filter { history.orders[$0] }
        names.append("days_since_last_order=" + (orders.last.map { band(t - history.days[$0], dayBands) } ?? "never"))
        let recent = orders.filter { history.days[$0] >= t - 365 }.count
        names.append("orders_last_365_days=" + band(Int32(recent), orderCountBands))
        return names
    }

    /// The example's item ids, ascending and distinct; names not yet known are added when
    /// `adding`, else skipped (no rule holds them).
    mutating func items(of example: AsOfExample, in set: ExampleSet, history: VisitHistory, adding: Bool) -> [Int32] {
        var ids: [Int32] = []
        for name in Self.names(of: example, in: set, history: history) {
            if let id = index[name] {
                ids.append(id)
            } else if adding {
                let id = Int32(names.count)
                names.append(name)
                index[name] = id
                ids.append(id)
            }
        }
        return Array(Set(ids)).sorted()
    }
}

final class FittedAssociationRules: FittedModel {
    let document: AssociationRulesContender.Document
    var name: String { "association_rules" }
    init(document: AssociationRulesContender.Document) { self.document = document }

    /// A rule's antecedent in words: `a ∧ b`.
    func pattern(_ rule: ClassAssociationRules.Rule) -> String {
        rule.antecedent.map { document.items[Int($0)] }.joined(separator: " ∧ ")
    }

    /// `a ∧ b → order (confidence 41.0%, lift 2.10, support 3.2%)`.
    func describe(_ rule: ClassAssociationRules.Rule) -> String {
        pattern(rule) + " → " + (rule.predictsOrder ? "order" : "no order")
            + String(
                format: " (confidence %.1f%%, lift %.2f, support %.1f%%)", rule.confidence * 100, rule.lift,
                rule.support * 100)
    }

    func scores(_ input: ScoringInput, range: Range<Int>) throws -> [Float] {
        var vocabulary = RuleItems(names: document.items)
        var holds = [Bool](repeating: false, count: document.items.count)
        return input.set.examples[range].map { example in
            let items = vocabulary.items(of: example, in: input.set, history: input.history, adding: false)
            for item in items { holds[Int(item)] = true }
            let p = document.rules.orderProbability { holds[Int($0)] }
            for item in items { holds[Int(item)] = false }
            return Float(p)
        }
    }

    func contents() throws -> TensorFile {
        TensorFile(metadata: ["association_rules": try TensorFile.metadataJSON(document)])
    }

    /// The top rules by lift, for reports.
    var findings: ModelFindings? {
        let top = document.rules.orderRulesByLift(limit: 20)
        guard !top.isEmpty else { return nil }
        return ModelFindings(
            model: name, title: "Patterns that precede an order (association rules, top \(top.count) by lift)",
            headers: ["pattern", "training examples", "then ordered", "confidence", "lift"],
            rows: top.map { rule in
                [
                    pattern(rule), String(rule.antecedentCount), String(rule.count),
                    String(format: "%.1f%%", rule.confidence * 100), String(format: "%.2f", rule.lift)
                ]
            })
    }
}
