/// The units a meter's readings may be written in, and how one converts into another.
///
/// A manual reading carries the unit the person wrote down, a profile the unit its counter
/// shows; the two are compared only when they name the same quantity. Names are compared without
/// case, spaces or superscripts (`m³`, `M3` and `m^3` are one unit). Lower case makes `MWh` and
/// the milliwatt-hour one name; no utility meter counts the latter.
public enum MeterUnit {
    /// The factor that turns a value in `unit` into one in `target`: 1 for the same unit, the
    /// ratio of the two for units of one quantity (litres and cubic metres), nil when they measure
    /// different things or either is unknown and they differ.
    public static func factor(from unit: String, to target: String) -> Double? {
        let from = canonical(unit), to = canonical(target)
        if from == to { return 1 }
        guard let a = scale[from], let b = scale[to], a.quantity == b.quantity else { return nil }
        return a.inBase / b.inBase
    }

    static func canonical(_ unit: String) -> String {
        let text = String(unit.lowercased().compactMap { c -> Character? in
            c.isWhitespace || c == "^" || c == "." ? nil : (c == "³" ? "3" : c)
        })
        return aliases[text] ?? text
    }

    private enum Quantity { case volume, energy }

    /// Each known unit in its quantity's base unit (cubic metres, kilowatt-hours).
    private static let scale: [String: (quantity: Quantity, inBase: Double)] = [
        "m3": (.volume, 1), "l": (.volume, 0.001), "dm3": (.volume, 0.001), "hl": (.volume, 0.1),
        "ft3": (.volume, 0.028316846592), "ccf": (.volume, 2.8316846592), "gal": (.volume, 0.003785411784),
        "kwh": (.energy, 1), "wh": (.energy, 0.001), "mwh": (.energy, 1000), "mj": (.energy, 1 / 3.6), "gj": (.energy, 1000 / 3.6),
    ]

    private static let aliases: [String: String] = [
        "litre": "l", "litres": "l", "liter": "l", "liters": "l", "cbm": "m3", "cubicmetre": "m3", "cubicmetres": "m3",
        "cubicmeter": "m3", "cubicmeters": "m3", "cf": "ft3", "cuft": "ft3", "usgal": "gal", "gallon": "gal", "gallons": "gal",
    ]
}
