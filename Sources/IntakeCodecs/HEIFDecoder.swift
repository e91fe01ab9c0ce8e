internal import CHEIFReader

/// A HEIF's primary image, upright, as libheif decodes it (see `CHEIFReader`).
public struct DecodedHEIF: Sendable {
    public let image: RGBImage
    public let hasAlpha: Bool
    public let bitDepth: Int
    public let imageCount: Int
    /// The Exif block's TIFF bytes and the XMP block, when the file has them.
    public let exif: [UInt8]?
    public let xmp: [UInt8]?
}

/// HEIF, HEIC and AVIF through libheif. The file's own rotation, mirroring and cropping are
/// applied by the decoder: a HEIF's EXIF orientation is informative only, never applied again.
public enum HEIFDecoder {
    /// Whether this machine's libheif has the decoder each flavour needs (AV1 comes from a
    /// plugin that may be missing).
    public static let decodesHEVC = intake_heif_can_decode_hevc() != 0
    public static let decodesAV1 = intake_heif_can_decode_av1() != 0

    public static func readHeader(_ heif: UnsafeRawBufferPointer, limits: DecodeLimits) throws(CodecError) -> (width: Int, height: Int) {
        var width: UInt32 = 0, height: UInt32 = 0
        var error = CText.buffer()
        let status = intake_heif_probe(heif.baseAddress?.assumingMemoryBound(to: UInt8.self), heif.count, maxSide(limits),
                                       UInt64(limits.maxPixels), &width, &height, &error)
        guard status == 0 else { throw CodecError(cutShort(heif) ?? CText.string(error)) }
        return (Int(width), Int(height))
    }

    /// Where a file libheif refused ends inside one of its top-level boxes, that said plainly:
    /// libheif's words for it ("No 'meta' box", "Extent in iloc box references data outside of
    /// file bounds") name what it then missed. Nil when every box is whole.
    static func cutShort(_ heif: UnsafeRawBufferPointer) -> String? {
        func number(at offset: Int, bytes: Int) -> UInt64 {
            (0..<bytes).reduce(UInt64(0)) { $0 << 8 | UInt64(heif[offset + $1]) }
        }
        var offset = 0
        while offset < heif.count {
            guard offset + 8 <= heif.count else { return "HEIF cut short: its \(heif.count) bytes end inside a box's header" }
            let type = heif[(offset + 4)..<(offset + 8)].allSatisfy { (0x20..<0x7F).contains($0) }
                ? "its '\(String(decoding: heif[(offset + 4)..<(offset + 8)], as: UTF8.self))' box" : "a box"
            var size = number(at: offset, bytes: 4), header = 8
            if size == 1 {
                guard offset + 16 <= heif.count else { return "HEIF cut short: its \(heif.count) bytes end inside \(type)'s header" }
                (size, header) = (number(at: offset + 8, bytes: 8), 16)
            }
            // A box to the end of the file is whole whatever its length; one shorter than its own
            // header is damage, not truncation.
            guard size != 0, size >= UInt64(header) else { return nil }
            guard size <= UInt64(heif.count - offset) else {
                return "HEIF cut short: its \(heif.count) bytes end inside \(type), which declares \(size) bytes from byte \(offset)"
            }
            offset += Int(size)
        }
        return nil
    }

    public static func decode(_ heif: UnsafeRawBufferPointer, limits: DecodeLimits) throws(CodecError) -> DecodedHEIF {
        var result = intake_heif_image()
        let status = intake_heif_decode(heif.baseAddress?.assumingMemoryBound(to: UInt8.self), heif.count, maxSide(limits),
                                        UInt64(limits.maxPixels), &result)
        guard status == 0, let pixels = result.pixels else { throw CodecError(CText.string(fixed: &result.error)) }
        let width = Int(result.width), height = Int(result.height)
        let exif = CText.bytes(result.exif, count: result.exif_length), xmp = CText.bytes(result.xmp, count: result.xmp_length)
        result.pixels = nil  // adopted by the image; the rest is freed here
        intake_heif_release(&result)
        let image = RGBImage(width: width, height: height, adopting: pixels)
        return DecodedHEIF(image: image, hasAlpha: result.has_alpha != 0, bitDepth: Int(result.bit_depth),
                           imageCount: Int(result.image_count), exif: exif, xmp: xmp)
    }

    private static func maxSide(_ limits: DecodeLimits) -> UInt32 {
        UInt32(clamping: max(limits.maxWidth, limits.maxHeight))
    }
}
