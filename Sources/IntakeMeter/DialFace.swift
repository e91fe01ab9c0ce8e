#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Where the dial face's centre is, found from its ten numerals.
///
/// The numerals (and ticks) sit every 36°, so around the true centre the ink of the face repeats
/// ten times per turn: the tenth angular harmonic of the ink is strongest there. This is a second
/// opinion on the pivot, independent of the needle's shape.
struct DialFace {
    let centerX: Double, centerY: Double
    /// The harmonic's share of the ring's ink, 0...1: near 0 when no numerals were seen.
    let strength: Double
    /// How far the ring of marks is turned clockwise from upright, in dial units (−0.5 ..< 0.5,
    /// a mark's spacing being 1): the harmonic's phase, which puts marks at whole values when
    /// the face is upright. Crops cut from a reference frame that is itself slightly turned read
    /// every needle off by this much.
    var rotation = 0.0

    /// Searches centres within `searchRadius` of (`nearX`, `nearY`); `ink` is how dark each
    /// pixel is, `excluded` the needle's pixels (whose ink is not the face's).
    static func find(ink: [Float], excluded: [Bool], width: Int, height: Int,
                     nearX: Double, nearY: Double, searchRadius: Double) -> DialFace? {
        let size = Double(min(width, height))
        let bandCount = 7
        let innerRadius = 0.14 * size, bandWidth = 0.05 * size
        let outerRadius = innerRadius + Double(bandCount) * bandWidth
        // Ink of the face, with the needle masked out, and only where the ring can fall for
        // some centre searched; coordinates relative to the search's middle.
        let reach = outerRadius + searchRadius + 1
        var full = InkPoints()
        for y in 0..<height {
            for x in 0..<width where !excluded[y * width + x] && ink[y * width + x] > 0 {
                let dx = Double(x) - nearX, dy = Double(y) - nearY
                guard dx * dx + dy * dy <= reach * reach else { continue }
                full.append(dx, dy, Double(ink[y * width + x]))
            }
        }
        guard !full.x.isEmpty else { return nil }
        /// The strongest band's harmonic magnitude, and that band's total ink.
        struct Harmonic { var score = 0.0, total = 0.0, re = 0.0, im = 0.0 }
        let inverseBandWidth = 1 / bandWidth
        func evaluate(_ cx: Double, _ cy: Double, on points: InkPoints) -> Harmonic {
            // One buffer of three rows (real, imaginary, total), indexed without checks in the loop.
            let sums = UnsafeMutablePointer<Double>.allocate(capacity: 3 * bandCount)
            sums.initialize(repeating: 0, count: 3 * bandCount)
            defer { sums.deallocate() }
            let re = sums, im = sums + bandCount, total = sums + 2 * bandCount
            let inner2 = innerRadius * innerRadius, outer2 = outerRadius * outerRadius
            points.x.withUnsafeBufferPointer { xs in
                points.y.withUnsafeBufferPointer { ys in
                    points.weight.withUnsafeBufferPointer { ws in
                        for i in 0..<xs.count {
                            let dx = xs[i] - cx, dy = ys[i] - cy
                            let r2 = dx * dx + dy * dy
                            guard r2 >= inner2, r2 < outer2 else { continue }
                            // One division, not three: the square root's inverse serves them all.
                            let r = r2.squareRoot(), inverseR = 1 / r
                            let band = min(Int((r - innerRadius) * inverseBandWidth), bandCount - 1)
                            // ((dx + i·dy)/r)^10 is e^(10iφ) without trigonometry (φ from +x,
                            // clockwise on screen since y points down).
                            let zr = dx * inverseR, zi = dy * inverseR
                            let z2r = zr * zr - zi * zi, z2i = 2 * zr * zi
                            let z4r = z2r * z2r - z2i * z2i, z4i = 2 * z2r * z2i
                            let z8r = z4r * z4r - z4i * z4i, z8i = 2 * z4r * z4i
                            // Weight by 1/r so that each band counts angles, not area.
                            let w = ws[i] * inverseR
                            re[band] += w * (z8r * z2r - z8i * z2i)
                            im[band] += w * (z8r * z2i + z8i * z2r)
                            total[band] += w
                        }
                    }
                }
            }
            var best = Harmonic()
            for band in 0..<bandCount {
                let magnitude = (re[band] * re[band] + im[band] * im[band]).squareRoot()
                if magnitude > best.score { best = Harmonic(score: magnitude, total: total[band], re: re[band], im: im[band]) }
            }
            return best
        }

        // The coarse search: ink summed in 2×2 blocks, scored at block centres 2 pixels apart by
        // a table of the ring's kernel (no root, no division per point). It picks where the
        // exact search below starts; it does not decide.
        let blocks = BlockedInk(ink: ink, excluded: excluded, width: width, height: height)
        let kernel = RingKernel(innerRadius: innerRadius, bandWidth: bandWidth, bandCount: bandCount, spacing: 2)
        let middle = (x: Int((nearX / 2).rounded(.down)), y: Int((nearY / 2).rounded(.down)))
        let reachInBlocks = Int((searchRadius / 2).rounded(.up))
        var coarseBest = (x: middle.x, y: middle.y, score: -1.0)
        for blockY in (middle.y - reachInBlocks)...(middle.y + reachInBlocks) {
            for blockX in (middle.x - reachInBlocks)...(middle.x + reachInBlocks) {
                let dx = Double(blockX - middle.x), dy = Double(blockY - middle.y)
                guard dx * dx + dy * dy <= Double(reachInBlocks * reachInBlocks) + 0.5 else { continue }
                let score = kernel.score(blocks, centreX: blockX, centreY: blockY)
                if score > coarseBest.score { coarseBest = (blockX, blockY, score) }
            }
        }
        // Then finer steps around the best on every pixel, exactly: 1 pixel, then half a pixel.
        let start = (x: 2 * Double(coarseBest.x) + 0.5 - nearX, y: 2 * Double(coarseBest.y) + 0.5 - nearY)
        // Every centre tried below lies within 1.5 px of the start: ink farther from the ring
        // around it than that adds nothing to any of them (and the order of what is added stays).
        let near = max(0, innerRadius - 1.6), far = outerRadius + 1.6
        var ring = InkPoints()
        for i in full.x.indices {
            let dx = full.x[i] - start.x, dy = full.y[i] - start.y
            let r2 = dx * dx + dy * dy
            if r2 >= near * near && r2 < far * far { ring.append(full.x[i], full.y[i], full.weight[i]) }
        }
        var best = (x: start.x, y: start.y, result: evaluate(start.x, start.y, on: ring))
        var step = 1.0
        while step >= 0.5 {
            let centre = (best.x, best.y)
            for dy in [-step, 0, step] {
                for dx in [-step, 0, step] where dx != 0 || dy != 0 {
                    let result = evaluate(centre.0 + dx, centre.1 + dy, on: ring)
                    if result.score > best.result.score { best = (centre.0 + dx, centre.1 + dy, result) }
                }
            }
            step /= 2
        }
        let result = best.result
        guard result.total > 0 else { return nil }
        // Marks at whole values stand at φ = 36°·k − 90°, where e^(10iφ) = −1: the phase is 180°
        // on an upright face, and turning the face by δ dial units adds 36°·δ·10 = 360°·δ to it.
        var phase = atan2(result.im, result.re) - Double.pi
        if phase < -Double.pi { phase += 2 * Double.pi }
        return DialFace(centerX: nearX + best.x, centerY: nearY + best.y, strength: result.score / result.total,
                        rotation: phase / (2 * Double.pi))
    }
}

