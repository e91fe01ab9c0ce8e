internal import CPNGReader

/// Limits every decoder enforces before it allocates pixels (decompression bombs).
public struct DecodeLimits: Sendable, Equatable {
    public var maxPixels: Int
    public var maxWidth: Int
    public var maxHeight: Int
    /// The largest ancillary chunk libpng may hold (text, ICC profile, eXIf), inflated.
    public var maxChunkBytes: Int

    public init(maxPixels: Int = 100_000_000, maxWidth: Int = 65500, maxHeight: Int = 65500, maxChunkBytes: Int = 8 << 20) {
        self.maxPixels = maxPixels
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.maxChunkBytes = maxChunkBytes
    }

    /// Refuses a declared size over the limits, before anything is decoded.
    public func check(width: Int, height: Int) throws(CodecError) {
        if width > maxWidth || height > maxHeight {
            throw CodecError("image declares \(width)×\(height) pixels, over the limit of \(maxWidth)×\(maxHeight) per side")
        }
        if width * height > maxPixels {
            throw CodecError(
                "image declares \(width)×\(height) = \(Self.megapixels(width * height)) pixels, over the limit of \(Self.megapixels(maxPixels))")
        }
    }

    static func megapixels(_ count: Int) -> String {
        count >= 1_000_000 ? "\((count + 500_000) / 1_000_000) MP" : "\(count)"
    }

    fileprivate var c: intake_png_limits {
        intake_png_limits(
            max_width: UInt32(clamping: maxWidth), max_height: UInt32(clamping: maxHeight),
            max_pixels: UInt64(maxPixels), max_chunk_bytes: maxChunkBytes)
    }
}

/// What the IHDR chunk says.
public struct PNGHeader: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let bitDepth: Int
    public let colorType: Int
    public let interlaced: Bool

    /// PNG's colour type in words, for metadata.
    public var colorName: String {
        switch colorType {
        case 0: "gray"
        case 2: "rgb"
        case 3: "palette"
        case 4: "gray+alpha"
        case 6: "rgba"
        default: "type \(colorType)"
        }
    }
}

/// A decoded PNG: RGB pixels with any alpha composited on white, the eXIf payload if present.
public struct DecodedPNG: Sendable {
    public let image: RGBImage
    public let header: PNGHeader
    public let hasAlpha: Bool
    public let exif: [UInt8]?
    public let warnings: [String]
    /// Its tEXt, zTXt and iTXt chunks, in file order, within libpng's reader's caps (32 chunks,
    /// 64 KiB in all, 16 KiB each).
    public var texts: [PNGText] = []
}

/// One text chunk of a PNG: its keyword ("Software", "XML:com.adobe.xmp", …) and its text.
public struct PNGText: Sendable, Codable, Equatable {
    public let key: String
    public let text: String

    public init(key: String, text: String) {
        self.key = key
        self.text = text
    }
}

/// PNG decoding through libpng, with its memory limits set (see `CPNGReader`).
public enum PNGDecoder {
    /// Reads IHDR straight from the bytes: enough to enforce the pixel limit before libpng
    /// inflates anything (a 6 MB file can declare 50 gigapixels).
    public static func readHeader(_ png: UnsafeRawBufferPointer) throws(CodecError) -> PNGHeader {
        // The signature (8 bytes) and the IHDR chunk (25) hold the size: a file that ends inside
        // them, where they are what a PNG's are, is cut short.
        if png.count < 33, png.count < 12 || Array("IHDR".utf8).starts(with: png[12..<min(png.count, 16)]) {
            throw CodecError("PNG cut short: its \(png.count) bytes end inside its signature and header chunk (IHDR), 33 bytes")
        }
        guard png.count >= 33, String(decoding: png[12..<16], as: UTF8.self) == "IHDR" else {
            throw CodecError("PNG has no IHDR chunk where the header belongs")
        }
        func u32(_ offset: Int) -> Int { (0..<4).reduce(0) { $0 << 8 | Int(png[offset + $1]) } }
        return PNGHeader(
            width: u32(16), height: u32(20), bitDepth: Int(png[24]), colorType: Int(png[25]), interlaced: png[28] != 0)
    }

    public static func decode(_ png: UnsafeRawBufferPointer, limits: DecodeLimits) throws(CodecError) -> DecodedPNG {
        var limitsC = limits.c
        var result = intake_png_image()
        let status = intake_png_decode(
            png.baseAddress?.assumingMemoryBound(to: UInt8.self), png.count, &limitsC, &result)
        let warnings = CText.string(fixed: &result.warnings).split(separator: "; ").map(String.init)
        guard status == 0, let pixels = result.pixels else {
            throw CodecError("PNG unreadable: \(CText.string(fixed: &result.error))")
        }
        var exif: [UInt8]?
        if let payload = result.exif, result.exif_length > 0 {
            exif = Array(UnsafeBufferPointer(start: payload, count: result.exif_length))
        }
        var texts: [PNGText] = []
        if let buffer = result.texts, result.texts_length > 0 {
            let fields = UnsafeRawBufferPointer(start: buffer, count: result.texts_length).split(separator: 0, omittingEmptySubsequences: false)
            for pair in stride(from: 0, to: fields.count - 1, by: 2) {
                // Latin-1 in tEXt and zTXt, UTF-8 in iTXt: bytes that are not UTF-8 are replaced.
                texts.append(PNGText(key: String(decoding: fields[pair], as: UTF8.self), text: String(decoding: fields[pair + 1], as: UTF8.self)))
            }
        }
        // The pixels are adopted by Swift; only the eXIf and text copies are left for C to free.
        result.pixels = nil
        intake_png_release(&result)
        let width = Int(result.width), height = Int(result.height)
        let header = PNGHeader(
            width: width, height: height, bitDepth: Int(result.bit_depth), colorType: Int(result.color_type),
            interlaced: result.interlaced != 0)
        let image = RGBImage(width: width, height: height, adopting: pixels)
        return DecodedPNG(image: image, header: header, hasAlpha: result.has_alpha != 0, exif: exif, warnings: warnings, texts: texts)
    }
}
