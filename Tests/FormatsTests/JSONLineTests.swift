import Formats
import Foundation
import Testing

@Suite("JSON lines")
struct JSONLineTests {
    @Test func numbersAreNumbersAndStringsAreEscaped() throws {
        let line = JSONLine.object([
            ("count", .int(3)), ("rate", .number(0.125)), ("whole", .number(2)), ("nan", .number(.nan)),
            ("missing", .number(nil)),
            ("name", .string("a \"b\"\\\n\u{1}")), ("ok", .bool(true)), ("list", .array([.int(1), .string(nil)]))
        ])
        #expect(
            line.text
                == #"{"count":3,"rate":0.125,"whole":2,"nan":null,"missing":null,"name":"a \"b\"\\\n\u0001","ok":true,"list":[1,null]}"#
        )
        // What Foundation reads back is what was written.
        let parsed = try JSONSerialization.jsonObject(with: Data(line.text.utf8)) as! [String: Any]
        #expect(
            parsed["count"] as? Int == 3 && parsed["rate"] as? Double == 0.125
                && parsed["name"] as? String == "a \"b\"\\\n\u{1}")
        #expect(parsed["nan"] is NSNull && (parsed["list"] as? [Any])?.count == 2)
    }
}
