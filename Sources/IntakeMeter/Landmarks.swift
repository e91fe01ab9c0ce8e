#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import CKernels
import IntakeCodecs

/// One distinctive point of a picture (a corner of a numeral, a washer's rim, a print's edge),
/// described so that it can be recognised in another picture whatever the camera's turn, distance
/// and exposure: an oriented binary descriptor (ORB: FAST corners ranked by the Harris measure,
/// turned by their intensity centroid, 256 brightness comparisons of a smoothed patch).
struct Landmark: Sendable {
    /// Position in the picture's own pixels (level 0).
    var x: Double
    var y: Double
    /// Pyramid level it was found at; its size in level-0 pixels is `LandmarkDetector.levelScale^level`.
    var level: Int
    /// Orientation, radians, y down.
    var angle: Double
    var score: Float
}

/// Landmarks of one picture with their descriptors, `descriptors[4i…4i+3]` for `landmarks[i]`.
struct LandmarkSet: Sendable {
    var landmarks: [Landmark] = []
    var descriptors: [UInt64] = []

    var count: Int { landmarks.count }
}

/// Finds landmarks over a pyramid of a grey plane. Deterministic: the sampling pattern comes from
/// a fixed seed, so the same picture always gives the same landmarks.
enum LandmarkDetector {
    /// Each pyramid level is this much smaller than the one before: fine enough steps that a
    /// descriptor still matches between neighbouring levels (BRIEF tolerates about ±20%).
    static let levelScale = 1.3
    /// The levels a reference is searched at (sizes 1 to 2.9) and those a photo is: from 1.3 to
    /// 4.8, which meet the reference's for a meter 0.6 to 1.6 times as large, and spare the
    /// photo's largest level, which costs as much as all the others.
    static let referenceLevels = 0...4
    static let photoLevels = 1...6
    /// FAST threshold on the contrast-stretched plane (0…255).
    static let fastThreshold: Float = 15
    /// Pixels kept clear of each level's edge: the rotated sampling pattern reaches 13·√2.
    static let border = 20
    static let patchRadius = 15

    /// The landmarks of `plane`, at most `maximum`, spread over the picture and its levels.
    /// `keep` may refuse a landmark by its level-0 position and size (the reference's black
    /// corners, its digit windows).
    static func detect(_ plane: AlignGrayPlane, maximum: Int, levels wanted: ClosedRange<Int>,
                       keep: (_ x: Double, _ y: Double, _ size: Double) -> Bool = { _, _, _ in true }) -> LandmarkSet
    {
        // Each level's smoothed plane serves twice: the descriptors are sampled on it, and the
        // next level is resampled from it.
        var levels: [(plane: AlignGrayPlane, smooth: AlignGrayPlane)] = []
        var level = plane.contrastStretched()
        for index in 0...wanted.upperBound {
            let smooth = level.smoothed()
            levels.append((level, smooth))
            let width = Int((Double(level.width) / levelScale).rounded()), height = Int((Double(level.height) / levelScale).rounded())
            guard index < wanted.upperBound, width > 2 * border + 8, height > 2 * border + 8 else { break }
            level = smooth.resampled(width: width, height: height)
        }
        let totalArea = levels.indices.filter(wanted.contains).reduce(0) { $0 + levels[$1].plane.width * levels[$1].plane.height }
        var result = LandmarkSet()
        var scale = 1.0
        for (index, (level, smooth)) in levels.enumerated() {
            defer { scale *= levelScale }
            guard wanted.contains(index) else { continue }
            let share = max(8, maximum * level.width * level.height / max(1, totalArea))
            for corner in corners(in: level, keep: share) {
                let x = (Double(corner.x) + 0.5) * scale - 0.5, y = (Double(corner.y) + 0.5) * scale - 0.5
                guard keep(x, y, Double(border) * scale) else { continue }
                let angle = orientation(smooth, corner.x, corner.y)
                result.landmarks.append(Landmark(x: x, y: y, level: index, angle: angle, score: corner.score))
                describe(smooth, corner.x, corner.y, angle: angle, into: &result.descriptors)
            }
        }
        return result
    }

    // MARK: Corners

    /// The 16 pixels of FAST's Bresenham circle of radius 3, clockwise from the top.
    static let circle: [(Int, Int)] = [
        (0, -3), (1, -3), (2, -2), (3, -1), (3, 0), (3, 1), (2, 2), (1, 3), (0, 3), (-1, 3), (-2, 2), (-3, 1), (-3, 0), (-3, -1), (-2, -2), (-1, -3),
    ]

