import CKernels

/// How blurred the image is, 0 (its edges crisp) to 1 (its edges all soft): on the image's
/// strongest edges, the share of their step from one pixel to the next that blurring the image
/// again does not take away, along rows, columns and both diagonals, the largest of the four
/// (the re-blur measure of Crété-Roffet et al., "The blur effect", 2007, on the strongest edges
/// only).
///
/// Re-blurring a sharp edge with a 5-pixel mean flattens its step; re-blurring an edge that is
/// already soft changes it little. Five pixels, not the paper's nine: at the analysis scale a
/// one-pixel defocus changes a 5-pixel re-blur's result far more than a 9-pixel one's. On the
/// label bench's tuning half, at a threshold letting one untouched photo through (a long
/// exposure), the softest blur (1/256 of the long side) was caught on 74% with nine pixels and on
/// all 42 with five. A ratio does not depend on contrast, and it does not turn
/// round as blur grows (the two-octave Laplacian ratio intake used before did: once both
/// octaves were flat it read heavy blur as sharp). Only the strongest edges count (the top
/// ``strongestShare`` of neighbour differences): a sharp photo of smooth things (sky, skin,
/// a wall) still has a few crisp edges where its subject is, and averaging over the smooth
/// parts would call it soft. Taking the worst of four directions catches motion blur, which
/// softens one direction most.
///
/// Measured at the analysis scale (256 pixels on the long side), so "blurred" means blurred at
/// the size the derivative is kept at; and, when the strongest edges there step by only a few
/// grey levels, again at half and a quarter of it, the largest counting: a blur so heavy that
/// its edges step by a grey level or so at 256 (where rounding to whole grey levels would make
/// it look crisp) still has steps to judge there. Shrinking sharpens, so a sharp photo stays
/// sharp at every scale. An image with nothing to judge (flat at every scale, or 10 pixels
/// a side or fewer) measures 0, as sharp: with no edges, "blurred" would say nothing useful.
enum Sharpness {
    /// The re-blur's length, in pixels of the plane measured.
    static let reblurTaps = 5
    /// The share of neighbour differences, the largest, that are judged: 2%, for at 5% the
    /// smooth parts of sharp photos count too. On the tuning half, untouched photos (but one long
    /// exposure) measured up to 0.48 at 5% and 0.39 at 2%; the least of a softened photo, 0.44.
    static let strongestShare = 0.02
    /// Rows, columns and both diagonals: motion blur in any direction softens at least one.
    static let directions = [(1, 0), (0, 1), (1, 1), (1, -1)]
    /// The analysis scale, then half and a quarter of it.
    static let scales = 3
    /// Edges whose strongest steps are this many grey levels or fewer, in every direction, are
    /// faint enough for rounding to matter: the next scale is measured too.
    static let faintStep = 3

    static func measure(_ image: AnalysisImage) -> Double {
        // One step a pixel, for each direction in turn.
        let steps = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: image.pixelCount)
        defer { steps.deallocate() }
        var blur = 0.0
        /// Measures one scale into `blur`; true when its strongest steps are faint in every direction.
        func measureScale(_ luma: UnsafeBufferPointer<UInt8>, width: Int, height: Int) -> Bool {
            var faint = true
            for (dx, dy) in directions {
                guard let measured = directional(luma, width: width, height: height, dx: dx, dy: dy, scratch: steps) else { continue }
                blur = max(blur, measured.blur)
                if measured.strongestStep > faintStep { faint = false }
            }
            return faint
        }
        // The analysis scale is measured where it lies; only the coarser ones are made.
        var coarser: [UInt8]?
        var width = image.width, height = image.height
        func withPlane<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
            coarser.map { $0.withUnsafeBufferPointer(body) } ?? body(UnsafeBufferPointer(image.luma))
        }
        for _ in 0..<scales {
            guard width > 2 * reblurTaps, height > 2 * reblurTaps else { break }
            // Coarser scales only add to what the finer ones saw when rounding could hide a blur.
            guard withPlane({ measureScale($0, width: width, height: height) }) else { break }
            coarser = withPlane { halved($0, width: width, height: height) }
            width /= 2
            height /= 2
        }
        return blur
    }

    /// 1 − (step lost to the re-blur) / (step), summed over the strongest edges along one
    /// direction; nil when those edges are too faint to judge.
    ///
    /// The 5-pixel mean's step between a pixel p and its neighbour p − d telescopes to
    /// (I(p + 2d) − I(p − 3d)) / 5, so no blurred copy is made: each pixel far enough from the
    /// border that both lie inside is judged. The passes are CKernels' `intake_reblur_directional`:
    /// the steps, the threshold that the strongest share of them reach, then the sums over those.
    private static func directional(
        _ luma: UnsafeBufferPointer<UInt8>, width: Int, height: Int, dx: Int, dy: Int, scratch: UnsafeMutableBufferPointer<UInt8>
    ) -> (blur: Double, strongestStep: Int)? {
        let ahead = reblurTaps / 2, behind = ahead + 1
        let xRange = (behind * max(0, dx) + ahead * max(0, -dx))..<(width - ahead * max(0, dx) - behind * max(0, -dx))
        let yRange = (behind * max(0, dy) + ahead * max(0, -dy))..<(height - ahead * max(0, dy) - behind * max(0, -dy))
        guard !xRange.isEmpty, !yRange.isEmpty else { return nil }
        let wanted = max(1, Int(Double(xRange.count * yRange.count) * strongestShare))
        var cutoff: Int32 = 0, total: Int64 = 0, kept: Int64 = 0
        guard
            intake_reblur_directional(
                luma.baseAddress, Int32(width), Int32(xRange.lowerBound), Int32(xRange.upperBound), Int32(yRange.lowerBound),
                Int32(yRange.upperBound), Int32(dx), Int32(dy), Int32(reblurTaps), Int32(wanted), scratch.baseAddress,
                &cutoff, &total, &kept)
        else { return nil }
        return (1 - Double(kept) / Double(total), Int(cutoff))
    }
}

/// `luma` (`width` × `height`) halved: each pixel the rounded mean of a 2×2 block.
private func halved(_ luma: UnsafeBufferPointer<UInt8>, width: Int, height: Int) -> [UInt8] {
    let halfWidth = width / 2, halfHeight = height / 2
    var half = [UInt8](repeating: 0, count: halfWidth * halfHeight)
    for y in 0..<halfHeight {
        for x in 0..<halfWidth {
            let top = 2 * y * width + 2 * x, bottom = top + width
            let sum = Int(luma[top]) + Int(luma[top + 1]) + Int(luma[bottom]) + Int(luma[bottom + 1])
            half[y * halfWidth + x] = UInt8((sum + 2) / 4)
        }
    }
    return half
}
