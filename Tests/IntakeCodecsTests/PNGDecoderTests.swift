import IntakeCodecs
import IntakeTestSupport
import Testing

@Suite struct PNGDecoderTests {
    func decode(_ png: [UInt8], limits: DecodeLimits = DecodeLimits()) throws -> DecodedPNG {
        try png.withUnsafeBytes { try PNGDecoder.decode($0, limits: limits) }
    }

    @Test func decodesRGB() throws {
        let png = PNGWriter(width: 2, height: 1, colorType: 2).encode(rows: [[255, 0, 0, 0, 0, 255]])
        let decoded = try decode(png)
        #expect(decoded.image[0, 0] == (255, 0, 0) && decoded.image[1, 0] == (0, 0, 255))
        #expect(decoded.hasAlpha == false)
    }

    @Test func widensGrayAndExpandsLowBitDepths() throws {
        // 2-bit gray: values 0, 1, 2, 3 → 0, 85, 170, 255.
        let png = PNGWriter(width: 4, height: 1, bitDepth: 2, colorType: 0).encode(rows: [[0b00_01_10_11]])
        let decoded = try decode(png)
        #expect((0..<4).map { decoded.image[$0, 0].0 } == [0, 85, 170, 255])
        #expect(decoded.image[2, 0] == (170, 170, 170))
    }

    @Test func scalesSixteenBitToEight() throws {
        let png = PNGWriter(width: 1, height: 1, bitDepth: 16, colorType: 2).encode(rows: [[0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00]])
        let decoded = try decode(png)
        #expect(decoded.image[0, 0] == (255, 128, 0))
        #expect(decoded.header.bitDepth == 16)
    }

    @Test func compositesAlphaOnWhite() throws {
        // Opaque red, fully transparent black, half-transparent black.
        let png = PNGWriter(width: 3, height: 1, colorType: 6).encode(rows: [[255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128]])
        let decoded = try decode(png)
        #expect(decoded.image[0, 0] == (255, 0, 0))
        #expect(decoded.image[1, 0] == (255, 255, 255))
        #expect(decoded.image[2, 0] == (127, 127, 127))
        #expect(decoded.hasAlpha)
    }

    @Test func paletteWithTransparencyBecomesWhiteWhereTransparent() throws {
        var writer = PNGWriter(width: 2, height: 1, colorType: 3)
        writer.palette = [(0, 0, 255), (0, 255, 0)]
        writer.transparency = [0]  // entry 0 fully transparent
        let decoded = try decode(writer.encode(rows: [[0, 1]]))
        #expect(decoded.image[0, 0] == (255, 255, 255))
        #expect(decoded.image[1, 0] == (0, 255, 0))
    }

    @Test func readsEXIFFromAnEXIfChunkAfterTheData() throws {
        var exif = EXIFBuilder()
        exif.orientation = 6
        var writer = PNGWriter(width: 1, height: 1, colorType: 2)
        writer.chunksAfterData = [("eXIf", exif.tiff())]
        let decoded = try decode(writer.encode(rows: [[1, 2, 3]]))
        let payload = try #require(decoded.exif)
        #expect(EXIFReader.read(tiff: payload).info?.orientation == 6)
    }

    @Test func damagedCRCIsRefused() {
        var png = PNGWriter(width: 1, height: 1, colorType: 2).encode(rows: [[1, 2, 3]])
        png[29] ^= 0xFF  // last byte of IHDR's CRC
        #expect(throws: CodecError.self) { try decode(png) }
    }

    @Test func truncatedDataIsRefused() {
        let png = PNGWriter(width: 64, height: 64, colorType: 2).encode(rows: Array(repeating: [UInt8](repeating: 7, count: 192), count: 64))
        #expect { try decode(Array(png.prefix(png.count / 2))) } throws: { error in
            (error as? CodecError)?.reason.contains("truncated") == true
        }
    }

    @Test func aHugeAncillaryChunkIsNotAllocated() throws {
        // A tEXt chunk whose length claims 1 GiB: libpng would allocate it all without a limit.
        let valid = PNGWriter(width: 1, height: 1, colorType: 2).encode(rows: [[1, 2, 3]])
        let huge = Array(valid.prefix(33)) + PNGWriter.u32(0x3FFF_FFFF) + Array("tEXt".utf8) + [UInt8](repeating: 0, count: 8)
        #expect(throws: CodecError.self) { try decode(huge) }
    }

    @Test func pixelLimitIsCheckedFromTheHeader() throws {
        let png = PNGWriter(width: 300, height: 300, colorType: 0).encode(rows: Array(repeating: [UInt8](repeating: 0, count: 300), count: 300))
        let header = try png.withUnsafeBytes { try PNGDecoder.readHeader($0) }
        #expect(header.width == 300 && header.height == 300)
        let limits = DecodeLimits(maxPixels: 50_000)
        #expect(throws: CodecError.self) { try limits.check(width: header.width, height: header.height) }
        #expect(throws: CodecError.self) { try decode(png, limits: limits) }
    }
}

@Suite struct EXIFReaderTests {
    @Test func readsTheFieldsIntakeRecords() throws {
        var exif = EXIFBuilder()
        exif.make = "Canon"
        exif.model = "Canon EOS 40D"
        exif.orientation = 8
        exif.dateTaken = "2024:05:01 13:45:10"
        exif.latitude = (43, 28, 36, "N")
        exif.longitude = (11, 52, 48, "W")
        let info = try #require(EXIFReader.read(tiff: exif.tiff()).info)
        #expect(info.make == "Canon")
        #expect(info.model == "Canon EOS 40D")
        #expect(info.orientation == 8)
        #expect(info.dateTaken == "2024:05:01 13:45:10")
        #expect(abs(try #require(info.latitude) - 43.476667) < 1e-5)
        #expect(abs(try #require(info.longitude) + 11.88) < 1e-5)
    }

    @Test func brokenEXIFIsAProblemNotAFailure() {
        let garbage = Array("Exif\0\0".utf8) + [0x49, 0x49, 0x2A, 0x00, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2]
        let reading = garbage.withUnsafeBytes { EXIFReader.read(app1: $0) }
        #expect(reading.info == nil)
    }
}
