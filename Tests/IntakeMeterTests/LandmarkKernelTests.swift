@testable import IntakeMeter
import Testing

/// The landmark detector's planes are made by C kernels (`landmarks.c`) that must give the same
/// floats as the Swift loops they replaced, to the last bit: the profiles' alignment limits and
/// every reading were measured on those. The replaced loops are kept here as the oracle.
@Suite struct LandmarkKernelTests {
    /// Sizes from the smallest a kernel takes to a photo's odd ones, with the corner test's
    /// rectangles and discs (edges, flat areas, noise), and a plane with values outside 0…255.
    static let planes: [AlignGrayPlane] = [
        CornerDetectorTests.plane(width: 3, height: 3, seed: 11),
        CornerDetectorTests.plane(width: 4, height: 7, seed: 12),
        CornerDetectorTests.plane(width: 160, height: 120, seed: 13),
        CornerDetectorTests.plane(width: 203, height: 97, seed: 14),
        CornerDetectorTests.plane(width: 77, height: 301, seed: 15),
        {
            var wide = CornerDetectorTests.plane(width: 91, height: 33, seed: 16)
            for i in wide.pixels.indices where i % 7 == 0 { wide.pixels[i] = i % 2 == 0 ? -40 : 300 }
            return wide
        }(),
    ]

    static func smoothed(_ plane: AlignGrayPlane) -> AlignGrayPlane {
        let w = plane.width, h = plane.height, p = plane.pixels
        var t = [Float](repeating: 0, count: w * h), out = AlignGrayPlane(width: w, height: h)
        for y in 0..<h {
            let row = y * w
            t[row] = 0.75 * p[row] + 0.25 * p[row + 1]
            for x in 1..<(w - 1) { t[row + x] = 0.25 * (p[row + x - 1] + p[row + x + 1]) + 0.5 * p[row + x] }
            t[row + w - 1] = 0.25 * p[row + w - 2] + 0.75 * p[row + w - 1]
        }
        for y in 0..<h {
            let above = max(y - 1, 0) * w, row = y * w, below = min(y + 1, h - 1) * w
            for x in 0..<w { out.pixels[row + x] = 0.25 * (t[above + x] + t[below + x]) + 0.5 * t[row + x] }
        }
        return out
    }

    static func resampled(_ plane: AlignGrayPlane, width newWidth: Int, height newHeight: Int) -> AlignGrayPlane {
        let w = plane.width, h = plane.height, p = plane.pixels
        var out = AlignGrayPlane(width: newWidth, height: newHeight)
        let sx = Double(w) / Double(newWidth), sy = Double(h) / Double(newHeight)
        for y in 0..<newHeight {
            let fy = max(0, min(Double(h - 1), (Double(y) + 0.5) * sy - 0.5))
            let y0 = min(Int(fy), h - 2 < 0 ? 0 : h - 2), wy = Float(fy - Double(y0)), y1 = min(y0 + 1, h - 1)
            for x in 0..<newWidth {
                let fx = max(0, min(Double(w - 1), (Double(x) + 0.5) * sx - 0.5))
                let x0 = min(Int(fx), w - 2 < 0 ? 0 : w - 2), x1 = min(x0 + 1, w - 1), wx = Float(fx - Double(x0))
                let top = p[y0 * w + x0] * (1 - wx) + p[y0 * w + x1] * wx
                let bottom = p[y1 * w + x0] * (1 - wx) + p[y1 * w + x1] * wx
                out.pixels[y * newWidth + x] = top * (1 - wy) + bottom * wy
            }
        }
        return out
    }

    static func contrastStretched(_ plane: AlignGrayPlane) -> AlignGrayPlane {
        var histogram = [Int](repeating: 0, count: 256)
        for value in plane.pixels { histogram[Int(max(0, min(255, value)))] += 1 }
        let total = plane.pixels.count
        var low = 0, high = 255, running = 0
        for (bin, count) in histogram.enumerated() {
            running += count
            if running > total / 100 { low = bin; break }
        }
        running = 0
        for (bin, count) in histogram.enumerated().reversed() {
            running += count
            if running > total / 100 { high = bin; break }
        }
        var stretched = plane
        let span = Float(max(high - low, 16)), offset = Float(low)
        for i in stretched.pixels.indices { stretched.pixels[i] = max(0, min(255, (stretched.pixels[i] - offset) * 255 / span)) }
        return stretched
    }

