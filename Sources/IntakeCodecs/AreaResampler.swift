/// Downscaling by area averaging: each output pixel is the mean of the source pixels it covers,
/// fractional edges weighted by their share. No aliasing, no ringing, and exact for the large
/// ratios a 256-pixel derivative needs; done as two separable passes in fixed point.
public enum AreaResampler {
    /// Precision of the weights: each output's weights sum to 1 << weightBits.
    private static let weightBits = 12

    /// For one axis, the first source index and the weights of each output index.
    struct Kernel {
        var starts: [Int] = []
        var weights: [[Int32]] = []

        init(source: Int, target: Int) {
            let ratio = Double(source) / Double(target)
            let one = 1 << AreaResampler.weightBits
            for i in 0..<target {
                let from = Double(i) * ratio, to = Double(i + 1) * ratio
                let first = Int(from), last = min(source - 1, Int((to - 1e-9).rounded(.down)))
                var raw: [Double] = []
                for j in first...max(first, last) {
                    raw.append(min(to, Double(j + 1)) - max(from, Double(j)))
                }
                // Integer weights that sum exactly to `one`, each the difference of the rounded
                // running sums: never negative. (Handing the whole rounding error to one weight,
                // as before, made it negative at ratios like 199, 50,944 pixels to 256: wrong
                // pixels, and a bright point on dark trapped on the negative sum.)
                let total = raw.reduce(0, +)
                var w: [Int32] = [], covered = 0.0, previous = 0
                for share in raw {
                    covered += share
                    let next = total > 0 ? Int((covered / total * Double(one)).rounded()) : one
                    w.append(Int32(next - previous))
                    previous = next
                }
                starts.append(first)
                weights.append(w)
            }
        }
    }

    /// `image` reduced to `width` × `height`; neither may be larger than the image's.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width <= image.width && height <= image.height && width > 0 && height > 0, "area averaging only reduces")
        if width == image.width && height == image.height { return image }
        let horizontal = Kernel(source: image.width, target: width)
        let vertical = Kernel(source: image.height, target: height)

        // Pass 1: rows shrink to `width`, kept as 16-bit (value × 16) for the second pass.
        let sourceWidth = image.width, rows = image.height
        var intermediate = [UInt16](repeating: 0, count: width * rows * 3)
        intermediate.withUnsafeMutableBufferPointer { middle in
            let source = image.storage.base
            for y in 0..<rows {
                let row = source + y * sourceWidth * 3
                let out = middle.baseAddress! + y * width * 3
                for x in 0..<width {
                    var r: Int32 = 0, g: Int32 = 0, b: Int32 = 0
                    var s = horizontal.starts[x] * 3
                    for w in horizontal.weights[x] {
                        r &+= w &* Int32(row[s]); g &+= w &* Int32(row[s + 1]); b &+= w &* Int32(row[s + 2])
                        s &+= 3
                    }
                    let shift = Int32(weightBits - 4), half = Int32(1) << (shift - 1)
                    out[x * 3] = UInt16(clamping: (r &+ half) >> shift)
                    out[x * 3 + 1] = UInt16(clamping: (g &+ half) >> shift)
                    out[x * 3 + 2] = UInt16(clamping: (b &+ half) >> shift)
                }
            }
        }

        // Pass 2: columns shrink to `height`, straight into the result.
        return intermediate.withUnsafeBufferPointer { middle in
            RGBImage(width: width, height: height) { target in
                let stride = width * 3
                let shift = Int32(weightBits + 4), half = Int32(1) << (shift - 1)
                var accumulator = [Int32](repeating: 0, count: stride)
                accumulator.withUnsafeMutableBufferPointer { sums in
                    for y in 0..<height {
                        for i in 0..<stride { sums[i] = half }
                        var row = vertical.starts[y]
                        for w in vertical.weights[y] {
                            let line = middle.baseAddress! + row * stride
                            for i in 0..<stride { sums[i] &+= w &* Int32(line[i]) }
                            row += 1
                        }
                        let out = target + y * stride
                        for i in 0..<stride { out[i] = UInt8(clamping: sums[i] >> shift) }
                    }
                }
            }
        }
    }
}

/// Fitting an image inside a square box, as the derivative needs.
public enum BoxFit {
    /// The size of `width` × `height` scaled to fit inside `box` × `box`, never enlarged.
    public static func size(width: Int, height: Int, box: Int) -> (width: Int, height: Int) {
        let scale = min(Double(box) / Double(width), Double(box) / Double(height), 1)
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }

    /// `image` scaled to fit inside `box` × `box` and centred on a white square of that size.
    public static func centeredOnWhite(_ image: RGBImage, box: Int) -> RGBImage {
        centered(fitted(image, box: box), box: box)
    }

    /// `image` area-averaged to fit inside `box` × `box` (never enlarged).
    public static func fitted(_ image: RGBImage, box: Int) -> RGBImage {
        let fitted = size(width: image.width, height: image.height, box: box)
        return AreaResampler.resize(image, width: min(fitted.width, image.width), height: min(fitted.height, image.height))
    }

    /// An image that already fits, centred on a white `box` × `box` square.
    public static func centered(_ scaled: RGBImage, box: Int) -> RGBImage {
        precondition(scaled.width <= box && scaled.height <= box, "the image must fit the box")
        let left = (box - scaled.width) / 2, top = (box - scaled.height) / 2
        return RGBImage(width: box, height: box) { canvas in
            canvas.initialize(repeating: 255, count: box * box * 3)
            for y in 0..<scaled.height {
                (canvas + ((top + y) * box + left) * 3).update(
                    from: scaled.storage.base + y * scaled.width * 3, count: scaled.width * 3)
            }
        }
    }
}
