import Foundation

/// The `format` and `format_version` members a versioned Revisit JSON document carries (a
/// dataset manifest, a partitioned manifest, a feature pipeline, a population fit): read first
/// and alone, so that a reader refuses another document or version with what it found before
/// it decodes the rest.
public struct FormatProbe: Decodable, Sendable, Equatable {
    public var format: String?
    public var formatVersion: Int?

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
    }

    public init(format: String? = nil, formatVersion: Int? = nil) {
        self.format = format
        self.formatVersion = formatVersion
    }

    /// The probe of `json`, or nil when it is not a JSON object.
    public init?(json: Data) {
        guard let probe = try? JSONDecoder().decode(FormatProbe.self, from: json) else { return nil }
        self = probe
    }

    /// `format NAME version N` as found (`missing` for an absent member), for messages.
    public var found: String {
        "format \(format ?? "missing") version \(formatVersion.map(String.init) ?? "missing")"
    }
}
