internal import CWebPReader

/// A WebP's first frame, as libwebp decodes it (see `CWebPReader`).
public struct DecodedWebP: Sendable {
    public let image: RGBImage
    public let animated: Bool
    public let lossless: Bool
    public let hasAlpha: Bool
    /// The EXIF chunk's TIFF bytes and the XMP chunk, when the file has them.
    public let exif: [UInt8]?
    public let xmp: [UInt8]?
}

/// WebP through libwebp and its demuxer: the first frame on the canvas, alpha over white.
/// The canvas's size is checked against the limits before anything is allocated.
public enum WebPDecoder {
    public static func readHeader(_ webp: UnsafeRawBufferPointer) throws(CodecError) -> (width: Int, height: Int) {
        var width: UInt32 = 0, height: UInt32 = 0
        guard intake_webp_probe(webp.baseAddress?.assumingMemoryBound(to: UInt8.self), webp.count, &width, &height) == 0 else {
            throw CodecError("WebP header damaged or truncated")
        }
        return (Int(width), Int(height))
    }

    public static func decode(_ webp: UnsafeRawBufferPointer, limits: DecodeLimits) throws(CodecError) -> DecodedWebP {
        var result = intake_webp_image()
        let status = intake_webp_decode(webp.baseAddress?.assumingMemoryBound(to: UInt8.self), webp.count, UInt64(limits.maxPixels), &result)
        guard status == 0, let pixels = result.pixels else { throw CodecError(CText.string(fixed: &result.error)) }
        let width = Int(result.width), height = Int(result.height)
        let exif = CText.bytes(result.exif, count: result.exif_length), xmp = CText.bytes(result.xmp, count: result.xmp_length)
        result.pixels = nil  // adopted by the image; the rest is freed here
        intake_webp_release(&result)
        let image = RGBImage(width: width, height: height, adopting: pixels)
        return DecodedWebP(image: image, animated: result.animated != 0, lossless: result.lossless != 0,
                           hasAlpha: result.has_alpha != 0, exif: exif, xmp: xmp)
    }
}
