#if canImport(Glibc)
import Glibc
#endif

package import IntakeCodecs
package import IntakeMeter

/// What the label bench does to a photo to make an image that deserves a quality label (or, for
/// the controls, one that does not). Sizes are fractions of the photo's long side, so that a
/// degradation means the same at every resolution.
package enum Degradation: Sendable, CustomStringConvertible {
    case untouched
    /// Defocus: a Gaussian of standard deviation `sigma` × the long side.
    case defocus(sigma: Double)
    /// Motion: a straight streak of `length` × the long side, at `degrees` from horizontal.
    case motion(length: Double, degrees: Double)
    /// Exposure: every linear-light value times `factor` (2 is one stop over), clipped.
    case exposure(factor: Double)
    /// Haze: every channel pulled towards the mean luma, keeping `contrast` of its distance.
    case haze(contrast: Double)
    /// Sensor noise: Gaussian, of standard deviation `sigma` grey levels, on each channel.
    case noise(sigma: Double)
    /// A JPEG saved at `quality` and read back.
    case jpeg(quality: Int)
    /// Shrunk to `longSide` pixels.
    case downscale(longSide: Int)

    package var description: String {
        switch self {
        case .untouched: "untouched"
        case .defocus(let sigma): "defocus σ=1/\(Int((1 / sigma).rounded()))"
        case .motion(let length, let degrees): "motion 1/\(Int((1 / length).rounded())) at \(Int(degrees))°"
        case .exposure(let factor): "exposure ×\(factor)"
        case .haze(let contrast): "haze ×\(contrast)"
        case .noise(let sigma): "noise σ=\(Int(sigma))"
        case .jpeg(let quality): "JPEG q\(quality)"
        case .downscale(let side): "downscaled to \(side)"
        }
    }

    /// The degraded copy of `image`; `random` drives the noise.
    package func apply(to image: RGBImage, codec: JPEGCodec, random: inout SplitMix64) -> RGBImage {
        let longSide = Double(max(image.width, image.height))
        switch self {
        case .untouched:
            return image
        case .defocus(let sigma):
            return Self.gaussian(image, sigma: sigma * longSide)
        case .motion(let length, let degrees):
            return Self.streak(image, length: length * longSide, degrees: degrees)
        case .exposure(let factor):
            return Self.mapped(image, table: Self.exposureTable(factor))
        case .haze(let contrast):
            return Self.hazed(image, contrast: contrast)
        case .noise(let sigma):
            return Self.noisy(image, sigma: sigma, random: &random)
        case .jpeg(let quality):
            guard let bytes = try? codec.encode(image, quality: quality),
                let decoded = try? bytes.withUnsafeBytes({ raw throws(CodecError) in
                    try codec.decode(raw, header: try codec.readHeader(raw), scale: .full, adobeInverted: true).image
                })
            else { return image }
            return decoded
        case .downscale(let side):
            let size = BoxFit.size(width: image.width, height: image.height, box: side)
            return AreaResampler.resize(image, width: size.width, height: size.height)
        }
    }

    // MARK: the operations

    /// sRGB value → linear light → × factor → clipped → sRGB, as a table.
    static func exposureTable(_ factor: Double) -> [UInt8] {
        (0..<256).map { value in
            let encoded = Double(value) / 255
            let linear = encoded <= 0.04045 ? encoded / 12.92 : pow((encoded + 0.055) / 1.055, 2.4)
            let exposed = min(1, linear * factor)
            let back = exposed <= 0.0031308 ? exposed * 12.92 : 1.055 * pow(exposed, 1 / 2.4) - 0.055
            return UInt8((back * 255).rounded())
        }
    }

    static func mapped(_ image: RGBImage, table: [UInt8]) -> RGBImage {
        let source = image.pixels
        return RGBImage(width: image.width, height: image.height) { target in
            for i in 0..<source.count { target[i] = table[Int(source[i])] }
        }
    }

    static func hazed(_ image: RGBImage, contrast: Double) -> RGBImage {
        let source = image.pixels
        var lumaSum = 0.0
        for i in stride(from: 0, to: source.count, by: 3) {
            lumaSum += 0.299 * Double(source[i]) + 0.587 * Double(source[i + 1]) + 0.114 * Double(source[i + 2])
        }
        let mean = lumaSum / Double(image.width * image.height)
        return RGBImage(width: image.width, height: image.height) { target in
            for i in 0..<source.count { target[i] = clamp(mean + (Double(source[i]) - mean) * contrast) }
        }
    }

    static func noisy(_ image: RGBImage, sigma: Double, random: inout SplitMix64) -> RGBImage {
        let source = image.pixels
        var pixels = [UInt8](repeating: 0, count: source.count)
        for i in 0..<source.count {
            // Box–Muller from two uniforms.
            let u1 = max(Double(random.next() >> 11) / Double(1 << 53), 1e-12), u2 = Double(random.next() >> 11) / Double(1 << 53)
            let gaussian = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            pixels[i] = clamp(Double(source[i]) + sigma * gaussian)
        }
        return RGBImage(width: image.width, height: image.height) { target in
            for i in 0..<pixels.count { target[i] = pixels[i] }
        }
    }

    /// A Gaussian by three box blurs in each direction, of two odd widths mixed so that their
    /// variances add up to σ² (a box of width w has variance (w² − 1) / 12); the curve is within
    /// a few per cent of the true one.
    static func gaussian(_ image: RGBImage, sigma: Double) -> RGBImage {
        guard sigma >= 0.5 else { return image }
        let passes = 3, variance = sigma * sigma
        var lower = Int((12 * variance / Double(passes) + 1).squareRoot())
        if lower % 2 == 0 { lower -= 1 }
        lower = max(1, lower)
        let upper = lower + 2
        // How many passes take the narrower box: m (w_l² − 1) + (n − m)(w_u² − 1) = 12 σ².
        let narrow = Int(((Double(passes * (upper * upper - 1)) - 12 * variance) / Double(upper * upper - lower * lower)).rounded())
        let widths = (0..<passes).map { $0 < max(0, min(passes, narrow)) ? lower : upper }
        var planes = Plane.split(image)
        for index in planes.indices {
            for width in widths {
                planes[index].boxBlur(radius: width / 2, horizontal: true)
                planes[index].boxBlur(radius: width / 2, horizontal: false)
            }
        }
        return Plane.join(planes, width: image.width, height: image.height)
    }

    /// The mean of `length` samples along a line through each pixel, edges clamped.
    static func streak(_ image: RGBImage, length: Double, degrees: Double) -> RGBImage {
        let samples = max(2, Int(length.rounded()))
        let dx = cos(degrees * .pi / 180), dy = sin(degrees * .pi / 180)
        let offsets = (0..<samples).map { step -> (Int, Int) in
            let t = Double(step) - Double(samples - 1) / 2
            return (Int((t * dx).rounded()), Int((t * dy).rounded()))
        }
        let width = image.width, height = image.height, source = image.pixels
        return RGBImage(width: width, height: height) { target in
            for y in 0..<height {
                for x in 0..<width {
                    var sum = (0, 0, 0)
                    for (ox, oy) in offsets {
                        let sx = min(width - 1, max(0, x + ox)), sy = min(height - 1, max(0, y + oy))
                        let i = (sy * width + sx) * 3
                        sum.0 += Int(source[i])
                        sum.1 += Int(source[i + 1])
                        sum.2 += Int(source[i + 2])
                    }
                    let o = (y * width + x) * 3
                    target[o] = UInt8(sum.0 / samples)
                    target[o + 1] = UInt8(sum.1 / samples)
                    target[o + 2] = UInt8(sum.2 / samples)
                }
            }
        }
    }

    static func clamp(_ value: Double) -> UInt8 { UInt8(min(255, max(0, value.rounded()))) }
}

