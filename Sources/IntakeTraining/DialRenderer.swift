// The synthetic dials the dial model learns from: every one drawn here, from a seed, so that the
// model owes nothing to the unlicensed needle crops of the corpus (they only measure it).

#if canImport(Glibc)
    import Glibc
#endif
package import IntakeCodecs
package import IntakeMeter

/// Draws one analog dial crop with its needle at a given position: a face of one of several
/// styles (plain, ringed, ticked, numbered clockwise or not, upright or radial numerals), a needle
/// of one of several shapes and colours (red wedges, teardrops on a big hub, thin blades, slim
/// black lancets with a tail, half-disc sectors with a pointer), and what cameras add: framing off
/// centre, small turns and tilts, glare, a sticker over an edge, a tint, blur and noise.
///
/// Drawn with signed distances and an anti-aliased edge of one pixel, at the crop's own size, so
/// that the model's input is made from it exactly as from a real crop (`DialPreprocessing`).
package struct DialRenderer {
    /// An RGB colour, components 0…1.
    struct Colour {
        var r: Float, g: Float, b: Float

        static func gray(_ v: Float) -> Colour { Colour(r: v, g: v, b: v) }

        func mixed(with other: Colour, _ t: Float) -> Colour {
            Colour(r: r + (other.r - r) * t, g: g + (other.g - g) * t, b: b + (other.b - b) * t)
        }

        func scaled(_ s: Float) -> Colour { Colour(r: r * s, g: g * s, b: b * s) }
    }

    enum NeedleShape: CaseIterable {
        /// A straight wedge from a round hub to a point (the common red needle).
        case wedge
        /// A wide wedge on a hub a third of the face wide (teardrop; zeiger dials).
        case teardrop
        /// A thin blade of even width on a large hub (the demo water meter).
        case blade
        /// A slim lancet, widest a third of the way out, with a round counterweight behind (black).
        case lancet
        /// A half-disc sector behind the hub, with a wedge pointer out of the middle of its flat side.
        case sector
        /// A red ring round a pale centre, open where the needle points, with a red hub and pointer inside.
        case ring
        /// Three spokes 120° apart, the pointer the longest.
        case spokes
    }

    /// The position the needle shows, 0.0 ..< 10.0 (clockwise from 12 o'clock, 36° a unit).
    package let value: Double
    /// The crop's side in pixels.
    package let size: Int

    // Framing: the face's centre and radius in pixels, its turn (radians) and its tilt (scales).
    private var centreX: Float = 0, centreY: Float = 0, radius: Float = 0
    private var turn: Float = 0, scaleX: Float = 1, scaleY: Float = 1, shear: Float = 0

    private var background = Colour.gray(0.5), backgroundGradient = Colour.gray(0)
    private var face = Colour.gray(0.9), faceEdge: Float = 1
    private var rim: Colour? = nil, rimWidth: Float = 0.05, bezel: Colour? = nil, bezelWidth: Float = 0.12
    private var ink = Colour.gray(0.1)
    private var majorTicks = false, minorTicks = 0, tickInner: Float = 0.85, tickOuter: Float = 0.97, tickWidth: Float = 0.025
    private var numerals = true, numeralRadius: Float = 0.7, numeralHeight: Float = 0.22, numeralStroke: Float = 0.035
    private var numeralsRadial = false, counterClockwise = false, numeralInk = Colour.gray(0.1)

    private var shape = NeedleShape.wedge
    private var needle = Colour(r: 0.85, g: 0.1, b: 0.1), needleHighlight: Float = 0
    private var needleLength: Float = 0.75, needleWidth: Float = 0.12, tailLength: Float = 0.15, hubRadius: Float = 0.12
    private var sectorRadius: Float = 0.85
    private var ringInner: Float = 0.3, ringOuter: Float = 0.6, ringGap: Float = 0.6, ringCentre = Colour.gray(0.95)
    private var spokeLength: Float = 0.6
    private var cap: Colour? = nil, capRadius: Float = 0.05
    /// Where the needle's pivot is seen off the face's centre: the needle stands above the face,
    /// and a camera looking from the side sees it shifted (parallax). The value is where the tip
    /// points on the face, so the needle is drawn from this pivot to the tip.
    private var pivot: (x: Float, y: Float) = (0, 0)
    private var shadowOffset: (Float, Float) = (0, 0), shadowStrength: Float = 0

    private var glare: (x: Float, y: Float, rx: Float, ry: Float, strength: Float)? = nil
    private var sticker: (x: Float, y: Float, halfWidth: Float, halfHeight: Float, angle: Float, colour: Colour)? = nil
    private var stickerFrame: Float = 0, stickerFrameColour = Colour.gray(0.2)
    private var neighbour: (x: Float, y: Float, radius: Float)? = nil
    /// Faint copies of the needle (offset in dial units, opacity): a needle that moved during the exposure.
    private var ghosts: [(offset: Float, opacity: Float)] = []
    private var exposure: Float = 1
    private var tint = Colour.gray(1), lightGradient: (Float, Float) = (0, 0), gamma: Float = 1
    private var blur: Float = 0, motion: (dx: Float, dy: Float) = (0, 0), noise: Float = 0

    /// A random dial showing `value`, every choice drawn from `random`.
    package init(value: Double, random: inout SplitMix64) {
        self.value = value
        size = 36 + random.below(90)
        let s = Float(size)
        radius = s * random.uniform(0.36...0.56)
        centreX = s / 2 + s * random.uniform(-0.07...0.07)
        centreY = s / 2 + s * random.uniform(-0.07...0.07)
        turn = random.uniform(-0.05...0.05)
        scaleX = random.uniform(0.88...1.12)
        scaleY = random.uniform(0.88...1.12)
        shear = random.uniform(-0.08...0.08)

        // The housing around the face, and the face.
        background = Self.randomColour(&random, light: random.uniform(0...1) < 0.6)
        backgroundGradient = Colour(r: random.uniform(-0.2...0.2), g: random.uniform(-0.2...0.2), b: random.uniform(-0.2...0.2))
        let faces = [
            Colour.gray(0.95), Colour.gray(0.85), Colour(r: 0.95, g: 0.92, b: 0.8), Colour(r: 0.9, g: 0.9, b: 0.7),
            Colour(r: 0.8, g: 0.85, b: 0.75), Colour(r: 0.75, g: 0.78, b: 0.55), Colour(r: 0.9, g: 0.88, b: 0.85),
        ]
        face = faces[random.below(faces.count)].scaled(random.uniform(0.8...1.05))
        faceEdge = random.uniform(0.95...1.25)
        if random.uniform(0...1) < 0.6 { rim = Colour.gray(random.uniform(0.05...0.4)); rimWidth = random.uniform(0.02...0.07) }
        if random.uniform(0...1) < 0.4 {
            bezel = Self.randomColour(&random, light: random.uniform(0...1) < 0.5); bezelWidth = random.uniform(0.05...0.25)
        }

        // Marks and numerals.
        ink = Colour.gray(random.uniform(0...0.3))
        majorTicks = random.uniform(0...1) < 0.7
        minorTicks = [0, 0, 4, 9][random.below(4)]
        tickOuter = random.uniform(0.9...1.0)
        tickInner = tickOuter - random.uniform(0.06...0.18)
        tickWidth = random.uniform(0.015...0.04)
        numerals = random.uniform(0...1) < 0.8
        numeralHeight = random.uniform(0.17...0.3)
        numeralRadius = tickInner - numeralHeight * random.uniform(0.5...0.9)
        numeralStroke = numeralHeight * random.uniform(0.1...0.18)
        numeralsRadial = random.uniform(0...1) < 0.15
        counterClockwise = random.uniform(0...1) < 0.15
        numeralInk = random.uniform(0...1) < 0.15 ? Colour(r: 0.7, g: 0.1, b: 0.1) : ink

        // The needle.
        let shapes: [(NeedleShape, Float)] = [
            (.wedge, 0.26), (.teardrop, 0.24), (.blade, 0.08), (.lancet, 0.16), (.sector, 0.12), (.ring, 0.09), (.spokes, 0.05),
        ]
        var pick = random.uniform(0...1)
        shape = .wedge
        for (candidate, weight) in shapes {
            if pick < weight { shape = candidate; break }
            pick -= weight
        }
        let black = shape == .lancet ? random.uniform(0...1) < 0.8 : random.uniform(0...1) < 0.12
        if black {
            needle =
                random.uniform(0...1) < 0.8
                ? Colour.gray(random.uniform(0.02...0.2))
                : Colour(r: random.uniform(0.05...0.3), g: random.uniform(0.02...0.1), b: random.uniform(0.02...0.15))
        } else {
            // Reds from crimson to orange, some pale (seen through a dirty window).
            let r = random.uniform(0.45...1), g = random.uniform(0.0...0.35) * r, b = random.uniform(0.0...0.35) * r
            needle = Colour(r: r, g: g, b: b).mixed(with: face, random.uniform(0...0.3))
        }
        needleHighlight = random.uniform(0...0.25)
        switch shape {
        case .wedge:
            needleLength = random.uniform(0.6...0.92)
            needleWidth = random.uniform(0.06...0.16)
            tailLength = random.uniform(0...0.25)
            hubRadius = random.uniform(0.06...0.2)
        case .teardrop:
            needleLength = random.uniform(0.6...0.9)
            hubRadius = random.uniform(0.22...0.4)
            needleWidth = hubRadius * random.uniform(0.7...1)
            tailLength = 0
        case .blade:
            needleLength = random.uniform(0.6...0.92)
            needleWidth = random.uniform(0.02...0.05)
            hubRadius = random.uniform(0.12...0.35)
            tailLength = random.uniform(0...0.2)
        case .lancet:
            needleLength = random.uniform(0.6...0.92)
            needleWidth = random.uniform(0.04...0.09)
            tailLength = random.uniform(0.1...0.3)
            hubRadius = random.uniform(0.05...0.12)
        case .sector:
            needleLength = random.uniform(0.65...0.9)
            needleWidth = random.uniform(0.12...0.25)
            hubRadius = random.uniform(0.08...0.15)
            tailLength = 0
            sectorRadius = random.uniform(0.8...0.97)
        case .ring:
            needleLength = random.uniform(0.45...0.8)
            needleWidth = random.uniform(0.1...0.2)
            hubRadius = random.uniform(0.12...0.22)
            tailLength = 0
            ringInner = random.uniform(0.25...0.4)
            ringOuter = ringInner + random.uniform(0.12...0.3)
            ringGap = random.uniform(0.3...1.2)
            ringCentre = Colour.gray(random.uniform(0.85...1))
        case .spokes:
            needleLength = random.uniform(0.7...0.95)
            needleWidth = random.uniform(0.08...0.15)
            spokeLength = needleLength * random.uniform(0.6...0.9)
            hubRadius = random.uniform(0.06...0.14)
            tailLength = 0
        }
        if random.uniform(0...1) < 0.5 {
            let caps = [Colour.gray(0.95), Colour.gray(0.1), Colour.gray(0.7), needle.scaled(0.7)]
            cap = caps[random.below(caps.count)]
            capRadius = random.uniform(0.02...0.08)
        }
        if random.uniform(0...1) < 0.5 { pivot = (random.uniform(-0.06...0.06), random.uniform(-0.06...0.06)) }
        if random.uniform(0...1) < 0.5 {
            shadowOffset = (random.uniform(-0.06...0.06), random.uniform(-0.06...0.06))
            shadowStrength = random.uniform(0.1...0.4)
        }

        // What the camera and the meter's window add.
        if random.uniform(0...1) < 0.35 {
            glare = (random.uniform(-1...1), random.uniform(-1...1), random.uniform(0.1...0.6), random.uniform(0.1...0.6), random.uniform(0.2...0.8))
        }
        if random.uniform(0...1) < 0.22 {
            // A sticker or label: over an edge, or over the hub itself (seen on real meters).
            let angle = random.uniform(0...(2 * Float.pi))
            let distance = random.uniform(0...1) < 0.65 ? random.uniform(0...0.35) : random.uniform(0.75...1.2)
            let colours = [Colour(r: 0.6, g: 0.85, b: 0.6), Colour(r: 0.7, g: 0.9, b: 0.75), Colour.gray(0.95), Colour(r: 0.95, g: 0.9, b: 0.5)]
            let colour = random.uniform(0...1) < 0.7 ? colours[random.below(colours.count)] : Self.randomColour(&random, light: true)
            sticker = (
                distance * sin(angle), -distance * cos(angle), random.uniform(0.2...0.5), random.uniform(0.12...0.32),
                random.uniform(-0.6...0.6), colour
            )
            stickerFrame = random.uniform(0...1) < 0.5 ? random.uniform(0.03...0.1) : 0
            stickerFrameColour = random.uniform(0...1) < 0.6 ? Colour(r: 0.45, g: 0.1, b: 0.08) : Colour.gray(random.uniform(0.1...0.4))
        }
        if random.uniform(0...1) < 0.15 {
            let angle = random.uniform(0...(2 * Float.pi)), distance = random.uniform(2.0...2.4)
            neighbour = (distance * cos(angle), distance * sin(angle), 1)
        }
        if random.uniform(0...1) < 0.5 {
            tint = Colour(r: random.uniform(0.85...1.15), g: random.uniform(0.85...1.15), b: random.uniform(0.8...1.2))
        }
        if random.uniform(0...1) < 0.1 { exposure = random.uniform(1.2...1.7) }
        if random.uniform(0...1) < 0.08 {
            // A needle caught moving: faint copies of it a little either side.
            ghosts = (0..<(1 + random.below(2))).map { _ in
                (random.uniform(-1.2...1.2), random.uniform(0.25...0.6))
            }
        }
        if random.uniform(0...1) < 0.14 {
            // A strong cast: a pink, yellow or blue light.
            let casts = [
                Colour(r: 1.2, g: 0.6, b: 1.1), Colour(r: 1.3, g: 0.45, b: 1.25), Colour(r: 1.35, g: 0.5, b: 1.4), Colour(r: 1.15, g: 1.05, b: 0.6),
                Colour(r: 0.7, g: 0.85, b: 1.2),
            ]
            tint = casts[random.below(casts.count)]
        }
        lightGradient = (random.uniform(-0.25...0.25), random.uniform(-0.25...0.25))
        gamma = exp(random.uniform(-0.35...0.35))
        blur = random.uniform(0...1) < 0.5 ? random.uniform(0...1.8) * s / 64 : 0
        if random.uniform(0...1) < 0.12 {
            let angle = random.uniform(0...(2 * Float.pi)), length = random.uniform(1...5) * s / 64
            motion = (length * cos(angle), length * sin(angle))
        }
        noise = random.uniform(0...0.035)
    }

    static func randomColour(_ random: inout SplitMix64, light: Bool) -> Colour {
        let base = light ? random.uniform(0.6...0.95) : random.uniform(0.05...0.45)
        return Colour(r: base + random.uniform(-0.1...0.1), g: base + random.uniform(-0.1...0.1), b: base + random.uniform(-0.12...0.12))
    }

    // MARK: Drawing

    /// The dial as an image, noise drawn from `random`.
    package func image(random: inout SplitMix64) -> RGBImage {
        let count = size * size
        var red = [Float](repeating: 0, count: count), green = red, blue = red
        let s = Float(size)
        // The inverse of the framing: pixel → face coordinates (radius 1, y down, 12 o'clock at −y).
        let cosTurn = cos(turn), sinTurn = sin(turn)
        let angle = Float(value) * Float.pi / 5  // clockwise from 12 o'clock
        // From the pivot to where the tip points on the face (at the needle's length from the centre).
        let tipX = needleLength * sin(angle) - pivot.x, tipY = -needleLength * cos(angle) - pivot.y
        let tipDistance = (tipX * tipX + tipY * tipY).squareRoot()
        let direction = (x: tipX / tipDistance, y: tipY / tipDistance)
        let ghostDirections = ghosts.map { ghost in
            let a = angle + ghost.offset * Float.pi / 5
            let x = needleLength * sin(a) - pivot.x, y = -needleLength * cos(a) - pivot.y, length = (x * x + y * y).squareRoot()
            return (x: x / length, y: y / length, opacity: ghost.opacity)
        }
        for py in 0..<size {
            for px in 0..<size {
                let dx = (Float(px) + 0.5 - centreX) / radius, dy = (Float(py) + 0.5 - centreY) / radius
                let tx = (dx - shear * dy) / scaleX, ty = dy / scaleY
                let u = cosTurn * tx + sinTurn * ty, v = -sinTurn * tx + cosTurn * ty
                let pixel = 1 / radius  // one pixel in face units, for the anti-aliased edges
                var colour = shade(u: u, v: v, pixel: pixel, direction: direction, ghosts: ghostDirections)
                // Light falls off across the crop.
                let light = 1 + lightGradient.0 * (Float(px) / s - 0.5) + lightGradient.1 * (Float(py) / s - 0.5)
                colour = colour.scaled(light)
                if let glare {
                    let gx = (u - glare.x) / glare.rx, gy = (v - glare.y) / glare.ry
                    let g = glare.strength * exp(-(gx * gx + gy * gy))
                    colour = colour.mixed(with: .gray(1), g)
                }
                let i = py * size + px
                red[i] = colour.r * tint.r * exposure
                green[i] = colour.g * tint.g * exposure
                blue[i] = colour.b * tint.b * exposure
            }
        }
        for plane in [0, 1, 2] {
            var channel = plane == 0 ? red : plane == 1 ? green : blue
            if blur > 0.3 { Self.gaussianBlur(&channel, size: size, sigma: blur) }
            if abs(motion.dx) + abs(motion.dy) > 0.8 { Self.motionBlur(&channel, size: size, dx: motion.dx, dy: motion.dy) }
            switch plane {
            case 0: red = channel
            case 1: green = channel
            default: blue = channel
            }
        }
        let storage = PixelStorage(count: count * 3)
        for i in 0..<count {
            let grain = noise * random.normal()
            for (plane, channel) in [red, green, blue].enumerated() {
                let value = pow(min(max(channel[i] + grain + noise * 0.5 * random.normal(), 0), 1), gamma)
                storage.base[i * 3 + plane] = UInt8((value * 255).rounded())
            }
        }
        return RGBImage(width: size, height: size, storage: storage)
    }

    /// The colour at face coordinates (u, v).
    private func shade(
        u: Float, v: Float, pixel: Float, direction: (x: Float, y: Float), ghosts: [(x: Float, y: Float, opacity: Float)]
    ) -> Colour {
        let r = (u * u + v * v).squareRoot()
        // Outside: the housing, with a neighbouring dial's face sometimes in a corner.
        var colour = background.mixed(
            with: Colour(
                r: background.r + backgroundGradient.r, g: background.g + backgroundGradient.g,
                b: background.b + backgroundGradient.b), min(max((u + v) / 4 + 0.5, 0), 1))
        if let neighbour {
            let d = ((u - neighbour.x) * (u - neighbour.x) + (v - neighbour.y) * (v - neighbour.y)).squareRoot() - neighbour.radius
            colour = colour.mixed(with: face, Self.coverage(d, pixel))
        }
        if let bezel { colour = colour.mixed(with: bezel, Self.coverage(r - faceEdge - bezelWidth, pixel)) }
        colour = colour.mixed(with: face.scaled(1 - 0.08 * r * r), Self.coverage(r - faceEdge, pixel))
        if let rim { colour = colour.mixed(with: rim, Self.coverage(abs(r - 1) - rimWidth / 2, pixel)) }

        // Ticks: the nearest major and minor mark by angle.
        let theta = atan2(u, -v)  // clockwise from 12 o'clock, −π…π
        if majorTicks || minorTicks > 0 {
            let divisions = minorTicks > 0 ? Float(10 * (minorTicks + 1)) : 10
            let position = theta / (2 * Float.pi) * divisions
            let nearest = position.rounded()
            let isMajor = Int(nearest).isMultiple(of: max(1, Int(divisions) / 10))
            if isMajor ? majorTicks : true {
                let across = abs(position - nearest) / divisions * 2 * Float.pi * r
                let inner = isMajor ? tickInner : tickOuter - (tickOuter - tickInner) * 0.5
                let width = isMajor ? tickWidth : tickWidth * 0.6
                let along = max(inner - r, r - tickOuter)
                colour = colour.mixed(with: ink, Self.coverage(max(across - width / 2, along), pixel))
            }
        }
        // Numerals: the one nearest by angle.
        if numerals, abs(r - numeralRadius) < numeralHeight {
            let slot = Int((theta / (2 * Float.pi) * 10).rounded()), digit = ((counterClockwise ? -slot : slot) % 10 + 10) % 10
            let a = Float(slot) * Float.pi / 5
            let cx = numeralRadius * sin(a), cy = -numeralRadius * cos(a)
            var gx = u - cx, gy = v - cy
            if numeralsRadial { (gx, gy) = (cos(a) * gx + sin(a) * gy, -sin(a) * gx + cos(a) * gy) }
            let d = Glyphs.distance(digit: digit, x: gx / numeralHeight, y: gy / numeralHeight) * numeralHeight - numeralStroke / 2
            colour = colour.mixed(with: numeralInk, Self.coverage(d, pixel))
        }

        if shape == .ring { colour = colour.mixed(with: ringCentre, Self.coverage(r - ringOuter, pixel)) }
        // The needle's shadow, then the needle, then its cap.
        let nu = u - pivot.x, nv = v - pivot.y
        if shadowStrength > 0 {
            let d = needleDistance(u: nu - shadowOffset.0, v: nv - shadowOffset.1, direction: direction)
            colour = colour.mixed(with: .gray(0), shadowStrength * Self.coverage(d, 3 * pixel))
        }
        for ghost in ghosts {
            let d = needleDistance(u: nu, v: nv, direction: (ghost.x, ghost.y))
            colour = colour.mixed(with: needle, ghost.opacity * Self.coverage(d, pixel))
        }
        let d = needleDistance(u: nu, v: nv, direction: direction)
        if d < pixel {
            // A ridge of light along the needle's axis.
            let across = abs(nu * direction.y - nv * direction.x)
            let lit = needle.mixed(with: .gray(1), needleHighlight * max(0, 1 - across / max(needleWidth, 0.02)))
            colour = colour.mixed(with: lit, Self.coverage(d, pixel))
        }
        if let cap { colour = colour.mixed(with: cap, Self.coverage((nu * nu + nv * nv).squareRoot() - capRadius, pixel)) }
        if let sticker {
            let sx = u - sticker.x, sy = v - sticker.y
            let ax = abs(cos(sticker.angle) * sx + sin(sticker.angle) * sy), ay = abs(-sin(sticker.angle) * sx + cos(sticker.angle) * sy)
            let outside = max(ax - sticker.halfWidth, ay - sticker.halfHeight)
            if stickerFrame > 0 { colour = colour.mixed(with: stickerFrameColour, Self.coverage(outside - stickerFrame, pixel)) }
            colour = colour.mixed(with: sticker.colour, Self.coverage(outside, pixel))
        }
        return colour
    }

    /// Signed distance (face units) to the needle's shape: negative inside.
    private func needleDistance(u: Float, v: Float, direction: (x: Float, y: Float)) -> Float {
        let along = u * direction.x + v * direction.y, across = abs(u * direction.y - v * direction.x)
        let hub = (u * u + v * v).squareRoot() - hubRadius
        switch shape {
        case .wedge, .teardrop:
            // A triangle from the hub's width to the tip, and a short tail behind.
            let body = Self.taper(along: along, across: across, length: needleLength, width: needleWidth)
            let tail = tailLength > 0 ? Self.taper(along: -along, across: across, length: tailLength, width: needleWidth) : .infinity
            return min(hub, body, tail)
        case .blade:
            let body = max(across - needleWidth, along - needleLength, -along - tailLength)
            return min(hub, body)
        case .lancet:
            // Widest a third of the way out, tapering to a point at both ends of the blade.
            let widest = needleLength * 0.3
            let half =
                along < widest
                ? needleWidth * max(0, (along + tailLength * 0.3) / (widest + tailLength * 0.3))
                : needleWidth * max(0, (needleLength - along) / (needleLength - widest))
            let body = max(across - half, along - needleLength, -along - tailLength * 0.3)
            let weight =
                ((u + direction.x * tailLength) * (u + direction.x * tailLength)
                + (v + direction.y * tailLength) * (v + direction.y * tailLength)).squareRoot() - needleWidth * 1.3
            return min(hub, body, weight)
        case .sector:
            let half = max((u * u + v * v).squareRoot() - sectorRadius, along)
            let body = Self.taper(along: along, across: across, length: needleLength, width: needleWidth)
            return min(hub, half, body)
        case .ring:
            // The ring's arc is centred behind the needle; the gap round the needle is `ringGap` radians each side.
            let r = (u * u + v * v).squareRoot()
            let offAxis = atan2(u * direction.y - v * direction.x, along)  // 0 along the needle, ±π behind
            let annulus = max(ringInner - r, r - ringOuter, (ringGap - abs(offAxis)) * r)
            let body = Self.taper(along: along, across: across, length: needleLength, width: needleWidth)
            return min(hub, annulus, body)
        case .spokes:
            var best = min(hub, Self.taper(along: along, across: across, length: needleLength, width: needleWidth))
            for turn in [2 * Float.pi / 3, -2 * Float.pi / 3] {
                let dx = direction.x * cos(turn) - direction.y * sin(turn), dy = direction.x * sin(turn) + direction.y * cos(turn)
                let a = u * dx + v * dy, c = abs(u * dy - v * dx)
                best = min(best, Self.taper(along: a, across: c, length: spokeLength, width: needleWidth))
            }
            return best
        }
    }

    /// Signed distance to a triangle of `width` half-width at the pivot narrowing to a point at `length`.
    private static func taper(along: Float, across: Float, length: Float, width: Float) -> Float {
        let half = width * max(0, 1 - along / length)
        // The slanted edge's distance, scaled to be roughly Euclidean.
        let edge = (across - half) / (1 + (width / length) * (width / length)).squareRoot()
        return max(edge, -along - width * 0.2, along - length)
    }

    /// How much of a pixel a shape covers, given its signed distance there.
    private static func coverage(_ distance: Float, _ pixel: Float) -> Float {
        min(max(0.5 - distance / pixel, 0), 1)
    }

    private static func gaussianBlur(_ plane: inout [Float], size: Int, sigma: Float) {
        let reach = Int((2.5 * sigma).rounded(.up))
        var kernel = (-reach...reach).map { exp(-Float($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        var middle = plane
        for y in 0..<size {
            for x in 0..<size {
                var sum: Float = 0
                for (k, weight) in kernel.enumerated() { sum += weight * plane[y * size + min(max(x + k - reach, 0), size - 1)] }
                middle[y * size + x] = sum
            }
        }
        for y in 0..<size {
            for x in 0..<size {
                var sum: Float = 0
                for (k, weight) in kernel.enumerated() { sum += weight * middle[min(max(y + k - reach, 0), size - 1) * size + x] }
                plane[y * size + x] = sum
            }
        }
    }

    private static func motionBlur(_ plane: inout [Float], size: Int, dx: Float, dy: Float) {
        let steps = max(2, Int((abs(dx) + abs(dy)).rounded(.up)))
        let source = plane
        for y in 0..<size {
            for x in 0..<size {
                var sum: Float = 0
                for step in 0...steps {
                    let t = Float(step) / Float(steps) - 0.5
                    let sx = min(max(Int((Float(x) + t * dx).rounded()), 0), size - 1)
                    let sy = min(max(Int((Float(y) + t * dy).rounded()), 0), size - 1)
                    sum += source[sy * size + sx]
                }
                plane[y * size + x] = sum / Float(steps + 1)
            }
        }
    }
}

/// The numerals 0–9 as strokes, in a box one unit high centred on the origin (y down).
enum Glyphs {
    /// Polylines per digit, in a 0…1 × 0…1 box (0.6 wide once drawn).
    static let strokes: [[[(Float, Float)]]] = {
        let six: [[(Float, Float)]] = [
            [(0.9, 0.05), (0.7, 0), (0.3, 0), (0, 0.3), (0, 0.8), (0.2, 1), (0.8, 1), (1, 0.8), (1, 0.6), (0.8, 0.45), (0.2, 0.45), (0, 0.6)]
        ]
        return [
            [[(0.2, 0), (0.8, 0), (1, 0.2), (1, 0.8), (0.8, 1), (0.2, 1), (0, 0.8), (0, 0.2), (0.2, 0)]],
            [[(0.25, 0.2), (0.6, 0), (0.6, 1)]],
            [[(0, 0.2), (0.2, 0), (0.8, 0), (1, 0.2), (1, 0.4), (0, 1), (1, 1)]],
            [
                [(0, 0.1), (0.2, 0), (0.8, 0), (1, 0.2), (1, 0.35), (0.8, 0.5), (0.4, 0.5)],
                [(0.8, 0.5), (1, 0.65), (1, 0.8), (0.8, 1), (0.2, 1), (0, 0.9)],
            ],
            [[(0.75, 1), (0.75, 0), (0, 0.7), (1, 0.7)]],
            [[(1, 0), (0.1, 0), (0, 0.45), (0.7, 0.4), (1, 0.6), (1, 0.8), (0.8, 1), (0.2, 1), (0, 0.9)]],
            six,
            [[(0, 0), (1, 0), (0.4, 1)]],
            [
                [(0.2, 0), (0.8, 0), (0.95, 0.12), (0.95, 0.35), (0.8, 0.47), (0.2, 0.47), (0.05, 0.35), (0.05, 0.12), (0.2, 0)],
                [(0.2, 0.47), (0, 0.6), (0, 0.85), (0.2, 1), (0.8, 1), (1, 0.85), (1, 0.6), (0.8, 0.47)],
            ],
            six.map { $0.map { (1 - $0.0, 1 - $0.1) } },
        ]
    }()

    /// Distance from (x, y) (units of the glyph's height, origin at its centre) to the strokes of `digit`.
    static func distance(digit: Int, x: Float, y: Float) -> Float {
        // Glyph box: 0.6 wide, 1 high, centred.
        let gx = (x + 0.3) / 0.6, gy = y + 0.5
        var best = Float.infinity
        for line in strokes[digit] {
            for i in 1..<line.count {
                let (ax, ay) = line[i - 1], (bx, by) = line[i]
                // Back in height units for a true distance.
                let px = (gx - ax) * 0.6, py = gy - ay, ex = (bx - ax) * 0.6, ey = by - ay
                let t = min(max((px * ex + py * ey) / max(ex * ex + ey * ey, 1e-6), 0), 1)
                let qx = px - t * ex, qy = py - t * ey
                best = min(best, (qx * qx + qy * qy).squareRoot())
            }
        }
        return best
    }
}
