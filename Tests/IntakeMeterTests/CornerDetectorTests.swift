@testable import IntakeMeter
import Testing

/// The landmark detector screens sixteen pixels at a time (two neighbouring compass points must
/// pass) before its FAST-9 test: here the whole is checked against the test written out one pixel
/// at a time, on planes with every kind of corner, so that no faster screen may lose a corner.
@Suite struct CornerDetectorTests {
    /// Random bright and dark rectangles and discs on a mid-grey ground, with a little noise:
    /// corners of both signs, edges that are not corners, flat areas, and all of it up to the borders.
    /// `quantized`: every value a multiple of FAST's threshold, so that many circle pixels differ
    /// from their centre by exactly the threshold, which is not enough: the comparisons are strict.
    static func plane(width: Int, height: Int, seed: UInt64, quantized: Bool = false) -> AlignGrayPlane {
        var random = SplitMix64(seed)
        func uniform(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + (range.upperBound - range.lowerBound) * Double(random.next() >> 11) / Double(1 << 53)
        }
        var plane = AlignGrayPlane(width: width, height: height)
        for i in plane.pixels.indices { plane.pixels[i] = 128 }
        for shape in 0..<150 {
            let x = uniform(0...Double(width)), y = uniform(0...Double(height)), size = uniform(2...10), value = Float(uniform(0...255))
            for py in max(0, Int(y - size))..<min(height, Int(y + size)) {
                for px in max(0, Int(x - size))..<min(width, Int(x + size)) {
                    let dx = Double(px) - x, dy = Double(py) - y
                    if shape % 2 == 0 || dx * dx + dy * dy <= size * size { plane.pixels[py * width + px] = value }
                }
            }
        }
        for i in plane.pixels.indices { plane.pixels[i] = max(0, min(255, plane.pixels[i] + Float(uniform(-4...4)))) }
        if quantized {
            let step = LandmarkDetector.fastThreshold
            for i in plane.pixels.indices { plane.pixels[i] = (plane.pixels[i] / step).rounded() * step }
        }
        return plane
    }

    /// FAST-9 one pixel at a time: nine contiguous pixels of the circle, wrapping around, all
    /// brighter than the centre plus the threshold or all darker than it less the threshold.
    static func isCorner(_ plane: AlignGrayPlane, _ x: Int, _ y: Int) -> Bool {
        let centre = plane.pixels[y * plane.width + x], threshold = LandmarkDetector.fastThreshold
        let ring = LandmarkDetector.circle.map { plane.pixels[(y + $0.1) * plane.width + x + $0.0] }
        for sign: Float in [1, -1] {
            for start in 0..<16 where (0..<9).allSatisfy({ sign * (ring[(start + $0) % 16] - centre) > threshold }) { return true }
        }
        return false
    }

    /// The Harris corner measure over a 5×5 window of central-difference gradients, summed in
    /// reading order: the detector's C kernel must give the same floats.
    static func harris(_ p: UnsafePointer<Float>, width: Int, x: Int, y: Int) -> Float {
        var xx: Float = 0, yy: Float = 0, xy: Float = 0
        for dy in -2...2 {
            for dx in -2...2 {
                let i = (y + dy) * width + x + dx
                let gx = p[i + 1] - p[i - 1], gy = p[i + width] - p[i - width]
                xx += gx * gx
                yy += gy * gy
                xy += gx * gy
            }
        }
        let response = xx * yy - xy * xy - 0.04 * (xx + yy) * (xx + yy)
        return max(response, Float.leastNonzeroMagnitude)
    }

    /// Every local maximum of the Harris score among the FAST corners, strongest first, as
    /// `corners(in:keep:)` lists them when it may keep them all.
    static func expectedCorners(_ plane: AlignGrayPlane) -> [(x: Int, y: Int, score: Float)] {
        let width = plane.width, border = LandmarkDetector.border
        var score = [Float](repeating: 0, count: plane.pixels.count)
        plane.pixels.withUnsafeBufferPointer { p in
            for y in border..<(plane.height - border) {
                for x in border..<(width - border) where isCorner(plane, x, y) {
                    score[y * width + x] = Self.harris(p.baseAddress!, width: width, x: x, y: y)
                }
            }
        }
        var found: [(x: Int, y: Int, score: Float)] = []
        for (i, s) in score.enumerated() where s > 0 {
            guard score[i - width - 1] < s, score[i - width] < s, score[i - width + 1] < s, score[i - 1] < s,
                score[i + 1] <= s, score[i + width - 1] <= s, score[i + width] <= s, score[i + width + 1] <= s
            else { continue }
            found.append((i % width, i / width, s))
        }
        return found.sorted { $0.score > $1.score || ($0.score == $1.score && ($0.y, $0.x) < ($1.y, $1.x)) }
    }

    @Test(arguments: [(160, 120, UInt64(1), false), (203, 97, UInt64(2), false), (77, 301, UInt64(3), false), (160, 120, UInt64(4), true)])
    func theSixteenAtATimeTestFindsWhatThePixelByPixelTestFinds(width: Int, height: Int, seed: UInt64, quantized: Bool) {
        let plane = Self.plane(width: width, height: height, seed: seed, quantized: quantized)
        let expected = Self.expectedCorners(plane)
        let found = LandmarkDetector.corners(in: plane, keep: 1_000_000)
        #expect(expected.count > 20, "the plane has corners to find")
        #expect(found.count == expected.count)
        #expect(zip(found, expected).allSatisfy { $0.x == $1.x && $0.y == $1.y && $0.score == $1.score })
    }
}
