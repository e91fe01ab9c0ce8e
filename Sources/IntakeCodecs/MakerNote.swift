internal import CExif

/// What libexif's maker-note readers (Canon, Olympus, Pentax and Casio, Fuji, Apple) give for the
/// facts a camera may keep only there. Values come back as libexif formats them for people
/// ("100", "Auto", "1.000"), so each is parsed strictly: anything not plainly a number is not used.
struct MakerNote {
    /// Entry name → formatted value, first occurrence kept.
    private var values: [String: String] = [:]

    init?(_ data: UnsafeMutablePointer<ExifData>) {
        guard let note = exif_data_get_mnote_data(data) else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        for index in 0..<exif_mnote_data_count(note) {
            guard let name = exif_mnote_data_get_name(note, index) else { continue }
            let key = String(cString: name)
            guard values[key] == nil, exif_mnote_data_get_value(note, index, &buffer, UInt32(buffer.count)) != nil else { continue }
            values[key] = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        if values.isEmpty { return nil }
    }

    /// The ISO speed the shot was taken at. Canon keeps "ISO" ("Auto" when the camera chose) and
    /// the base ISO of the shot with the automatic factor on top ("Shot ISO" × "Auto ISO", as
    /// ExifTool composes it); Casio and others name it with "ISO" in the entry's name.
    var iso: Int? {
        if let camera = Self.plausibleISO(number("ISO")) { return camera }
        if let shot = number("Shot ISO"), let iso = Self.plausibleISO(shot * (number("Auto ISO") ?? 1)) { return iso }
        for (name, _) in values.sorted(by: { $0.key < $1.key }) where name.uppercased().contains("ISO") && !name.contains("Auto") {
            if let value = Self.plausibleISO(number(name)) { return value }
        }
        return nil
    }

    /// An ISO speed a camera could have used (1 to ten million), rounded; nil for anything else,
    /// such as the 1e300 a damaged note can spell, which no Int holds.
    static func plausibleISO(_ value: Double?) -> Int? {
        guard let value, value >= 1, value <= 10_000_000 else { return nil }
        return Int(value.rounded())
    }

    /// The lens's name, where the maker note states one as text (not a numeric lens id).
    var lens: String? {
        for name in ["Lens Model", "LensModel", "Lens"] {
            guard let text = values[name]?.trimmingCharacters(in: " \t\r\n"), !text.isEmpty else { continue }
            let lowered = text.lowercased()
            if lowered.hasPrefix("0x") || lowered.hasPrefix("unknown") || lowered.hasPrefix("invalid") || Double(text) != nil { continue }
            return text
        }
        return nil
    }

    /// A value that is a plain decimal number, nothing else.
    private func number(_ name: String) -> Double? {
        guard let text = values[name]?.trimmingCharacters(in: " \t\r\n"), !text.isEmpty, let value = Double(text), value.isFinite
        else { return nil }
        return value
    }
}
