import Dataset
import Foundation
import Testing

@Suite("Day")
struct DayTests {
    @Test("ISO round trip and ordinals agree with Foundation's Gregorian calendar in UTC")
    func agreesWithFoundation() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let epoch = calendar.date(from: DateComponents(year: 1970, month: 1, day: 1))!
        // Every day from 1899 to 2101 (leap centuries 1900 and 2000 included).
        for ordinal in Int32(-25_567)...Int32(47_847) {
            let day = Day(ordinal: ordinal)
            let date = calendar.date(byAdding: .day, value: Int(ordinal), to: epoch)!
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: date)
            let civil = day.civil
            #expect(civil.year == parts.year && civil.month == parts.month && civil.day == parts.day)
            // Foundation: 1 = Sunday … 7 = Saturday; ISO: 1 = Monday … 7 = Sunday.
            #expect(day.weekday == (parts.weekday! + 5) % 7 + 1)
            #expect(Day(iso: day.iso) == day)
            #expect(Day(year: civil.year, month: civil.month, day: civil.day) == day)
        }
    }

    @Test("Invalid dates and malformed text are refused")
    func refusesInvalid() {
        for text in [
            "2019-02-29", "2018-13-01", "2018-00-10", "2018-04-31", "2018-1-01", "2018/01/01", "20180101", "",
            "2018-01-0x"
        ] {
            #expect(Day(iso: text) == nil, "\(text)")
        }
        #expect(Day(iso: "2020-02-29") != nil)
        #expect(Day(iso: "2018-03-01")!.weekday == 4)  // a Thursday
        #expect(Day(iso: "2018-03-01")!.mondayOnOrBefore.iso == "2018-02-26")
        #expect(Day(iso: "2018-02-26")!.mondayOnOrBefore.iso == "2018-02-26")
    }
}
