/// The settings of the built-in labels: where each measure starts to count, and which labels are kept.
///
/// Each threshold is the value of its label's measure at which the confidence is 0.5; the
/// measures are described on ``ImageClassifier``. The defaults were chosen on the shared corpus
/// (everyday photos, camera samples, meter photos, screenshots) and are repeated in
/// `IntakeConfiguration.Classify`, which the configuration file sets.
public struct ClassifierThresholds: Sendable, Equatable {
    /// `blurred`: the sharpness (Laplacian variance at the analysis scale divided by the one at half
    /// that scale) below which an image counts as blurred. Sharp photos measure 0.45–1.4; a 5-pixel
    /// box blur brings them under 0.25.
    public var blurVariance: Double
    /// `dark`: the mean luma (0–255) below which an image counts as dark, together with half its
    /// pixels under 40.
    public var darkMean: Double
    /// `overexposed`: the fraction of pixels with luma 250 or more above which highlights are lost.
    public var overexposedFraction: Double
    /// `low_contrast`: the spread between the 5th and the 95th luma percentile below which an
    /// image is flat.
    public var lowContrastSpread: Double
    /// `too_small`: the original's short side, in pixels, below which it is too small to use.
    public var minimumSide: Int
    /// `grayscale`: the mean chroma (largest minus smallest of R, G, B, averaged over pixels)
    /// below which an image has no colour.
    public var grayscaleChroma: Double
    /// `meter`: the red-dial evidence (0–1) above which an image shows a utility meter.
    public var meterScore: Double
    /// Labels whose confidence is below this are left out.
    public var minimumConfidence: Double

    /// The thresholds used when nothing is configured.
    public static let defaults = ClassifierThresholds()

    /// Creates thresholds; each omitted value takes its default.
    public init(
        blurVariance: Double = 0.30,
        darkMean: Double = 50,
        overexposedFraction: Double = 0.25,
        lowContrastSpread: Double = 40,
        minimumSide: Int = 256,
        grayscaleChroma: Double = 3,
        meterScore: Double = 0.7,
        minimumConfidence: Double = 0.5
    ) {
        self.blurVariance = blurVariance
        self.darkMean = darkMean
        self.overexposedFraction = overexposedFraction
        self.lowContrastSpread = lowContrastSpread
        self.minimumSide = minimumSide
        self.grayscaleChroma = grayscaleChroma
        self.meterScore = meterScore
        self.minimumConfidence = minimumConfidence
    }
}
