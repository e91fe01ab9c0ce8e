/// Properties of an XMP packet that EXIF may lack, for images whose EXIF states none: some
/// editors and phones write them only there. Read as text, without an XML parser: a property is
/// written as an attribute (`tiff:Orientation="6"`) or as an element
/// (`<tiff:Orientation>6</tiff:Orientation>`), and only the text after either matters.
public enum XMPProperties {
    /// The text of property `name` (`prefix:Name`), its first occurrence that has a value, at
    /// most `limit` bytes; nil when the packet states none.
    public static func text(of name: String, in packet: UnsafeRawBufferPointer, limit: Int = 64) -> String? {
        let key = Array(name.utf8)
        guard !key.isEmpty, packet.count > key.count else { return nil }
        var index = 0
        while index + key.count < packet.count {
            guard packet[index] == key[0], key.indices.allSatisfy({ packet[index + $0] == key[$0] }) else {
                index += 1
                continue
            }
            var cursor = index + key.count
            // `="6"` or `='6'` or `>6<`, with spaces allowed around the `=`.
            while cursor < packet.count, packet[cursor] == UInt8(ascii: " ") { cursor += 1 }
            guard cursor < packet.count else { return nil }
            if packet[cursor] == UInt8(ascii: "=") {
                cursor += 1
                while cursor < packet.count, packet[cursor] == UInt8(ascii: " ") { cursor += 1 }
                guard cursor < packet.count, packet[cursor] == UInt8(ascii: "\"") || packet[cursor] == UInt8(ascii: "'") else {
                    index = cursor
                    continue
                }
                cursor += 1
            } else if packet[cursor] == UInt8(ascii: ">") {
                cursor += 1
            } else {
                index = cursor  // another name that starts the same, or the closing tag
                continue
            }
            var value: [UInt8] = []
            while cursor < packet.count, value.count < limit,
                  ![UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "<")].contains(packet[cursor]) {
                value.append(packet[cursor])
                cursor += 1
            }
            return String(decoding: value, as: UTF8.self).trimmingSpaces
        }
        return nil
    }

    /// The orientation stated (`tiff:Orientation`, 1–8); anything else stated is `invalid`, for
    /// the problems list.
    public static func orientation(_ packet: UnsafeRawBufferPointer) -> (orientation: Int?, invalid: String?) {
        guard let text = text(of: "tiff:Orientation", in: packet, limit: 16) else { return (nil, nil) }
        if let number = Int(text), (1...8).contains(number) { return (number, nil) }
        return (nil, text)
    }

    /// The date taken (`exif:DateTimeOriginal`, ISO 8601: `2013-07-05T03:18:27Z`), written as EXIF
    /// writes it (`2013:07:05 03:18:27`), the clock's own time as EXIF keeps it, its zone left out;
    /// nil when the packet states none that is a calendar date with a time.
    public static func dateTaken(_ packet: UnsafeRawBufferPointer) -> String? {
        guard let text = text(of: "exif:DateTimeOriginal", in: packet) else { return nil }
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, range.allSatisfy({ (48...57).contains(bytes[$0]) }) else { return nil }
            return range.reduce(0) { $0 * 10 + Int(bytes[$1] - 48) }
        }
        func separator(_ at: Int, _ allowed: String) -> Bool { at < bytes.count && allowed.utf8.contains(bytes[at]) }
        // YYYY-MM-DDTHH:MM, then :SS if there, then a fraction or a zone, which are left out.
        guard let year = number(0..<4), separator(4, "-"), let month = number(5..<7), separator(7, "-"), let day = number(8..<10),
            separator(10, "T "), let hour = number(11..<13), separator(13, ":"), let minute = number(14..<16),
            (1800...2200).contains(year), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60
        else { return nil }
        var second = 0
        if separator(16, ":") {
            guard let seconds = number(17..<19), seconds < 61 else { return nil }
            second = seconds
        }
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year):\(two(month)):\(two(day)) \(two(hour)):\(two(minute)):\(two(second))"
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed())
    }
}
