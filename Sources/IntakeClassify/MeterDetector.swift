/// Finds the red analog dials of a utility meter (water meters have four, for the fractions of a
/// cubic metre): small red pointers, each in the middle of a light, colourless dial face with dark
/// numbers and ticks around it — and almost no other red in the picture.
///
/// The evidence (0–1) is the share of the image's red that sits in such dials, scaled down when
/// fewer than three dials are found. On the shared corpus the demo meter's photos (rotated 35°)
/// score 0.82–1.0 and the other meter's 0.95–0.99 (0.76 for a shot with red boxes drawn on it);
/// none of the 828 other decodable corpus images scores more than 0.6, most 0: red in a photo is
/// skin, wood, fabric or flowers, spread over many shapes in coloured surroundings. Rotation does
/// not matter; a meter without red dials is not found.
struct MeterDetector {
    /// A red pointer on a dial face, in analysis pixels.
    struct Dial {
        var left: Int, top: Int, right: Int, bottom: Int
        /// How far around the pointer the face was inspected.
        var margin: Int
    }

    /// The dials found.
    let dials: [Dial]
    /// Red pixels in the dials divided by red pixels in the whole image.
    let dialShare: Double
    /// `dialShare`, scaled by found / 3 when fewer than three dials were found.
    let evidence: Double

    /// Smaller analysis images show too little of a dial to judge.
    static let minimumSide = 96

    init(_ image: AnalysisImage) {
        let width = image.width, height = image.height
        guard min(width, height) >= Self.minimumSide else {
            dials = []
            dialShare = 0
            evidence = 0
            return
        }
        let regions = RedRegions(image)
        let pixelCount = Double(width * height)
        var found: [Dial] = []
        var dialPixels = 0
        for region in regions.regions {
            let share = Double(region.area) / pixelCount
            // A pointer is 0.05–2% of the picture and fills a quarter to most of its box: a
            // needle or a teardrop, not a line and not a solid block.
            guard share >= 0.0005, share <= 0.02 else { continue }
            let fill = Double(region.area) / Double(region.boxWidth * region.boxHeight)
            guard fill >= 0.25, fill <= 0.85 else { continue }
            let margin = Int(Double(max(region.boxWidth, region.boxHeight)) * 0.7) + 1
            guard let face = DialFace(image, around: region, margin: margin), face.looksLikeDial else { continue }
            found.append(Dial(left: region.left, top: region.top, right: region.right, bottom: region.bottom, margin: margin))
            dialPixels += region.area
            if found.count == 32 { break }  // enough to decide; bounds the work on very red images
        }
        dials = found
        dialShare = regions.redPixels == 0 ? 0 : Double(dialPixels) / Double(regions.redPixels)
        evidence = dialShare * min(1, Double(found.count) / 3)
    }

    /// The rectangle around every dial and its face, in analysis pixels; nil when there is none.
    var dialArea: (left: Int, top: Int, right: Int, bottom: Int)? {
        guard let first = dials.first else { return nil }
        var area = (
            left: first.left - first.margin, top: first.top - first.margin, right: first.right + first.margin, bottom: first.bottom + first.margin
        )
        for dial in dials.dropFirst() {
            area.left = min(area.left, dial.left - dial.margin)
            area.top = min(area.top, dial.top - dial.margin)
            area.right = max(area.right, dial.right + dial.margin)
            area.bottom = max(area.bottom, dial.bottom + dial.margin)
        }
        return area
    }
}

/// The ring of pixels around a red region, out to `margin` beyond its box: on a meter, the dial's face.
struct DialFace {
    /// Median chroma of the ring: a printed dial face is white or grey.
    let medianChroma: Int
    /// Mean and standard deviation of the ring's luma: a light face with dark digits and ticks on it.
    let meanLuma: Double
    let lumaDeviation: Double

