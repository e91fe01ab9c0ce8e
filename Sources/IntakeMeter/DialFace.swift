import Synchronization

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
        /// The harmonic around each of `centres`, in one pass over the points: each point is
        /// loaded once, and the centres' sums are independent chains the processor runs side by
        /// side (a chain per centre would wait on its own last addition at every point). Each
        /// centre's sums are added in the points' order, so the result is that of one pass per centre.
        func evaluate(_ centres: [(x: Double, y: Double)], on points: InkPoints) -> [Harmonic] {
            let count = centres.count
            // Per centre, three rows (real, imaginary, total) of `bandCount`, indexed without checks.
            let rowLength = 3 * bandCount
            let sums = UnsafeMutablePointer<Double>.allocate(capacity: count * rowLength)
            sums.initialize(repeating: 0, count: count * rowLength)
            defer { sums.deallocate() }
            let inner2 = innerRadius * innerRadius, outer2 = outerRadius * outerRadius
            centres.withUnsafeBufferPointer { centres in
                points.x.withUnsafeBufferPointer { xs in
                    points.y.withUnsafeBufferPointer { ys in
                        points.weight.withUnsafeBufferPointer { ws in
                            for i in 0..<xs.count {
                                for c in 0..<count {
                                    let dx = xs[i] - centres[c].x, dy = ys[i] - centres[c].y
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
                                    let row = sums + c * rowLength
                                    row[band] += w * (z8r * z2r - z8i * z2i)
                                    row[bandCount + band] += w * (z8r * z2i + z8i * z2r)
                                    row[2 * bandCount + band] += w
                                }
                            }
                        }
                    }
                }
            }
            return (0..<count).map { c in
                let re = sums + c * rowLength, im = re + bandCount, total = re + 2 * bandCount
                var best = Harmonic()
                for band in 0..<bandCount {
                    let magnitude = (re[band] * re[band] + im[band] * im[band]).squareRoot()
                    if magnitude > best.score { best = Harmonic(score: magnitude, total: total[band], re: re[band], im: im[band]) }
                }
                return best
            }
        }

        // The coarse search: ink summed in 2×2 blocks, scored at block centres 2 pixels apart by
        // a table of the ring's kernel (no root, no division per point). It picks where the
        // exact search below starts; it does not decide.
        let middle = (x: Int((nearX / 2).rounded(.down)), y: Int((nearY / 2).rounded(.down)))
        let reachInBlocks = Int((searchRadius / 2).rounded(.up))
        let kernel = RingKernel.cached(RingKernel.Shape(innerRadius: innerRadius, bandWidth: bandWidth, bandCount: bandCount, spacing: 2))
        // Margin enough for the kernel around every centre searched (the middle lies in the crop
        // as a rule, being the hub; whatever it is, the margin covers it).
        let middleOutside = max(0, -middle.x, -middle.y, middle.x - (width - 1) / 2, middle.y - (height - 1) / 2)
        let blocks = BlockedInk(
            ink: ink, excluded: excluded, width: width, height: height, margin: kernel.halfSide + reachInBlocks + middleOutside + 1)
        let offsets = kernel.offsets(columns: blocks.columns)
        var coarseBest = (x: middle.x, y: middle.y, score: -1.0)
        for blockY in (middle.y - reachInBlocks)...(middle.y + reachInBlocks) {
            for blockX in (middle.x - reachInBlocks)...(middle.x + reachInBlocks) {
                let dx = Double(blockX - middle.x), dy = Double(blockY - middle.y)
                guard dx * dx + dy * dy <= Double(reachInBlocks * reachInBlocks) + 0.5 else { continue }
                let score = kernel.score(blocks, offsets: offsets, centreX: blockX, centreY: blockY)
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
        var best = (x: start.x, y: start.y, result: evaluate([start], on: ring)[0])
        var step = 1.0
        while step >= 0.5 {
            var neighbours: [(x: Double, y: Double)] = []
            for dy in [-step, 0, step] {
                for dx in [-step, 0, step] where dx != 0 || dy != 0 { neighbours.append((best.x + dx, best.y + dy)) }
            }
            for (centre, result) in zip(neighbours, evaluate(neighbours, on: ring)) where result.score > best.result.score {
                best = (centre.x, centre.y, result)
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
/// 2j, 2j+1, and stands at their middle (2i + 0.5, 2j + 0.5). A margin of empty blocks all round
/// lets the kernel be laid anywhere the search goes without a bounds check.
private struct BlockedInk {
    /// Columns including both margins: the stride of `sums`.
    let columns: Int, margin: Int
    var sums: [Float]

    init(ink: [Float], excluded: [Bool], width: Int, height: Int, margin: Int) {
        self.margin = margin
        columns = (width + 1) / 2 + 2 * margin
        let rows = (height + 1) / 2 + 2 * margin
        var sums = [Float](repeating: 0, count: columns * rows)
        for y in 0..<height {
            for x in 0..<width where !excluded[y * width + x] && ink[y * width + x] > 0 {
                sums[(y / 2 + margin) * columns + x / 2 + margin] += ink[y * width + x]
            }
        }
        self.sums = sums
    }

    /// Where block (`x`, `y`) is in `sums`.
    func index(x: Int, y: Int) -> Int { (y + margin) * columns + x + margin }
}

/// The tenth harmonic's kernel, tabulated on a grid of `spacing` pixels: for each offset from a
/// centre inside the ring, e^(10iφ)/r, the weight `DialFace` gives a point there. The offsets are
/// grouped by band, in reading order within each, so that a band's sums gather in two registers
/// in the same order as a scan of the square would add them (the same sums to the last bit).
private struct RingKernel: Sendable {
    let halfSide: Int, bandCount: Int
    /// Per band, where its entries start; `bandStarts[bandCount]` is the end.
    private var bandStarts: [Int] = []
    /// Each entry's offset from the centre in blocks, and its weight.
    private var dx: [Int] = [], dy: [Int] = [], re: [Float] = [], im: [Float] = []

    /// What a kernel is made from: the ring's bands, and the grid's spacing.
    struct Shape: Hashable, Sendable {
        let innerRadius: Double, bandWidth: Double, bandCount: Int, spacing: Double
    }

    /// The kernels of the shapes seen lately: a profile's dials share one size, and a kernel
    /// costs a few thousand sines and cosines, more than a search with it.
    private static let cache = Mutex<[Shape: RingKernel]>([:])
    /// Past this many shapes (only a corpus of crops of every size gets there) the cache starts afresh.
    private static let cacheLimit = 32

    /// The kernel of `shape`, made the first time it is asked for.
    static func cached(_ shape: Shape) -> RingKernel {
        if let kernel = cache.withLock({ $0[shape] }) { return kernel }
        let kernel = RingKernel(shape)
        cache.withLock { cache in
            if cache.count >= cacheLimit { cache.removeAll() }
            cache[shape] = kernel
        }
        return kernel
    }

    private init(_ shape: Shape) {
        let innerRadius = shape.innerRadius, bandWidth = shape.bandWidth, bandCount = shape.bandCount, spacing = shape.spacing
        self.bandCount = bandCount
        let outerRadius = innerRadius + Double(bandCount) * bandWidth
        halfSide = Int((outerRadius / spacing).rounded(.up))
        var entries = [[(dx: Int, dy: Int, re: Float, im: Float)]](repeating: [], count: bandCount)
        for j in -halfSide...halfSide {
            for i in -halfSide...halfSide {
                let x = Double(i) * spacing, y = Double(j) * spacing
                let r = (x * x + y * y).squareRoot()
                guard r >= innerRadius, r < outerRadius else { continue }
                let phi = 10 * atan2(y, x)
                entries[min(Int((r - innerRadius) / bandWidth), bandCount - 1)].append((i, j, Float(cos(phi) / r), Float(sin(phi) / r)))
            }
        }
        for band in entries {
            bandStarts.append(dx.count)
            for entry in band {
                dx.append(entry.dx)
                dy.append(entry.dy)
                re.append(entry.re)
                im.append(entry.im)
            }
        }
        bandStarts.append(dx.count)
    }

    /// The entries' index offsets in a grid `columns` wide.
    func offsets(columns: Int) -> [Int] {
        zip(dx, dy).map { $0.1 * columns + $0.0 }
    }

    /// The strongest band's harmonic magnitude with the ring centred on block (`centreX`, `centreY`)
    /// of `ink`, whose grid `offsets` were made for.
    func score(_ ink: BlockedInk, offsets: [Int], centreX: Int, centreY: Int) -> Double {
        let centre = ink.index(x: centreX, y: centreY)
        var best = 0.0
        offsets.withUnsafeBufferPointer { offsets in
            re.withUnsafeBufferPointer { re in
                im.withUnsafeBufferPointer { im in
                    ink.sums.withUnsafeBufferPointer { sums in
                        for band in 0..<bandCount {
                            var sumRe: Float = 0, sumIm: Float = 0
                            for k in bandStarts[band]..<bandStarts[band + 1] {
                                let weight = sums[centre + offsets[k]]
                                sumRe += weight * re[k]
                                sumIm += weight * im[k]
                            }
                            best = max(best, Double(sumRe * sumRe + sumIm * sumIm).squareRoot())
                        }
                    }
                }
            }
        }
        return best
    }
}
