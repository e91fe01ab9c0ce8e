package import IntakeCodecs

/// Turning a dial crop of any size into the dial model's input: two channels, luma and redness,
/// interleaved pixel by pixel (channels last, as `DigitNetwork` takes them). Training renders its
/// dials as images and prepares them here too, so the model never sees pixels prepared otherwise.
///
/// Luma alone shows black needles and numerals alike; redness tells a red needle or sector from
/// the numerals round it, on faces of any shade. Each channel is normalised per crop, which absorbs
/// exposure and most of a colour cast.
package enum DialPreprocessing {
    /// Luma and redness.
    package static let channels = 2
    /// The redness channel's floor on its deviation, above the luma's: a black-needled dial has
    /// almost no redness, and its noise should stay small rather than be blown up to a shape.
    static let rednessFloor: Float = 0.05

    /// `crop` prepared as the dial model's input, `width` × `height` × 2 floats into `output`.
    package static func input(_ crop: RGBImage, width: Int, height: Int, into output: UnsafeMutablePointer<Float>) {
        let count = crop.width * crop.height, pixels = crop.storage.base
        let planes = UnsafeMutablePointer<Float>.allocate(capacity: 2 * count)
        defer { planes.deallocate() }
        for i in 0..<count {
            let r = Float(pixels[i * 3]), g = Float(pixels[i * 3 + 1]), b = Float(pixels[i * 3 + 2])
            planes[i] = (0.299 * r + 0.587 * g + 0.114 * b) * (1 / 255)
            planes[count + i] = max(r - max(g, b), 0) * (1 / 255)
        }
        let small = UnsafeMutablePointer<Float>.allocate(capacity: 2 * width * height)
        defer { small.deallocate() }
        for channel in 0..<2 {
            DigitPreprocessing.resample(
                planes + channel * count, width: crop.width, height: crop.height, to: width, height,
                into: small + channel * width * height)
        }
        for i in 0..<(width * height) {
            output[2 * i] = small[i]
            output[2 * i + 1] = small[width * height + i]
        }
        DigitPreprocessing.normalise(output, count: width * height, stride: 2)
        DigitPreprocessing.normalise(output + 1, count: width * height, stride: 2, floor: rednessFloor)
    }
}
