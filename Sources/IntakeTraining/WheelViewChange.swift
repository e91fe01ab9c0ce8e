#if canImport(Glibc)
    import Glibc
#endif
package import IntakeMeter

/// A change of view, light and colour applied to a digit wheel's crop before the digit model
/// sees it: what another meter, camera, lens or window would give. The digit model trains on one
/// corpus of wheels (haverland); other meters differ in what is drawn here, so training shows it
/// each crop changed in all of these ways at once, and the trainer measures the model on the
/// validation crops under each one alone (`shifts`).
///
/// The crop comes as three colour planes at the model's input size, so that a colour change acts
/// before luma is taken, as a camera's would: red digits on white, or white on red, keep or lose
/// their contrast in luma depending on the hue, which a change of luma alone cannot show.
package struct WheelViewChange: Sendable {
    // Geometry: output pixel → source pixel, about the crop's centre.
    package var scaleX: Float = 1, scaleY: Float = 1, angle: Float = 0, shiftX: Float = 0, shiftY: Float = 0
    /// Perspective of a camera tilted about the vertical (horizontal) axis: the crop's height
    /// (width) grows by this share per half-width (half-height) across it.
    package var keystoneX: Float = 0, keystoneY: Float = 0
    /// Gains of the red, green and blue planes, after `channelOrder` has picked them.
    package var gains: (Float, Float, Float) = (1, 1, 1)
    /// Which source plane each output plane takes (a permutation of 0, 1, 2): another hue.
    package var channelOrder: (Int, Int, Int) = (0, 1, 2)
    /// Defocus: a Gaussian of this standard deviation, in input pixels (0: none).
    package var blurSigma: Float = 0
    /// A highlight: centre (share of width, of height), radius (share of height), and how far it
    /// pulls towards white at its centre.
    package var glare: (x: Float, y: Float, radius: Float, strength: Float)? = nil
    package var gamma: Float = 1, contrast: Float = 1, brightness: Float = 0
    /// Standard deviation of the noise added to each pixel, in 0…1 units.
    package var noise: Float = 0
    /// Shown in negative: light digits on a dark wheel.
    package var inverted = false

    /// No change at all: `apply` gives the crop's luma.
    package init() {}

    /// A random change, every choice drawn from `random`. Vertical shifts stay within a pixel and
    /// the keystones are mild, because a wheel's vertical position is exactly what the tenths
    /// measure. `inversion` is how often the crop is shown in negative.
    package static func random(_ random: inout SplitMix64, inversion: Float) -> WheelViewChange {
        var change = WheelViewChange()
        change.scaleX = random.uniform(0.9...1.1)
        change.scaleY = random.uniform(0.95...1.05)
        change.angle = random.uniform(-0.05...0.05)  // about ±3°
        change.shiftX = random.uniform(-1.5...1.5)
        change.shiftY = random.uniform(-1...1)
        change.gamma = exp(random.uniform(-0.4...0.4))
        change.contrast = random.uniform(0.6...1.3)
        change.brightness = random.uniform(-0.15...0.15)
        change.noise = random.uniform(0...0.03)
        change.inverted = random.uniform(0...1) < inversion
        if random.uniform(0...1) < 0.3 {
            change.keystoneX = random.uniform(-0.12...0.12)
            change.keystoneY = random.uniform(-0.06...0.06)
        }
        if random.uniform(0...1) < 0.5 {
            change.gains = (random.uniform(0.7...1.3), random.uniform(0.7...1.3), random.uniform(0.7...1.3))
        }
        if random.uniform(0...1) < 0.2 { change.channelOrder = permutations[1 + random.below(permutations.count - 1)] }
        if random.uniform(0...1) < 0.3 { change.blurSigma = random.uniform(0.3...1.2) }
        if random.uniform(0...1) < 0.2 {
            change.glare = (random.uniform(0...1), random.uniform(0...1), random.uniform(0.1...0.4), random.uniform(0.2...0.7))
        }
        return change
    }

    static let permutations = [(0, 1, 2), (2, 1, 0), (1, 0, 2), (0, 2, 1), (1, 2, 0), (2, 0, 1)]

    /// One change of each kind alone, strong enough to matter and fixed, with a name: what the
    /// trainer measures the validation crops under, to show which changes the model holds against.
    package static let shifts: [(name: String, change: WheelViewChange)] = {
        var swapped = WheelViewChange()
        swapped.channelOrder = (2, 1, 0)
        var tinted = WheelViewChange()
        tinted.gains = (1.3, 0.8, 0.7)
        var blurred = WheelViewChange()
        blurred.blurSigma = 1
        var glared = WheelViewChange()
        glared.glare = (0.7, 0.35, 0.3, 0.6)
        var tilted = WheelViewChange()
        tilted.keystoneX = 0.12
        tilted.keystoneY = 0.06
        var dim = WheelViewChange()
        dim.contrast = 0.5
        dim.gamma = 1.4
        return [
            ("red and blue swapped", swapped), ("tinted warm", tinted), ("blurred σ=1 px", blurred), ("glare", glared),
            ("tilted", tilted), ("dim, low contrast", dim),
        ]
    }()

    /// The changed crop's luma, `width` × `height` in 0…1 (not yet normalised), from its red,
    /// green and blue planes (`width` × `height` each, one after another at `planes`).
    package func apply(
        planes: UnsafePointer<Float>, width: Int, height: Int, into output: UnsafeMutablePointer<Float>, random: inout SplitMix64
    ) {
        let count = width * height
        let source = (planes + channelOrder.0 * count, planes + channelOrder.1 * count, planes + channelOrder.2 * count)
        let cosine = cos(angle), sine = sin(angle)
        let centreX = Float(width - 1) / 2, centreY = Float(height - 1) / 2
        let halfWidth = max(centreX, 1), halfHeight = max(centreY, 1)
        for y in 0..<height {
            for x in 0..<width {
                // Where this output pixel comes from in the source (inverse of the transform).
                var u = Float(x) - centreX - shiftX, v = Float(y) - centreY - shiftY
                u /= 1 + keystoneY * v / halfHeight
                v /= 1 + keystoneX * u / halfWidth
                let sx = (cosine * u + sine * v) / scaleX + centreX
                let sy = (-sine * u + cosine * v) / scaleY + centreY
                let cx = min(max(sx, 0), Float(width - 1)), cy = min(max(sy, 0), Float(height - 1))
                let x0 = min(Int(cx), width - 2), y0 = min(Int(cy), height - 2)
                let fx = cx - Float(x0), fy = cy - Float(y0)
                let offset = y0 * width + x0
                func sample(_ plane: UnsafePointer<Float>) -> Float {
                    let p = plane + offset
                    let top = p[0] + (p[1] - p[0]) * fx, bottom = p[width] + (p[width + 1] - p[width]) * fx
                    return top + (bottom - top) * fy
                }
                let r = sample(source.0) * gains.0, g = sample(source.1) * gains.1, b = sample(source.2) * gains.2
                output[y * width + x] = min(0.299 * r + 0.587 * g + 0.114 * b, 1)
            }
        }
        if blurSigma > 0 { Self.gaussian(output, width: width, height: height, sigma: blurSigma) }
        for y in 0..<height {
            for x in 0..<width {
                var value = output[y * width + x]
                if let glare {
                    let dx = (Float(x) / Float(width) - glare.x) * Float(width) / Float(height), dy = Float(y) / Float(height) - glare.y
                    let pull = glare.strength * exp(-(dx * dx + dy * dy) / (glare.radius * glare.radius))
                    value += (1 - value) * pull
                }
                value = pow(max(value, 0), gamma)
                value = (value - 0.5) * contrast + 0.5 + brightness
                if noise > 0 { value += noise * random.normal() }
                value = min(max(value, 0), 1)
                output[y * width + x] = inverted ? 1 - value : value
            }
        }
    }

    /// Blurs `plane` in place with a Gaussian of `sigma` pixels (separable, edges clamped).
    static func gaussian(_ plane: UnsafeMutablePointer<Float>, width: Int, height: Int, sigma: Float) {
        let reach = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-reach...reach).map { exp(-Float($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        var line = [Float](repeating: 0, count: max(width, height))
        for y in 0..<height {
            for x in 0..<width {
                var sum: Float = 0
                for k in -reach...reach { sum += kernel[k + reach] * plane[y * width + min(max(x + k, 0), width - 1)] }
                line[x] = sum
            }
            for x in 0..<width { plane[y * width + x] = line[x] }
        }
        for x in 0..<width {
            for y in 0..<height {
                var sum: Float = 0
                for k in -reach...reach { sum += kernel[k + reach] * plane[min(max(y + k, 0), height - 1) * width + x] }
                line[y] = sum
            }
            for y in 0..<height { plane[y * width + x] = line[y] }
        }
    }
}
