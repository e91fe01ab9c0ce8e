/// What the first bytes of a file say it is. Every case but `.refused` goes on to be decoded;
/// `.refused` names what the file is so that the refusal tells the user plainly.
public enum ImageType: Sendable, Equatable, CustomStringConvertible {
    case jpeg
    case png
    case bmp
    case gif
    case webp
    case tiff
    /// HEIF with HEVC (HEIC, as phones write it) or any other codec libheif decodes.
    case heif
    /// HEIF with AV1, when this machine's libheif has an AV1 decoder.
    case avif
    case refused(String)

    /// The formats intake decodes, as refusals name them.
    public static let decodableNames = "JPEG, PNG, HEIC, WebP, TIFF, GIF and BMP"

    /// Whether intake decodes it (every case but `.refused`).
    public var isDecodable: Bool {
        if case .refused = self { return false }
        return true
    }

    /// The media type a file of this type is served as; nil for what intake refuses.
    public var mediaType: String? {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .bmp: "image/bmp"
        case .gif: "image/gif"
        case .webp: "image/webp"
        case .tiff: "image/tiff"
        case .heif: "image/heic"
        case .avif: "image/avif"
        case .refused: nil
        }
    }

    /// The short name recorded in the database and printed in JSON.
    public var description: String {
        switch self {
        case .jpeg: "jpeg"
        case .png: "png"
        case .bmp: "bmp"
        case .gif: "gif"
        case .webp: "webp"
        case .tiff: "tiff"
        case .heif: "heif"
        case .avif: "avif"
        case .refused(let name): name
        }
    }
}

/// Decides a file's type from its magic bytes, never from its name.
public enum Sniffer {
    /// How many leading bytes `sniff` looks at; callers may pass more.
    public static let headerLength = 64
    /// The eight bytes every PNG begins with.
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageType {
        let b = Array(bytes.prefix(headerLength))
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            b.count >= offset + magic.count && Array(b[offset..<offset + magic.count]) == magic
        }
        func ascii(_ text: String, at offset: Int = 0) -> Bool { starts(Array(text.utf8), at: offset) }

