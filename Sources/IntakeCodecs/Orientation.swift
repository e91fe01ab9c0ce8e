/// EXIF orientation: how the stored pixels must be turned to stand upright.
public enum Orientation: Int, Sendable, CaseIterable {
    case up = 1, mirrored = 2, upsideDown = 3, upsideDownMirrored = 4
    case transposed = 5, rotatedClockwise = 6, transverse = 7, rotatedCounterclockwise = 8

    /// Orientations 5–8 store the image on its side: width and height swap when applied.
    public var swapsSides: Bool { rawValue >= 5 }

    /// Where the upright pixel (x, y) comes from in the stored image of `width` × `height`.
    @inline(__always)
    func source(x: Int, y: Int, width: Int, height: Int) -> (Int, Int) {
        switch self {
        case .up: (x, y)
        case .mirrored: (width - 1 - x, y)
        case .upsideDown: (width - 1 - x, height - 1 - y)
        case .upsideDownMirrored: (x, height - 1 - y)
        case .transposed: (y, x)
        case .rotatedClockwise: (y, height - 1 - x)
        case .transverse: (width - 1 - y, height - 1 - x)
        case .rotatedCounterclockwise: (width - 1 - y, x)
        }
    }
}

extension RGBImage {
    /// The image turned upright according to `orientation`.
    public func applying(_ orientation: Orientation) -> RGBImage {
        if orientation == .up { return self }
        let outWidth = orientation.swapsSides ? height : width
        let outHeight = orientation.swapsSides ? width : height
        let source = storage.base, sourceWidth = width, sourceHeight = height
        // Every orientation maps upright pixels to stored ones affinely: one step right in the
        // output is a fixed step in the source, and so is one step down. Walking by those steps
        // keeps the per-pixel work to three byte copies.
        func offset(_ x: Int, _ y: Int) -> Int {
            let (sx, sy) = orientation.source(x: x, y: y, width: sourceWidth, height: sourceHeight)
            return (sy * sourceWidth + sx) * 3
        }
        let origin = offset(0, 0), stepRight = offset(1, 0) - origin, stepDown = offset(0, 1) - origin
        return RGBImage(width: outWidth, height: outHeight) { target in
            var t = 0
            for y in 0..<outHeight {
                var s = origin + y * stepDown
                for _ in 0..<outWidth {
                    target[t] = source[s]
                    target[t + 1] = source[s + 1]
                    target[t + 2] = source[s + 2]
                    t += 3
                    s += stepRight
                }
            }
        }
    }
}
