public import IntakeCodecs

/// Cuts a box of the reference frame out of an aligned photo: how each wheel and dial gets its
/// own upright crop, whatever way the camera was turned.
public enum BoxSampler {
    /// The box's pixels taken from `photo` through `alignment`, bilinear, upright and of the box's
    /// size. Parts of the box that fall outside the photo are black.
    public static func crop(_ photo: RGBImage, box: Box, through alignment: Alignment) -> RGBImage {
        crop(photo, box: box, through: alignment.referenceToPhoto)
    }

    /// The same through any reference → photo transform (tests, or a profile's own reference image
    /// with the identity).
    public static func crop(_ photo: RGBImage, box: Box, through transform: PlaneTransform) -> RGBImage {
        let width = box.width, height = box.height
        let sourceWidth = photo.width, sourceHeight = photo.height
        let source = photo.storage.base
        // Where each pixel of a row samples is worked out for the whole row first: the divisions
        // of a perspective transform then overlap, where each held up its own pixel's sampling.
        let sampleX = UnsafeMutablePointer<Double>.allocate(capacity: width), sampleY = UnsafeMutablePointer<Double>.allocate(capacity: width)
        defer {
            sampleX.deallocate()
            sampleY.deallocate()
        }
        return RGBImage(width: width, height: height) { out in
            for y in 0..<height {
                for x in 0..<width {
                    (sampleX[x], sampleY[x]) = transform.apply(x: Double(box.x + x), y: Double(box.y + y))
                }
                for x in 0..<width {
                    let sx = sampleX[x], sy = sampleY[x]
                    let target = out + (y * width + x) * 3
                    // Checked before any conversion to Int, which would trap on a point far outside
                    // (or NaN). For whole bounds, ⌊s⌋ ≥ −1 exactly when s ≥ −1, and ⌊s⌋ < w when s < w.
                    guard sx >= -1, sy >= -1, sx < Double(sourceWidth), sy < Double(sourceHeight) else {
                        target[0] = 0
                        target[1] = 0
                        target[2] = 0
                        continue
                    }
                    let x0 = floorIndex(sx), y0 = floorIndex(sy)
                    let wx = Float(sx - Double(x0)), wy = Float(sy - Double(y0))
                    let weights = ((1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy)
                    if x0 >= 0, y0 >= 0, x0 + 1 < sourceWidth, y0 + 1 < sourceHeight {
                        let top = source + (y0 * sourceWidth + x0) * 3, bottom = top + sourceWidth * 3
                        for channel in 0..<3 {
                            let value =
                                weights.0 * Float(top[channel]) + weights.1 * Float(top[channel + 3])
                                + weights.2 * Float(bottom[channel]) + weights.3 * Float(bottom[channel + 3])
                            target[channel] = UInt8(min(255, value + 0.5))  // rounded: the value is never negative
                        }
                    } else {
                        // At the photo's edge: corners outside it count as black, like everything outside.
                        func sample(_ cx: Int, _ cy: Int, _ channel: Int) -> Float {
                            guard cx >= 0, cy >= 0, cx < sourceWidth, cy < sourceHeight else { return 0 }
                            return Float(source[(cy * sourceWidth + cx) * 3 + channel])
                        }
                        for channel in 0..<3 {
                            let value =
                                weights.0 * sample(x0, y0, channel) + weights.1 * sample(x0 + 1, y0, channel)
                                + weights.2 * sample(x0, y0 + 1, channel) + weights.3 * sample(x0 + 1, y0 + 1, channel)
                            target[channel] = UInt8(min(255, value + 0.5))  // rounded: the value is never negative
                        }
                    }
                }
            }
        }
    }
}
