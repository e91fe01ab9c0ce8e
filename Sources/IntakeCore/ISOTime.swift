/// ISO 8601 times as people write them: a date, an optional time (T or a space) with optional
/// seconds and fraction, and an optional zone (Z or ±HH:MM). Without a zone, UTC.
public enum ISOTime {
    public static func milliseconds(_ text: String) -> Int64? {
        // Bytes, not Characters: every part of such a time is ASCII, so text with anything else
        // (once trimmed) is no time, and reading bytes keeps a large import from waiting on
        // Unicode's tables.
        let characters = Array(text.trimmedWhitespace.utf8)
        var index = 0
        func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        func number(_ digits: Int) -> Int? {
            guard index + digits <= characters.count else { return nil }
            var value = 0
            for byte in characters[index..<index + digits] {
                guard isDigit(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += digits
            return value
        }
        func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < characters.count, characters[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), skip("-"), let month = number(2), skip("-"), let day = number(2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0, millisecond = 0, offsetMinutes = 0
        if skip("T") || skip(" ") {
            guard let h = number(2), skip(":"), let m = number(2), h < 24, m < 60 else { return nil }
            (hour, minute) = (h, m)
            if skip(":") {
                guard let s = number(2), s < 61 else { return nil }
                second = s
                if skip(".") || skip(",") {
                    var scale = 100
                    while index < characters.count, isDigit(characters[index]) {
                        millisecond += Int(characters[index] - UInt8(ascii: "0")) * scale
                        scale /= 10
                        index += 1
                    }
                }
            }
        }
        if skip("Z") || skip("z") {
        } else if skip("+") || skip("-") {
            let sign = characters[index - 1] == UInt8(ascii: "-") ? -1 : 1
            guard let h = number(2) else { return nil }
            _ = skip(":")
            let m = number(2) ?? 0
            // Real zones lie within ±14:00; "+99:99" is a mistake, not a place.
            guard h * 60 + m <= 14 * 60, m < 60 else { return nil }
            offsetMinutes = sign * (h * 60 + m)
        }
        guard index == characters.count else { return nil }
        // The day, then the time of day, less the zone's offset.
        let days = Timestamp.daysSinceEpoch(year: Int64(year), month: Int64(month), day: Int64(day))
        let seconds = ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60 + Int64(second - offsetMinutes * 60)
        let milliseconds = seconds * 1000 + Int64(millisecond)
        // A zone can carry a time past year 9999 or before year 0, which no time is written as
        // back (`0000-01-01T00:00+14:00`): such a reading could be stored but never read.
        guard (earliest...latest).contains(milliseconds) else { return nil }
        return milliseconds
    }

    /// The first and last millisecond of years 0000 to 9999, UTC.
    static let earliest = Timestamp.daysSinceEpoch(year: 0, month: 1, day: 1) * 86_400_000
    static let latest = Timestamp.daysSinceEpoch(year: 10_000, month: 1, day: 1) * 86_400_000 - 1

    /// The days in `month` of `year`: 2026-02-31 is no date, not 3 March.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// EXIF's "2024:05:01 13:45:10" (the camera's local time, with no zone: taken as UTC).
    public static func exifMilliseconds(_ text: String) -> Int64? {
        var characters = Array(text)
        guard characters.count >= 19, characters[4] == ":", characters[7] == ":" else { return nil }
        characters[4] = "-"
        characters[7] = "-"
        return milliseconds(String(characters.prefix(19)))
    }
}