    /// Equal as bit patterns, so that a −0 for a 0 or a last-bit rounding would fail.
    static func same(_ a: AlignGrayPlane, _ b: AlignGrayPlane) -> Bool {
        a.width == b.width && a.height == b.height && zip(a.pixels, b.pixels).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    @Test(arguments: planes.indices)
    func smoothingIsTheSwiftLoops(index: Int) {
        let plane = Self.planes[index]
        #expect(Self.same(plane.smoothed(), Self.smoothed(plane)))
    }

    @Test(arguments: planes.indices)
    func contrastStretchingIsTheSwiftLoops(index: Int) {
        let plane = Self.planes[index]
        #expect(Self.same(plane.contrastStretched(), Self.contrastStretched(plane)))
    }

    /// The pyramid's step (1.3 smaller), halving, a little larger, and sizes that share no factor
    /// with the source's, so that output rows reuse, skip and repeat source rows.
    @Test(arguments: planes.indices)
    func resamplingIsTheSwiftLoops(index: Int) {
        let plane = Self.planes[index], w = plane.width, h = plane.height
        let sizes = [
            (Int((Double(w) / 1.3).rounded()), Int((Double(h) / 1.3).rounded())), (w / 2, h / 2), (w + 5, h * 2), (7, 3), (1, 1), (w, h),
        ]
        for (width, height) in sizes where width > 0 && height > 0 {
            #expect(Self.same(plane.resampled(width: width, height: height), Self.resampled(plane, width: width, height: height)),
                    "\(w)×\(h) to \(width)×\(height)")
        }
    }

    /// The descriptor's 256 comparisons, one point at a time, at every orientation step.
    @Test func descriptorsAreTheSwiftComparisons() {
        let plane = Self.planes[3].smoothed(), width = plane.width
        var checked = 0
        for (x, y) in [(20, 20), (101, 48), (182, 76), (57, 33)] {
            for step in 0..<LandmarkDetector.angleSteps {
                let angle = Double(step) * 2 * .pi / Double(LandmarkDetector.angleSteps)
                var found: [UInt64] = [7]
                LandmarkDetector.describe(plane, x, y, angle: angle, into: &found)
                var expected: [UInt64] = [7]
                for word in 0..<4 {
                    var bits: UInt64 = 0
                    for bit in 0..<64 {
                        let (ax, ay, bx, by) = LandmarkDetector.turnedPatterns[step][word * 64 + bit]
                        if plane.pixels[(y + Int(ay)) * width + x + Int(ax)] < plane.pixels[(y + Int(by)) * width + x + Int(bx)] {
                            bits |= 1 << UInt64(bit)
                        }
                    }
                    expected.append(bits)
                }
                #expect(found == expected, "at (\(x), \(y)), step \(step)")
                checked += found[1...].filter { $0 != 0 && $0 != .max }.count
            }
        }
        #expect(checked > 400, "the patches are not flat")
    }

    /// The normalised cross-correlation one position at a time, as `CorrelationPatch` computed it.
    static func correlation(_ patch: CorrelationPatch, in plane: AlignGrayPlane, left: Int, top: Int) -> Double {
        var product = 0.0, sum = 0.0, squares = 0.0
        for y in 0..<patch.height {
            var rowProduct: Float = 0, rowSum: Float = 0, rowSquares: Float = 0
            for x in 0..<patch.width {
                let value = plane.pixels[(top + y) * plane.width + left + x]
                rowProduct += value * patch.values[y * patch.width + x]
                rowSum += value
                rowSquares += value * value
            }
            product += Double(rowProduct)
            sum += Double(rowSum)
            squares += Double(rowSquares)
        }
        let variance = squares - sum * sum / Double(patch.width * patch.height)
        guard variance > 1e-6, patch.norm > 1e-6 else { return 0 }
        return product / (variance.squareRoot() * patch.norm)
    }

    /// Every position of a search, four side by side in the kernel and the rest alone (rows of
    /// 1, 3, 4, 7 and 9 positions), and the best of them with its sub-pixel refinement.
    @Test(arguments: [1, 3, 4, 7, 9])
    func correlationIsTheSwiftSums(columns: Int) {
        let plane = Self.planes[3]
        let patch = CorrelationPatch(AlignGrayPlane(copying: plane, left: 60, top: 30, width: 21, height: 17))
        var expectedBest = (left: 0, top: 0, score: -Double.infinity)
        for top in 25...35 {
            for left in 57..<(57 + columns) {
                let expected = Self.correlation(patch, in: plane, left: left, top: top)
                #expect(patch.correlation(in: plane, left: left, top: top).bitPattern == expected.bitPattern, "at (\(left), \(top))")
                if expected > expectedBest.score { expectedBest = (left, top, expected) }
            }
        }
        let found = patch.bestMatch(in: plane, lefts: 57...(56 + columns), tops: 25...35)
        #expect(found?.score.bitPattern == expectedBest.score.bitPattern)
        #expect(found.map { (Int($0.x.rounded()), Int($0.y.rounded())) } ?? (-1, -1) == (expectedBest.left, expectedBest.top) || columns < 3)
    }
}
