package import IntakeCodecs

/// Turning a crop of any size into the network's small grayscale input. Training and inference
/// both go through here, so the model never sees pixels prepared differently from how it learnt.
package enum DigitPreprocessing {
    /// `crop` as luma in 0...1, resampled to `width` × `height` (rows top to bottom) into `output`.
    ///
    /// Area averaging where the crop is larger (no aliasing from the fine print of big crops),
    /// bilinear where it is smaller (a few crops are narrower than the input). Colour is dropped:
    /// wheels are read by shape, and the per-crop normalisation absorbs tint and exposure.
    package static func grayscale(_ crop: RGBImage, width: Int, height: Int, into output: UnsafeMutablePointer<Float>) {
        let sourceWidth = crop.width, sourceHeight = crop.height
        let luma = UnsafeMutablePointer<Float>.allocate(capacity: sourceWidth * sourceHeight)
        defer { luma.deallocate() }
        let pixels = crop.storage.base
        for i in 0..<(sourceWidth * sourceHeight) {
            let r = Float(pixels[i * 3]), g = Float(pixels[i * 3 + 1]), b = Float(pixels[i * 3 + 2])
            luma[i] = (0.299 * r + 0.587 * g + 0.114 * b) * (1 / 255)
        }
        resample(luma, width: sourceWidth, height: sourceHeight, to: width, height, into: output)
    }

    /// One plane of floats (`sourceWidth` × `sourceHeight`, rows top to bottom) resampled to
    /// `width` × `height` into `output`: area averaging where it shrinks, bilinear where it grows.
    package static func resample(
        _ plane: UnsafePointer<Float>, width sourceWidth: Int, height sourceHeight: Int, to width: Int, _ height: Int,
        into output: UnsafeMutablePointer<Float>
    ) {
        let columns = AxisKernel(source: sourceWidth, target: width)
        let rows = AxisKernel(source: sourceHeight, target: height)
        // Horizontal pass into `middle` (sourceHeight × width), then vertical into `output`.
        let middle = UnsafeMutablePointer<Float>.allocate(capacity: sourceHeight * width)
        defer { middle.deallocate() }
        for y in 0..<sourceHeight {
            let line = plane + y * sourceWidth
            for x in 0..<width {
                var sum: Float = 0
                for tap in columns.taps(of: x) { sum += tap.weight * line[tap.index] }
                middle[y * width + x] = sum
            }
        }
        for y in 0..<height {
            let out = output + y * width
            for x in 0..<width { out[x] = 0 }
            for tap in rows.taps(of: y) {
                let line = middle + tap.index * width
                for x in 0..<width { out[x] += tap.weight * line[x] }
            }
        }
    }

    /// Scales `count` values `stride` apart (one channel of several) to zero mean and unit deviation, so that exposure, contrast and the
    /// paper-white or black face of the wheel matter less than the shape of the digit.
    package static func normalise(_ pixels: UnsafeMutablePointer<Float>, count: Int, stride: Int = 1, floor: Float = 0.02) {
        var sum: Float = 0
        for i in 0..<count { sum += pixels[i * stride] }
        let mean = sum / Float(count)
        var squares: Float = 0
        for i in 0..<count { squares += (pixels[i * stride] - mean) * (pixels[i * stride] - mean) }
        // A floor on the deviation: a blank crop stays flat instead of having its noise blown up.
        let scale = 1 / max((squares / Float(count)).squareRoot(), floor)
        for i in 0..<count { pixels[i * stride] = (pixels[i * stride] - mean) * scale }
    }

    /// `crop` prepared as the network's input: resampled luma, normalised.
    package static func input(_ crop: RGBImage, width: Int, height: Int, into output: UnsafeMutablePointer<Float>) {
        grayscale(crop, width: width, height: height, into: output)
        normalise(output, count: width * height)
    }

    /// For one axis, the source pixels and weights that make each target pixel.
    struct AxisKernel {
        struct Tap {
            var index: Int
            var weight: Float
        }
        private var taps: [Tap] = []
        private var starts: [Int] = []

        init(source: Int, target: Int) {
            let ratio = Double(source) / Double(target)
            for i in 0..<target {
                starts.append(taps.count)
                if ratio >= 1 {
                    // Each target pixel averages the source span it covers, edges by their share.
                    let from = Double(i) * ratio, to = Double(i + 1) * ratio
                    var j = Int(from)
                    while Double(j) < to - 1e-9 && j < source {
                        let overlap = min(to, Double(j + 1)) - max(from, Double(j))
                        if overlap > 1e-9 { taps.append(Tap(index: j, weight: Float(overlap / ratio))) }
                        j += 1
                    }
                } else {
                    // Enlarging: linear between the two nearest source centres.
                    let position = min(max((Double(i) + 0.5) * ratio - 0.5, 0), Double(source - 1))
                    let left = Int(position), fraction = position - Double(left)
                    taps.append(Tap(index: left, weight: Float(1 - fraction)))
                    if fraction > 0 && left + 1 < source { taps.append(Tap(index: left + 1, weight: Float(fraction))) }
                }
            }
            starts.append(taps.count)
        }

        func taps(of target: Int) -> ArraySlice<Tap> { taps[starts[target]..<starts[target + 1]] }
    }
}
