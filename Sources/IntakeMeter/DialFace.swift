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
    static func find(
        ink: [Float], excluded: [Bool], width: Int, height: Int,
        nearX: Double, nearY: Double, searchRadius: Double
    ) -> DialFace? {
        let size = Double(min(width, height))
        let bandCount = 7
        let innerRadius = 0.14 * size, bandWidth = 0.05 * size
        // The coarse search: ink summed in 2×2 blocks, scored at block centres 2 pixels apart by
        // a table of the ring's kernel. It picks where the finer search below starts; it
        // does not decide.
        let middle = (x: Int((nearX / 2).rounded(.down)), y: Int((nearY / 2).rounded(.down)))
        let reachInBlocks = Int((searchRadius / 2).rounded(.up))
        let kernel = RingKernel.cached(RingKernel.Shape(innerRadius: innerRadius, bandWidth: bandWidth, bandCount: bandCount, spacing: 2))
        // Margin enough for the kernel around every centre searched (the middle lies in the crop
        // as a rule, being the hub; whatever it is, the margin covers it).
        let middleOutside = max(0, -middle.x, -middle.y, middle.x - (width - 1) / 2, middle.y - (height - 1) / 2)
        let blocks = BlockedInk(
            ink: ink, excluded: excluded, width: width, height: height, margin: kernel.halfSide + reachInBlocks + middleOutside + 1)
        let offsets = kernel.offsets(columns: blocks.columns)
        let columns = (middle.x - reachInBlocks)...(middle.x + reachInBlocks), rows = (middle.y - reachInBlocks)...(middle.y + reachInBlocks)
        let scores = kernel.scores(blocks, offsets: offsets, columns: columns, rows: rows)
        var coarseBest = (x: middle.x, y: middle.y, score: -1.0)
        for (row, blockY) in rows.enumerated() {
            for (column, blockX) in columns.enumerated() {
                let dx = Double(blockX - middle.x), dy = Double(blockY - middle.y)
                guard dx * dx + dy * dy <= Double(reachInBlocks * reachInBlocks) + 0.5 else { continue }
                let score = scores[row * columns.count + column]
                if score > coarseBest.score { coarseBest = (blockX, blockY, score) }
            }
        }
        // Then finer steps around the best, 1 pixel and then half a pixel, each centre scored on
        // every pixel by a table of the ring's kernel at half-pixel offsets (`HalfPixelRing`).
        // Centres and pixels are counted in half pixels, so that every offset is whole.
        let ring = HalfPixelRing.cached(RingKernel.Shape(innerRadius: innerRadius, bandWidth: bandWidth, bandCount: bandCount, spacing: 0.5))
        var best = (x: 4 * coarseBest.x + 1, y: 4 * coarseBest.y + 1, result: Harmonic())
        // Every centre tried lies within 1.5 pixels of the first: ink farther from its ring than
        // that adds nothing to any of them.
        let points = HalfPixelRing.Points(
            ink: ink, excluded: excluded, width: width, height: height, aroundX: best.x, aroundY: best.y,
            from: 2 * (innerRadius - 1.6), to: 2 * (innerRadius + Double(bandCount) * bandWidth + 1.6))
        best.result = ring.harmonic(points, centreX: best.x, centreY: best.y)
        for step in [2, 1] {
            let around = best
            for dy in [-step, 0, step] {
                for dx in [-step, 0, step] where dx != 0 || dy != 0 {
                    let result = ring.harmonic(points, centreX: around.x + dx, centreY: around.y + dy)
                    if result.score > best.result.score { best = (around.x + dx, around.y + dy, result) }
                }
            }
        }
        let result = best.result
        guard result.total > 0 else { return nil }
        // Marks at whole values stand at φ = 36°·k − 90°, where e^(10iφ) = −1: the phase is 180°
        // on an upright face, and turning the face by δ dial units adds 36°·δ·10 = 360°·δ to it.
        var phase = atan2(result.im, result.re) - Double.pi
        if phase < -Double.pi { phase += 2 * Double.pi }
        return DialFace(
            centerX: Double(best.x) / 2, centerY: Double(best.y) / 2, strength: result.score / result.total,
            rotation: phase / (2 * Double.pi))
    }
}

/// One band's harmonic around one centre: the strongest band's magnitude, its total ink, and
/// its real and imaginary sums.
private struct Harmonic {
    var score = 0.0, total = 0.0, re = 0.0, im = 0.0
}

