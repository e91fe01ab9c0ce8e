import IntakeCodecs

/// The needle's pixels in a crop, and what the search for them saw.
struct DialMask {
    var mask: [Bool]
    var width: Int, height: Int
    /// Red needle, or (failing that) a dark one: some dials have black needles.
    var isRed: Bool
    /// Needle-coloured pixels elsewhere in the crop, as a share of the needle's own: a second
    /// red shape (a ghost of a moving needle, a coloured disc) makes the reading doubtful.
    var strayShare: Double
    /// How much darker than the face each pixel is: the ink of the numerals and ticks.
    var darkness: [Float]
    /// How red each pixel is (red masks only), and the threshold the red mask was cut at.
    var redness: [Float] = []
    var redThreshold: Float = 0

    /// Bridges narrower than this share of the crop's size are cut: a needle touching a numeral
    /// or the bezel ring joins them by a few pixels only, while its own body is wider.
    static let bridgeWidth: Float = 0.04

    /// Finds the needle: red pixels when a red needle reaches the centre, else dark ones.
    static func find(in crop: RGBImage) -> DialMask? {
        let width = crop.width, height = crop.height
        let maps = colourMaps(of: crop)
        let size = Float(min(width, height))
        let redThreshold = max(otsuThreshold(maps.redness), 25)
        if let red = central(maps.redness, threshold: redThreshold, width: width, height: height, bridgeWidth: bridgeWidth),
           Float(red.count) >= 0.02 * size * size {
            return DialMask(mask: fillHoles(red.mask, width: width, height: height), width: width, height: height,
                            isRed: true, strayShare: Double(red.stray) / Double(red.count),
                            darkness: maps.darkness, redness: maps.redness, redThreshold: redThreshold)
        }
        let darkThreshold = max(otsuThreshold(maps.darkness), 40)
        if let dark = central(maps.darkness, threshold: darkThreshold, width: width, height: height, bridgeWidth: bridgeWidth),
           Float(dark.count) >= 0.01 * size * size {
            // Numerals are dark too: stray dark pixels are expected, so they say nothing here.
            return DialMask(mask: fillHoles(dark.mask, width: width, height: height), width: width, height: height,
                            isRed: false, strayShare: 0, darkness: maps.darkness)
        }
        return nil
    }

    /// The mask with what lies in line with the pivot given back: every pixel of `values` at or
    /// above `threshold` from which a straight line to (`pivotX`, `pivotY`) runs through such
    /// pixels (gaps of up to `gap` pixels allowed) into the mask. A needle is star-shaped about
    /// its pivot, so a thin blade that the bridge cut took off comes back whole, while a numeral
    /// or the bezel touching it, not in line with the pivot, stays out.
    func radiallyExtended(values: [Float], threshold: Float, pivotX: Double, pivotY: Double, gap: Double) -> [Bool] {
        var out = mask
        let step = 0.5
        for y in 0..<height {
            for x in 0..<width where !mask[y * width + x] && values[y * width + x] >= threshold {
                let dx = pivotX - Double(x), dy = pivotY - Double(y)
                let distance = (dx * dx + dy * dy).squareRoot()
                let steps = Int(distance / step)
                guard steps > 0 else { continue }
                let ux = dx / distance * step, uy = dy / distance * step
                var missed = 0.0
                for k in 1...steps {
                    // Both ends lie in the crop, so every point between does.
                    let q = Int((Double(y) + uy * Double(k)).rounded()) * width + Int((Double(x) + ux * Double(k)).rounded())
                    if mask[q] { out[y * width + x] = true; break }
                    if values[q] >= threshold {
                        missed = 0
                    } else {
                        missed += step
                        if missed > gap { break }
                    }
                }
            }
        }
        return out
    }

