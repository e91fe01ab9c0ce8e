import CKernels
import IntakeCodecs

/// A grayscale plane of floats: what the aligner matches marks on (colour adds little to
/// finding a white washer on a grey face, and one channel is a third of the work).
struct AlignGrayPlane: Sendable {
    let width: Int
    let height: Int
    var pixels: [Float]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [Float](repeating: 0, count: width * height)
    }

    /// A plane whose every pixel `fill` writes (the kernels that make a whole plane), so that it
    /// is not first filled with zeros.
    init(width: Int, height: Int, filling fill: (UnsafeMutablePointer<Float>) -> Void) {
        self.width = width
        self.height = height
        pixels = [Float](unsafeUninitializedCapacity: width * height) { buffer, count in
            fill(buffer.baseAddress!)
            count = width * height
        }
    }

    /// Rec. 601 luma, 0…255.
    init(luma image: RGBImage) {
        self.init(width: image.width, height: image.height)
        let source = image.storage.base
        pixels.withUnsafeMutableBufferPointer { out in
            for i in 0..<(image.width * image.height) {
                out[i] = 0.299 * Float(source[i * 3]) + 0.587 * Float(source[i * 3 + 1]) + 0.114 * Float(source[i * 3 + 2])
            }
        }
    }

    /// `source` seen through `transform` (this plane's point, offset by the origin → source
    /// point), bilinear; points outside the source are black, as nothing was seen there.
    init(width: Int, height: Int, resampling source: AlignGrayPlane, originX: Int, originY: Int, through transform: PlaneTransform) {
        self.init(width: width, height: height)
        let sourceWidth = source.width, sourceHeight = source.height
        source.pixels.withUnsafeBufferPointer { input in
            pixels.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    for x in 0..<width {
                        let p = transform.apply(x: Double(originX + x), y: Double(originY + y))
                        out[y * width + x] = Self.bilinear(input, sourceWidth, sourceHeight, p.x, p.y)
                    }
                }
            }
        }
    }

    /// Each `factor`×`factor` block averaged; a partial block at the right or bottom edge is
    /// dropped, so block (i, j) covers pixels factor·i … factor·i + factor − 1 exactly.
    func blockAveraged(_ factor: Int) -> AlignGrayPlane {
        var small = AlignGrayPlane(width: max(1, width / factor), height: max(1, height / factor))
        let scale = 1 / Float(factor * factor)
        pixels.withUnsafeBufferPointer { source in
            small.pixels.withUnsafeMutableBufferPointer { out in
                for y in 0..<small.height {
                    for x in 0..<small.width {
                        var sum: Float = 0
                        for dy in 0..<factor {
                            let row = (y * factor + dy) * width + x * factor
                            for dx in 0..<factor where x * factor + dx < width && y * factor + dy < height { sum += source[row + dx] }
                        }
                        out[y * small.width + x] = sum * scale
                    }
                }
            }
        }
        return small
    }

    /// The value at (x, y), bilinear; outside the plane 0.
    func bilinear(_ x: Double, _ y: Double) -> Float {
        pixels.withUnsafeBufferPointer { Self.bilinear($0, width, height, x, y) }
    }

    private static func bilinear(_ input: UnsafeBufferPointer<Float>, _ width: Int, _ height: Int, _ x: Double, _ y: Double) -> Float {
        // For whole bounds, ⌊x⌋ ≥ −1 exactly when x ≥ −1, and ⌊x⌋ < w when x < w; NaN fails both.
        guard x >= -1, y >= -1, x < Double(width), y < Double(height) else { return 0 }
        let x0 = floorIndex(x), y0 = floorIndex(y)
        let wx = Float(x - Double(x0)), wy = Float(y - Double(y0))
        func at(_ x: Int, _ y: Int) -> Float { x >= 0 && y >= 0 && x < width && y < height ? input[y * width + x] : 0 }
        let top = at(x0, y0) * (1 - wx) + at(x0 + 1, y0) * wx
        let bottom = at(x0, y0 + 1) * (1 - wx) + at(x0 + 1, y0 + 1) * wx
        return top * (1 - wy) + bottom * wy
    }
}