/// The tenth harmonic's kernel at every offset from a centre counted in half pixels: for an offset
/// (a/2, b/2) inside the ring, its band and e^(10iφ)/r and 1/r, the weights `DialFace` gives a
/// pixel there (r and φ of the offset, φ from +x, clockwise on screen since y points down; 1/r so
/// that each band counts angles, not area). Centres on a half-pixel grid and pixels on the whole
/// one are then whole numbers of half pixels apart, and scoring a centre needs no root, division
/// or trigonometry per pixel.
private struct HalfPixelRing: Sendable {
    /// The largest offset tabulated, in half pixels either way; the table is `side` × `side`.
    let reach: Int, side: Int
    let bandCount: Int
    /// Per offset, its band, or −1 outside the ring.
    private var band: [Int8] = []
    private var re: [Float] = [], im: [Float] = [], weight: [Float] = []

    /// The pixels with ink, needle left out, at their coordinates in half pixels.
    struct Points {
        var x: [Int32] = [], y: [Int32] = [], ink: [Double] = []

        /// Those from `near` to `far` half pixels from (`aroundX`, `aroundY`).
        init(ink: [Float], excluded: [Bool], width: Int, height: Int, aroundX: Int, aroundY: Int, from near: Double, to far: Double) {
            let near2 = max(0, near) * max(0, near), far2 = far * far
            for row in 0..<height {
                for column in 0..<width where !excluded[row * width + column] && ink[row * width + column] > 0 {
                    let dx = Double(2 * column - aroundX), dy = Double(2 * row - aroundY)
                    guard dx * dx + dy * dy >= near2, dx * dx + dy * dy < far2 else { continue }
                    x.append(Int32(2 * column))
                    y.append(Int32(2 * row))
                    self.ink.append(Double(ink[row * width + column]))
                }
            }
        }
    }

    /// The tables of the shapes seen lately (each under a megabyte, so fewer of them).
    private static let cache = ShapeCache<HalfPixelRing>(limit: 8)

    static func cached(_ shape: RingKernel.Shape) -> HalfPixelRing { cache.value(for: shape, made: HalfPixelRing.init) }

    private init(_ shape: RingKernel.Shape) {
        let innerRadius = shape.innerRadius, bandWidth = shape.bandWidth
        bandCount = shape.bandCount
        let outerRadius = innerRadius + Double(bandCount) * bandWidth
        reach = Int((2 * outerRadius).rounded(.up)) + 1
        side = 2 * reach + 1
        band = [Int8](repeating: -1, count: side * side)
        re = [Float](repeating: 0, count: side * side)
        im = re
        weight = re
        for b in -reach...reach {
            for a in -reach...reach {
                let dx = 0.5 * Double(a), dy = 0.5 * Double(b)
                let r2 = dx * dx + dy * dy
                guard r2 >= innerRadius * innerRadius, r2 < outerRadius * outerRadius else { continue }
                let r = r2.squareRoot(), inverseR = 1 / r
                // ((dx + i·dy)/r)^10 is e^(10iφ) without trigonometry.
                let zr = dx * inverseR, zi = dy * inverseR
                let z2r = zr * zr - zi * zi, z2i = 2 * zr * zi
                let z4r = z2r * z2r - z2i * z2i, z4i = 2 * z2r * z2i
                let z8r = z4r * z4r - z4i * z4i, z8i = 2 * z4r * z4i
                let index = (b + reach) * side + a + reach
                band[index] = Int8(min(Int((r - innerRadius) / bandWidth), bandCount - 1))
                re[index] = Float(inverseR * (z8r * z2r - z8i * z2i))
                im[index] = Float(inverseR * (z8r * z2i + z8i * z2r))
                weight[index] = Float(inverseR)
            }
        }
    }