    /// The mean of each pixel's 3 × 3 neighbourhood (what of it lies in the crop): JPEG keeps
    /// colour at half resolution, in blocks, so a thin red blade's redness is ragged pixel by pixel.
    static func boxBlur(_ values: [Float], width: Int, height: Int) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        for y in 0..<height {
            for x in 0..<width {
                var sum: Float = 0, count: Float = 0
                for ny in max(y - 1, 0)...min(y + 1, height - 1) {
                    for nx in max(x - 1, 0)...min(x + 1, width - 1) {
                        sum += values[ny * width + nx]
                        count += 1
                    }
                }
                out[y * width + x] = sum / count
            }
        }
        return out
    }

    /// Per-pixel redness, r − max(g, b), and darkness (face luminance − luminance), after
    /// white-balancing so that the light dial face is grey: the cameras' white balance is often
    /// off (pink or green casts), and the face is the one thing in every crop known to be neutral.
    static func colourMaps(of crop: RGBImage) -> (redness: [Float], darkness: [Float]) {
        let count = crop.width * crop.height
        let pixels = crop.storage.base
        func luminance(_ i: Int) -> Int { (Int(pixels[i * 3]) * 3 + Int(pixels[i * 3 + 1]) * 6 + Int(pixels[i * 3 + 2])) / 10 }
        var histogram = [Int](repeating: 0, count: 256)
        for i in 0..<count { histogram[luminance(i)] += 1 }
        // The brightest quarter of the crop is face: the needle is saturated or dark, never the brightest.
        var brightFloor = 255, seen = 0
        while brightFloor > 0, seen + histogram[brightFloor] < count / 4 {
            seen += histogram[brightFloor]
            brightFloor -= 1
        }
        var sums = (0.0, 0.0, 0.0)
        var faceCount = 0.0
        for i in 0..<count where luminance(i) >= brightFloor {
            sums.0 += Double(pixels[i * 3]); sums.1 += Double(pixels[i * 3 + 1]); sums.2 += Double(pixels[i * 3 + 2])
            faceCount += 1
        }
        let face = (max(sums.0 / faceCount, 1), max(sums.1 / faceCount, 1), max(sums.2 / faceCount, 1))
        let grey = (face.0 + face.1 + face.2) / 3
        let gains = (grey / face.0, grey / face.1, grey / face.2)
        let gain = (Float(gains.0), Float(gains.1), Float(gains.2))
        var redness = [Float](repeating: 0, count: count)
        var darkness = [Float](repeating: 0, count: count)
        let faceLuminance = Float(grey)
        for i in 0..<count {
            let r = Float(pixels[i * 3]) * gain.0
            let g = Float(pixels[i * 3 + 1]) * gain.1
            let b = Float(pixels[i * 3 + 2]) * gain.2
            redness[i] = r - max(g, b)
            darkness[i] = faceLuminance - (r * 0.3 + g * 0.6 + b * 0.1)
        }
        return (redness, darkness)
    }

    /// The connected region above `threshold` that is largest and reaches the dial centre (red
    /// numerals, the bezel and dark numerals are not the needle). Parts joined to it by a bridge
    /// narrower than `bridgeWidth` × the crop size are cut off first.
    static func central(_ values: [Float], threshold: Float, width: Int, height: Int,
                        bridgeWidth: Float) -> (mask: [Bool], count: Int, stray: Int)? {
        let above = values.map { $0 >= threshold }
        let radius = max(1, bridgeWidth * Float(min(width, height)))
        let opened = DialDistance.open(above, width: width, height: height, radius: radius)
        let components = DialComponents.label(opened, width: width, height: height)
        let cx = Float(width - 1) / 2, cy = Float(height - 1) / 2
        let size = Float(min(width, height))
        var best = -1
        var bestScore: Float = 0
        for (index, component) in components.regions.enumerated() {
            let near = component.nearestDistance(toX: cx, y: cy, width: width)
            guard near < 0.25 * size else { continue }
            let reach = near / (0.15 * size)
            let score = Float(component.pixels.count) / (1 + reach * reach)
            if score > bestScore { bestScore = score; best = index }
        }
        guard best >= 0 else { return nil }
        var core = [Bool](repeating: false, count: width * height)
        for p in components.regions[best].pixels { core[p] = true }
        // Give back the thin tip that the opening took, but not what lies beyond the cut bridges.
        let near = DialDistance.grow(core, width: width, height: height, radius: radius + 1.5)
        var mask = [Bool](repeating: false, count: width * height)
        var count = 0, stray = 0
        for i in 0..<mask.count where above[i] {
            if near[i] { mask[i] = true; count += 1 } else if opened[i] { stray += 1 }
        }
        return (mask, count, stray)
    }

    /// The threshold that best splits the values into two classes (Otsu), over 0...255.
    static func otsuThreshold(_ values: [Float]) -> Float {
        var histogram = [Double](repeating: 0, count: 256)
        for v in values { histogram[Int(min(max(v, 0), 255))] += 1 }
        let total = histogram.reduce(0, +)
        var sumAll = 0.0
        for i in 0..<256 { sumAll += Double(i) * histogram[i] }
        var weightBelow = 0.0, sumBelow = 0.0, bestVariance = -1.0, best = 0
        for t in 0..<256 {
            weightBelow += histogram[t]
            if weightBelow == 0 { continue }
            let weightAbove = total - weightBelow
            if weightAbove == 0 { break }
            sumBelow += Double(t) * histogram[t]
            let meanBelow = sumBelow / weightBelow, meanAbove = (sumAll - sumBelow) / weightAbove
            let variance = weightBelow * weightAbove * (meanBelow - meanAbove) * (meanBelow - meanAbove)
            if variance > bestVariance { bestVariance = variance; best = t }
        }
        return Float(best) + 0.5
    }

    /// The mask with every region that the border cannot reach filled in: a hub often has a
    /// light dot or ring at the pivot.
    static func fillHoles(_ mask: [Bool], width: Int, height: Int) -> [Bool] {
        var outside = [Bool](repeating: false, count: mask.count)
        var stack: [Int] = []
        func visit(_ p: Int) { if !mask[p] && !outside[p] { outside[p] = true; stack.append(p) } }
        for x in 0..<width { visit(x); visit((height - 1) * width + x) }
        for y in 0..<height { visit(y * width); visit(y * width + width - 1) }
        while let p = stack.popLast() {
            let x = p % width, y = p / width
            if x > 0 { visit(p - 1) }
            if x < width - 1 { visit(p + 1) }
            if y > 0 { visit(p - width) }
            if y < height - 1 { visit(p + width) }
        }
        return outside.map { !$0 }
    }
}

/// Connected regions of a mask (8-neighbourhood).
struct DialComponents {
    struct Region {
        var pixels: [Int] = []

        func nearestDistance(toX cx: Float, y cy: Float, width: Int) -> Float {
            var best = Float.infinity
            for p in pixels {
                let dx = Float(p % width) - cx, dy = Float(p / width) - cy
                best = min(best, dx * dx + dy * dy)
            }
            return best.squareRoot()
        }
    }

    var regions: [Region]

    static func label(_ mask: [Bool], width: Int, height: Int) -> DialComponents {
        var seen = [Bool](repeating: false, count: mask.count)
        var regions: [Region] = []
        var stack: [Int] = []
        for start in 0..<mask.count where mask[start] && !seen[start] {
            var region = Region()
            seen[start] = true
            stack.append(start)
            while let p = stack.popLast() {
                region.pixels.append(p)
                let x = p % width, y = p / width
                for ny in max(y - 1, 0)...min(y + 1, height - 1) {
                    for nx in max(x - 1, 0)...min(x + 1, width - 1) {
                        let q = ny * width + nx
                        if mask[q] && !seen[q] { seen[q] = true; stack.append(q) }
                    }
                }
            }
            regions.append(region)
        }
        return DialComponents(regions: regions)
    }
}
