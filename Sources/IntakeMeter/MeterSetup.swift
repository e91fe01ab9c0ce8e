#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
public import IntakeCodecs

/// Proposes a profile from one photo of a meter intake has never seen, as AI-on-the-edge-device's
/// set-up wizard does, for a person to check on the overlay: the counter's wheels (a row of
/// digit-shaped blobs of one height, light on dark or dark on light) and the dials (a needle
/// longer than wide, whose thickest part is the hub: red, or where no red one is found, dark on a
/// light face). What it cannot know for sure, it says: which dial is which fraction, the unit, a
/// wheel it may have missed, dials found by dark needles.
public enum MeterSetup {
    public struct Proposal: Sendable {
        public var wheels: [MeterWheel]
        public var dials: [MeterDial]
        /// The landmarks the aligner will find this meter by in every photo (corners of prints,
        /// numerals, washers), as it takes them from this photo as the reference: outside the
        /// wheels, whose digits change. Drawn on the overlay so a person sees they lie on the
        /// meter, not on a background that may change.
        public var landmarks: [(x: Double, y: Double)]
        /// The window the wheels are seen through, for the person to check that the digits found
        /// are the counter's; nil when no counter was found, or no one window with a clear edge
        /// holds them all (some counters show each wheel through a slot of its own).
        public var counterWindow: Box?
        /// Each thing the person should check, in words.
        public var doubts: [String]
        /// One decimal per dial: the dials are the fractions.
        public var decimals: Int { dials.count }
    }

    /// Fewer landmarks than this in the reference, and a photo of a moved camera may not show the
    /// 16 that must agree (`AlignmentLimits.minimumInliers`): only a share of a reference's
    /// landmarks is found again after a turn, a zoom or a change of light.
    public static let fewLandmarks = 100

    public static func propose(_ photo: RGBImage) -> Proposal {
        var doubts: [String] = []
        let gray = AlignGrayPlane(luma: photo)
        var hubs = needleHubs(redNeedles(photo), width: photo.width, height: photo.height)
        if hubs.isEmpty {
            // Black needles: dark on a light face. Numerals are too small to pass for one, but a
            // shadow or a dark print of a needle's size and shape could, so the person is asked.
            hubs = needleHubs(darkNeedles(gray), width: photo.width, height: photo.height)
            if !hubs.isEmpty {
                doubts.append("no red dial found; \(hubs.count) found by dark needles, which a shadow or a print can look like: check every dial box")
            }
        }
        let digits = counterDigits(in: gray)
        if digits.isEmpty { doubts.append("no counter found: a row of at least three digits of one height") }
        if hubs.isEmpty { doubts.append("no dial found (a red needle, or a dark one on a light face)") }

        // Wheels: boxes of one size centred on each digit; the last counts units, the others
        // each ten times the one to their right.
        let height = digits.map(\.height).sorted()[safe: digits.count / 2] ?? 0
        let boxHeight = Int((Double(height) * 1.4).rounded()), boxWidth = Int((Double(height) * 0.97).rounded())
        let centreY = digits.map(\.centreY).sorted()[safe: digits.count / 2] ?? 0
        var wheels: [MeterWheel] = []
        for (index, digit) in digits.enumerated() {
            let place = pow(10, Double(digits.count - 1 - index))
            let box = Box(x: Int((digit.centreX - Double(boxWidth) / 2).rounded()), y: Int((centreY - Double(boxHeight) / 2).rounded()),
                          width: boxWidth, height: boxHeight)
            wheels.append(MeterWheel(box: clamp(box, photo), place: place))
        }

        // Dials: a square around each hub, as wide as most of the gap to the nearest other hub;
        // the one nearest the counter's last wheel is the first fraction, the others follow it
        // clockwise around the dials' middle (as on the water meters seen so far).
        var dials: [MeterDial] = []
        if !hubs.isEmpty {
            let nearest: [Double] = hubs.indices.map { i in
                let others = hubs.indices.filter { $0 != i }.map { distance(hubs[i], hubs[$0]) }
                return others.min() ?? Double(min(photo.width, photo.height)) / 4
            }
            let side = Int((0.9 * (nearest.min() ?? 100)).rounded())
            let middle = (x: hubs.map(\.x).reduce(0, +) / Double(hubs.count), y: hubs.map(\.y).reduce(0, +) / Double(hubs.count))
            let anchor = digits.last.map { (x: $0.centreX, y: $0.centreY) } ?? (x: Double(photo.width), y: 0)
            func angle(_ p: (x: Double, y: Double)) -> Double { atan2Degrees(p.y - middle.y, p.x - middle.x) }
            let first = hubs.min { distance($0, anchor) < distance($1, anchor) }!
            let ordered = hubs.sorted { a, b in
                func turn(_ p: (x: Double, y: Double)) -> Double {
                    var t = angle(p) - angle(first)
                    while t < 0 { t += 360 }
                    return t
                }
                return turn(a) < turn(b)
            }
            for (index, hub) in ordered.enumerated() {
                let box = Box(x: Int((hub.x - Double(side - 1) / 2).rounded()), y: Int((hub.y - Double(side - 1) / 2).rounded()), width: side, height: side)
                dials.append(MeterDial(box: clamp(box, photo), factor: pow(10, -Double(index + 1))))
            }
            if hubs.count > 1 {
                doubts.append("which dial is which fraction is a guess (the one nearest the counter's last wheel taken as ×0.1, "
                    + "the others clockwise): check it against the labels printed beside the dials")
            }
        }
        if digits.count >= 3 { doubts.append("the unit (m3 assumed) and whether the last wheel counts units: check them") }
        let reference = AlignmentReference(image: photo, wheels: wheels.map(\.box), dials: dials.map(\.box))
        let landmarks = reference.landmarks.landmarks.map { (x: $0.x, y: $0.y) }
        if landmarks.count < fewLandmarks {
            doubts.append("only \(landmarks.count) landmarks outside the wheels, where at least \(fewLandmarks) are wanted: after a camera move "
                + "the meter may not be found again; a photo with more of the meter's face in view, evenly lit, gives more")
        }
        // Not every counter has one window: some show each wheel through a slot of its own, so a
        // window not found is no doubt.
        let window = counterWindow(around: digits, in: gray)
        return Proposal(wheels: wheels, dials: dials, landmarks: landmarks, counterWindow: window, doubts: doubts)
    }

