public import IntakeConfig
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
            angles: configuration.derive.angles)
    }
}