    /// FAST-9 corners ranked by the Harris response, local maxima only, at most `keep`, spread
    /// over a grid so that one busy area does not take them all.
    static func corners(in plane: AlignGrayPlane, keep: Int) -> [(x: Int, y: Int, score: Float)] {
        let width = plane.width, height = plane.height
        // A plane no wider or taller than the two borders has no pixel to test (a reference
        // cropped to a strip 36 pixels tall): its rows would make a backwards range, which traps.
        guard width > 2 * border, height > 2 * border else { return [] }
        var scores = [Float](repeating: 0, count: width * height)
        let offsets = circle.map { $0.1 * width + $0.0 }
        // FAST-9 with the compass screen, and the Harris measure of each corner, in C
        // (`intake_fast_corners`): the same comparisons and sums as one pixel at a time.
        let candidates = [Int32](unsafeUninitializedCapacity: (width - 2 * border) * (height - 2 * border)) { buffer, count in
            count = plane.pixels.withUnsafeBufferPointer { p in
                offsets.withUnsafeBufferPointer { circle in
                    scores.withUnsafeMutableBufferPointer { score in
                        Int(intake_fast_corners(p.baseAddress!, Int32(width), Int32(height), Int32(border), fastThreshold,
                                                circle.baseAddress!, score.baseAddress!, buffer.baseAddress!))
                    }
                }
            }
        }
        var found: [(x: Int, y: Int, score: Float)] = []
        scores.withUnsafeBufferPointer { score in
            for candidate in candidates {
                let i = Int(candidate), s = score[i]
                // A local maximum of its 3×3 neighbourhood; ties go to the first in reading order.
                guard score[i - width - 1] < s, score[i - width] < s, score[i - width + 1] < s, score[i - 1] < s,
                    score[i + 1] <= s, score[i + width - 1] <= s, score[i + width] <= s, score[i + width + 1] <= s
                else { continue }
                found.append((i % width, i / width, s))
            }
        }
        found.sort { $0.score > $1.score || ($0.score == $1.score && ($0.y, $0.x) < ($1.y, $1.x)) }
        // At most a few per cell of the grid, the strongest first; the rest only if room is left.
        let cell = 24, columns = (width + cell - 1) / cell, rows = (height + cell - 1) / cell
        let perCell = max(2, 3 * keep / max(1, columns * rows))
        var taken = [Int](repeating: 0, count: columns * rows)
        var chosen: [(x: Int, y: Int, score: Float)] = []
        for corner in found where chosen.count < keep {
            let c = (corner.y / cell) * columns + corner.x / cell
            guard taken[c] < perCell else { continue }
            taken[c] += 1
            chosen.append(corner)
        }
        return chosen
    }

    // MARK: Orientation and descriptor

    /// The direction from the point to the intensity centroid of the disc around it.
    static func orientation(_ plane: AlignGrayPlane, _ x: Int, _ y: Int) -> Double {
        var m10: Float = 0, m01: Float = 0
        let r = patchRadius
        plane.pixels.withUnsafeBufferPointer { p in
            for dy in -r...r {
                let reach = Int(Double(r * r - dy * dy).squareRoot())
                let row = (y + dy) * plane.width + x
                for dx in -reach...reach {
                    let v = p[row + dx]
                    m10 += Float(dx) * v
                    m01 += Float(dy) * v
                }
            }
        }
        return atan2(Double(m01), Double(m10))
    }

    /// 256 pairs of points in a 27×27 patch, Gaussian around the centre (σ = patch/5, as BRIEF
    /// found best), from a fixed seed.
    static let pattern: [(Int8, Int8, Int8, Int8)] = {
        var random = SplitMix64(0x1A7A_6E0F_F5E7_D00D)
        func uniform() -> Double { (Double(random.next() >> 11) + 0.5) / Double(1 << 53) }
        func coordinate() -> Int8 {
            // Box–Muller, one of the pair, clipped to the patch.
            let value = (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) * 31.0 / 5
            return Int8(max(-13, min(13, value.rounded())))
        }
        return (0..<256).map { _ in (coordinate(), coordinate(), coordinate(), coordinate()) }
    }()

    /// The pattern turned to each of `angleSteps` orientations, as (x, y) offsets: a landmark's
    /// orientation is rounded to the nearest step (11.25°), as ORB does, so no point is turned per
    /// landmark.
    static let angleSteps = 32
    static let turnedPatterns: [[(Int8, Int8, Int8, Int8)]] = (0..<angleSteps).map { step in
        let angle = Double(step) * 2 * .pi / Double(angleSteps)
        let c = cos(angle), s = sin(angle)
        func turn(_ x: Int8, _ y: Int8) -> (Int8, Int8) {
            let fx = Double(x), fy = Double(y)
            return (Int8((c * fx - s * fy).rounded()), Int8((s * fx + c * fy).rounded()))
        }
        return pattern.map { pair in
            let a = turn(pair.0, pair.1), b = turn(pair.2, pair.3)
            return (a.0, a.1, b.0, b.1)
        }
    }