    // MARK: Dials

    /// Red pixels, the holes in red regions filled: where red needles are.
    static func redNeedles(_ photo: RGBImage) -> [Bool] {
        let width = photo.width, height = photo.height, count = width * height
        let pixels = photo.storage.base
        var red = [Bool](repeating: false, count: count)
        for i in 0..<count {
            let r = Int(pixels[i * 3]), g = Int(pixels[i * 3 + 1]), b = Int(pixels[i * 3 + 2])
            // Dull red counts too: a dim photo's needles are (89, 68, 67).
            let other = max(g, b)
            red[i] = r - other >= 18 && r * 4 >= other * 5 && r >= 60
        }
        return DialMask.fillHoles(red, width: width, height: height)
    }

    /// Pixels dark against a light surround (luma under 45% of the mean of the 31 × 31 square
    /// around them, which is over 140): a black needle on a dial's white face, not the dark
    /// background or counter window around the dials, whose surround is dark too.
    static func darkNeedles(_ gray: AlignGrayPlane) -> [Bool] {
        let local = gray.boxMean(radius: 15)
        var dark = [Bool](repeating: false, count: gray.pixels.count)
        for i in dark.indices { dark[i] = local.pixels[i] > 140 && gray.pixels[i] < 0.45 * local.pixels[i] }
        return DialMask.fillHoles(dark, width: gray.width, height: gray.height)
    }

