/// The orientation an XMP packet states (`tiff:Orientation`, 1–8), for images whose EXIF has
/// none: some editors and phones write it only there. Read as text, without an XML parser: the
/// packet's two spellings are an attribute (`tiff:Orientation="6"`) and an element
/// (`<tiff:Orientation>6</tiff:Orientation>`), and only the digit after either matters.
public enum XMPOrientation {
    /// The value in `packet`, or nil when it states none (or states something other than 1–8,
    /// which `invalid` then holds, for the problems list).
    public static func read(_ packet: UnsafeRawBufferPointer) -> (orientation: Int?, invalid: String?) {
        let key = Array("tiff:Orientation".utf8)
        guard packet.count > key.count else { return (nil, nil) }
        var index = 0
        while index + key.count < packet.count {
            guard packet[index] == key[0], key.indices.allSatisfy({ packet[index + $0] == key[$0] }) else {
                index += 1
                continue
            }
            var cursor = index + key.count
            // `="6"` or `='6'` or `>6<`, with spaces allowed around the `=`.
            while cursor < packet.count, packet[cursor] == UInt8(ascii: " ") { cursor += 1 }
            guard cursor < packet.count else { return (nil, nil) }
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
            while cursor < packet.count, value.count < 16,
                  ![UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "<")].contains(packet[cursor]) {
                value.append(packet[cursor])
                cursor += 1
            }
            let text = String(decoding: value, as: UTF8.self).trimmingSpaces
            if let number = Int(text), (1...8).contains(number) { return (number, nil) }
            return (nil, text)
        }
        return (nil, nil)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed())
    }
}