    /// Appends four words: bit k says whether the first point of pair k, turned by `angle`, is
    /// darker than the second. The pattern runs along the landmark's orientation.
    static func describe(_ plane: AlignGrayPlane, _ x: Int, _ y: Int, angle: Double, into descriptors: inout [UInt64]) {
        var step = Int((angle / (2 * .pi) * Double(angleSteps)).rounded()) % angleSteps
        if step < 0 { step += angleSteps }
        let width = plane.width
        let start = descriptors.count
        descriptors.append(contentsOf: repeatElement(0, count: 4))
        turnedPatterns[step].withUnsafeBytes { pairs in
            plane.pixels.withUnsafeBufferPointer { pixels in
                descriptors.withUnsafeMutableBufferPointer { words in
                    intake_brief_describe(pixels.baseAddress! + (y * width + x), width, pairs.baseAddress!.assumingMemoryBound(to: Int8.self),
                                          words.baseAddress! + start)
                }
            }
        }
    }
}

extension AlignGrayPlane {
    /// The plane stretched so that its 1st and 99th percentiles become 0 and 255: a dark or
    /// washed-out photo gives the corner detector the same contrast as a good one.
    func contrastStretched() -> AlignGrayPlane {
        var histogram = [Int64](repeating: 0, count: 256)
        pixels.withUnsafeBufferPointer { pixels in intake_histogram_255(pixels.baseAddress!, pixels.count, &histogram) }
        let total = pixels.count
        var low = 0, high = 255, running = 0
        for (bin, count) in histogram.enumerated() {
            running += Int(count)
            if running > total / 100 { low = bin; break }
        }
        running = 0
        for (bin, count) in histogram.enumerated().reversed() {
            running += Int(count)
            if running > total / 100 { high = bin; break }
        }
        var stretched = self
        let span = Float(max(high - low, 16)), offset = Float(low)
        stretched.pixels.withUnsafeMutableBufferPointer { intake_stretch($0.baseAddress!, $0.count, offset, span) }
        return stretched
    }

    /// A [1 2 1]/4 blur in each direction (σ ≈ 0.7), edges repeated.
    func smoothed() -> AlignGrayPlane {
        let w = width, h = height
        guard w >= 3, h >= 3 else { return self }
        var scratch = [Float](unsafeUninitializedCapacity: w * h) { _, count in count = w * h }
        return AlignGrayPlane(width: w, height: h) { out in
            pixels.withUnsafeBufferPointer { source in
                scratch.withUnsafeMutableBufferPointer { intake_smooth_121(source.baseAddress!, Int32(w), Int32(h), $0.baseAddress!, out) }
            }
        }
    }

    /// Resampled bilinearly to `width` × `height` (pixel centres aligned); a caller shrinking it
    /// by more than a little smooths it first.
    func resampled(width newWidth: Int, height newHeight: Int) -> AlignGrayPlane {
        // Where each column samples is the same on every row, and where each row samples the
        // same in every column: worked out once each, in doubles, then sampled in C.
        let (x0, x1, wx) = Self.taps(count: newWidth, from: width)
        let (y0, y1, wy) = Self.taps(count: newHeight, from: height)
        var rows = [Float](repeating: 0, count: 2 * newWidth)
        return AlignGrayPlane(width: newWidth, height: newHeight) { out in
            pixels.withUnsafeBufferPointer { source in
                intake_resample_bilinear(source.baseAddress!, Int32(width), Int32(newWidth), Int32(newHeight), x0, x1, wx, y0, y1, wy, &rows, out)
            }
        }
    }

    /// For each of `count` samples along an axis of `size` pixels: the two neighbouring pixels
    /// it lies between and the second one's weight.
    private static func taps(count: Int, from size: Int) -> (first: [Int32], second: [Int32], weight: [Float]) {
        let scale = Double(size) / Double(count)
        var first = [Int32](), second = [Int32](), weight = [Float]()
        for i in 0..<count {
            let f = max(0, min(Double(size - 1), (Double(i) + 0.5) * scale - 0.5))
            let low = min(Int(f), size - 2 < 0 ? 0 : size - 2)
            first.append(Int32(low))
            second.append(Int32(min(low + 1, size - 1)))
            weight.append(Float(f - Double(low)))
        }
        return (first, second, weight)
    }
}