    /// The harmonic of `points` around the centre at (`centreX`, `centreY`) half pixels.
    func harmonic(_ points: Points, centreX: Int, centreY: Int) -> Harmonic {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * bandCount) { sums in
            sums.initialize(repeating: 0)
            let sumRe = sums.baseAddress!, sumIm = sumRe + bandCount, total = sumIm + bandCount
            points.x.withUnsafeBufferPointer { xs in
                points.y.withUnsafeBufferPointer { ys in
                    points.ink.withUnsafeBufferPointer { inks in
                        band.withUnsafeBufferPointer { band in
                            re.withUnsafeBufferPointer { re in
                                im.withUnsafeBufferPointer { im in
                                    weight.withUnsafeBufferPointer { weight in
                                        for i in 0..<xs.count {
                                            // Both offsets within ±reach, as one unsigned comparison each.
                                            let a = Int(xs[i]) - centreX + reach, b = Int(ys[i]) - centreY + reach
                                            guard UInt(bitPattern: a) < UInt(side), UInt(bitPattern: b) < UInt(side) else { continue }
                                            let index = b * side + a
                                            let k = Int(band[index])
                                            guard k >= 0 else { continue }
                                            let ink = inks[i]
                                            sumRe[k] += ink * Double(re[index])
                                            sumIm[k] += ink * Double(im[index])
                                            total[k] += ink * Double(weight[index])
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            var best = Harmonic()
            for k in 0..<bandCount {
                let magnitude = (sumRe[k] * sumRe[k] + sumIm[k] * sumIm[k]).squareRoot()
                if magnitude > best.score { best = Harmonic(score: magnitude, total: total[k], re: sumRe[k], im: sumIm[k]) }
            }
            return best
        }
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
/// grouped by band, in reading order within each, so that each centre's sums add them in the
/// same order as a scan of the square would (the same sums to the last bit).
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

    /// The kernels of the shapes seen lately: a kernel costs a few thousand sines and cosines,
    /// more than a search with it.
    private static let cache = ShapeCache<RingKernel>(limit: 32)

    /// The kernel of `shape`, made the first time it is asked for.
    static func cached(_ shape: Shape) -> RingKernel { cache.value(for: shape, made: RingKernel.init) }

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

    /// The strongest band's harmonic magnitude with the ring centred on each block of `columns` ×
    /// `rows` of `ink`, whose grid `offsets` were made for; row by row. Each entry of the kernel is
    /// laid on every centre before the next, so that the inner loop runs along a row of blocks
    /// with no sum waiting on another: each centre's sums still add the entries in their order.
    func scores(_ ink: BlockedInk, offsets: [Int], columns: ClosedRange<Int>, rows: ClosedRange<Int>) -> [Double] {
        let width = columns.count, count = width * rows.count
        var best = [Double](repeating: 0, count: count)
        var sumRe = [Float](repeating: 0, count: count), sumIm = sumRe
        offsets.withUnsafeBufferPointer { offsets in
            ink.sums.withUnsafeBufferPointer { sums in
                sumRe.withUnsafeMutableBufferPointer { sumRe in
                    sumIm.withUnsafeMutableBufferPointer { sumIm in
                        for band in 0..<bandCount {
                            sumRe.update(repeating: 0)
                            sumIm.update(repeating: 0)
                            for k in bandStarts[band]..<bandStarts[band + 1] {
                                let weightRe = re[k], weightIm = im[k]
                                for (row, y) in rows.enumerated() {
                                    let source = sums.baseAddress! + ink.index(x: columns.lowerBound, y: y) + offsets[k]
                                    let targetRe = sumRe.baseAddress! + row * width, targetIm = sumIm.baseAddress! + row * width
                                    for column in 0..<width {
                                        let weight = source[column]
                                        targetRe[column] += weight * weightRe
                                        targetIm[column] += weight * weightIm
                                    }
                                }
                            }
                            for i in 0..<count {
                                best[i] = max(best[i], Double(sumRe[i] * sumRe[i] + sumIm[i] * sumIm[i]).squareRoot())
                            }
                        }
                    }
                }
            }
        }
        return best
    }
}

/// Tables made from a ring's shape, kept for the shapes seen lately: a profile's dials share one
/// size, so the table is made once and every photo after uses it. Past `limit` shapes (only a
/// corpus of crops of every size gets there) it starts afresh.
private final class ShapeCache<Table: Sendable>: Sendable {
    private let tables = Mutex<[RingKernel.Shape: Table]>([:])
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// The table of `shape`, `made` the first time it is asked for.
    func value(for shape: RingKernel.Shape, made: (RingKernel.Shape) -> Table) -> Table {
        if let table = tables.withLock({ $0[shape] }) { return table }
        let table = made(shape)
        tables.withLock { tables in
            if tables.count >= limit { tables.removeAll() }
            tables[shape] = table
        }
        return table
    }
}