        if b.isEmpty { return .refused("an empty file") }
        if let cut = cutInsideSignature(b) { return cut }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0xFF, 0xD8]) { return .refused("a damaged JPEG (start-of-image marker not followed by a marker)") }
        if starts(pngSignature) {
            // Apple's "iPhone-optimised" PNG puts a CgBI chunk first: raw deflate, BGRA, premultiplied.
            return ascii("CgBI", at: 12) ? .refused("an Apple CgBI PNG (not standard PNG)") : .png
        }
        if b.count >= 8, zip(b, pngSignature).filter({ $0 == $1 }).count >= 6 {
            // One or two bytes off: the classic damage of a transfer in text mode (CR/LF rewritten).
            return .refused("a PNG with a damaged signature (altered by a text-mode transfer?)")
        }
        if ascii("GIF87a") || ascii("GIF89a") { return .gif }
        if ascii("BM") && b.count >= 14 { return .bmp }
        // Camera raws are TIFF underneath too: the TIFF decoder refuses them by name.
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if starts([0x49, 0x49, 0x2B, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2B]) { return .tiff }
        if ascii("RIFF") && ascii("WEBP", at: 8) { return .webp }
        if ascii("ftyp", at: 4), b.count >= 12 {
            var brand = String(decoding: b[8..<12], as: UTF8.self)
            // The generic image brands say only "an image file of ISO media": what it holds is
            // in the compatible brands (an AVIF often leads with mif1 or miaf).
            if ["mif1", "msf1", "miaf"].contains(brand) {
                let boxEnd = min(b.count, Int(b[0]) << 24 | Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3]))
                let compatible = stride(from: 16, to: boxEnd - 3, by: 4).map { String(decoding: b[$0..<$0 + 4], as: UTF8.self) }
                if let named = compatible.first(where: { ["avif", "avis", "heic", "heix", "hevc", "hevx", "heim", "heis"].contains($0) }) {
                    brand = named
                } else if brand == "miaf" {
                    brand = "mif1"  // MIAF is a profile of HEIF: libheif decides
                }
            }
            switch brand {
            case "avif", "avis":
                return HEIFDecoder.decodesAV1 ? .avif : .refused("AVIF (this machine's libheif has no AV1 decoder)")
            case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1":
                return HEIFDecoder.decodesHEVC ? .heif : .refused("HEIF/HEIC (this machine's libheif has no HEVC decoder)")
            case "crx ": return .refused("Canon CR3 raw")
            default: return .refused("an ISO media file (\(brand.trimmingTrailingSpaces))")
            }
        }
        if starts([0xFF, 0x0A]) || starts([0, 0, 0, 0x0C, 0x4A, 0x58, 0x4C, 0x20, 0x0D, 0x0A, 0x87, 0x0A]) {
            return .refused("JPEG XL")
        }
        if starts([0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || starts([0xFF, 0x4F, 0xFF, 0x51]) {
            return .refused("JPEG 2000")
        }
        if ascii("%PDF-") { return .refused("PDF") }
        if ascii("PK") && b.count >= 4 && (b[2], b[3]) == (3, 4) || starts([0x50, 0x4B, 0x05, 0x06]) {
            return .refused("a ZIP archive (or an Office document)")
        }
        if starts([0, 0, 1, 0]) || starts([0, 0, 2, 0]) { return .refused("ICO/CUR icon") }
        if ascii("8BPS") { return .refused("Photoshop PSD") }
        if ascii("BZh") { return .refused("bzip2-compressed data") }
        if starts([0x1F, 0x8B]) { return .refused("gzip-compressed data") }
        if ascii("qoif") { return .refused("QOI") }
        if b.count >= 3, b[0] == UInt8(ascii: "P"), (UInt8(ascii: "1")...UInt8(ascii: "7")).contains(b[1]),
            [0x0A, 0x0D, 0x20, 0x09].contains(b[2])
        {
            return .refused("a Netpbm image (PBM/PGM/PPM/PAM)")
        }
        if b.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20..<0x7F).contains($0) || $0 >= 0x80 }),
            String(validating: b, as: UTF8.self) != nil || b.allSatisfy({ $0 < 0x80 })
        {
            return .refused("text, not an image")
        }
        let hex = b.prefix(8).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined(separator: " ")
        return .refused("an unknown type (first bytes \(hex))")
    }

    /// The type of a whole file so short that it ends inside its format's signature or the BMP
    /// file header, which marks it a copy cut short rather than text or an unknown type: its
    /// header reader then says how far it got. Two bytes of a binary signature are enough; GIF's
    /// is letters, so four ("GIF8") are asked; and "BM" begins words too, so a BMP's declared
    /// size must also be one a BMP could have, larger than what arrived. Callers pass the whole
    /// file when it is shorter than ``headerLength``.
    private static func cutInsideSignature(_ b: [UInt8]) -> ImageType? {
        func cut(_ signature: [UInt8], least: Int) -> Bool {
            b.count >= least && b.count < signature.count && Array(signature.prefix(b.count)) == b
        }
        if cut([0xFF, 0xD8, 0xFF], least: 2) { return .jpeg }
        if cut(pngSignature, least: 2) { return .png }
        if cut(Array("GIF87a".utf8), least: 4) || cut(Array("GIF89a".utf8), least: 4) { return .gif }
        if b.count >= 6, b.count < 14, b[0] == UInt8(ascii: "B"), b[1] == UInt8(ascii: "M") {
            let declared = (2..<6).reduce(0) { $0 | Int(b[$1]) << (8 * ($1 - 2)) }
            // Under 144 MiB, its highest byte (the sixth) under 9: text after "BM" has a
            // letter, a digit, a space, a tab or a line break there, and declares more.
            if declared > b.count && declared < 9 << 24 { return .bmp }
        }
        return nil
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
