import IntakeCodecs
import IntakeTestSupport
import Testing

/// GIF through giflib: the first frame on the logical screen, transparency on white.
@Suite struct GIFDecoderTests {
    /// A 1×1 GIF89a whose one pixel is colour 0 of a two-colour table; with `transparent`, a
    /// graphic control extension makes colour 0 transparent.
    static func onePixel(red: UInt8, green: UInt8, blue: UInt8, transparent: Bool = false) -> [UInt8] {
        Array("GIF89a".utf8) + [1, 0, 1, 0, 0x80, 0, 0, red, green, blue, 0, 0, 0]
            + (transparent ? [0x21, 0xF9, 4, 1, 0, 0, 0, 0] : [])
            + [0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B]
    }

    func decode(_ bytes: [UInt8], maxPixels: Int = 1_000_000) throws -> DecodedGIF {
        try bytes.withUnsafeBytes { try GIFDecoder.decode($0, limits: DecodeLimits(maxPixels: maxPixels)) }
    }

    @Test func aPixelIsItsColourAndATransparentOneIsWhite() throws {
        let red = try decode(Self.onePixel(red: 200, green: 10, blue: 30))
        #expect(Array(red.image.pixels) == [200, 10, 30] && !red.transparent && !red.animated)
        let clear = try decode(Self.onePixel(red: 200, green: 10, blue: 30, transparent: true))
        #expect(Array(clear.image.pixels) == [255, 255, 255] && clear.transparent)
    }

    @Test func damageAndSizeAreRefusedSayingWhy() {
        let whole = Self.onePixel(red: 1, green: 2, blue: 3)
        #expect { try decode(Array(whole.prefix(whole.count - 6))) } throws: {
            "\($0)".contains("GIF cut short: its \(whole.count - 6) bytes end before its first image does")
        }
        #expect(throws: CodecError.self) { try decode(Array(whole.prefix(13)) + [0x3B]) }  // no image at all
        // Whole, with its colour table and trailer, and no image: not cut short, just empty.
        #expect { try decode(Array(whole.prefix(19)) + [0x3B]) } throws: { "\($0)".contains("GIF holds no image") }
        var huge = whole
        (huge[6], huge[7], huge[8], huge[9]) = (0xFF, 0xFF, 0xFF, 0xFF)
        #expect { try decode(huge) } throws: { "\($0)".contains("pixel limit") }
    }

    @Test(.enabled(if: Fixtures.corpus != nil, "needs ../shared/corpus beside the checkout"))
    func theCorpusGIFsDecodeToTheirScreensSizeOrAreRefused() throws {
        let corpus = try #require(Fixtures.corpus)
        var decoded = 0, animated = 0
        for relative in ["images/pillow-selected/not-jpeg-png", "images/photoprism-samples/examples"] {
            for name in FileManagerless.files(under: corpus + "/" + relative) where name.lowercased().hasSuffix(".gif") {
                let bytes = try #require(Fixtures.readFile(corpus + "/" + relative + "/" + name))
                guard let gif = try? decode(bytes, maxPixels: 100_000_000) else { continue }
                let screen = try bytes.withUnsafeBytes { try GIFDecoder.readHeader($0) }
                #expect(gif.image.width == screen.width && gif.image.height == screen.height, "\(name)")
                decoded += 1
                if gif.animated { animated += 1 }
            }
        }
        #expect(decoded > 0)
        print("corpus GIFs decoded: \(decoded), animated: \(animated)")
    }
}
