#if canImport(Glibc)
    import Glibc
#endif
package import IntakeMeter

/// Draws one counter wheel as its window shows it, in a typeface the corpus's wheels do not use
/// (the strokes of `Glyphs`, with a random weight, width and slant): the digit under the window's
/// middle rolled up by the tenths, the next digit coming in from below, on a wheel whose curve
/// darkens towards the window's top and bottom, between the window's dark sides.
///
/// The digit model learns from the corpus's wheels; a share of these among them is the "fonts" of
/// the augmentation that other meters' wheels need (see `WheelViewChange` for the rest).
package struct WheelRenderer {
    /// The reading shown, in tenths of a digit: 0 ..< 100 (37 is a 3 rolled four tenths of the
    /// way to 4).
    package let tenths: Int
    private let ink: (Float, Float, Float), wheel: (Float, Float, Float), frame: (Float, Float, Float)
    /// Glyph height, pitch between digits and stroke width, as shares of the crop's height.
    private let glyphHeight: Float, pitch: Float, stroke: Float
    private let glyphWidth: Float, slant: Float, centreX: Float
    /// The window's dark sides (share of the width each) and the wheel's darkening at its top and bottom.
    private let sideLeft: Float, sideRight: Float, curve: Float

    /// A random wheel showing `tenths`, every choice drawn from `random`.
    package init(tenths: Int, random: inout SplitMix64) {
        self.tenths = tenths
        let schemes: [((Float, Float, Float), (Float, Float, Float))] = [
            ((0.08, 0.08, 0.08), (0.92, 0.92, 0.9)),  // black on white
            ((0.92, 0.92, 0.9), (0.1, 0.1, 0.1)),  // white on black
            ((0.95, 0.95, 0.95), (0.75, 0.1, 0.1)),  // white on red (the decimals of many meters)
            ((0.75, 0.1, 0.1), (0.92, 0.92, 0.9)),  // red on white
            ((0.1, 0.1, 0.1), (0.85, 0.8, 0.6)),  // black on cream
            ((0.9, 0.9, 0.9), (0.25, 0.3, 0.35)),  // white on grey-blue
        ]
        let scheme = schemes[random.below(schemes.count)]
        let fade = random.uniform(0...0.25)  // a worn print, a dirty window
        ink = (
            scheme.0.0 + (scheme.1.0 - scheme.0.0) * fade, scheme.0.1 + (scheme.1.1 - scheme.0.1) * fade,
            scheme.0.2 + (scheme.1.2 - scheme.0.2) * fade
        )
        wheel = scheme.1
        let shade = random.uniform(0.05...0.35)
        frame = (shade, shade, shade * random.uniform(0.9...1.1))
        glyphHeight = random.uniform(0.45...0.7)
        pitch = glyphHeight * random.uniform(1.25...1.7)
        stroke = glyphHeight * random.uniform(0.07...0.16)
        glyphWidth = random.uniform(0.8...1.25)
        slant = random.uniform(-0.12...0.12)
        centreX = random.uniform(-0.06...0.06)
        sideLeft = random.uniform(0...1) < 0.5 ? random.uniform(0.02...0.15) : 0
        sideRight = random.uniform(0...1) < 0.5 ? random.uniform(0.02...0.15) : 0
        curve = random.uniform(0...0.5)
    }

    /// The wheel as red, green and blue planes of `width` × `height` in 0…1, one after another
    /// into `planes` (what `WheelViewChange.apply` takes); each pixel is the mean of 3 × 3 samples.
    package func draw(width: Int, height: Int, into planes: UnsafeMutablePointer<Float>) {
        let count = width * height
        let digit = tenths / 10, roll = Float(tenths % 10) / 10
        // Centres of the two digits in view, in units of the crop's height from its middle (y down).
        let upper = -roll * pitch, lower = upper + pitch
        let aspect = Float(width) / Float(height)
        for py in 0..<height {
            for px in 0..<width {
                var r: Float = 0, g: Float = 0, b: Float = 0
                for sy in 0..<3 {
                    for sx in 0..<3 {
                        let fx = (Float(px) + (Float(sx) + 0.5) / 3) / Float(width), fy = (Float(py) + (Float(sy) + 0.5) / 3) / Float(height)
                        let colour = shade(x: (fx - 0.5) * aspect, y: fy - 0.5, share: fx, upper: upper, lower: lower, digit: digit)
                        r += colour.0
                        g += colour.1
                        b += colour.2
                    }
                }
                let i = py * width + px
                planes[i] = r / 9
                planes[count + i] = g / 9
                planes[2 * count + i] = b / 9
            }
        }
    }

    /// The colour at (x, y) (units of the crop's height, origin at its middle); `share` is x as a
    /// share of the width, for the window's sides.
    private func shade(x: Float, y: Float, share: Float, upper: Float, lower: Float, digit: Int) -> (Float, Float, Float) {
        if share < sideLeft || share > 1 - sideRight { return frame }
        // Glyph coordinates: units of the glyph's height, the slant leaning the top to the right.
        func distance(_ glyph: Int, centre: Float) -> Float {
            let gy = (y - centre) / glyphHeight
            let gx = ((x - centreX) / glyphHeight + slant * gy) / glyphWidth
            return Glyphs.distance(digit: glyph, x: gx, y: gy) * glyphHeight
        }
        let nearest = min(distance(digit, centre: upper), distance((digit + 1) % 10, centre: lower))
        let coverage = min(max((stroke / 2 - nearest) / 0.02 + 0.5, 0), 1)
        // The wheel is a cylinder: darker where its surface turns away, towards the window's edges.
        let light = 1 - curve * (2 * y) * (2 * y)
        return (
            (wheel.0 + (ink.0 - wheel.0) * coverage) * light, (wheel.1 + (ink.1 - wheel.1) * coverage) * light,
            (wheel.2 + (ink.2 - wheel.2) * coverage) * light
        )
    }
}
