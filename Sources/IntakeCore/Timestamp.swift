#if canImport(Glibc)
import Glibc
#endif

/// Converts between Unix milliseconds and the ISO 8601 UTC text the database stores,
/// e.g. `2026-11-21T14:25:21.123Z`.
///
/// The database keeps times as text so that `sqlite3` users can read them and so that they sort:
/// the fixed-width layout makes text order the same as time order (for years 0000 to 9999).
public enum Timestamp {
    private static let millisecondsPerDay: Int64 = 86_400_000

    /// Now, in Unix milliseconds.
    public static func nowMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// The ISO 8601 UTC text for a time in milliseconds since 1970, always with three fraction digits.
    public static func string(fromMilliseconds milliseconds: Int64) -> String {
        // Floor division, so times before 1970 land on the previous day with a positive time of day.
        var (days, millisecondOfDay) = milliseconds.quotientAndRemainder(dividingBy: millisecondsPerDay)
        if millisecondOfDay < 0 {
            days -= 1
            millisecondOfDay += millisecondsPerDay
        }
        let date = civilDate(fromDays: days)
        let second = millisecondOfDay / 1000
        var text = ""
        text.reserveCapacity(24)
        if date.year < 0 { text += "-" }
        text += padded(date.year.magnitude, width: 4)
        text += "-" + padded(UInt64(date.month), width: 2)
        text += "-" + padded(UInt64(date.day), width: 2)
        text += "T" + padded(UInt64(second / 3600), width: 2)
        text += ":" + padded(UInt64(second / 60 % 60), width: 2)
        text += ":" + padded(UInt64(second % 60), width: 2)
        text += "." + padded(UInt64(millisecondOfDay % 1000), width: 3)
        text += "Z"
        return text
    }

    /// The milliseconds since 1970 for text in exactly the layout ``string(fromMilliseconds:)`` writes
    /// (`YYYY-MM-DDTHH:MM:SS.sssZ`); nil for anything else, including impossible dates such as Feb 30.
    public static func milliseconds(from text: String) -> Int64? {
        let bytes = Array(text.utf8)
        // The layout, with 0 standing for any digit.
        let layout = Array("0000-00-00T00:00:00.000Z".utf8)
        guard bytes.count == layout.count else { return nil }
        for (byte, expected) in zip(bytes, layout) {
            if expected == UInt8(ascii: "0") {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            } else {
                guard byte == expected else { return nil }
            }
        }
        func number(_ range: Range<Int>) -> Int64 {
            bytes[range].reduce(0) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
        }
        let year = number(0..<4), month = number(5..<7), day = number(8..<10)
        let hour = number(11..<13), minute = number(14..<16), second = number(17..<19)
        let millisecond = number(20..<23)
        guard (1...12).contains(month), (1...daysInMonth(month, year: year)).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        return days * millisecondsPerDay + ((hour * 60 + minute) * 60 + second) * 1000 + millisecond
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    public static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year  // years start in March, so Feb 29 falls last
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date for days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    public static func civilDate(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468  // days since 0000-03-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(_ month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    private static func padded(_ value: UInt64, width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
