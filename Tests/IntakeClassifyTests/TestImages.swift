import IntakeCodecs

#if canImport(Glibc)
import Glibc
#endif

/// Images the tests make and alter with the project's own code: synthetic scenes, and blur,
/// exposure, contrast and colour changes applied to any image.
enum TestImages {
    /// A deterministic pseudo-random sequence (xorshift), so every run sees the same "noise".
    struct Noise {
        private var state: UInt64

        init(seed: UInt64) { state = seed | 1 }

        /// A value in -amplitude...amplitude.
        mutating func next(_ amplitude: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(2 * amplitude + 1)) - amplitude
        }
    }

    /// Something like a photograph: smooth shading in a few colours, objects with soft texture,
    /// things in focus (sixty discs with crisp outlines, lighter and darker than what is behind
    /// them, as leaves, pebbles and a photo's subject are), and sensor grain on every pixel.
    static func photoLike(width: Int, height: Int, seed: UInt64 = 7) -> RGBImage {
        var noise = Noise(seed: seed)
        var place = Noise(seed: seed &+ 1)
        let discs: [(x: Double, y: Double, radius: Double, shift: Double)] = (0..<60).map { _ in
            (Double(place.next(500) + 500) / 1000, Double(place.next(500) + 500) / 1000,
             Double(place.next(40) + 60) / 1000, Double(place.next(25)) + (place.next(1) >= 0 ? 65 : -65))
        }
        return RGBImage(width: width, height: height) { p in
            for y in 0..<height {
                for x in 0..<width {
                    let u = Double(x) / Double(width), v = Double(y) / Double(height)
                    var shade = 25 * sin(Double(x) / 31) * cos(Double(y) / 37) + 20 * sin(Double(x + 2 * y) / 61)
                    // The last disc drawn at a pixel is the one in front.
                    if let disc = discs.last(where: { hypot((u - $0.x) * Double(width), (v - $0.y) * Double(height)) < $0.radius * Double(height) }) {
                        shade += disc.shift
                    }
                    let i = (y * width + x) * 3
                    p[i] = clamp(60 + 120 * u + shade + Double(noise.next(6)))
                    p[i + 1] = clamp(150 - 60 * v + shade * 0.8 + Double(noise.next(6)))
                    p[i + 2] = clamp(90 + 70 * (1 - u) * v + shade * 0.5 + Double(noise.next(6)))
                }
            }
        }
    }

    /// Black and white squares of `square` pixels.
    static func checkerboard(width: Int, height: Int, square: Int) -> RGBImage {
        RGBImage(width: width, height: height) { p in
            for y in 0..<height {
                for x in 0..<width {
                    let value: UInt8 = (x / square + y / square) % 2 == 0 ? 20 : 235
                    let i = (y * width + x) * 3
                    p[i] = value
                    p[i + 1] = value
                    p[i + 2] = value
                }
            }
        }
    }

    /// A page of text: near-white paper, lines of dark "words" at a regular spacing, margins.
    static func page(width: Int, height: Int, lineSpacing: Int = 18, seed: UInt64 = 3) -> RGBImage {
        var noise = Noise(seed: seed)
        return RGBImage(width: width, height: height) { p in
            for i in 0..<(width * height) {
                let paper = UInt8(238 + noise.next(3))
                p[i * 3] = paper
                p[i * 3 + 1] = paper
                p[i * 3 + 2] = paper - 4
            }
            let margin = width / 10, glyphHeight = lineSpacing / 2
            var top = height / 12
            while top + glyphHeight < height - height / 12 {
                var x = margin
                while x < width - margin {
                    let word = 10 + abs(noise.next(30))
                    for dx in 0..<min(word, width - margin - x) where (dx % 7) != 6 {  // letters with gaps
                        for dy in 0..<glyphHeight {
                            let i = ((top + dy) * width + x + dx) * 3
                            let ink = UInt8(35 + abs(noise.next(15)))
                            p[i] = ink
                            p[i + 1] = ink
                            p[i + 2] = ink
                        }
                    }
                    x += word + 8
                }
                top += lineSpacing
            }
        }
    }

    /// A screen: a title bar, a sidebar, flat panels and buttons in a few exact colours, with
    /// text-like strokes; no grain. Neighbouring shades differ by 10 or more (see
    /// `ScreenshotMeasure.noise` on fainter stripes).
    static func screen(width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height) { p in
            func fill(_ left: Int, _ top: Int, _ right: Int, _ bottom: Int, _ colour: (UInt8, UInt8, UInt8)) {
                for y in max(0, top)..<min(height, bottom) {
                    for x in max(0, left)..<min(width, right) {
                        let i = (y * width + x) * 3
                        (p[i], p[i + 1], p[i + 2]) = colour
                    }
                }
            }
            fill(0, 0, width, height, (242, 242, 242))
            fill(0, 0, width, height / 10, (45, 52, 64))
            fill(0, height / 10, width / 5, height, (228, 232, 238))
            for row in 0..<6 {
                let top = height / 10 + 30 + row * 60
                fill(width / 5 + 30, top, width - 30, top + 44, row % 2 == 0 ? (255, 255, 255) : (222, 228, 236))
                for word in 0..<5 {
                    let left = width / 5 + 50 + word * 90
                    fill(left, top + 16, left + 60, top + 26, (60, 60, 60))
                }
                fill(width - 140, top + 10, width - 50, top + 34, (33, 150, 243))
            }
        }
    }

    /// `image` with every pixel replaced by the mean of the (2 × radius + 1)² square around it,
    /// edges repeated: a simple stand-in for an out-of-focus lens.
    static func boxBlurred(_ image: RGBImage, radius: Int) -> RGBImage {
        let width = image.width, height = image.height, source = image.storage.base
        // Horizontal then vertical running sums.
        var horizontal = [Int](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for c in 0..<3 {
                for x in 0..<width {
                    var sum = 0
                    for dx in -radius...radius {
                        sum += Int(source[(y * width + min(width - 1, max(0, x + dx))) * 3 + c])
                    }
                    horizontal[(y * width + x) * 3 + c] = sum
                }
            }
        }
        let area = (2 * radius + 1) * (2 * radius + 1)
        return RGBImage(width: width, height: height) { p in
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<3 {
                        var sum = 0
                        for dy in -radius...radius {
                            sum += horizontal[(min(height - 1, max(0, y + dy)) * width + x) * 3 + c]
                        }
                        p[(y * width + x) * 3 + c] = UInt8((sum + area / 2) / area)
                    }
                }
            }
        }
    }

    /// Every channel mapped through `transform`, clamped to 0–255.
    static func mapped(_ image: RGBImage, _ transform: (Double) -> Double) -> RGBImage {
        let count = image.width * image.height * 3, source = image.storage.base
        let table = (0..<256).map { clamp(transform(Double($0))) }
        return RGBImage(width: image.width, height: image.height) { p in
            for i in 0..<count { p[i] = table[Int(source[i])] }
        }
    }

    /// Exposure multiplied by `factor`: below 1 darker, above 1 brighter with highlights clipped.
    static func exposed(_ image: RGBImage, by factor: Double) -> RGBImage {
        mapped(image) { $0 * factor }
    }

    /// Contrast squeezed towards mid-grey: `keep` is the share of the original spread left.
    static func flattened(_ image: RGBImage, keep: Double) -> RGBImage {
        mapped(image) { 128 + ($0 - 128) * keep }
    }

    /// The image in shades of grey (BT.601 luma in all three channels).
    static func desaturated(_ image: RGBImage) -> RGBImage {
        let count = image.width * image.height, source = image.storage.base
        return RGBImage(width: image.width, height: image.height) { p in
            for i in 0..<count {
                let luma = (299 * Int(source[i * 3]) + 587 * Int(source[i * 3 + 1]) + 114 * Int(source[i * 3 + 2]) + 500) / 1000
                p[i * 3] = UInt8(luma)
                p[i * 3 + 1] = UInt8(luma)
                p[i * 3 + 2] = UInt8(luma)
            }
        }
    }

    /// The image reduced to fit in `box` × `box`, by the project's area averaging.
    static func shrunk(_ image: RGBImage, toFit box: Int) -> RGBImage {
        let size = BoxFit.size(width: image.width, height: image.height, box: box)
        return AreaResampler.resize(image, width: size.width, height: size.height)
    }

    private static func clamp(_ value: Double) -> UInt8 {
        UInt8(max(0, min(255, value.rounded())))
    }
}
