internal import CGIFReader

/// A GIF's first frame, as giflib decodes it (see `CGIFReader`).
public struct DecodedGIF: Sendable {
    public let image: RGBImage
    /// Another frame follows the first: an animation, of which only the first frame is kept.
    public let animated: Bool
    public let interlaced: Bool
    public let transparent: Bool
}

/// GIF through giflib: the first frame placed on the logical screen, transparent and uncovered
/// pixels white (as a PNG's alpha is composited). The screen's size is checked against the
/// limits before anything is allocated.
public enum GIFDecoder {
    /// The logical screen's size, straight from the header.
    public static func readHeader(_ gif: UnsafeRawBufferPointer) throws(CodecError) -> (width: Int, height: Int) {
        guard gif.count >= 13 else { throw CodecError("GIF too short for its header") }
        return (Int(gif[6]) | Int(gif[7]) << 8, Int(gif[8]) | Int(gif[9]) << 8)
    }

    public static func decode(_ gif: UnsafeRawBufferPointer, limits: DecodeLimits) throws(CodecError) -> DecodedGIF {
        var result = intake_gif_image()
        let status = intake_gif_decode(gif.baseAddress?.assumingMemoryBound(to: UInt8.self), gif.count, UInt64(limits.maxPixels), &result)
        guard status == 0, let pixels = result.pixels else {
            throw CodecError(CText.string(fixed: &result.error))
        }
        let width = Int(result.width), height = Int(result.height)
        let image = RGBImage(width: width, height: height, adopting: pixels)
        return DecodedGIF(image: image, animated: result.frames_seen > 1, interlaced: result.interlaced != 0, transparent: result.transparent != 0)
    }
}
