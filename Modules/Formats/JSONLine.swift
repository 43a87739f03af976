/// A JSON value written as one line: the tools' `--json` summaries and `--log-json` events, for
/// a job runner or `jq` to read. Numbers are numbers (Swift's shortest round-trip decimal; a
/// non-finite one is `null`), keys keep the order given (the summary reads top-down).
public indirect enum JSONLine: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONLine])
    case object([(String, JSONLine)])

    public static func == (a: JSONLine, b: JSONLine) -> Bool { a.text == b.text }

    /// `value` or `null`.
    public static func number(_ value: Double?) -> JSONLine { value.map { .number($0) } ?? .null }
    public static func string(_ value: String?) -> JSONLine { value.map { .string($0) } ?? .null }

    /// The value as compact JSON, no newline.
    public var text: String {
        var output = ""
        write(to: &output)
        return output
    }

    private func write(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .number(let value):
            output +=
                value.isFinite
                ? (value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)") : "null"
        case .string(let value): Self.quote(value, to: &output)
        case .array(let values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                value.write(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { output += "," }
                Self.quote(key, to: &output)
                output += ":"
                value.write(to: &output)
            }
            output += "}"
        }
    }

    /// `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String) -> String {
        var output = ""
        quote(text, to: &output)
        return output
    }

    /// RFC 8259 string escaping: quote, backslash and control characters.
    static func quote(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case let control where control.value < 0x20:
                output +=
                    "\\u" + String(repeating: "0", count: 4 - String(control.value, radix: 16).count)
                    + String(control.value, radix: 16)
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
