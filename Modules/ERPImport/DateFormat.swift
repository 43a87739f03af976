import Dataset

/// A date pattern from a mapping file: `yyyy` four digits, `MM`/`dd` two digits, `M`/`d` one or
/// two digits, anything else literal. `yyyy-MM-dd` reads `2018-03-01`; `yyyy/M/d` reads
/// `2018/3/1` and `2018/03/01`; `yyyyMMdd` reads `20180301`.
///
/// Any pattern also accepts a time of day after the date (` 14:30`, ` 14:30:05`, `T14:30:05.250`,
/// an optional trailing `Z`), checked and then dropped: Revisit works in days (`Day`).
public struct DateFormat: Sendable, Equatable {
    enum Token: Equatable {
        case year
        case month(fixedWidth: Bool)
        case day(fixedWidth: Bool)
        case literal(UInt8)
    }

    let tokens: [Token]
    public let pattern: String

    /// `nil` when the pattern lacks a year, a month or a day, or repeats one.
    public init?(_ pattern: String) {
        var tokens: [Token] = []
        var rest = Substring(pattern)
        while let first = rest.first {
            if rest.hasPrefix("yyyy") {
                tokens.append(.year); rest = rest.dropFirst(4)
            } else if rest.hasPrefix("MM") {
                tokens.append(.month(fixedWidth: true)); rest = rest.dropFirst(2)
            } else if rest.hasPrefix("dd") {
                tokens.append(.day(fixedWidth: true)); rest = rest.dropFirst(2)
            } else if first == "M" {
                tokens.append(.month(fixedWidth: false)); rest = rest.dropFirst()
            } else if first == "d" {
                tokens.append(.day(fixedWidth: false)); rest = rest.dropFirst()
            } else if first.isASCII, let byte = first.asciiValue, !first.isLetter {
                tokens.append(.literal(byte)); rest = rest.dropFirst()
            } else {
                return nil
            }
        }
        let years = tokens.filter { $0 == .year }.count
        let months = tokens.filter { if case .month = $0 { return true } else { return false } }.count
        let days = tokens.filter { if case .day = $0 { return true } else { return false } }.count
        guard years == 1, months == 1, days == 1 else { return nil }
        self.tokens = tokens
        self.pattern = pattern
    }

    /// The day `text` names, or `nil` when it does not match or names no real date (2019-02-29).
    public func parse(_ text: Substring) -> Day? {
        let bytes = Array(text.utf8)
        var index = 0
        var year = 0, month = 0, day = 0
        func digits(min: Int, max: Int) -> Int? {
            var value = 0
            var count = 0
            while count < max, index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - 0x30)
                index += 1
                count += 1
            }
            return count >= min ? value : nil
        }
        for token in tokens {
            switch token {
            case .year: guard let v = digits(min: 4, max: 4) else { return nil }; year = v
            case .month(let fixed): guard let v = digits(min: fixed ? 2 : 1, max: 2) else { return nil }; month = v
            case .day(let fixed): guard let v = digits(min: fixed ? 2 : 1, max: 2) else { return nil }; day = v
            case .literal(let byte):
                guard index < bytes.count, bytes[index] == byte else { return nil }
                index += 1
            }
        }
        guard index == bytes.count || Self.isTimeOfDay(bytes[index...]) else { return nil }
        return Day(year: year, month: month, day: day)
    }

    /// ` HH:mm`, ` HH:mm:ss`, with `T` instead of the space, optional fraction and `Z`.
    static func isTimeOfDay(_ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        guard let separator = rest.popFirst(), separator == 0x20 || separator == 0x54 else { return false }
        func two() -> Int? {
            guard rest.count >= 2, let a = rest.first, (0x30...0x39).contains(a) else { return nil }
            let b = rest[rest.startIndex + 1]
            guard (0x30...0x39).contains(b) else { return nil }
            rest = rest.dropFirst(2)
            return Int(a - 0x30) * 10 + Int(b - 0x30)
        }
        func oneOrTwo() -> Int? {
            guard let a = rest.first, (0x30...0x39).contains(a) else { return nil }
            rest = rest.dropFirst()
            if let b = rest.first, (0x30...0x39).contains(b) {
                rest = rest.dropFirst()
                return Int(a - 0x30) * 10 + Int(b - 0x30)
            }
            return Int(a - 0x30)
        }
        guard let hour = oneOrTwo(), hour < 24, rest.popFirst() == 0x3A, let minute = two(), minute < 60 else {
            return false
        }
        if rest.first == 0x3A {
            rest = rest.dropFirst()
            guard let second = two(), second < 61 else { return false }
            if rest.first == 0x2E {
                rest = rest.dropFirst()
                guard let digit = rest.first, (0x30...0x39).contains(digit) else { return false }
                while let digit = rest.first, (0x30...0x39).contains(digit) { rest = rest.dropFirst() }
            }
        }
        if rest.first == 0x5A { rest = rest.dropFirst() }
        return rest.isEmpty
    }
}
