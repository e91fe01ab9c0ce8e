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
        var inkX: [Double] = [], inkY: [Double] = [], inkWeight: [Double] = []
        var sparseX: [Double] = [], sparseY: [Double] = [], sparseWeight: [Double] = []
        for y in 0..<height {
            for x in 0..<width where !excluded[y * width + x] && ink[y * width + x] > 0 {
                let dx = Double(x) - nearX, dy = Double(y) - nearY
                guard dx * dx + dy * dy <= reach * reach else { continue }
                inkX.append(dx); inkY.append(dy); inkWeight.append(Double(ink[y * width + x]))
                // One pixel in four, weighted four times, for the coarse search.
                if x % 2 == 0 && y % 2 == 0 { sparseX.append(dx); sparseY.append(dy); sparseWeight.append(4 * Double(ink[y * width + x])) }
            }
        }
        guard !inkX.isEmpty else { return nil }

        /// The strongest band's harmonic magnitude, and that band's total ink.
        struct Harmonic { var score = 0.0, total = 0.0, re = 0.0, im = 0.0 }
        func evaluate(_ cx: Double, _ cy: Double, sparse: Bool = false) -> Harmonic {
            var re = [Double](repeating: 0, count: bandCount)
            var im = [Double](repeating: 0, count: bandCount)
            var total = [Double](repeating: 0, count: bandCount)
            let inner2 = innerRadius * innerRadius, outer2 = outerRadius * outerRadius
            let xs = sparse ? sparseX : inkX, ys = sparse ? sparseY : inkY, ws = sparse ? sparseWeight : inkWeight
            xs.withUnsafeBufferPointer { xs in
                ys.withUnsafeBufferPointer { ys in
                    ws.withUnsafeBufferPointer { ws in
                        for i in 0..<xs.count {
                            let dx = xs[i] - cx, dy = ys[i] - cy
                            let r2 = dx * dx + dy * dy
                            guard r2 >= inner2, r2 < outer2 else { continue }
                            let r = r2.squareRoot()
                            let band = min(Int((r - innerRadius) / bandWidth), bandCount - 1)
                            // ((dx + i·dy)/r)^10 is e^(10iφ) without trigonometry (φ from +x,
                            // clockwise on screen since y points down).
                            let zr = dx / r, zi = dy / r
                            let z2r = zr * zr - zi * zi, z2i = 2 * zr * zi
                            let z4r = z2r * z2r - z2i * z2i, z4i = 2 * z2r * z2i
                            let z8r = z4r * z4r - z4i * z4i, z8i = 2 * z4r * z4i
                            // Weight by 1/r so that each band counts angles, not area.
                            let w = ws[i] / r
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

        // A coarse grid on one pixel in four, then finer steps around the best on all of them.
        var best = (x: 0.0, y: 0.0, result: evaluate(0, 0, sparse: true))
        var step = max(1.0, searchRadius / 5)
        var span = searchRadius
        var sparse = true
        while step >= 0.5 {
            let centre = (best.x, best.y)
            // The coarse score came from a quarter of the pixels: rescore the winner on all of them.
            if !sparse { best.result = evaluate(centre.0, centre.1) }
            var dy = -span
            while dy <= span + 1e-9 {
                var dx = -span
                while dx <= span + 1e-9 {
                    let x = centre.0 + dx, y = centre.1 + dy
                    let result = evaluate(x, y, sparse: sparse)
                    if result.score > best.result.score { best = (x, y, result) }
                    dx += step
                }
                dy += step
            }
            sparse = false
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