/// A template ready for normalised cross-correlation: mean removed, its norm kept.
struct CorrelationPatch: Sendable {
    let width: Int
    let height: Int
    let values: [Float]
    let norm: Double

    init(_ plane: AlignGrayPlane) {
        width = plane.width
        height = plane.height
        let mean = plane.pixels.reduce(0.0) { $0 + Double($1) } / Double(plane.pixels.count)
        values = plane.pixels.map { Float(Double($0) - mean) }
        norm = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }

    /// Normalised cross-correlation with the part of `plane` whose top-left is (left, top): 1 for
    /// the same picture up to brightness and contrast, 0 for no relation (or a flat patch).
    func correlation(in plane: AlignGrayPlane, left: Int, top: Int) -> Double {
        var product = 0.0, sum = 0.0, squares = 0.0
        plane.pixels.withUnsafeBufferPointer { image in
            values.withUnsafeBufferPointer { template in
                intake_correlation_sums(image.baseAddress!, plane.width, template.baseAddress!, Int32(width), Int32(height),
                                        left, top, 1, &product, &sum, &squares)
            }
        }
        return score(product: product, sum: sum, squares: squares)
    }

    /// The correlation from the sums over the part of the plane the patch lies on: each row of
    /// the patch summed in floats (at most a few hundred terms), the rows in doubles.
    private func score(product: Double, sum: Double, squares: Double) -> Double {
        let variance = squares - sum * sum / Double(width * height)
        guard variance > 1e-6, norm > 1e-6 else { return 0 }
        return product / (variance.squareRoot() * norm)
    }

    /// The best position of the patch in `plane` with its top-left in the given ranges (clamped
    /// to where it fits), refined to a fraction of a pixel by a parabola through the neighbours.
    func bestMatch(in plane: AlignGrayPlane, lefts: ClosedRange<Int>, tops: ClosedRange<Int>) -> (x: Double, y: Double, score: Double)? {
        let lefts = max(lefts.lowerBound, 0)...min(lefts.upperBound, plane.width - width)
        let tops = max(tops.lowerBound, 0)...min(tops.upperBound, plane.height - height)
        guard !lefts.isEmpty, !tops.isEmpty, lefts.lowerBound <= lefts.upperBound, tops.lowerBound <= tops.upperBound else {
            return nil
        }
        let columns = lefts.count
        var scores = [Double](repeating: 0, count: columns * tops.count)
        var best = (index: 0, score: -Double.infinity)
        // A row of positions at a time, side by side in the kernel's lanes.
        var product = [Double](repeating: 0, count: columns), sum = product, squares = product
        plane.pixels.withUnsafeBufferPointer { image in
            values.withUnsafeBufferPointer { template in
                for (row, top) in tops.enumerated() {
                    intake_correlation_sums(image.baseAddress!, plane.width, template.baseAddress!, Int32(width), Int32(height),
                                            lefts.lowerBound, top, Int32(columns), &product, &sum, &squares)
                    for column in 0..<columns {
                        let score = score(product: product[column], sum: sum[column], squares: squares[column])
                        scores[row * columns + column] = score
                        if score > best.score { best = (row * columns + column, score) }
                    }
                }
            }
        }
        let row = best.index / columns, column = best.index % columns
        func vertex(_ before: Double, _ at: Double, _ after: Double) -> Double {
            let curvature = before - 2 * at + after
            guard curvature < 0 else { return 0 }
            return max(-0.5, min(0.5, (before - after) / (2 * curvature)))
        }
        let dx =
            column > 0 && column < columns - 1
            ? vertex(scores[best.index - 1], best.score, scores[best.index + 1]) : 0
        let dy =
            row > 0 && row < tops.count - 1
            ? vertex(scores[best.index - columns], best.score, scores[best.index + columns]) : 0
        return (Double(lefts.lowerBound + column) + dx, Double(tops.lowerBound + row) + dy, best.score)
    }
}

/// A profile mark prepared for the correlation search.
struct MarkTemplate: Sendable {
    let full: CorrelationPatch

    init(_ image: RGBImage) {
        full = CorrelationPatch(AlignGrayPlane(luma: image))
    }
}
