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
        // The coarse grid runs on the ink summed in 2×2 blocks, the finer steps on every pixel.
        // Summed rather than one pixel in four: as cheap, and the marks do not alias. (Summing
        // 4×4 blocks too lost the inner bands' narrow peak on some demo photos: measured, not kept.)
        let coarse = full.pooled(2)

        /// The strongest band's harmonic magnitude, and that band's total ink.
        struct Harmonic { var score = 0.0, total = 0.0, re = 0.0, im = 0.0 }
        let inverseBandWidth = 1 / bandWidth
        func evaluate(_ cx: Double, _ cy: Double, on points: InkPoints) -> Harmonic {
            var re = [Double](repeating: 0, count: bandCount)
            var im = [Double](repeating: 0, count: bandCount)
            var total = [Double](repeating: 0, count: bandCount)
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

        // A coarse grid on the summed ink, then finer steps around the best on every pixel (the
        // first step is at least 1, so at least one finer step always runs).
        var points = coarse
        var best = (x: 0.0, y: 0.0, result: evaluate(0, 0, on: points))
        var step = max(1.0, searchRadius / 5)
        var span = searchRadius
        var coarseDone = false, onEveryPixel = false
        while step >= 0.5 {
            let centre = (best.x, best.y)
            if coarseDone && !onEveryPixel {
                // Scores on summed and on single pixels do not compare: the winner is rescored.
                (points, onEveryPixel) = (full, true)
                best.result = evaluate(centre.0, centre.1, on: points)
            }
            var dy = -span
            while dy <= span + 1e-9 {
                var dx = -span
                while dx <= span + 1e-9 {
                    let x = centre.0 + dx, y = centre.1 + dy
                    let result = evaluate(x, y, on: points)
                    if result.score > best.result.score { best = (x, y, result) }
                    dx += step
                }
                dy += step
            }
            coarseDone = true
            step /= 2
            span = step
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

    /// The ink summed in `block`×`block` squares, each placed at its ink's centroid.
    func pooled(_ block: Int) -> InkPoints {
        guard let minX = x.min(), let maxX = x.max(), let minY = y.min(), let maxY = y.max() else { return self }
        let side = Double(block)
        // Offsets from the middle can be negative: floor, not truncation, names the block.
        func blockOf(_ value: Double) -> Int { Int((value / side).rounded(.down)) }
        let left = blockOf(minX), top = blockOf(minY)
        let columns = blockOf(maxX) - left + 1, rows = blockOf(maxY) - top + 1
        var sumX = [Double](repeating: 0, count: columns * rows)
        var sumY = sumX, sumWeight = sumX
        for i in 0..<x.count {
            let index = (blockOf(y[i]) - top) * columns + blockOf(x[i]) - left
            sumX[index] += x[i] * weight[i]
            sumY[index] += y[i] * weight[i]
            sumWeight[index] += weight[i]
        }
        var pooled = InkPoints()
        for index in 0..<sumWeight.count where sumWeight[index] > 0 {
            pooled.append(sumX[index] / sumWeight[index], sumY[index] / sumWeight[index], sumWeight[index])
        }
        return pooled
    }
}
