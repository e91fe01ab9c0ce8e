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

    init(_ image: AnalysisImage) {
        let width = image.width, height = image.height, luma = image.luma, colour = image.colour
        // Three counters packed in one word (21 bits each, enough for 256 × 256 pixels) and a table
        // from luma step to increment: counting without branches, since whether a pixel is flat or
        // grainy is a coin toss to a branch predictor.
        let increments: [UInt64] = (0..<256).map { step in
            step == 0 ? 1 : step <= 3 ? 1 << 21 : step >= 40 ? 1 << 42 : 0
        }
        var flat = 0
        var counters: UInt64 = 0
        increments.withUnsafeBufferPointer { increments in
            for y in 0..<(height - 1) {
                let row = y &* width
                for x in 0..<(width - 1) {
                    let i = row &+ x
                    let right = i &+ 1, below = i &+ width
                    let here = colour[i]
                    flat &+= (here ^ colour[right]) | (here ^ colour[below]) == 0 ? 1 : 0
                    let level = Int32(luma[i])
                    let step = max(abs(Int32(luma[right]) &- level), abs(Int32(luma[below]) &- level))
                    counters &+= increments[Int(step)]
                }
            }
        }
        let mask: UInt64 = (1 << 21) - 1
        let still = Int(counters & mask), grain = Int((counters >> 21) & mask), edges = Int(counters >> 42)
        let count = Double(max(1, (width - 1) * (height - 1)))
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
