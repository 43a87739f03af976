import Formats
/// `manifest.json` of a dataset directory: what the directory holds and where it came from.
///
/// The importer writes it; every other tool reads it first and refuses a directory whose
/// `format` or `formatVersion` it does not know (``DatasetError/unsupportedFormat``). JSON keys
/// are snake_case (`format_version`, `visit_columns`), the form pandas, DuckDB and `jq` users
/// expect. Documented in `Docs/FileFormats.md`.
public struct DatasetManifest: Codable, Sendable, Equatable {
    /// The `format` value every Revisit dataset carries.
    public static let formatName = "revisit-dataset"
    /// The version this build writes and reads. Bump it on any incompatible change to the
    /// directory's files, and say in `Docs/FileFormats.md` what changed.
    public static let currentVersion = 1

    /// What the rows are.
    public enum Kind: String, Codable, Sendable {
        /// An ERP visit log: every row is a contact, some of which produced an order.
        case visits
        /// A plain transaction or e-commerce log: every row is an order.
        case transactions
    }

    /// Names of the extra columns, in file order (after the fixed columns).
    public struct ExtraColumns: Codable, Sendable, Equatable {
        /// String columns (in `Visit.categorical` / `Customer.categorical`), free text included.
        public var categorical: [String]
        public var numeric: [String]
        /// Which of `categorical` are free text (a rep's notes, `visits.text` in the mapping):
        /// the feature pipeline reads them as text, not as categories. Written only when
        /// non-empty, so a manifest without text columns is byte for byte what it was before.
        public var text: [String]

        public init(categorical: [String] = [], numeric: [String] = [], text: [String] = []) {
            self.categorical = categorical
            self.numeric = numeric
            self.text = text
        }

        enum CodingKeys: String, CodingKey { case categorical, numeric, text }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            categorical = try container.decode([String].self, forKey: .categorical)
            numeric = try container.decode([String].self, forKey: .numeric)
            text = try container.decodeIfPresent([String].self, forKey: .text) ?? []
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(categorical, forKey: .categorical)
            try container.encode(numeric, forKey: .numeric)
            if !text.isEmpty { try container.encode(text, forKey: .text) }
        }

        /// The string columns that are categories (not text).
        public var categories: [String] { categorical.filter { !text.contains($0) } }
    }

    /// Row counts for one input stream. They reconcile: `read == accepted + rejected + duplicates`.
    public struct Counts: Codable, Sendable, Equatable {
        public var read: Int
        public var accepted: Int
        public var rejected: Int
        /// Rows identical to an earlier row with the same id: counted, kept once.
        public var duplicates: Int
        /// `rejected`, broken down by reason code.
        public var rejectedByReason: [String: Int]

        public init(
            read: Int = 0, accepted: Int = 0, rejected: Int = 0, duplicates: Int = 0,
            rejectedByReason: [String: Int] = [:]
        ) {
            self.read = read
            self.accepted = accepted
            self.rejected = rejected
            self.duplicates = duplicates
            self.rejectedByReason = rejectedByReason
        }

        public var reconciles: Bool {
            read == accepted + rejected + duplicates && rejectedByReason.values.reduce(0, +) == rejected
        }

        enum CodingKeys: String, CodingKey {
            case read, accepted, rejected, duplicates
            case rejectedByReason = "rejected_by_reason"
        }
    }

    /// A file that went in (`input`, the path as given) or came out (`output`, the name inside
    /// the dataset directory), with its SHA-256.
    public typealias FileDigest = Formats.FileDigest

    public var format: String
    public var formatVersion: Int
    public var kind: Kind
    public var visitColumns: ExtraColumns
    public var customerColumns: ExtraColumns
    public var visitCounts: Counts
    public var customerCounts: Counts
    /// First and last visit date among accepted rows (`nil` for an empty dataset).
    public var firstDate: Day?
    public var lastDate: Day?
    public var customerCount: Int
    public var repCount: Int
    public var files: [FileDigest]
    /// The mapping in force, as JSON text (so the manifest alone says how values were read).
    public var mapping: String
    /// One line per import into this directory (`--append` adds one), oldest first.
    public var history: [String]

    public init(
        kind: Kind, visitColumns: ExtraColumns = ExtraColumns(), customerColumns: ExtraColumns = ExtraColumns(),
        visitCounts: Counts = Counts(), customerCounts: Counts = Counts(), firstDate: Day? = nil, lastDate: Day? = nil,
        customerCount: Int = 0, repCount: Int = 0, files: [FileDigest] = [], mapping: String = "{}",
        history: [String] = []
    ) {
        format = Self.formatName
        formatVersion = Self.currentVersion
        self.kind = kind
        self.visitColumns = visitColumns
        self.customerColumns = customerColumns
        self.visitCounts = visitCounts
        self.customerCounts = customerCounts
        self.firstDate = firstDate
        self.lastDate = lastDate
        self.customerCount = customerCount
        self.repCount = repCount
        self.files = files
        self.mapping = mapping
        self.history = history
    }

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case kind
        case visitColumns = "visit_columns"
        case customerColumns = "customer_columns"
        case visitCounts = "visit_counts"
        case customerCounts = "customer_counts"
        case firstDate = "first_date"
        case lastDate = "last_date"
        case customerCount = "customer_count"
        case repCount = "rep_count"
        case files, mapping, history
    }
}
