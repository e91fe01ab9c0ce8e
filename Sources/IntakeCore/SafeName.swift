/// A file name made safe to keep: what people drop can hold any byte but '/' and NUL.
/// Printable UTF-8 stays as it is; control characters, invalid UTF-8, '%' and the characters that
/// reorder text become %XX, so the original bytes can always be read back and no name breaks a
/// log line or a terminal, nor reads as another there.
public enum SafeName {
    public static func from(bytes: [UInt8]) -> String {
        var out = ""
        var index = 0
        while index < bytes.count {
            let length = validScalarLength(bytes, at: index)
            if length > 0 {
                let scalarBytes = bytes[index..<index + length]
                let scalar = String(decoding: scalarBytes, as: UTF8.self).unicodeScalars.first!
                if scalar.properties.generalCategory == .control || scalar == "%" || scalar == "\u{2028}" || scalar == "\u{2029}"
                    || reordersText(scalar)
                {
                    scalarBytes.forEach { out += percent($0) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
                index += length
            } else {
                out += percent(bytes[index])
                index += 1
            }
        }
        return out
    }

    public static func from(_ name: String) -> String { from(bytes: Array(name.utf8)) }

    /// Why `component` cannot be one name (of a file, a meter, a folder) that intake keeps as it
    /// is, said to follow "the name …"; nil when it can. One rule for every place a name comes in
    /// (an upload, `intake meter setup`, a profile's lookup), so that a meter named one way can
    /// be reached every way.
    public static func refusal(ofComponent component: String) -> String? {
        let bytes = Array(component.utf8)
        if bytes.isEmpty { return "is empty" }
        if bytes.count > maximumBytes { return "is over \(maximumBytes) bytes (the job id and suffixes need the rest of 255)" }
        if bytes.first == UInt8(ascii: ".") { return "starts with a dot: hidden names are never processed" }
        if bytes.contains(UInt8(ascii: "/")) { return "contains '/'" }
        if component.unicodeScalars.contains(where: reordersText) {
            return "contains a character that reorders text (U+202E and the like), which makes a name read as another"
        }
        // Compared as bytes: escaping changed something exactly when a byte needed it.
        if Array(from(bytes: bytes).utf8) != bytes || component.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "contains control characters or '%'"
        }
        return nil
    }

    /// The bidirectional formatting characters: shown, they turn the text after them round, so
    /// that `\u{202E}gpj.exe` reads as `exe.jpg` in a log, a terminal or a page.
    static func reordersText(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// The longest name, in bytes, intake files a file under. A file system takes 255, and the
    /// names intake makes of it add up to 26 (`<job>-` before, `.error.json` or `_256x256.jpg`
    /// after); escaping may triple a name's bytes. 200 leaves room, and is what `intake serve`
    /// accepts.
    public static let maximumBytes = 200

    /// `name` if it is at most `maximumBytes` long; else its start, cut on a character, then `~`
    /// and 8 hex digits of a digest of the whole name (so that two long names that start alike
    /// stay apart), then its extension: `aaaa…aaaa~1f3c9a0b.jpg`. Without this a long name could
    /// be neither claimed nor filed: every rename of it would fail with "File name too long".
    public static func fitted(_ name: String) -> String {
        guard name.utf8.count > maximumBytes else { return name }
        var stem = stem(of: name)
        var suffix = String(name.dropFirst(stem.count))
        if suffix.utf8.count > 16 { (stem, suffix) = (name, "") }  // not an extension to keep
        let hex = String(UInt32(truncatingIfNeeded: StableHash.fnv1a(name)), radix: 16)
        let mark = "~" + String(repeating: "0", count: 8 - hex.count) + hex
        let room = maximumBytes - mark.utf8.count - suffix.utf8.count
        var kept = "", bytes = 0
        for character in stem {
            let size = character.utf8.count
            guard bytes + size <= room else { break }
            kept.append(character)
            bytes += size
        }
        return kept + mark + suffix
    }

    /// The name without its last extension: "a.b.jpg" → "a.b", ".hidden" stays whole.
    public static func stem(of name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    /// `%XX`, as escapes are written in names.
    public static func percent(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }

    /// Bytes in the valid UTF-8 sequence starting at `index`, or 0 when it is not one.
    private static func validScalarLength(_ bytes: [UInt8], at index: Int) -> Int {
        let first = bytes[index]
        let length: Int
        switch first {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        let slice = Array(bytes[index..<index + length])
        guard slice.dropFirst().allSatisfy({ $0 & 0xC0 == 0x80 }) else { return 0 }
        return String(validating: slice, as: UTF8.self) == nil ? 0 : length
    }
}
