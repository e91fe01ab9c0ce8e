public import IntakeCore

extension IntakeConfiguration {
    /// `[classify]`: the thresholds of the built-in labels and an optional external classifier.
    public struct Classify: Sendable, Equatable {
        /// The built-in labels' thresholds (`blur`, `dark_mean`, … in the file), each the value of
        /// its label's measure at which the label's confidence is 0.5; see `ClassifierThresholds`,
        /// whose defaults are the file's.
        public var thresholds: ClassifierThresholds
        /// The external classifier's program and leading arguments; empty for none.
        public var externalCommand: [String]
        /// The external classifier's name: its labels' source.
        public var externalName: String
        /// How long one run of the external classifier may take.
        public var externalTimeoutSeconds: Double

        /// The longest external classifier name accepted.
        public static let longestExternalName = 100

        /// Creates classify settings; each omitted value takes its default.
        public init(
            thresholds: ClassifierThresholds = .defaults, externalCommand: [String] = [], externalName: String = "external",
            externalTimeoutSeconds: Double = 10
        ) {
            self.thresholds = thresholds
            self.externalCommand = externalCommand
            self.externalName = externalName
            self.externalTimeoutSeconds = externalTimeoutSeconds
        }
    }
}

extension IntakeConfiguration.Classify {
    init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        let defaults = Self(), thresholds = defaults.thresholds
        // blur_variance measured sharpness the other way round (higher was sharper): a value
        // written for it would mean the opposite now, so it is refused by name, not read.
        if section.table["blur_variance"] != nil {
            throw section.error(
                at: "blur_variance",
                "\"\(section.fullKey("blur_variance"))\" is no longer read: blur is now measured by \"blur\" (0 to 1, higher is blurrier; default \(thresholds.blur)); remove blur_variance")
        }
        let blur = try section.number("blur", default: thresholds.blur, in: 0...1, mustBe: "a number from 0 to 1")
        let darkMean = try section.number("dark_mean", default: thresholds.darkMean, in: 0...255, mustBe: "a number from 0 to 255")
        let darkHighlights = try section.number(
            "dark_highlights", default: thresholds.darkHighlights, in: 0...255, mustBe: "a number from 0 to 255")
        let veryDarkMean = try section.number(
            "very_dark_mean", default: thresholds.veryDarkMean, in: 0...255, mustBe: "a number from 0 to 255")
        let overexposed = try section.number(
            "overexposed_fraction", default: thresholds.overexposedFraction, in: 0...1, mustBe: "a fraction from 0 to 1")
        let midtones = try section.number(
            "overexposed_midtones", default: thresholds.overexposedMidtones, in: 0...255, mustBe: "a number from 0 to 255")
        let spread = try section.number(
            "low_contrast_spread", default: thresholds.lowContrastSpread, in: 0...255, mustBe: "a number from 0 to 255")
        let minimumSide = try section.integer(
            "minimum_side", default: thresholds.minimumSide, mustBe: "an integer from 0 (no minimum) to 65500"
        ) { (0...65_500).contains($0) }
        let chroma = try section.number(
            "grayscale_chroma", default: thresholds.grayscaleChroma, in: 0...255, mustBe: "a number from 0 to 255")
        let meterScore = try section.number("meter_score", default: thresholds.meterScore, in: 0...1, mustBe: "a number from 0 to 1")
        let minimumConfidence = try section.number(
            "minimum_confidence", default: thresholds.minimumConfidence, in: 0...1, mustBe: "a number from 0 to 1")
        let command = try section.array(
            "external_command", default: defaults.externalCommand,
            mustBe: "an array of non-empty strings: the program, then its leading arguments ([] for none)"
        ) { element -> String? in
            guard case .string(let word) = element, !word.isEmpty else { return nil }
            return word
        }
        let name = try section.string(
            "external_name", default: defaults.externalName,
            mustBe: "a name of 1 to \(Self.longestExternalName) characters other than \"intake\", which names the built-in labels"
        ) { !$0.isEmpty && $0.count <= Self.longestExternalName && $0 != "intake" }
        let timeout = try section.seconds("external_timeout_seconds", default: defaults.externalTimeoutSeconds)
        try section.rejectUnknownKeys()
        self.init(
            thresholds: ClassifierThresholds(
                blur: blur, darkMean: darkMean, darkHighlights: darkHighlights, veryDarkMean: veryDarkMean,
                overexposedFraction: overexposed, overexposedMidtones: midtones, lowContrastSpread: spread, minimumSide: minimumSide,
                grayscaleChroma: chroma, meterScore: meterScore, minimumConfidence: minimumConfidence),
            externalCommand: command, externalName: name, externalTimeoutSeconds: timeout)
    }
}

extension SectionReader {
    /// A number, written as an integer or a float, within `range`.
    fileprivate mutating func number(
        _ key: String, default defaultValue: Double, in range: ClosedRange<Double>, mustBe requirement: String
    ) throws(ConfigurationError) -> Double {
        recordAsKnown(key)
        guard let value = table[key] else { return defaultValue }
        let number: Double? =
            switch value {
            case .integer(let integer): Double(integer)
            case .float(let float): float
            default: nil
            }
        guard let number, range.contains(number) else {
            throw error(at: key, "\"\(fullKey(key))\" must be \(requirement), got \(TOMLSyntax.render(value: value))")
        }
        return number
    }

    /// A key counts as known once any typed reader has looked it up, whatever it found; the value
    /// itself is read by the caller.
    private mutating func recordAsKnown(_ key: String) {
        _ = try? integer(key, default: 0, mustBe: "") { _ in true }
    }
}
