/// The settings of the built-in labels: where each measure starts to count, and which labels are kept.
///
/// Each threshold is the value of its label's measure at which the confidence is 0.5; the
/// measures are described on `ImageClassifier` (in IntakeClassify). The quality labels' defaults (`blurred`,
/// `dark`, `overexposed`, `low_contrast`) were chosen by `make bench-labels` on the tuning half
/// of the corpus's everyday photos, degraded as cameras and users degrade them; the others on
/// the shared corpus (camera samples, meter photos, screenshots). It lives here, beside neither
/// the classifier nor the configuration, so that both use this one type: the configuration's
/// `[classify]` holds one, which the file's keys set and ``defaults`` fills in.
public struct ClassifierThresholds: Sendable, Equatable {
    /// `blurred`: the blur (see `Sharpness`: the share of the strongest edges' step that survives
    /// re-blurring, 0–1) above which an image counts as blurred. On the label bench's tuning half,
    /// untouched photos measure up to 0.39 (one long exposure 0.54); a Gaussian of 1/256 of the
    /// long side, one pixel at the derivative's size, brings every one over 0.5.
    public var blur: Double
    /// `dark`: the mean luma (0–255) below which an image counts as dark, together with its
    /// 99th percentile under `darkHighlights`. On the label bench's tuning half, underexposed
    /// photos average up to 64, and the untouched photo with the dimmest brightest parts (99th
    /// percentile 166) averages 80; 72 is between.
    public var darkMean: Double
    /// `dark`: the 99th luma percentile below which even the picture's brightest parts are dim.
    /// On the tuning half, underexposed photos keep theirs at 139 or less and no untouched photo
    /// under 166 (the 90th percentile, the measure before, overlapped: an underexposed photo at
    /// 118, an untouched one at 92).
    public var darkHighlights: Double
    /// `dark`: the mean luma below which an image is dark whatever its highlights: a picture
    /// averaging under a sixth of full scale is dark to anyone, a lamp in it or not. The
    /// darkest untouched photo of the tuning half averages 53.
    public var veryDarkMean: Double
    /// `overexposed`: the fraction of pixels with luma 250 or more above which highlights are lost,
    /// together with the rest above `overexposedMidtones`.
    public var overexposedFraction: Double
    /// `overexposed`: the mean luma of the pixels under 250 above which the whole picture is
    /// pushed up, not just a sky or a white background clipped in a well-exposed photo.
    public var overexposedMidtones: Double
    /// `low_contrast`: the widest of the red, green and blue channels' spreads between their 5th
    /// and 95th percentiles, below which an image is flat.
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
        blur: Double = 0.42,
        darkMean: Double = 72,
        darkHighlights: Double = 150,
        veryDarkMean: Double = 40,
        overexposedFraction: Double = 0.12,
        overexposedMidtones: Double = 115,
        lowContrastSpread: Double = 75,
        minimumSide: Int = 256,
        grayscaleChroma: Double = 3,
        meterScore: Double = 0.7,
        minimumConfidence: Double = 0.5
    ) {
        self.blur = blur
        self.darkMean = darkMean
        self.darkHighlights = darkHighlights
        self.veryDarkMean = veryDarkMean
        self.overexposedFraction = overexposedFraction
        self.overexposedMidtones = overexposedMidtones
        self.lowContrastSpread = lowContrastSpread
        self.minimumSide = minimumSide
        self.grayscaleChroma = grayscaleChroma
        self.meterScore = meterScore
        self.minimumConfidence = minimumConfidence
    }
}
