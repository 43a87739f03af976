import Dataset
import ERPImport
import Testing

@Suite("DateFormat")
struct DateFormatTests {
    @Test func readsTheCommonExportFormsWithOrWithoutATime() throws {
        let iso = try #require(DateFormat("yyyy-MM-dd"))
        let slashes = try #require(DateFormat("yyyy/M/d"))
        let compact = try #require(DateFormat("yyyyMMdd"))
        let expected = Day(year: 2018, month: 3, day: 1)
        #expect(iso.parse("2018-03-01") == expected)
        #expect(iso.parse("2018-03-01 14:30") == expected)
        #expect(iso.parse("2018-03-01T14:30:05.250Z") == expected)
        #expect(slashes.parse("2018/3/1") == expected)
        #expect(slashes.parse("2018/03/01 9:05:00") == expected)
        #expect(compact.parse("20180301") == expected)
    }

    @Test func refusesNonDatesAndMalformedTimes() throws {
        let iso = try #require(DateFormat("yyyy-MM-dd"))
        #expect(iso.parse("2018-02-30") == nil)
        #expect(iso.parse("2018-3-1") == nil)
        #expect(iso.parse("2018-03-01 25:00") == nil)
        #expect(iso.parse("2018-03-01x") == nil)
        #expect(iso.parse("") == nil)
        #expect(DateFormat("yyyy-MM") == nil)
        #expect(DateFormat("yyyy-MM-dd-dd") == nil)
    }
}
