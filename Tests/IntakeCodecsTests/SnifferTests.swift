import IntakeCodecs
import Testing

@Suite struct SnifferTests {
    func sniff(_ bytes: [UInt8]) -> ImageType { bytes.withUnsafeBytes { Sniffer.sniff($0) } }
    func sniff(_ text: String, then rest: [UInt8] = []) -> ImageType { sniff(Array(text.utf8) + rest) }

    /// A generic major brand (mif1, miaf) says only "an image file of ISO media": an AVIF that
    /// leads with one is an AVIF by its compatible brands, and is named so where AV1 is missing.
    @Test func aGenericHEIFBrandIsReadThroughItsCompatibleBrands() {
        let avif = "\0\0\0\u{20}ftypmif1\0\0\0\0mif1miafavifMA1B"
        #expect(sniff(avif, then: [UInt8](repeating: 0, count: 8)) == (HEIFDecoder.decodesAV1 ? .avif : .refused("AVIF (this machine's libheif has no AV1 decoder)")))
        let heic = "\0\0\0\u{1C}ftypmiaf\0\0\0\0miafheicmif1"
        #expect(sniff(heic, then: [UInt8](repeating: 0, count: 8)) == (HEIFDecoder.decodesHEVC ? .heif : .refused("HEIF/HEIC (this machine's libheif has no HEVC decoder)")))
        // Brands past the box's end are not the file's.
        let short = "\0\0\0\u{14}ftypmif1\0\0\0\0mif1avif"
        #expect(sniff(short, then: [UInt8](repeating: 0, count: 8)) == (HEIFDecoder.decodesHEVC ? .heif : .refused("HEIF/HEIC (this machine's libheif has no HEVC decoder)")))
    }

    @Test func acceptsEachDecodableFormatByContentOnly() {
        #expect(sniff([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]) == .jpeg)
        #expect(sniff("II*\0", then: [UInt8](repeating: 0, count: 8)) == .tiff && sniff("MM\0*", then: [8]) == .tiff)
        #expect(sniff("RIFF\0\0\0\0WEBPVP8 ") == .webp)
        #expect(sniff("\0\0\0\u{18}ftypheic", then: [UInt8](repeating: 0, count: 8)) == (HEIFDecoder.decodesHEVC ? .heif : .refused("HEIF/HEIC (this machine's libheif has no HEVC decoder)")))
        #expect(sniff("\0\0\0\u{1C}ftypavif", then: [UInt8](repeating: 0, count: 8)) == (HEIFDecoder.decodesAV1 ? .avif : .refused("AVIF (this machine's libheif has no AV1 decoder)")))
        #expect(sniff("BM", then: [UInt8](repeating: 0, count: 20)) == .bmp)
        #expect(sniff("GIF89a") == .gif && sniff("GIF87a") == .gif)
        #expect(sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)) == .png)
    }

    @Test(arguments: [
        ("\0\0\0\u{18}ftypcrx ", [UInt8](repeating: 0, count: 8), "CR3"),
        ("\0\0\0\u{18}ftypisom", [UInt8](repeating: 0, count: 8), "ISO media"),
        ("8BPS", [UInt8](repeating: 0, count: 8), "PSD"),
        ("%PDF-1.7", [UInt8](), "PDF"),
        ("PK\u{03}\u{04}", [UInt8](repeating: 0, count: 8), "ZIP"),
        ("hello, this is a note\n", [UInt8](), "text"),
    ])
    func refusesOtherFormatsByName(magic: String, rest: [UInt8], name: String) {
        guard case .refused(let what) = sniff(magic, then: rest) else {
            Issue.record("\(name) was accepted")
            return
        }
        #expect(what.contains(name))
    }

    @Test func refusesJPEGXLAndCgBIAndDamagedSignatures() {
        #expect(sniff([0xFF, 0x0A, 0xFA, 0x7F]).description.contains("JPEG XL"))
        let cgbi = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 4] + Array("CgBI".utf8) + [0, 0, 0, 0]
        #expect(sniff(cgbi).description.contains("CgBI"))
        // A text-mode transfer turned CR LF into LF.
        #expect(sniff([0x89, 0x50, 0x4E, 0x47, 0x0A, 0x0A, 0x1A, 0x0A, 0, 0]).description.contains("damaged signature"))
        #expect(sniff([0xFF, 0xD8, 0x00, 0x01]).description.contains("damaged JPEG"))
    }

    /// A file that ends inside its format's signature (or a BMP's file header) is that format
    /// cut short, and its header reader says so; it is not "text" or "an unknown type".
    @Test func aFileEndingInsideItsSignatureIsItsFormatCutShort() {
        func reason(_ bytes: [UInt8], _ read: (UnsafeRawBufferPointer) throws -> Void) -> String {
            do {
                try bytes.withUnsafeBytes { try read($0) }
                return "read"
            } catch {
                return "\(error)"
            }
        }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A]
        #expect(sniff(png) == .png)
        #expect(reason(png, { _ = try PNGDecoder.readHeader($0) }).contains("PNG cut short: its 6 bytes end inside its signature"))
        #expect(sniff("GIF89") == .gif)
        #expect(reason(Array("GIF89".utf8), { _ = try GIFDecoder.readHeader($0) }).contains("GIF cut short: its 5 bytes end inside its 13-byte header"))
        let bmp = Array("BM".utf8) + [0x36, 0x30, 0, 0, 0, 0]
        #expect(sniff(bmp) == .bmp)
        #expect(reason(bmp, { _ = try BMPDecoder.readHeader($0) }).contains("BMP cut short: its 8 bytes end inside its 14-byte file header"))
        #expect(sniff([0xFF, 0xD8]) == .jpeg)
        // Too little to tell, or words: still text.
        #expect(sniff("GIF").description.contains("text"))
        #expect(sniff("BMW cars\n").description.contains("text"))
        #expect(sniff("BM    .\n").description.contains("text"))
        #expect(sniff("BMW x\n").description.contains("text"))
    }

    @Test func namesEmptyAndUnknownContent() {
        #expect(sniff([]) == .refused("an empty file"))
        #expect(sniff([0x00, 0x01, 0x02, 0xFE, 0xFD]).description.contains("unknown type (first bytes 00 01 02 fe fd)"))
    }
}
