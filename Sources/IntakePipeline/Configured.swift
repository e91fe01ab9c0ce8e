public import IntakeConfig
public import IntakeClassify
public import IntakeCore
import IntakeCodecs

extension ProcessingOptions {
    /// The image stages' settings from the daemon's configuration.
    public init(_ configuration: IntakeConfiguration) {
        self.init(
            maxBytes: configuration.limits.maxBytes,
            limits: DecodeLimits(
                maxPixels: configuration.limits.maxPixels, maxWidth: configuration.limits.maxWidth,
                maxHeight: configuration.limits.maxHeight),
            derivativeSize: configuration.derive.size,
            quality: configuration.derive.quality,
            angles: configuration.derive.angles,
            classification: ClassifierThresholds(configuration.classify))
    }
}

extension ClassifierThresholds {
    /// The built-in labels' thresholds from `[classify]`.
    public init(_ classify: IntakeConfiguration.Classify) {
        self.init(
            blur: classify.blur, darkMean: classify.darkMean, darkHighlights: classify.darkHighlights,
            veryDarkMean: classify.veryDarkMean,
            overexposedFraction: classify.overexposedFraction, overexposedMidtones: classify.overexposedMidtones,
            lowContrastSpread: classify.lowContrastSpread, minimumSide: classify.minimumSide, grayscaleChroma: classify.grayscaleChroma,
            meterScore: classify.meterScore, minimumConfidence: classify.minimumConfidence)
    }
}

extension ExternalClassifier {
    /// The configured external classifier, or nil when `external_command` is empty.
    public init?(_ classify: IntakeConfiguration.Classify) {
        guard !classify.externalCommand.isEmpty else { return nil }
        self.init(command: classify.externalCommand, name: classify.externalName, timeoutSeconds: classify.externalTimeoutSeconds)
    }
}
