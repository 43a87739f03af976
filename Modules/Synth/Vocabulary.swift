/// The categorical values a simulated export uses: the default vocabularies of BRIEF §4 that the
/// importer's default mapping assumes. Raw values are indices into `allCases` (for compact
/// in-memory records and lookup tables); `code` is the string written to the export.

/// How a rep contacted the customer.
public enum VisitMethod: UInt8, CaseIterable, Sendable, Codable {
    case phone, im, onsite, email

    /// The export spelling.
    public var code: String { ["phone", "im", "onsite", "email"][Int(rawValue)] }
}

/// The customer group the ERP files a visit under, derived from the customer's order history
/// at the visit date (see `VisitTarget.derive`).
public enum VisitTarget: UInt8, CaseIterable, Sendable, Codable {
    case firstOrder, dormant3m, active, keyAccount

    /// The export spelling.
    public var code: String { ["first_order", "dormant_3m", "active", "key_account"][Int(rawValue)] }

    /// The ERP's rule: never ordered → first order; no order in the last 90 days → dormant;
    /// key-account tag → key account; otherwise active. `lastOrderDay` counts every order the
    /// ERP knows of (visit orders and inbound orders); `nil` means never.
    public static func derive(day: Int, lastOrderDay: Int?, tag: CustomerTag) -> VisitTarget {
        guard let lastOrderDay else { return .firstOrder }
        if day - lastOrderDay > 90 { return .dormant3m }
        return tag == .key ? .keyAccount : .active
    }
}

/// Why the rep made the visit, as the rep records it beforehand.
public enum VisitPurpose: UInt8, CaseIterable, Sendable, Codable {
    case demandMining, followUp, quotation, relationship

    /// The export spelling.
    public var code: String { ["demand_mining", "follow_up", "quotation", "relationship"][Int(rawValue)] }
}

/// The outcome of a visit. Only `order` is an order.
public enum VisitResult: UInt8, CaseIterable, Sendable, Codable {
    case order, noDemand, noAnswer, notDecisionMaker, priceRejected

    /// The export spelling.
    public var code: String {
        ["order", "no_demand", "no_answer", "not_decision_maker", "price_rejected"][Int(rawValue)]
    }
}

/// The customer's business.
public enum CustomerType: UInt8, CaseIterable, Sendable, Codable {
    case trader, manufacturer, designHouse

    /// The export spelling.
    public var code: String { ["trader", "manufacturer", "design_house"][Int(rawValue)] }
}

/// The customer's industry.
public enum Industry: UInt8, CaseIterable, Sendable, Codable {
    case consumer, automotive, medical, industrial, telecom

    /// The export spelling.
    public var code: String { ["consumer", "automotive", "medical", "industrial", "telecom"][Int(rawValue)] }
}

/// The sales team's tag for the customer.
public enum CustomerTag: UInt8, CaseIterable, Sendable, Codable {
    case key, highPotential, smallMedium

    /// The export spelling.
    public var code: String { ["key", "high_potential", "small_medium"][Int(rawValue)] }
}

/// What a rep writes in the visit's free-text notes: a few routine phrases, English and Chinese
/// (the purchase-intent study's notes were Chinese), and now and then a mention of a coming
/// project, which the simulator writes mostly shortly before a need opens (the weak real
/// signal of `Docs/Synth.md`, "Visit notes"). A visit may have no note at all.
public enum VisitNote {
    /// Routine phrases, said whatever the customer's state.
    public static let routine = [
        "called back", "no answer at first", "left a message", "price too high", "asked for samples",
        "spoke to the buyer",
        "stock is fine", "happy with service", "客户不在", "价格太高", "下周再联系", "库存充足", "对服务满意"
    ]
    /// Mentions of a coming project (the signal).
    public static let project = ["new project starting", "plans a new line", "新项目", "准备扩产"]
}