    /// The hubs of the needles in `mask`: for each region of a needle's size that is longer than
    /// it is wide (a six-armed flow star is not), the middle of its deepest pixels, where the
    /// needle is thickest.
    static func needleHubs(_ mask: [Bool], width: Int, height: Int) -> [(x: Double, y: Double)] {
        let area = Double(width * height)
        var hubs: [(x: Double, y: Double)] = []
        let depth = DialDistance.chamfer(mask, width: width, height: height)
        for region in DialComponents.label(mask, width: width, height: height).regions {
            let share = Double(region.pixels.count) / area
            guard share >= 0.0008, share <= 0.03 else { continue }
            // Elongation from the second moments: a needle's long axis is well over its short one.
            let n = Double(region.pixels.count)
            var sumX = 0.0, sumY = 0.0
            for p in region.pixels {
                sumX += Double(p % width)
                sumY += Double(p / width)
            }
            let mx = sumX / n, my = sumY / n
            var xx = 0.0, yy = 0.0, xy = 0.0
            for p in region.pixels {
                let dx: Double = Double(p % width) - mx, dy: Double = Double(p / width) - my
                xx += dx * dx
                yy += dy * dy
                xy += dx * dy
            }
            let spread = ((xx - yy) * (xx - yy) + 4 * xy * xy).squareRoot()
            let long = (xx + yy + spread) / 2, short = max((xx + yy - spread) / 2, 1e-9)
            // Needles with their hubs measure 6 to 7.5 on the demo meter, and 2.6 to 2.7 where they
            // are short teardrops (the corpus's unlabelled photos of another meter); the demo
            // meter's six-armed flow star, 1.9.
            guard long / short >= 2.3 else { continue }
            // The hub: the centroid of the region's deepest pixels.
            let deepest = region.pixels.map { depth[$0] }.max() ?? 0
            var coreX = 0.0, coreY = 0.0, coreCount = 0.0
            for p in region.pixels where depth[p] >= 0.8 * deepest {
                coreX += Double(p % width)
                coreY += Double(p / width)
                coreCount += 1
            }
            hubs.append((coreX / coreCount, coreY / coreCount))
        }
        return hubs
    }

    // MARK: Wheels

    /// The counter's window: on each side of the digits, the line where the picture changes most
    /// sharply across it (averaged along the digits' span), searched outward up to a digit's
    /// height from the digits. Nil when any side has no edge of at least `windowEdge` grey levels.
    static func counterWindow(around digits: [Blob], in plane: AlignGrayPlane) -> Box? {
        guard digits.count >= 3 else { return nil }
        let width = plane.width, height = plane.height
        let left = digits.map(\.left).min()!, right = digits.map(\.right).max()!
        let top = digits.map(\.top).min()!, bottom = digits.map(\.bottom).max()!
        let reach = bottom - top + 1
        func value(_ x: Int, _ y: Int) -> Float { plane.pixels[y * width + x] }
        /// The mean step across a row (`across` vertical) or a column, over the digits' span.
        func step(at line: Int, horizontal: Bool) -> Float? {
            if horizontal {
                guard line >= 1, line < height - 1 else { return nil }
                return (left...right).reduce(Float(0)) { $0 + abs(value($1, line - 1) - value($1, line + 1)) } / Float(right - left + 1)
            }
            guard line >= 1, line < width - 1 else { return nil }
            return (top...bottom).reduce(Float(0)) { $0 + abs(value(line - 1, $1) - value(line + 1, $1)) } / Float(bottom - top + 1)
        }
        func strongest(_ lines: [Int], horizontal: Bool) -> Int? {
            let scored = lines.compactMap { line in step(at: line, horizontal: horizontal).map { (line, $0) } }
            guard let best = scored.max(by: { $0.1 < $1.1 }), best.1 >= windowEdge else { return nil }
            return best.0
        }
        guard let windowTop = strongest(Array(stride(from: top - 2, through: top - reach, by: -1)), horizontal: true),
            let windowBottom = strongest(Array((bottom + 2)...(bottom + reach)), horizontal: true),
            let windowLeft = strongest(Array(stride(from: left - 2, through: left - reach, by: -1)), horizontal: false),
            let windowRight = strongest(Array((right + 2)...(right + reach)), horizontal: false)
        else { return nil }
        return Box(x: windowLeft, y: windowTop, width: windowRight - windowLeft + 1, height: windowBottom - windowTop + 1)
    }

    /// The least mean step, in grey levels, that counts as the window's edge.
    static let windowEdge: Float = 20

    struct Blob {
        var left: Int, top: Int, right: Int, bottom: Int
        var width: Int { right - left + 1 }
        var height: Int { bottom - top + 1 }
        var centreX: Double { Double(left + right) / 2 }
        var centreY: Double { Double(top + bottom) / 2 }
    }

