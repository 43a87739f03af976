/// One normalised visit (a row of the dataset's `visits.csv`).
///
/// For a plain transaction or e-commerce log (`DatasetManifest.Kind.transactions`) every row is
/// an order: `visitID` is the importer's row id, `repID`, `method`, `target` and `purpose` are
/// empty, `result` is `order` and `isOrder` is true; quantities and amounts arrive as numeric
/// extras.
public struct Visit: Sendable, Hashable {
    public var visitID: String
    public var customerID: String
    /// Empty when the source has no rep (transaction logs).
    public var repID: String
    public var date: Day
    public var method: String
    public var target: String
    public var purpose: String
    /// The result as normalised by the mapping (`order`, `no_demand`, …).
    public var result: String
    /// Whether `result` counts as an order (the mapping's value map decides).
    public var isOrder: Bool
    /// Extra categorical columns, in `DatasetManifest.visitColumns.categorical` order.
    public var categorical: [String]
    /// Extra numeric columns, in `DatasetManifest.visitColumns.numeric` order; `nil` = missing.
    public var numeric: [Double?]

    public init(
        visitID: String, customerID: String, repID: String, date: Day, method: String, target: String,
        purpose: String, result: String, isOrder: Bool, categorical: [String] = [], numeric: [Double?] = []
    ) {
        self.visitID = visitID
        self.customerID = customerID
        self.repID = repID
        self.date = date
        self.method = method
        self.target = target
        self.purpose = purpose
        self.result = result
        self.isOrder = isOrder
        self.categorical = categorical
        self.numeric = numeric
    }

    /// The dataset's sort order: customer, date, visit id, ids compared as UTF-8 bytes (as
    /// `LC_ALL=C sort` and DuckDB compare them, and as the importer's external sort does;
    /// Swift's `String <` would instead equate canonically equivalent spellings). Features rely
    /// on it (a customer's visits are contiguous and in date order; same-day visits in id order).
    public static func datasetOrder(_ a: Visit, _ b: Visit) -> Bool {
        if !a.customerID.utf8.elementsEqual(b.customerID.utf8) { return bytewiseLess(a.customerID, b.customerID) }
        if a.date != b.date { return a.date < b.date }
        return bytewiseLess(a.visitID, b.visitID)
    }

    /// `a` before `b` in the byte order of their UTF-8.
    @inlinable
    public static func bytewiseLess(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

/// One customer profile (a row of the dataset's `customers.csv`).
public struct Customer: Sendable, Hashable {
    public var customerID: String
    public var customerType: String
    public var industry: String
    public var tag: String
    /// Extra categorical columns, in `DatasetManifest.customerColumns.categorical` order.
    public var categorical: [String]
    /// Extra numeric columns, in `DatasetManifest.customerColumns.numeric` order; `nil` = missing.
    public var numeric: [Double?]

    public init(
        customerID: String, customerType: String, industry: String, tag: String,
        categorical: [String] = [], numeric: [Double?] = []
    ) {
        self.customerID = customerID
        self.customerType = customerType
        self.industry = industry
        self.tag = tag
        self.categorical = categorical
        self.numeric = numeric
    }
}

/// One refused input row, kept whole so that nothing is lost (a row of `rejects.csv`).
public struct Reject: Sendable, Hashable {
    /// The input file's name as given on the command line (`-` for standard input).
    public var source: String
    /// 1-based physical line where the record starts (for XML: the element's line).
    public var line: Int
    /// A short stable reason code (`wrong_field_count`, `unparseable_date`, …).
    public var reason: String
    /// The human explanation (`visit_date '2018-02-30' is not a date in format YYYY-MM-DD`).
    public var detail: String
    /// The raw text of the record as read (after decoding to UTF-8 where that succeeded).
    public var raw: String

    public init(source: String, line: Int, reason: String, detail: String, raw: String) {
        self.source = source
        self.line = line
        self.reason = reason
        self.detail = detail
        self.raw = raw
    }
}
