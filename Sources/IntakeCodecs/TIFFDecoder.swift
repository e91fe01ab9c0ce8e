internal import CTIFFReader

/// A TIFF's first page as stored, as libtiff decodes it (see `CTIFFReader`).
public struct DecodedTIFF: Sendable {
    public let image: RGBImage
    /// The Orientation tag, nil when absent: applied later, as EXIF's would be.
    public let orientation: Int?
    public let bitsPerSample: Int
    /// "grey", "rgb", "palette", "cmyk", "ycbcr", "lab" or the photometric number.
    public let colorSpace: String
    public let hasAlpha: Bool
    public let morePages: Bool
    /// A TIFF stream for the EXIF reader: the file's first bytes when its first directory lies
    /// within what the EXIF reader takes (64 KiB), else a copy of its metadata directories
    /// (`TIFFMetadataCopy`); nil when neither could be made.
    public let exif: [UInt8]?
    /// What a copy left out that the EXIF reader would have read (the maker note), in words.
    public let exifOmitted: [String]
}

/// TIFF through libtiff: the first page, 8- or 16-bit, grey, palette, RGB, CMYK or YCbCr,
/// through its RGBA interface. Camera raws (DNG and other TIFF-based raws) are refused by name.
public enum TIFFDecoder {
    /// How much of the file libexif reads: its loader stops at JPEG's APP1 limit.
    static let exifReach = 0xFFF0

    public static func readHeader(_ tiff: UnsafeRawBufferPointer, limits: DecodeLimits) throws(CodecError) -> (width: Int, height: Int) {
        if let cut = cutShort(tiff) { throw CodecError(cut) }
        var width: UInt32 = 0, height: UInt32 = 0
        var error = CText.buffer()
        let status = intake_tiff_probe(tiff.baseAddress?.assumingMemoryBound(to: UInt8.self), tiff.count, &width, &height, &error)
        guard status == 0 else { throw CodecError(CText.string(error)) }
        return (Int(width), Int(height))
    }

    /// Why a file that ends before its first directory does is cut short, or nil: libtiff would
    /// say only "Can not read TIFF directory count". Classic TIFF and BigTIFF, either byte order.
    /// A damaged offset or count looks the same from here, so both are named.
    static func cutShort(_ tiff: UnsafeRawBufferPointer) -> String? {
        let big = tiff.count >= 4 && (tiff[2] == 43 || tiff[3] == 43)
        let headerSize = big ? 16 : 8, countSize = big ? 8 : 2, entrySize = big ? 20 : 12
        guard tiff.count >= headerSize else { return "TIFF cut short: its \(tiff.count) bytes end inside its \(headerSize)-byte header" }
        let reader = TIFFMetadataCopy.Reader(bytes: tiff, bigEndian: tiff[0] == UInt8(ascii: "M"))
        guard let directory = big ? reader.uint64(at: 8) : reader.uint32(at: 4).map(UInt64.init) else { return nil }
        // The directory's count of entries, nil where the directory lies past the end.
        func entryCount(at offset: UInt64) -> UInt64? {
            guard offset <= UInt64(tiff.count) else { return nil }
            return big ? reader.uint64(at: Int(offset)) : reader.uint16(at: Int(offset)).map(UInt64.init)
        }
        guard let entries = entryCount(at: directory) else {
            return "TIFF cut short or damaged: its first directory is at byte \(directory), past the end of its \(tiff.count) bytes"
        }
        guard entries <= UInt64((tiff.count - Int(directory) - countSize) / entrySize) else {
            return "TIFF cut short or damaged: its first directory (\(entries) entries at byte \(directory)) runs past the end of its \(tiff.count) bytes"
        }
        return nil
    }

    public static func decode(_ tiff: UnsafeRawBufferPointer, limits: DecodeLimits) throws(CodecError) -> DecodedTIFF {
        var result = intake_tiff_image()
        // No single allocation of libtiff's beyond the page's own raster: a strip that claims
        // more is a bomb.
        let maxAllocation = UInt64(max(limits.maxPixels, 1 << 20)) * 4
        let status = intake_tiff_decode(tiff.baseAddress?.assumingMemoryBound(to: UInt8.self), tiff.count,
                                        UInt64(limits.maxPixels), maxAllocation, &result)
        guard status == 0, let pixels = result.pixels else { throw CodecError(CText.string(fixed: &result.error)) }
        let width = Int(result.width), height = Int(result.height)
        let image = RGBImage(width: width, height: height, adopting: pixels)
        // The file's own first bytes where its first directory lies within the EXIF reader's
        // reach, else a copy of its metadata directories.
        let exif: [UInt8]?, exifOmitted: [String]
        if Int(clamping: result.first_directory) < exifReach {
            (exif, exifOmitted) = (Array(tiff.prefix(exifReach)), [])
        } else {
            let copy = TIFFMetadataCopy.copy(tiff)
            (exif, exifOmitted) = (copy?.tiff, copy?.omitted ?? [])
        }
        return DecodedTIFF(
            image: image, orientation: result.orientation == 0 ? nil : Int(result.orientation),
            bitsPerSample: Int(result.bits_per_sample), colorSpace: colorName(photometric: result.photometric),
            hasAlpha: result.has_alpha != 0, morePages: result.more_pages != 0,
            exif: exif, exifOmitted: exifOmitted)
    }

    static func colorName(photometric: UInt16) -> String {
        switch photometric {
        case 0, 1: "grey"
        case 2: "rgb"
        case 3: "palette"
        case 5: "cmyk"
        case 6: "ycbcr"
        case 8, 9, 10: "lab"
        default: "photometric \(photometric)"
        }
    }
}
