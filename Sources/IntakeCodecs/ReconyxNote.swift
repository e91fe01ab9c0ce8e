/// The date a Reconyx trail camera keeps only in its maker note, which libexif has no reader
/// for. The note is a fixed block, not an IFD; its layout is Reconyx's, as their metadata
/// documents describe it (and ExifTool reads it):
/// - HyperFire (HC500, HC600, PC900): starts with version 0xF101; the date is six 16-bit numbers
///   at byte 22, second, minute, hour, month, day, year;
/// - HyperFire 2 (HF2 PRO): starts with `RECONYXH2\0`; six 16-bit numbers at byte 62, second,
///   minute, hour, day, month, year;
/// - UltraFire: starts with `RECONYXUF\0`; seven bytes at 59, second, minute, hour, day, month,
///   then the year's low and high byte.
/// 16-bit numbers are in the EXIF block's byte order. A date that is no calendar date (a month 13,
/// a year 0) is not used.
enum ReconyxNote {
    /// "YYYY:MM:DD HH:MM:SS", as EXIF writes dates, or nil when `note` is no Reconyx note or
    /// holds no plausible date.
    static func dateTaken(_ note: UnsafeBufferPointer<UInt8>, littleEndian: Bool) -> String? {
        func number(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 2 <= note.count else { return nil }
            let first = Int(note[offset]), second = Int(note[offset + 1])
            return littleEndian ? first | second << 8 : first << 8 | second
        }
        func numbers(_ offset: Int) -> [Int]? {
            let values = (0..<6).compactMap { number(offset + 2 * $0) }
            return values.count == 6 ? values : nil
        }
        func starts(with text: String) -> Bool { note.starts(with: Array(text.utf8) + [0]) }

        if number(0) == 0xF101, var v = numbers(22) {
            // Some HyperFires write the date big-endian in an otherwise little-endian note.
            if v[0] & 0xFF00 != 0 && v[0] & 0xFF == 0 { v = v.map { ($0 >> 8) | ($0 & 0xFF) << 8 } }
            return format(year: v[5], month: v[3], day: v[4], hour: v[2], minute: v[1], second: v[0])
        }
        if starts(with: "RECONYXH2"), let v = numbers(62) {
            return format(year: v[5], month: v[4], day: v[3], hour: v[2], minute: v[1], second: v[0])
        }
        if starts(with: "RECONYXUF"), note.count >= 59 + 7 {
            let b = (0..<7).map { Int(note[59 + $0]) }
            return format(year: b[5] | b[6] << 8, month: b[4], day: b[3], hour: b[2], minute: b[1], second: b[0])
        }
        return nil
    }

    private static func format(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> String? {
        guard (1990...2200).contains(year), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year):\(two(month)):\(two(day)) \(two(hour)):\(two(minute)):\(two(second))"
    }
}
