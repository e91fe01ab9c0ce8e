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
    /// The logical screen's size, straight from the header. A file that ends before its header
    /// and global colour table do is said to be cut short: giflib would call it "no screen
    /// descriptor detected".
    public static func readHeader(_ gif: UnsafeRawBufferPointer) throws(CodecError) -> (width: Int, height: Int) {
        guard gif.count >= 13 else { throw CodecError("GIF cut short: its \(gif.count) bytes end inside its 13-byte header") }
        if gif[10] & 0x80 != 0 {
            let table = 3 << (Int(gif[10] & 7) + 1)
            guard gif.count >= 13 + table else {
                throw CodecError("GIF cut short: its \(gif.count) bytes end inside its colour table of \(table) bytes")
            }
        }
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
