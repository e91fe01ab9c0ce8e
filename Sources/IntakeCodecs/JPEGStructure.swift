/// What the marker segments before the first scan say about a JPEG: where its EXIF is, whether
/// Adobe's APP14 is there (which decides how CMYK is stored), and the coding process.
public struct JPEGStructure: Sendable {
    /// The APP1 "Exif\0\0" payload, header included, as libexif expects it.
    public var exifSegment: Range<Int>?
    /// The APP1 XMP packet ("http://ns.adobe.com/xap/1.0/\0" and what follows it).
    public var xmpSegment: Range<Int>?
    public var hasAdobeMarker = false
    /// The SOFn marker (0xC0 baseline, 0xC2 progressive, 0xC9 arithmetic…), if one was reached.
    public var frameMarker: UInt8?

    /// The frame header's size and components, as far as they could be read.
    public var frame: (width: Int, height: Int, colorSpace: JPEGHeader.ColorSpace)?

    public var isProgressive: Bool { frameMarker.map { [0xC2, 0xC6, 0xCA, 0xCE].contains($0) } ?? false }
    public var isArithmetic: Bool { frameMarker.map { $0 >= 0xC9 && $0 != 0xCC } ?? false }

    /// Walks the segments up to the first SOS. Damage here is not an error: the decoder judges
    /// the file, this only finds metadata.
    public init(scanning bytes: UnsafeRawBufferPointer) {
        var offset = 2
        while offset + 4 <= bytes.count {
            // Stray bytes between segments: skip to the next marker, as libjpeg does (with a warning).
            guard bytes[offset] == 0xFF else { offset += 1; continue }
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill bytes
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { offset += 2; continue }
            if marker == 0xDA || marker == 0xD9 { break }
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let payload = offset + 4
            let end = offset + 2 + length
            guard length >= 2, end <= bytes.count else { break }
            switch marker {
            case 0xE1 where exifSegment == nil && length >= 8 && Self.matches(bytes, payload, "Exif\0\0"):
                exifSegment = payload..<end
            // The namespace must lie inside the segment, not merely inside the file: a segment
            // shorter than it would make the packet's range run backwards, which traps.
            case 0xE1 where xmpSegment == nil && length - 2 >= Self.xmpNamespace.utf8.count && Self.matches(bytes, payload, Self.xmpNamespace):
                xmpSegment = (payload + Self.xmpNamespace.utf8.count)..<end
            case 0xEE where Self.matches(bytes, payload, "Adobe"):
                hasAdobeMarker = true
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
                if frameMarker == nil, length >= 8 {
                    frameMarker = marker
                    let height = Int(bytes[payload + 1]) << 8 | Int(bytes[payload + 2])
                    let width = Int(bytes[payload + 3]) << 8 | Int(bytes[payload + 4])
                    let components = bytes[payload + 5]
                    let space: JPEGHeader.ColorSpace = components == 1 ? .gray : components == 4 ? .cmyk : .ycbcr
                    frame = (width, height, space)
                }
            default: break
            }
            offset = end
        }
    }

    static let xmpNamespace = "http://ns.adobe.com/xap/1.0/\0"

    private static func matches(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ text: String) -> Bool {
        let magic = Array(text.utf8)
        guard offset + magic.count <= bytes.count else { return false }
        return magic.indices.allSatisfy { bytes[offset + $0] == magic[$0] }
    }
}
