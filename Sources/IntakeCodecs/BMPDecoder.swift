/// What a BMP's headers say: enough to check the limits before a pixel is read.
public struct BMPHeader: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let bitsPerPixel: Int
    /// 0 none, 3 bit fields, 6 bit fields with alpha (1, 2: run-length, refused).
    public let compression: Int
    /// Rows stored from the top (a negative height in the file) rather than from the bottom.
    public let topDown: Bool
    /// Where the pixel rows start in the file.
    let pixelOffset: Int
    /// Where the colour table starts, its entries' size (4, or 3 in OS/2's header) and count.
    let paletteOffset: Int, paletteEntrySize: Int, paletteCount: Int
    /// Red, green, blue and alpha masks of 16- and 32-bit pixels.
    let masks: (red: UInt32, green: UInt32, blue: UInt32, alpha: UInt32)

    public static func == (a: BMPHeader, b: BMPHeader) -> Bool {
        (a.width, a.height, a.bitsPerPixel, a.compression, a.topDown) == (b.width, b.height, b.bitsPerPixel, b.compression, b.topDown)
    }

    /// Whether pixels carry alpha (a mask for it), composited on white when decoded.
    public var hasAlpha: Bool { masks.alpha != 0 }

    /// Bytes per stored row: rows are padded to four bytes.
    var stride: Int { (bitsPerPixel * width + 31) / 32 * 4 }
}

