/// Brightness and colour of the analysis image as a whole, read from its luma histogram.
struct ToneStatistics {
    /// Mean luma, 0–255.
    let meanLuma: Double
    /// Luma at the 5th, 90th and 95th percentiles.
    let percentile5: Int
    let percentile90: Int
    let percentile95: Int
    /// Fraction of pixels with luma under 40: what the eye reads as black.
    let darkFraction: Double
    /// Fraction of pixels with luma 250 or more: highlights with no detail left.
    let clippedFraction: Double
    /// Mean chroma (largest minus smallest of R, G, B).
    let meanChroma: Double

    init(_ image: AnalysisImage) {
        let histogram = image.lumaHistogram, count = image.pixelCount
        var sum = 0, dark = 0, clipped = 0
        for (value, n) in histogram.enumerated() {
            sum += value * n
            if value < 40 { dark += n }
            if value >= 250 { clipped += n }
        }
        func percentile(_ p: Double) -> Int {
            let rank = Int((Double(count - 1) * p).rounded())
            var seen = 0
            for (value, n) in histogram.enumerated() {
                seen += n
                if seen > rank { return value }
            }
            return 255
        }
        let total = Double(count)
        meanLuma = Double(sum) / total
        percentile5 = percentile(0.05)
        percentile90 = percentile(0.90)
        percentile95 = percentile(0.95)
        darkFraction = Double(dark) / total
        clippedFraction = Double(clipped) / total
        meanChroma = Double(image.chromaSum) / total
    }
}
