import IntakeCodecs
@testable import IntakeMeter
import Testing

/// Every wheel and dial crop is cut by a C kernel (`sampling.c`) that must give the same bytes as
/// the Swift loop it replaced: the digit and dial models were trained and judged on those crops.
/// The replaced loop is kept here as the oracle.
@Suite struct BoxSamplerKernelTests {
    static func crop(_ photo: RGBImage, box: Box, through transform: PlaneTransform) -> RGBImage {
        let source = photo.storage.base, sourceWidth = photo.width, sourceHeight = photo.height
        return RGBImage(width: box.width, height: box.height) { out in
            for y in 0..<box.height {
                for x in 0..<box.width {
                    let (sx, sy) = transform.apply(x: Double(box.x + x), y: Double(box.y + y))
                    let target = out + (y * box.width + x) * 3
                    guard sx >= -1, sy >= -1, sx < Double(sourceWidth), sy < Double(sourceHeight) else {
                        target[0] = 0
                        target[1] = 0
                        target[2] = 0
                        continue
                    }
                    let x0 = floorIndex(sx), y0 = floorIndex(sy)
                    let wx = Float(sx - Double(x0)), wy = Float(sy - Double(y0))
                    let weights = ((1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy)
                    func sample(_ cx: Int, _ cy: Int, _ channel: Int) -> Float {
                        guard cx >= 0, cy >= 0, cx < sourceWidth, cy < sourceHeight else { return 0 }
                        return Float(source[(cy * sourceWidth + cx) * 3 + channel])
                    }
                    for channel in 0..<3 {
                        let value =
                            weights.0 * sample(x0, y0, channel) + weights.1 * sample(x0 + 1, y0, channel)
                            + weights.2 * sample(x0, y0 + 1, channel) + weights.3 * sample(x0 + 1, y0 + 1, channel)
                        target[channel] = UInt8(min(255, value + 0.5))
                    }
                }
            }
        }
    }

    /// A photo of random colours with smooth and sharp parts, so that every weight matters.
    static let photo: RGBImage = {
        var random = SplitMix64(21)
        return RGBImage(width: 97, height: 64) { out in
            for i in 0..<(97 * 64) {
                let x = i % 97, y = i / 97, noise = UInt8(truncatingIfNeeded: random.next() >> 56)
                out[3 * i] = UInt8(truncatingIfNeeded: x * 5 + Int(noise % 7))
                out[3 * i + 1] = (x / 9 + y / 7) % 2 == 0 ? 250 : 5
                out[3 * i + 2] = noise
            }
        }
    }()

    /// The identity, whole and half-pixel shifts, a turn with a zoom, a shear, perspective, one
    /// that sends the box far outside, and one whose horizon crosses the box (w near zero).
    static let transforms: [PlaneTransform] = [
        .identity,
        PlaneTransform([1, 0, 3, 0, 1, -2, 0, 0, 1]),
        PlaneTransform([1, 0, 0.5, 0, 1, 0.25, 0, 0, 1]),
        PlaneTransform([0.8 * 0.866, -0.8 * 0.5, 40, 0.8 * 0.5, 0.8 * 0.866, -5, 0, 0, 1]),
        PlaneTransform([1.1, 0.3, -4, -0.1, 0.9, 6, 0, 0, 1]),
        PlaneTransform([0.95, 0.05, 2, -0.04, 1.02, 1, 0.0015, -0.001, 1]),
        PlaneTransform([1, 0, 1e6, 0, 1, -1e6, 0, 0, 1]),
        PlaneTransform([1, 0, 0, 0, 1, 0, 0.05, 0, -1]),
    ]

    @Test(arguments: transforms.indices)
    func cropsAreTheSwiftLoopsBytes(index: Int) {
        let transform = Self.transforms[index]
        // Inside, across every edge, wholly outside, one pixel, one row.
        for box in [Box(x: 10, y: 8, width: 40, height: 30), Box(x: -12, y: -9, width: 120, height: 90), Box(x: 200, y: 0, width: 9, height: 5),
                    Box(x: 50, y: 40, width: 1, height: 1), Box(x: 0, y: 63, width: 97, height: 1)] {
            let found = BoxSampler.crop(Self.photo, box: box, through: transform)
            let expected = Self.crop(Self.photo, box: box, through: transform)
            #expect(Array(found.pixels) == Array(expected.pixels), "transform \(index), box \(box)")
        }
    }
}
