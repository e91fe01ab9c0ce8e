public import IntakeCodecs
public import IntakeCore

/// The built-in labels: how usable an image is, its shape, and what kind of picture it is.
///
/// Every measure is taken on one normalised copy (see ``labels(for:originalWidth:originalHeight:thresholds:)``)
/// and turned into a confidence by a logistic curve that is 0.5 at its threshold; labels below
/// ``ClassifierThresholds/minimumConfidence`` are left out. The labels, their measures and how
/// they map to 0–1:
///
/// - `blurred`: the blur of the strongest edges (see `Sharpness`) above `blur` (width 0.02).
/// - `dark`: the less sure of mean luma under `darkMean` (width 5) and the 99th luma percentile
///   under `darkHighlights` (width 5): the picture is dim and not even its brightest hundredth
///   is bright, as an underexposed photo is (two stops under, white itself is 118 of 255),
///   unlike a low-key one (a night street, a face lit in the dark), whose few bright parts are
///   as bright as any; or, surer of the two, mean luma under `veryDarkMean` (width 5) whatever
///   the highlights: a photo sunk mostly into black may keep a lamp or two.
/// - `overexposed`: the less sure of the fraction of pixels with luma ≥ 250 above
///   `overexposedFraction` (width 0.02) and the mean luma of the others above
///   `overexposedMidtones` (width 5): highlights blown over a meaningful area and the rest of
///   the picture pushed up with them, not a blown sky or a white background in a well-exposed
///   photo.
/// - `low_contrast`: the widest of the red, green and blue channels' 95th-minus-5th percentile
///   spreads under `lowContrastSpread` (width 4): contrast in colour counts as the eye counts it.
/// - `too_small`: the original's short side under `minimumSide`; 0.5 + 0.5 × the missing share of
///   `minimumSide`, so just under is 0.5 and a 1-pixel image nearly 1.
/// - `grayscale`: mean chroma under `grayscaleChroma` (width 0.75).
/// - `portrait`, `landscape` or `square` (within ±5%): exactly one, confidence 1.
/// - `document`: a light colourless page over half the image, 1–45% ink, and text lines (see
///   `DocumentMeasure`); the least sure of those conditions.
/// - `screenshot`: flat colour over 30% of the image, no sensor grain, hard edges (see
///   `ScreenshotMeasure`); the least sure of those conditions.
/// - `blank`: an empty frame (a lens cap, a wall of fog, a white card, a failed capture): the
///   widest channel spread under `blankSpread` (4 levels of 255, width 1), where JPEG noise on a
///   flat colour stays. Its exposure labels stay, as they still say what the frame is.
/// - `photo`: 1 − the largest of the `document`, `screenshot` and `blank` confidences.
/// - `meter`: red-dial evidence above `meterScore` (width 0.05), with a box around the dials (see
///   `MeterDetector`).
///
/// Exposure and focus (`dark`, `overexposed`, `low_contrast`, `blurred`) describe a camera's
/// picture, so their confidences are multiplied by 1 − the `screenshot` confidence: a dark-mode
/// screen is not underexposed. `overexposed` is multiplied by 1 − the `document` confidence too,
/// since a page is meant to be white.
public enum ImageClassifier {
    /// What every built-in label gives as its source.
    public static let source = "intake"
    /// The widest channel spread (95th minus 5th percentile) at which a frame is as likely blank
    /// as not: a flat colour saved as JPEG spreads by 0–2, and the flattest photo of the label
    /// bench's corpus by far more (see `blank` above). Fixed, not configured: an empty frame is
    /// empty whatever the collection.
    static let blankSpread = 4.0

    /// The built-in labels of `image`, the decoded upright picture at whatever scale it was
    /// decoded, whose original is stored as `originalWidth` × `originalHeight`.
    ///
    /// The image is area-averaged once to at most 256 pixels on its long side (the size of the
    /// derivative, which every decode reaches), so a threshold means the same at every decode scale;
    /// boxes are given in pixels of the upright original.
    public static func labels(
        for image: RGBImage, originalWidth: Int, originalHeight: Int,
        thresholds: ClassifierThresholds = .defaults
    ) -> [Label] {
        let analysis = AnalysisImage(image)
        let upright = UprightSize(
            imageWidth: image.width, imageHeight: image.height, originalWidth: originalWidth, originalHeight: originalHeight)
        let tone = ToneStatistics(analysis)
        let screenshot = ScreenshotMeasure(analysis).confidence
        let document = DocumentMeasure(analysis, tone: tone).confidence
        let meter = MeterDetector(analysis)
        let photographic = 1 - screenshot

        var found: [Label] = []
        func add(_ name: String, _ confidence: Double, box: LabelBox? = nil) {
            guard confidence >= thresholds.minimumConfidence else { return }
            // Rounded so that stored and compared values do not carry noise in the last digits.
            found.append(Label(name: name, confidence: (confidence * 1000).rounded() / 1000, source: source, box: box))
        }

        let quality = QualityMeasures(analysis, tone: tone, screenshot: screenshot, document: document)
        add("blurred", photographic * Confidence.above(quality.blur, thresholds.blur, width: 0.02))
        add(
            "dark",
            photographic
                * max(
                    Confidence.all(
                        Confidence.below(quality.meanLuma, thresholds.darkMean, width: 5),
                        Confidence.below(quality.percentile99, thresholds.darkHighlights, width: 5)),
                    Confidence.below(quality.meanLuma, thresholds.veryDarkMean, width: 5)))
        add(
            "overexposed",
            photographic * (1 - document)
                * Confidence.all(
                    Confidence.above(quality.clippedFraction, thresholds.overexposedFraction, width: 0.02),
                    Confidence.above(quality.unclippedMean, thresholds.overexposedMidtones, width: 5)))
        add(
            "low_contrast",
            photographic * Confidence.below(quality.spread, thresholds.lowContrastSpread, width: 4))
        let shortSide = min(upright.width, upright.height)
        if shortSide < thresholds.minimumSide {
            add("too_small", 0.5 + 0.5 * Double(thresholds.minimumSide - shortSide) / Double(thresholds.minimumSide))
        }
        add("grayscale", Confidence.below(tone.meanChroma, thresholds.grayscaleChroma, width: 0.75))

        add(upright.shape, 1)

        let blank = Confidence.below(quality.spread, blankSpread, width: 1)
        add("blank", blank)
        add("document", document)
        add("screenshot", screenshot)
        add("photo", 1 - max(document, screenshot, blank))
        add(
            "meter", Confidence.above(meter.evidence, thresholds.meterScore, width: 0.05),
            box: meter.dialArea.map { box(of: $0, analysis: analysis, upright: upright) })
        return found
    }

    /// `area` in analysis pixels, clipped to the image, as a box in pixels of the upright original.
    private static func box(
        of area: (left: Int, top: Int, right: Int, bottom: Int), analysis: AnalysisImage, upright: UprightSize
    ) -> LabelBox {
        let scaleX = Double(upright.width) / Double(analysis.width)
        let scaleY = Double(upright.height) / Double(analysis.height)
        let left = max(0, area.left), top = max(0, area.top)
        let right = min(analysis.width - 1, area.right), bottom = min(analysis.height - 1, area.bottom)
        return LabelBox(
            x: (Double(left) * scaleX).rounded(), y: (Double(top) * scaleY).rounded(),
            width: (Double(right - left + 1) * scaleX).rounded(), height: (Double(bottom - top + 1) * scaleY).rounded())
    }
}
