public import IntakeCodecs

/// The measures behind the quality labels (`blurred`, `dark`, `overexposed`, `low_contrast`),
/// as numbers: what `make bench-labels` tunes the thresholds on. ``ImageClassifier`` turns the
/// same numbers into labels.
public struct QualityMeasures: Sendable {
    /// See ``Sharpness``: 0 for an image whose finest detail is all there, towards 1 as blur
    /// removes it.
    public let blur: Double
    /// Mean luma, 0–255.
    public let meanLuma: Double
    /// Luma at the 99th percentile: the brightest hundredth of the picture.
    public let percentile99: Double
    /// Fraction of pixels with luma 250 or more.
    public let clippedFraction: Double
    /// Mean luma of the pixels under 250.
    public let unclippedMean: Double
    /// The widest 95th-minus-5th percentile spread of the red, green and blue channels.
    public let spread: Double
    /// How sure the classifier is that this is a screenshot or a document, which the quality
    /// labels leave alone (a dark-mode screen is not underexposed, a page is meant to be white).
    public let screenshot: Double
    public let document: Double

    init(_ analysis: AnalysisImage, tone: ToneStatistics, screenshot: Double, document: Double) {
        blur = Sharpness.measure(analysis)
        meanLuma = tone.meanLuma
        percentile99 = Double(tone.percentile99)
        clippedFraction = tone.clippedFraction
        unclippedMean = tone.unclippedMean
        spread = Double(tone.colourSpread)
        self.screenshot = screenshot
        self.document = document
    }
}

extension ImageClassifier {
    /// The quality measures of `image` (any decode scale: it is normalised as for the labels).
    public static func qualityMeasures(of image: RGBImage) -> QualityMeasures {
        let analysis = AnalysisImage(image)
        let tone = ToneStatistics(analysis)
        return QualityMeasures(
            analysis, tone: tone, screenshot: ScreenshotMeasure(analysis).confidence,
            document: DocumentMeasure(analysis, tone: tone).confidence)
    }
}
