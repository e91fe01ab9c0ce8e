import CKernels

/// What sets a screen capture apart from a camera picture: large areas of exactly one colour,
/// hard edges between them, and none of the sensor grain that keeps a photo's smooth areas from
/// being perfectly flat.
struct ScreenshotMeasure {
    /// Fraction of pixels whose colour equals that of their right and lower neighbours.
    let flatFraction: Double
    /// Among pixels whose luma barely changes towards their neighbours, the share that changes by
    /// 1–3 rather than not at all: a camera's grain, or the soft shading of a lit surface. Screens
    /// of the corpus measure under 0.06, photos (studio shots on plain backgrounds included) over
    /// 0.09. A screen striped in shades 5 apart or less, reduced to the analysis scale, blends
    /// its stripes' borders into steps of 1–3 and can measure as grain.
    let noise: Double
    /// Fraction of pixels where luma jumps by 40 or more towards a neighbour.
    let edgeFraction: Double

    /// The counts are CKernels' `intake_screenshot_counts`, which the compiler vectorises.
    init(_ image: AnalysisImage) {
        var flat: Int32 = 0, still: Int32 = 0, grain: Int32 = 0, edges: Int32 = 0
        intake_screenshot_counts(
            image.luma.baseAddress, image.colour.baseAddress, Int32(image.width), Int32(image.height),
            &flat, &still, &grain, &edges)
        let count = Double(max(1, (image.width - 1) * (image.height - 1)))
        flatFraction = Double(flat) / count
        noise = still + grain == 0 ? 1 : Double(grain) / Double(still + grain)
        edgeFraction = Double(edges) / count
    }

    /// Flat colour, no grain and hard edges, all three at once.
    var confidence: Double {
        Confidence.all(
            Confidence.above(flatFraction, 0.30, width: 0.04),
            Confidence.below(noise, 0.07, width: 0.01),
            Confidence.above(edgeFraction, 0.02, width: 0.005))
    }
}
