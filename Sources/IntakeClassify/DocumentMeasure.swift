import CKernels

/// What sets a page of text apart: a light, colourless background over most of the image, and
/// dark ink arranged in lines at a regular spacing.
///
/// At the analysis scale a line of text is a band a few pixels high, so the lines show as a
/// rhythm in the darkness of successive rows. It is measured in four vertical strips, so a page
/// photographed a few degrees askew still keeps its rhythm within a strip.
struct DocumentMeasure {
    /// Luma of the page: the 90th percentile.
    let paper: Int
    /// Fraction of pixels within 35 of the page's luma and with little colour.
    let pageFraction: Double
    /// Fraction of pixels at least 60 darker than the page.
    let inkFraction: Double
    /// The strongest regular repetition of row darkness, as an autocorrelation (0–1; text lines
    /// measure 0.55–0.6, photos under 0.35).
    let lineRhythm: Double

    init(_ image: AnalysisImage, tone: ToneStatistics) {
        let width = image.width, height = image.height, luma = image.luma
        let paper = tone.percentile90
        self.paper = paper
        var page = 0, ink = 0
        for value in 0..<256 {
            if value >= paper - 35 { page += image.paleLumaHistogram[value] }
            if value <= paper - 60 { ink += image.lumaHistogram[value] }
        }
        pageFraction = Double(page) / Double(image.pixelCount)
        inkFraction = Double(ink) / Double(image.pixelCount)

        let strips = 4
        var peaks: [Double] = []
        for strip in 0..<strips {
            let left = width * strip / strips, right = width * (strip + 1) / strips
            guard right - left >= 4 else { continue }
            // Each row's darkness below the page (CKernels: a loop the compiler vectorises).
            var darkness = [Int64](repeating: 0, count: height)
            intake_row_darkness(luma.baseAddress, Int32(width), Int32(height), Int32(left), Int32(right), Int32(paper), &darkness)
            peaks.append(Self.rhythm(of: darkness.map { Double($0) / Double(right - left) }))
        }
        peaks.sort()
        lineRhythm = peaks.isEmpty ? 0 : (peaks[(peaks.count - 1) / 2] + peaks[peaks.count / 2]) / 2
    }

    /// The highest autocorrelation peak at a lag of 3–14 rows of `profile` with its slow trend removed,
    /// counted only when the correlation went negative at a shorter lag (a true alternation of ink
    /// and gap, not a smooth gradient).
    static func rhythm(of profile: [Double]) -> Double {
        let n = profile.count, radius = 4
        guard n > 2 * radius + 16 else { return 0 }
        var detail = [Double](repeating: 0, count: n)
        for y in 0..<n {
            // The trend is a 9-row mean; at the ends the end row stands in for the missing ones.
            var sum = 0.0
            for k in (y - radius)...(y + radius) { sum += profile[min(n - 1, max(0, k))] }
            detail[y] = profile[y] - sum / Double(2 * radius + 1)
        }
        let energy = detail.reduce(0) { $0 + $1 * $1 }
        guard energy > 1e-6 else { return 0 }
        var correlation = [Double](repeating: 0, count: 16)
        for lag in 1..<16 {
            var sum = 0.0
            for y in 0..<(n - lag) { sum += detail[y] * detail[y + lag] }
            correlation[lag] = sum / energy
        }
        var best = 0.0, lowest = correlation[1]
        for lag in 3...14 {
            lowest = min(lowest, correlation[lag - 1])
            let value = correlation[lag]
            if value > correlation[lag - 1] && value >= correlation[lag + 1] && lowest < -0.1 { best = max(best, value) }
        }
        return best
    }

    /// A light page, some ink but not too much, and text lines, all at once.
    var confidence: Double {
        Confidence.all(
            Confidence.above(Double(paper), 140, width: 8),
            Confidence.above(pageFraction, 0.5, width: 0.05),
            Confidence.above(inkFraction, 0.01, width: 0.004),
            Confidence.below(inkFraction, 0.45, width: 0.04),
            Confidence.above(lineRhythm, 0.4, width: 0.04))
    }
}