    /// The digits of the counter, left to right: the longest row of blobs of one height, at one
    /// level, taller than wide, each next to the last; light on dark or dark on light, whichever
    /// gives the longer row.
    static func counterDigits(in plane: AlignGrayPlane) -> [Blob] {
        let width = plane.width, height = plane.height
        let local = plane.boxMean(radius: max(4, min(width, height) / 24))
        var best: [Blob] = []
        for polarity in [Float(1), -1] {
            var mask = [Bool](repeating: false, count: width * height)
            for i in 0..<mask.count { mask[i] = polarity * (plane.pixels[i] - local.pixels[i]) > 30 }
            let blobs = DialComponents.label(mask, width: width, height: height).regions.compactMap { region -> Blob? in
                var blob = Blob(left: width, top: height, right: 0, bottom: 0)
                for p in region.pixels {
                    blob.left = min(blob.left, p % width)
                    blob.right = max(blob.right, p % width)
                    blob.top = min(blob.top, p / width)
                    blob.bottom = max(blob.bottom, p / width)
                }
                let aspect = Double(blob.height) / Double(blob.width)
                let size = Double(blob.height) / Double(height)
                // Digits are taller than wide; parts of a rolling digit may be as short as wide.
                return aspect >= 0.6 && aspect <= 4 && size >= 0.015 && size <= 0.3 ? blob : nil
            }
            for seed in blobs where Double(seed.height) / Double(seed.width) >= 1.1 && Double(seed.height) >= 0.04 * Double(height) {
                let seedHeight = Double(seed.height)
                let row = blobs.filter { (other: Blob) -> Bool in
                    let sameHeight = abs(Double(other.height) - seedHeight) <= 0.2 * seedHeight
                    let sameLevel = abs(other.centreY - seed.centreY) <= 0.25 * seedHeight
                    return sameHeight && sameLevel
                }.sorted { $0.centreX < $1.centreX }
                // The run through `seed` whose neighbours are at most two digit heights apart.
                guard let at = row.firstIndex(where: { $0.left == seed.left && $0.top == seed.top }) else { continue }
                var start = at, end = at
                while start > 0, row[start].centreX - row[start - 1].centreX <= 2 * seedHeight { start -= 1 }
                while end < row.count - 1, row[end + 1].centreX - row[end].centreX <= 2 * seedHeight { end += 1 }
                var run = Array(row[start...end])
                guard run.count >= 3 else { continue }
                // A wheel caught between two digits shows parts of both, shorter than a digit:
                // taken at either end where it stands one step from the run, at the run's level.
                let steps = zip(run.dropFirst(), run).map { $0.centreX - $1.centreX }.sorted()
                let step = steps[steps.count / 2]
                let partials = blobs.filter { (other: Blob) -> Bool in
                    let tall = Double(other.height) >= 0.3 * seedHeight && Double(other.height) <= 1.2 * seedHeight
                    let level = other.top >= Int(seed.centreY - 0.8 * seedHeight) && other.bottom <= Int(seed.centreY + 0.8 * seedHeight)
                    return tall && level
                }
                for side in [1.0, -1.0] {
                    let end = side > 0 ? run.last! : run.first!
                    let next = partials.filter { abs($0.centreX - (end.centreX + side * step)) <= 0.3 * step }
                        .min { abs($0.centreY - seed.centreY) < abs($1.centreY - seed.centreY) }
                    if let next { side > 0 ? run.append(next) : run.insert(next, at: 0) }
                }
                if run.count > best.count { best = run }
            }
        }
        return best
    }

    static func clamp(_ box: Box, _ photo: RGBImage) -> Box {
        let x = max(0, min(box.x, photo.width - box.width)), y = max(0, min(box.y, photo.height - box.height))
        return Box(x: x, y: y, width: min(box.width, photo.width), height: min(box.height, photo.height))
    }

    static func distance(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double)) -> Double {
        squaredDistance(a, b).squareRoot()
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

extension AlignGrayPlane {
    /// The mean of the (2·radius + 1)² square around each pixel (clipped at the edges), through
    /// an integral image.
    func boxMean(radius: Int) -> AlignGrayPlane {
        var integral = [Double](repeating: 0, count: (width + 1) * (height + 1))
        for y in 0..<height {
            var row = 0.0
            for x in 0..<width {
                row += Double(pixels[y * width + x])
                integral[(y + 1) * (width + 1) + x + 1] = integral[y * (width + 1) + x + 1] + row
            }
        }
        var out = AlignGrayPlane(width: width, height: height)
        for y in 0..<height {
            let top = max(0, y - radius), bottom = min(height, y + radius + 1)
            for x in 0..<width {
                let left = max(0, x - radius), right = min(width, x + radius + 1)
                let sum = integral[bottom * (width + 1) + right] - integral[top * (width + 1) + right]
                    - integral[bottom * (width + 1) + left] + integral[top * (width + 1) + left]
                out.pixels[y * width + x] = Float(sum / Double((bottom - top) * (right - left)))
            }
        }
        return out
    }
}