/// Ink points relative to the search's middle, in three parallel arrays for a tight loop.
private struct InkPoints {
    var x: [Double] = [], y: [Double] = [], weight: [Double] = []

    mutating func append(_ x: Double, _ y: Double, _ weight: Double) {
        self.x.append(x)
        self.y.append(y)
        self.weight.append(weight)
    }
}

/// The face's ink, needle left out, summed in 2×2 blocks: block (i, j) holds pixels 2i, 2i+1 ×
/// 2j, 2j+1, and stands at their middle (2i + 0.5, 2j + 0.5).
private struct BlockedInk {
    let columns: Int, rows: Int
    var sums: [Float]

    init(ink: [Float], excluded: [Bool], width: Int, height: Int) {
        columns = (width + 1) / 2
        rows = (height + 1) / 2
        var sums = [Float](repeating: 0, count: columns * rows)
        for y in 0..<height {
            for x in 0..<width where !excluded[y * width + x] && ink[y * width + x] > 0 {
                sums[(y / 2) * columns + x / 2] += ink[y * width + x]
            }
        }
        self.sums = sums
    }
}

/// The tenth harmonic's kernel, tabulated on a grid of `spacing` pixels: for each offset from a
/// centre, which band of the ring it falls in (−1: none) and e^(10iφ)/r, the weight `DialFace`
/// gives a point there.
private struct RingKernel {
    let halfSide: Int, bandCount: Int
    private var band: [Int8] = [], re: [Float] = [], im: [Float] = []