    /// Nil when the ring would leave the image: a pointer cut by the edge cannot be judged.
    init?(_ image: AnalysisImage, around region: RedRegions.Region, margin: Int) {
        let left = region.left - margin, right = region.right + margin
        let top = region.top - margin, bottom = region.bottom + margin
        guard left >= 0, top >= 0, right < image.width, bottom < image.height else { return nil }
        let width = image.width, luma = image.luma, chroma = image.chroma
        var chromaHistogram = [Int](repeating: 0, count: 256)
        var count = 0, sum = 0, squares = 0
        for y in top...bottom {
            let insideRows = y >= region.top && y <= region.bottom
            for x in left...right where !(insideRows && x >= region.left && x <= region.right) {
                let i = y &* width &+ x
                let value = Int(luma[i])
                sum &+= value
                squares &+= value &* value
                chromaHistogram[Int(chroma[i])] &+= 1
                count &+= 1
            }
        }
        var seen = 0, median = 255
        for (value, n) in chromaHistogram.enumerated() {
            seen += n
            if seen * 2 > count {
                median = value
                break
            }
        }
        let mean = Double(sum) / Double(count)
        medianChroma = median
        meanLuma = mean
        lumaDeviation = (max(0, Double(squares) / Double(count) - mean * mean)).squareRoot()
    }

    /// Colourless, light, and marked.
    var looksLikeDial: Bool { medianChroma < 22 && meanLuma > 90 && lumaDeviation > 18 }
}

/// The connected regions (8-neighbour) of the analysis image's red pixels (see
/// ``AnalysisImage/red``), found run by run: each row's runs of red are joined
/// to the runs they touch in the row above, so a large red area costs its runs, not its pixels.
struct RedRegions {
    struct Region {
        var area = 0
        var left = Int.max, top = Int.max, right = Int.min, bottom = Int.min
        var boxWidth: Int { right - left + 1 }
        var boxHeight: Int { bottom - top + 1 }
    }

    /// Regions of at least 4 pixels, in scan order of their first pixel.
    private(set) var regions: [Region] = []
    /// Red pixels in those regions.
    private(set) var redPixels = 0

    /// One horizontal stretch of red: columns start..<end of a row.
    private struct Run {
        var start: Int, end: Int, row: Int
    }

    init(_ image: AnalysisImage) {
        let width = image.width, height = image.height, red = image.red
        var runs: [Run] = []
        var parent: [Int] = []
        func root(_ run: Int) -> Int {
            var run = run
            while parent[run] != run {
                parent[run] = parent[parent[run]]
                run = parent[run]
            }
            return run
        }
        var previousRow = 0..<0
        let redPerRow = image.redPerRow
        for y in 0..<height {
            let firstRun = runs.count
            guard redPerRow[y] > 0 else {
                previousRow = firstRun..<firstRun
                continue
            }
            var x = 0
            let row = y &* width
            while x < width {
                guard red[row &+ x] != 0 else {
                    x &+= 1
                    continue
                }
                let start = x
                while x < width && red[row &+ x] != 0 { x &+= 1 }
                let index = runs.count
                runs.append(Run(start: start, end: x, row: y))
                parent.append(index)
                // Runs above that touch this one, diagonally included.
                for above in previousRow where runs[above].end >= start && runs[above].start <= x {
                    let a = root(above), b = root(index)
                    if a != b { parent[max(a, b)] = min(a, b) }
                }
            }
            previousRow = firstRun..<runs.count
        }
        // Gather each region's area and box at its root, in order of first appearance.
        var slot = [Int](repeating: -1, count: runs.count)
        var gathered: [Region] = []
        for (index, run) in runs.enumerated() {
            let r = root(index)
            if slot[r] < 0 {
                slot[r] = gathered.count
                gathered.append(Region())
            }
            let k = slot[r]
            gathered[k].area += run.end - run.start
            gathered[k].left = min(gathered[k].left, run.start)
            gathered[k].right = max(gathered[k].right, run.end - 1)
            gathered[k].top = min(gathered[k].top, run.row)
            gathered[k].bottom = max(gathered[k].bottom, run.row)
        }
        // Specks of a few pixels are JPEG colour noise, in meters and photos alike.
        regions = gathered.filter { $0.area >= 4 }
        redPixels = regions.reduce(0) { $0 + $1.area }
    }
}
