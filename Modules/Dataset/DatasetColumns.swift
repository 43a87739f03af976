/// The fixed columns of a dataset's `visits.csv`, in file order: one spelling of their names
/// and positions for every reader and writer (the header, the parser, the encoder, the
/// importer's mapping fields, `importer partition`). Extra columns follow them
/// (``DatasetManifest/ExtraColumns``).
public enum VisitColumn: Int, CaseIterable, Sendable {
    case visitID, customerID, repID, visitDate, method, target, purpose, result, order

    /// The header name.
    public var name: String {
        switch self {
        case .visitID: return "visit_id"
        case .customerID: return "customer_id"
        case .repID: return "rep_id"
        case .visitDate: return "visit_date"
        case .method: return "method"
        case .target: return "target"
        case .purpose: return "purpose"
        case .result: return "result"
        case .order: return "order"
        }
    }
}

/// The fixed columns of a dataset's `customers.csv`, in file order (extras follow).
public enum CustomerColumn: Int, CaseIterable, Sendable {
    case customerID, customerType, industry, tag

    /// The header name.
    public var name: String {
        switch self {
        case .customerID: return "customer_id"
        case .customerType: return "customer_type"
        case .industry: return "industry"
        case .tag: return "tag"
        }
    }
}

extension Array where Element == String {
    /// The field of a fixed visit column in a `visits.csv` record.
    @inlinable public subscript(column: VisitColumn) -> String { self[column.rawValue] }
    /// The field of a fixed customer column in a `customers.csv` record.
    @inlinable public subscript(column: CustomerColumn) -> String { self[column.rawValue] }
}

extension Visit {
    /// The text of a fixed column as `visits.csv` writes it.
    public func field(_ column: VisitColumn) -> String {
        switch column {
        case .visitID: return visitID
        case .customerID: return customerID
        case .repID: return repID
        case .visitDate: return date.iso
        case .method: return method
        case .target: return target
        case .purpose: return purpose
        case .result: return result
        case .order: return isOrder ? "1" : "0"
        }
    }
}

extension Customer {
    /// The text of a fixed column as `customers.csv` writes it.
    public func field(_ column: CustomerColumn) -> String {
        switch column {
        case .customerID: return customerID
        case .customerType: return customerType
        case .industry: return industry
        case .tag: return tag
        }
    }
}