/// One colour channel as floats, for the blurs.
private struct Plane {
    var values: [Float]
    let width: Int, height: Int

    static func split(_ image: RGBImage) -> [Plane] {
        let source = image.pixels
        return (0..<3).map { channel in
            Plane(values: stride(from: channel, to: source.count, by: 3).map { Float(source[$0]) }, width: image.width, height: image.height)
        }
    }

    static func join(_ planes: [Plane], width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height) { target in
            for (channel, plane) in planes.enumerated() {
                for i in 0..<plane.values.count { target[i * 3 + channel] = UInt8(min(255, max(0, plane.values[i].rounded()))) }
            }
        }
    }

    /// A running-sum box blur of `2 radius + 1` along rows or columns, edges clamped.
    mutating func boxBlur(radius: Int, horizontal: Bool) {
        guard radius > 0 else { return }
        let lines = horizontal ? height : width, length = horizontal ? width : height
        let step = horizontal ? 1 : width
        let scale = 1 / Float(2 * radius + 1)
        var line = [Float](repeating: 0, count: length)
        for l in 0..<lines {
            let start = horizontal ? l * width : l
            for i in 0..<length { line[i] = values[start + i * step] }
            var sum: Float = 0
            for k in -radius...radius { sum += line[min(length - 1, max(0, k))] }
            for i in 0..<length {
                values[start + i * step] = sum * scale
                sum += line[min(length - 1, i + radius + 1)] - line[max(0, i - radius)]
            }
        }
    }
}
