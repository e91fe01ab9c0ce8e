/// Any image intake reads, decoded whole by what its first bytes say it is (never its name):
/// for the small images the meter reader loads itself (crops, a profile's reference and marks),
/// which need none of the pipeline's scaling.
public enum WholeImageDecoder {
    public static func decode(_ raw: UnsafeRawBufferPointer, jpeg codec: JPEGCodec, maxPixels: Int) throws(CodecError) -> RGBImage {
        let limits = DecodeLimits(maxPixels: maxPixels)
        switch Sniffer.sniff(raw) {
        case .jpeg:
            let header = try codec.readHeader(raw)
            guard header.width * header.height <= maxPixels else { throw CodecError("JPEG of \(header.width)×\(header.height) is too large") }
            return try codec.decode(raw, header: header, scale: .full, adobeInverted: true).image
        case .png:
            return try PNGDecoder.decode(raw, limits: limits).image
        case .gif:
            return try GIFDecoder.decode(raw, limits: limits).image
        case .bmp:
            let header = try BMPDecoder.readHeader(raw)
            guard header.width * header.height <= maxPixels else { throw CodecError("BMP of \(header.width)×\(header.height) is too large") }
            return try BMPDecoder.decode(raw, header: header)
        case .webp:
            return try WebPDecoder.decode(raw, limits: limits).image
        case .tiff:
            // As stored: a crop or a mark is cut from the pixels as the file keeps them.
            return try TIFFDecoder.decode(raw, limits: limits).image
        case .heif, .avif:
            return try HEIFDecoder.decode(raw, limits: limits).image
        case .refused(let what):
            throw CodecError("must be one of \(ImageType.decodableNames); this is \(what)")
        }
    }
}
