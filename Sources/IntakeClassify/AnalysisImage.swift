import CKernels
import IntakeCodecs

/// The normalised copy every built-in measure works on: the image area-averaged so that its long
/// side is at most ``longSide``, with luma, chroma, packed colour, a red mask and histograms, all
/// made by CKernels' `intake_analysis_reduce` (whose loops the C compiler vectorises; Swift's did
/// not, and took twice as long).
///
/// One fixed scale makes a threshold mean the same whether a JPEG was decoded at 1/8 or at full
/// size, and it is the scale of the 256-pixel derivative the images are kept for. (With a cap of
/// 512 the meter evidence of the corpus separated less well, and the work quadruples.) The
/// averaging is done over whole-pixel bins — each source pixel counts towards exactly one
/// analysis pixel — which reads every source pixel once and costs a fraction of exact
/// fractional-weight resampling; for statistics the difference does not show.
final class AnalysisImage {
    /// The long side of the analysis copy; smaller images are analysed as they are.
    static let longSide = 256
    /// Chroma up to which a pixel counts as colourless (paper, a dial face).
    static let paleChroma = 30

    let width: Int
    let height: Int
    /// BT.601 luma, 0–255, one byte a pixel, rows top to bottom.
    let luma: UnsafeMutableBufferPointer<UInt8>
    /// Largest minus smallest of R, G and B: 0 for greys.
    let chroma: UnsafeMutableBufferPointer<UInt8>
    /// R << 16 | G << 8 | B, to compare colours in one step.
    let colour: UnsafeMutableBufferPointer<UInt32>
    /// 1 where the pixel is red, else 0: red clearly above green and blue, by more than 20 and by
    /// more than 12% of red itself. That keeps the washed-out red of a cheap camera's pointer and
    /// leaves out browns, skin in shade and greys.
    let red: UnsafeMutableBufferPointer<UInt8>
    /// How many red pixels each row has, so that searches for red skip the rows without.
    let redPerRow: [Int]
    /// How many pixels have each luma.
    let lumaHistogram: [Int]
    /// How many pixels with chroma up to ``paleChroma`` have each luma.
    let paleLumaHistogram: [Int]
    /// How many pixels have each value of red, of green and of blue: 768 counts, in that order.
    let channelHistograms: [Int]
    /// Sum of chroma over all pixels.
    let chromaSum: Int

    var pixelCount: Int { width * height }

    init(_ image: RGBImage) {
        let fitted = BoxFit.size(width: image.width, height: image.height, box: Self.longSide)
        let width = min(fitted.width, image.width), height = min(fitted.height, image.height)
        self.width = width
        self.height = height
        let count = width * height
        luma = .allocate(capacity: count)
        chroma = .allocate(capacity: count)
        colour = .allocate(capacity: count)
        red = .allocate(capacity: count)
        var redPerRow = [Int32](repeating: 0, count: height)
        var lumaCounts = [Int32](repeating: 0, count: 256), paleCounts = [Int32](repeating: 0, count: 256)
        var channelCounts = [Int32](repeating: 0, count: 768), chromaSum: Int64 = 0
        let reduced = intake_analysis_reduce(
            image.storage.base, Int32(image.width), Int32(image.height), Int32(width), Int32(height), Int32(Self.paleChroma),
            luma.baseAddress, chroma.baseAddress, colour.baseAddress, red.baseAddress, &redPerRow, &lumaCounts, &paleCounts,
            &channelCounts, &chromaSum)
        // Its scratch is a few rows of the source: the decode before it took far more.
        precondition(reduced, "out of memory for the analysis copy's scratch rows")
        self.redPerRow = redPerRow.map(Int.init)
        lumaHistogram = lumaCounts.map(Int.init)
        paleLumaHistogram = paleCounts.map(Int.init)
        channelHistograms = channelCounts.map(Int.init)
        self.chromaSum = Int(chromaSum)
    }

    deinit {
        luma.deallocate()
        chroma.deallocate()
        colour.deallocate()
        red.deallocate()
    }
}
