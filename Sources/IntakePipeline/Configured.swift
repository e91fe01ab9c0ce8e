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
            classification: configuration.classify.thresholds)
    }
}

extension ExternalClassifier {
    /// The configured external classifier, or nil when `external_command` is empty.
    public init?(_ classify: IntakeConfiguration.Classify) {
        guard !classify.externalCommand.isEmpty else { return nil }
        self.init(command: classify.externalCommand, name: classify.externalName, timeoutSeconds: classify.externalTimeoutSeconds)
    }
}
