import IntakeCodecs
import IntakePipeline
import IntakeTestSupport
import Testing

/// A PNG's text chunks recorded (within caps), and an XMP packet in one turning the image upright.
@Suite struct PNGTextTests {
    /// A chunk as the PNG specification frames it: length, type, data, CRC-32 of type and data.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in body {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        let length = UInt32(data.count)
        return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: length >> $0) } + body + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: crc >> $0) }
    }

    /// A 6×4 PNG with `chunks` inserted before IEND.
    static func png(with chunks: [[UInt8]]) throws -> [UInt8] {
        let plain = try PNGEncoder.encode(RGBImage(width: 6, height: 4) { $0.update(repeating: 90, count: 6 * 4 * 3) })
        return Array(plain.dropLast(12)) + chunks.flatMap { $0 } + Array(plain.suffix(12))
    }

    @Test func textChunksAreRecordedAndAnXMPOrientationTurnsTheImage() throws {
        let xmp = #"<x:xmpmeta><rdf:Description tiff:Orientation="6"/></x:xmpmeta>"#
        let bytes = try Self.png(with: [
            Self.chunk("tEXt", Array("Software\0intake test".utf8)),
            // iTXt: keyword, NUL, compression flag and method, language tag, NUL, translated keyword, NUL, text.
            Self.chunk("iTXt", Array("XML:com.adobe.xmp".utf8) + [0, 0, 0, 0, 0] + Array(xmp.utf8)),
            Self.chunk("tEXt", Array("Comment\0".utf8) + [UInt8](repeating: UInt8(ascii: "z"), count: 3000)),
        ])
        let image = try ImageProcessor(options: ProcessingOptions()).process(bytes).result.get()
        let text = try #require(image.facts.detail?.text)
        #expect(text.map(\.key) == ["Software", "XML:com.adobe.xmp", "Comment"])
        #expect(text[0].text == "intake test" && text[1].text == xmp)
        #expect(text[2].text.hasPrefix("zzz") && text[2].text.hasSuffix("… (3000 bytes)") && text[2].text.count < 1100)
        #expect(image.facts.orientation == 6 && image.facts.orientationSource == "xmp")
        #expect(image.upright.width == 4 && image.upright.height == 6)
    }

    @Test func aFileCannotMakeTheRecordLarge() throws {
        let many = (0..<60).map { Self.chunk("tEXt", Array("Key\($0)\0".utf8) + [UInt8](repeating: 65, count: 20_000)) }
        let image = try ImageProcessor(options: ProcessingOptions()).process(try Self.png(with: many)).result.get()
        let text = try #require(image.facts.detail?.text)
        #expect(text.count <= 32 && !text.isEmpty)
        #expect(text.allSatisfy { $0.text.count < 1100 })
    }

    @Test(.enabled(if: Fixtures.corpus != nil, "needs ../shared/corpus beside the checkout"))
    func pngSuitesCompressedAndInternationalTextIsRead() throws {
        let corpus = try #require(Fixtures.corpus)
        for (file, key) in [("ctzn0g04.png", "Title"), ("cthn0g04.png", "Title"), ("ct1n0g04.png", "Title")] {
            let bytes = try ImageFile.read(path: corpus + "/images/pngsuite/" + file, maxBytes: 1 << 20, followSymlinks: false)
            let image = try ImageProcessor(options: ProcessingOptions()).process(bytes).result.get()
            let text = try #require(image.facts.detail?.text, "\(file)")
            #expect(text.contains { $0.key == key && !$0.text.isEmpty }, "\(file): \(text)")
        }
    }
}
