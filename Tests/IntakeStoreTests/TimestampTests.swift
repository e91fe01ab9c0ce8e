import Testing

@testable import IntakeStore
import IntakeCore

@Suite("Timestamps")
struct TimestampTests {
    static let known: [(milliseconds: Int64, text: String)] = [
        (1_795_271_121_123, "2026-11-21T14:25:21.123Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),  // leap day of a 400-year leap year
        (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),  // last millisecond of a leap day
        (-2_203_891_200_000, "1900-03-01T00:00:00.000Z"),  // 1900 was not a leap year
        (4_107_499_200_007, "2100-02-28T12:00:00.007Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
    ]

    @Test(arguments: known)
    func knownValuesFormatAndParse(milliseconds: Int64, text: String) {
        #expect(Timestamp.string(fromMilliseconds: milliseconds) == text)
        #expect(Timestamp.milliseconds(from: text) == milliseconds)
    }

    @Test func roundTripsAndSortsLikeTheNumbers() {
        var generator = SystemRandomNumberGenerator()
        let values = (0..<2000).map { _ in Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator) }
        for value in values {
            #expect(Timestamp.milliseconds(from: Timestamp.string(fromMilliseconds: value)) == value)
        }
        let sortedAsText = values.sorted { Timestamp.string(fromMilliseconds: $0) < Timestamp.string(fromMilliseconds: $1) }
        #expect(sortedAsText == values.sorted())
    }

    @Test(arguments: [
        "", "2026-11-21T14:25:21Z", "2026-11-21 14:25:21.123Z", "2026-11-21T14:25:21.123+00:00",
        "2026-02-29T00:00:00.000Z", "2100-02-29T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-00-01T00:00:00.000Z",
        "2026-04-31T00:00:00.000Z", "2026-11-21T24:00:00.000Z", "2026-11-21T14:60:00.000Z", "2026-11-21T14:25:60.000Z",
        "2026-11-2xT14:25:21.123Z", "２026-11-21T14:25:21.123Z",
    ])
    func malformedTextIsRejected(text: String) {
        #expect(Timestamp.milliseconds(from: text) == nil)
    }
}
