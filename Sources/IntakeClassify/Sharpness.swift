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
        var plane = LumaPlane(values: Array(image.luma), width: image.width, height: image.height)
        var blur = 0.0
        for _ in 0..<scales {
            guard plane.width > 2 * reblurTaps, plane.height > 2 * reblurTaps else { break }
            var faint = true
            plane.values.withUnsafeBufferPointer { luma in
                for (dx, dy) in directions {
                    guard let measured = directional(luma, width: plane.width, height: plane.height, dx: dx, dy: dy) else { continue }
                    blur = max(blur, measured.blur)
                    if measured.strongestStep > faintStep { faint = false }
                }
            }
            // Coarser scales only add to what the finer ones saw when rounding could hide a blur.
            guard faint else { break }
            plane = plane.halved()
        }
        return blur
    }

    /// 1 − (step lost to the re-blur) / (step), summed over the strongest edges along one
    /// direction; nil when those edges are too faint to judge.
    ///
    /// The 5-pixel mean's step between a pixel p and its neighbour p − d telescopes to
    /// (I(p + 2d) − I(p − 3d)) / 5, so no blurred copy is made: each pixel far enough from the
    /// border that both lie inside is judged. Two passes: the first finds how large a step must
    /// be to count among the strongest, the second adds those up.
    private static func directional(
        _ luma: UnsafeBufferPointer<UInt8>, width: Int, height: Int, dx: Int, dy: Int
    ) -> (blur: Double, strongestStep: Int)? {
        let ahead = reblurTaps / 2, behind = ahead + 1
        let xRange = (behind * max(0, dx) + ahead * max(0, -dx))..<(width - ahead * max(0, dx) - behind * max(0, -dx))
        let yRange = (behind * max(0, dy) + ahead * max(0, -dy))..<(height - ahead * max(0, dy) - behind * max(0, -dy))
        guard !xRange.isEmpty, !yRange.isEmpty else { return nil }
        let offset = dy &* width &+ dx
        var histogram = [Int](repeating: 0, count: 256)
        histogram.withUnsafeMutableBufferPointer { histogram in
            for y in yRange {
                let row = y &* width
                for x in xRange {
                    let p = row &+ x
                    histogram[Int(abs(Int32(luma[p]) &- Int32(luma[p &- offset])))] &+= 1
                }
            }
        }
        // The smallest step among the strongest share.
        var wanted = max(1, Int(Double(xRange.count * yRange.count) * strongestShare)), cutoff = 255
        while cutoff > 0 && wanted > histogram[cutoff] {
            wanted -= histogram[cutoff]
            cutoff -= 1
        }
        guard cutoff >= 1 else { return nil }
        let taps = Int32(reblurTaps), threshold = Int32(cutoff)
        var total = 0, kept = 0
        for y in yRange {
            let row = y &* width
            for x in xRange {
                let p = row &+ x
                let step = abs(Int32(luma[p]) &- Int32(luma[p &- offset]))
                guard step >= threshold else { continue }
                // Both ×9: the step, and the re-blurred image's step at the same place.
                let reblurred = abs(Int32(luma[p &+ ahead &* offset]) &- Int32(luma[p &- behind &* offset]))
                total &+= Int(step &* taps)
                kept &+= Int(max(0, step &* taps &- reblurred))
            }
        }
        guard total > 0 else { return nil }
        return (1 - Double(kept) / Double(total), cutoff)
    }
}

/// A luma plane that can be halved (each pixel the rounded mean of a 2×2 block).
private struct LumaPlane {
    var values: [UInt8]
    let width: Int, height: Int

    func halved() -> LumaPlane {
        let halfWidth = width / 2, halfHeight = height / 2
        var half = [UInt8](repeating: 0, count: halfWidth * halfHeight)
        for y in 0..<halfHeight {
            for x in 0..<halfWidth {
                let top = 2 * y * width + 2 * x, bottom = top + width
                let sum = Int(values[top]) + Int(values[top + 1]) + Int(values[bottom]) + Int(values[bottom + 1])
                half[y * halfWidth + x] = UInt8((sum + 2) / 4)
            }
        }
        return LumaPlane(values: half, width: halfWidth, height: halfHeight)
    }
}