/// Windows and OS/2 bitmaps, read by the project itself (the format is small): the OS/2 core
/// header and Windows' info headers (versions 1 to 5), 1, 4 and 8 bits through a colour table,
/// 16 and 32 bits with default or given bit fields, 24 bits; alpha composited on white, as a
/// PNG's is. Run-length and embedded JPEG or PNG compression are refused by name.
public enum BMPDecoder {
    public static func readHeader(_ data: UnsafeRawBufferPointer) throws(CodecError) -> BMPHeader {
        guard data.count >= 2, data[0] == UInt8(ascii: "B"), data[1] == UInt8(ascii: "M") else {
            throw CodecError("BMP does not begin with \"BM\"")
        }
        guard data.count >= 14 else { throw CodecError("BMP cut short: its \(data.count) bytes end inside its 14-byte file header") }
        guard data.count >= 26 else { throw CodecError("BMP cut short: its \(data.count) bytes end inside its info header") }
        func u16(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[at + $1]) << (8 * $1) } }
        let pixelOffset = Int(u32(10))
        let infoSize = Int(u32(14))
        let width: Int, rawHeight: Int, bits: Int, compression: Int, colours: Int
        if infoSize == 12 {
            (width, rawHeight, bits, compression, colours) = (u16(18), u16(20), u16(24), 0, 0)
        } else {
            guard [40, 52, 56, 64, 108, 124].contains(infoSize) else {
                throw CodecError("BMP has an info header of \(infoSize) bytes, which no BMP version has")
            }
            guard data.count >= 14 + 40 else {
                throw CodecError("BMP cut short: its \(data.count) bytes end inside its \(infoSize)-byte info header")
            }
            width = Int(Int32(bitPattern: u32(18)))
            rawHeight = Int(Int32(bitPattern: u32(22)))
            bits = u16(28)
            compression = Int(u32(30))
            colours = Int(u32(46))
        }
        guard width > 0, rawHeight != 0, rawHeight != Int(Int32.min) else { throw CodecError("BMP declares an empty image (\(width)×\(rawHeight))") }
        switch compression {
        case 0, 3, 6: break
        case 1, 2: throw CodecError("BMP with run-length compression (RLE\(compression == 1 ? 8 : 4)), which intake does not read")
        case 4: throw CodecError("BMP holding a JPEG, which intake does not read")
        case 5: throw CodecError("BMP holding a PNG, which intake does not read")
        default: throw CodecError("BMP with unknown compression \(compression)")
        }
        guard [1, 4, 8, 16, 24, 32].contains(bits) else { throw CodecError("BMP with \(bits) bits per pixel") }
        // Bit fields follow a 40-byte header; later versions hold them inside theirs.
        var masks: (UInt32, UInt32, UInt32, UInt32) =
            bits == 16 ? (0x7C00, 0x03E0, 0x001F, 0) : (0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0)
        var paletteOffset = 14 + infoSize
        if compression == 3 || compression == 6 {
            guard bits == 16 || bits == 32 else { throw CodecError("BMP with bit fields on \(bits)-bit pixels") }
            let at = 14 + 40
            guard data.count >= at + 16 else { throw CodecError("BMP too short for its bit fields") }
            masks = (u32(at), u32(at + 4), u32(at + 8), compression == 6 || infoSize >= 56 ? u32(at + 12) : 0)
            if infoSize == 40 { paletteOffset += compression == 6 ? 16 : 12 }
        } else if infoSize >= 56, bits == 32, data.count >= 14 + 56 {
            masks.3 = u32(14 + 52)  // a V3+ header's alpha mask applies to plain 32-bit pixels too
        }
        let entrySize = infoSize == 12 ? 3 : 4
        let paletteCount = bits <= 8 ? (colours > 0 && colours <= 1 << bits ? colours : 1 << bits) : 0
        return BMPHeader(
            width: width, height: abs(rawHeight), bitsPerPixel: bits, compression: compression, topDown: rawHeight < 0,
            pixelOffset: pixelOffset, paletteOffset: paletteOffset, paletteEntrySize: entrySize, paletteCount: paletteCount,
            masks: masks)
    }

    /// The pixels as 8-bit RGB. A file cut short is refused: how many rows are missing is said.
    public static func decode(_ data: UnsafeRawBufferPointer, header: BMPHeader) throws(CodecError) -> RGBImage {
        let stride = header.stride, width = header.width, height = header.height
        guard header.pixelOffset >= 14, header.pixelOffset <= data.count else { throw CodecError("BMP's pixel offset lies outside the file") }
        let available = (data.count - header.pixelOffset) / stride
        guard available >= height else { throw CodecError("BMP cut short: \(height - available) of \(height) rows missing") }
        var palette: [(UInt8, UInt8, UInt8)] = []
        if header.paletteCount > 0 {
            guard header.paletteOffset + header.paletteCount * header.paletteEntrySize <= header.pixelOffset else {
                throw CodecError("BMP's colour table overlaps its pixels")
            }
            for index in 0..<header.paletteCount {
                let at = header.paletteOffset + index * header.paletteEntrySize
                palette.append((data[at + 2], data[at + 1], data[at]))
            }
        }
        let fields = header.masks
        let red = BitField(fields.red), green = BitField(fields.green), blue = BitField(fields.blue), alpha = BitField(fields.alpha)
        /// The bits of the 16- or 32-bit pixel at byte `at`, little-endian.
        func packed(_ at: Int) -> UInt32 {
            header.bitsPerPixel == 16
                ? UInt32(data[at]) | UInt32(data[at + 1]) << 8
                : UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
        }
        // Many writers name an alpha byte and leave it 0 everywhere: read as alpha, the picture is
        // all white. Alpha that is 0 in every pixel is no alpha, as browsers take it.
        let usesAlpha = fields.alpha != 0 && (0..<height).contains { y in
            (0..<width).contains { x in packed(header.pixelOffset + y * stride + x * header.bitsPerPixel / 8) & fields.alpha != 0 }
        }
        return RGBImage(width: width, height: height) { out in
            for y in 0..<height {
                let row = header.pixelOffset + (header.topDown ? y : height - 1 - y) * stride
                var target = out + y * width * 3
                for x in 0..<width {
                    var (r, g, b): (UInt8, UInt8, UInt8)
                    var a: UInt8 = 255
                    switch header.bitsPerPixel {
                    case 1, 4, 8:
                        let bits = header.bitsPerPixel
                        let byte = data[row + x * bits / 8]
                        let shift = 8 - bits - (x * bits) % 8
                        let index = Int(byte >> UInt8(shift)) & ((1 << bits) - 1)
                        (r, g, b) = index < palette.count ? palette[index] : (0, 0, 0)
                    case 24:
                        let at = row + x * 3
                        (r, g, b) = (data[at + 2], data[at + 1], data[at])
                    default:
                        let value = packed(row + x * header.bitsPerPixel / 8)
                        (r, g, b) = (red.value(value), green.value(value), blue.value(value))
                        if usesAlpha { a = alpha.value(value) }
                    }
                    if a < 255 {
                        // Over white, rounded, as PNG's alpha is composited.
                        let inverse = 255 - UInt32(a)
                        func over(_ c: UInt8) -> UInt8 { UInt8((UInt32(c) * UInt32(a) + 255 * inverse + 127) / 255) }
                        (r, g, b) = (over(r), over(g), over(b))
                    }
                    target[0] = r
                    target[1] = g
                    target[2] = b
                    target += 3
                }
            }
        }
    }
}

/// One channel's mask in a 16- or 32-bit pixel, widened to 8 bits.
private struct BitField {
    let shift: UInt32, mask: UInt32
    /// The largest value the channel holds (all its bits set).
    let top: UInt64

    init(_ mask: UInt32) {
        self.mask = mask
        shift = mask == 0 ? 0 : UInt32(mask.trailingZeroBitCount)
        top = UInt64(mask >> shift)
    }

    func value(_ pixel: UInt32) -> UInt8 {
        guard top > 0 else { return 0 }
        let raw = UInt64((pixel & mask) >> shift)
        let scaled: UInt64 = (raw * 255 + top / 2) / top
        return UInt8(min(scaled, 255))
    }
}
