/// A calendar date with no time of day and no time zone: the day number since 1970-01-01
/// (proleptic Gregorian). Visit logs carry dates, not instants, and every as-of rule in Revisit
/// ("strictly before t", "within [t, t + H)") is a comparison of days, so days are integers.
///
/// Conversions use Howard Hinnant's `days_from_civil` / `civil_from_days` algorithms
/// (http://howardhinnant.github.io/date_algorithms.html): exact for every year Revisit meets,
/// no Foundation calendar, no locale, no time zone.
public struct Day: Sendable, Hashable, Comparable, Strideable, CustomStringConvertible, Codable {
    /// Days since 1970-01-01.
    public var ordinal: Int32

    public init(ordinal: Int32) { self.ordinal = ordinal }

    /// The dates a dataset may hold: 1900-01-01 through 2999-12-31. Every tool adds horizons,
    /// as-of steps and cut-offs (days to a few years) to dataset dates and writes the result
    /// as `YYYY-MM-DD`; the bound keeps every such date a four-digit year that every tool
    /// reads back (a visit on 9999-12-31 would make a scorer write an `as_of` of 10000-01-01).
    public static let supportedRange = Day(year: 1900, month: 1, day: 1)!...Day(year: 2999, month: 12, day: 31)!

    /// The day for a valid (year, month, day); `nil` when the date does not exist (2019-02-29).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= Day.daysIn(month: month, year: year), (1...9999).contains(year)
        else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        ordinal = Int32(era * 146_097 + dayOfEra - 719_468)
    }

    /// Parses exactly `YYYY-MM-DD` (the normalised form every Revisit file uses).
    public init?(iso text: Substring) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public init?(iso text: String) { self.init(iso: Substring(text)) }

    /// (year, month, day) of this date.
    public var civil: (year: Int, month: Int, day: Int) {
        let z = Int(ordinal) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `YYYY-MM-DD`.
    public var iso: String {
        let (year, month, day) = civil
        guard (0...9999).contains(year) else {
            // Outside what `init(year:month:day:)` makes: still a readable, sortable form.
            return "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
        }
        // Ten ASCII digits and dashes, built as bytes: every row of every dataset file is
        // written through this, and string interpolation with padding showed in the profile.
        let digits: [UInt8] = [
            UInt8(48 + year / 1000), UInt8(48 + year / 100 % 10), UInt8(48 + year / 10 % 10), UInt8(48 + year % 10),
            0x2D,
            UInt8(48 + month / 10), UInt8(48 + month % 10), 0x2D, UInt8(48 + day / 10), UInt8(48 + day % 10)
        ]
        return String(decoding: digits, as: UTF8.self)
    }

    public var description: String { iso }

    /// ISO weekday: 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday).
    public var weekday: Int {
        let shifted = (Int(ordinal) + 3) % 7
        return (shifted < 0 ? shifted + 7 : shifted) + 1
    }

    /// The Monday on or before this day: the start of its ISO week.
    public var mondayOnOrBefore: Day { Day(ordinal: ordinal - Int32(weekday - 1)) }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (lhs: Day, rhs: Day) -> Bool { lhs.ordinal < rhs.ordinal }
    public func distance(to other: Day) -> Int { Int(other.ordinal - ordinal) }
    public func advanced(by n: Int) -> Day { Day(ordinal: ordinal + Int32(n)) }

    // Codable as the ISO string, so JSON documents read naturally.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let day = Day(iso: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a YYYY-MM-DD date")
        }
        self = day
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso)
    }
}
