/// Brightness and colour of the analysis image as a whole, read from its luma histogram.
struct ToneStatistics {
    /// Mean luma, 0–255.
    let meanLuma: Double
    /// Luma at the 90th percentile: the picture's bright parts.
    let percentile90: Int
    /// Luma at the 99th percentile: the brightest hundredth of the picture, as bright as the
    /// exposure let anything be.
    let percentile99: Int
    /// Fraction of pixels with luma 250 or more: highlights with no detail left.
    let clippedFraction: Double
    /// Mean luma of the pixels under 250: how bright the picture is where it still has detail;
    /// 255 when under a tenth of the picture is left unclipped (nothing left to judge).
    let unclippedMean: Double
    /// The widest of the red, green and blue channels' 5th-to-95th percentile spreads: contrast
    /// as the eye sees it, in colour too (a red door against its dark frame has little luma
    /// contrast and plenty of red).
    let colourSpread: Int
    /// Mean chroma (largest minus smallest of R, G, B).
    let meanChroma: Double

    init(_ image: AnalysisImage) {
        let histogram = image.lumaHistogram, count = image.pixelCount
        var sum = 0, clipped = 0, clippedSum = 0
        for (value, n) in histogram.enumerated() {
            sum += value * n
            if value >= 250 {
                clipped += n
                clippedSum += value * n
            }
        }
        let total = Double(count)
        meanLuma = Double(sum) / total
        percentile90 = Self.percentile(0.90, of: histogram, count: count)
        percentile99 = Self.percentile(0.99, of: histogram, count: count)
        clippedFraction = Double(clipped) / total
        unclippedMean = (count - clipped) * 10 >= count ? Double(sum - clippedSum) / Double(count - clipped) : 255
        meanChroma = Double(image.chromaSum) / total
        let channels = image.channelHistograms
        colourSpread = (0..<3).map { channel in
            let histogram = Array(channels[(channel * 256)..<((channel + 1) * 256)])
            return Self.percentile(0.95, of: histogram, count: count) - Self.percentile(0.05, of: histogram, count: count)
        }.max() ?? 0
    }

    /// The value at fraction `p` of the way through a histogram of `count` values.
    static func percentile(_ p: Double, of histogram: [Int], count: Int) -> Int {
        let rank = Int((Double(count - 1) * p).rounded())
        var seen = 0
        for (value, n) in histogram.enumerated() {
            seen += n
            if seen > rank { return value }
        }
        return 255
    }
}