    init(innerRadius: Double, bandWidth: Double, bandCount: Int, spacing: Double) {
        self.bandCount = bandCount
        let outerRadius = innerRadius + Double(bandCount) * bandWidth
        halfSide = Int((outerRadius / spacing).rounded(.up))
        let side = 2 * halfSide + 1
        band.reserveCapacity(side * side)
        for j in -halfSide...halfSide {
            for i in -halfSide...halfSide {
                let dx = Double(i) * spacing, dy = Double(j) * spacing
                let r = (dx * dx + dy * dy).squareRoot()
                guard r >= innerRadius, r < outerRadius else {
                    band.append(-1); re.append(0); im.append(0)
                    continue
                }
                let phi = 10 * atan2(dy, dx)
                band.append(Int8(min(Int((r - innerRadius) / bandWidth), bandCount - 1)))
                re.append(Float(cos(phi) / r))
                im.append(Float(sin(phi) / r))
            }
        }
    }

    /// The strongest band's harmonic magnitude with the ring centred on block (`centreX`, `centreY`).
    func score(_ ink: BlockedInk, centreX: Int, centreY: Int) -> Double {
        let side = 2 * halfSide + 1
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: 2 * bandCount)
        sums.initialize(repeating: 0, count: 2 * bandCount)
        defer { sums.deallocate() }
        let sumRe = sums, sumIm = sums + bandCount
        let top = max(centreY - halfSide, 0), bottom = min(centreY + halfSide, ink.rows - 1)
        let left = max(centreX - halfSide, 0), right = min(centreX + halfSide, ink.columns - 1)
        guard top <= bottom, left <= right else { return 0 }
        band.withUnsafeBufferPointer { band in
            re.withUnsafeBufferPointer { re in
                im.withUnsafeBufferPointer { im in
                    ink.sums.withUnsafeBufferPointer { sums in
                        for y in top...bottom {
                            let kernelRow = (y - centreY + halfSide) * side - centreX + halfSide
                            let inkRow = y * ink.columns
                            for x in left...right {
                                let weight = sums[inkRow + x]
                                let k = kernelRow + x
                                let b = Int(band[k])
                                guard weight > 0, b >= 0 else { continue }
                                sumRe[b] += weight * re[k]
                                sumIm[b] += weight * im[k]
                            }
                        }
                    }
                }
            }
        }
        var best = 0.0
        for b in 0..<bandCount {
            best = max(best, Double(sumRe[b] * sumRe[b] + sumIm[b] * sumIm[b]).squareRoot())
        }
        return best
    }
}
