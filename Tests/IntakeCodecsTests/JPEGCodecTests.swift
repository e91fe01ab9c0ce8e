import IntakeCodecs
import IntakeTestSupport
import Testing

@Suite struct JPEGCodecTests {
    let codec = try! JPEGCodec()

    func decode(_ jpeg: [UInt8], scale: ScaleFactor = .full) throws -> DecodedJPEG {
        try jpeg.withUnsafeBytes { data in
            let header = try codec.readHeader(data)
            return try codec.decode(data, header: header, scale: scale, adobeInverted: JPEGStructure(scanning: data).hasAdobeMarker)
        }
    }

    /// An APP1 segment of length 2 followed by XMP's namespace: the namespace is in the file but
    /// not in the segment, and the packet's range used to run backwards, which traps. About 40
    /// bytes crashed the daemon at sniffing.
    @Test func anXMPNamespaceOutsideItsSegmentIsNotTakenForAPacket() {
        let hostile: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x02] + Array("http://ns.adobe.com/xap/1.0/\0".utf8) + [0xFF, 0xD9]
        let structure = hostile.withUnsafeBytes { JPEGStructure(scanning: $0) }
        #expect(structure.xmpSegment == nil)
    }

    @Test func encodeThenDecodeKeepsThePicture() throws {
        let image = Fixtures.gradient(width: 120, height: 80)
        let jpeg = try codec.encode(image, quality: 90)
        let decoded = try decode(jpeg)
        #expect(decoded.image.width == 120 && decoded.image.height == 80)
        #expect(decoded.warning == nil)
        #expect(Fixtures.meanDifference(decoded.image, image) < 3)
    }

    @Test func decodesShrunkOnLoad() throws {
        let jpeg = try codec.encode(Fixtures.gradient(width: 1000, height: 600), quality: 90)
        let eighth = try decode(jpeg, scale: ScaleFactor(numerator: 1, denominator: 8))
        #expect(eighth.image.width == 125 && eighth.image.height == 75)
    }

    @Test func choosesTheSmallestScaleThatStillCoversTheTarget() {
        // 4000×3000 into a 256 box needs 256×192: 1/8 gives 500×375.
        #expect(ScaleFactor.smallest(width: 4000, height: 3000, covering: 256, 192) == ScaleFactor(numerator: 1, denominator: 8))
        // 1600×1200 needs 256×192: 1/8 gives 200×150, too small; 1/4 gives 400×300.
        #expect(ScaleFactor.smallest(width: 1600, height: 1200, covering: 256, 192) == ScaleFactor(numerator: 1, denominator: 4))
        // Already small: no shrinking.
        #expect(ScaleFactor.smallest(width: 300, height: 200, covering: 256, 171) == .full)
    }

    @Test func truncatedStreamDecodesWithAWarning() throws {
        let jpeg = try codec.encode(Fixtures.gradient(width: 400, height: 400), quality: 90)
        let truncated = Array(jpeg.prefix(jpeg.count / 2))
        let decoded = try decode(truncated)
        let warning = try #require(decoded.warning)
        #expect(warning.contains("Premature end"))
    }

    @Test func damagedHeaderIsRefusedWithTheLibraryReason() {
        let garbage: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x03, 0x01, 0xFF, 0xD9]
        #expect {
            try decode(garbage)
        } throws: { error in
            (error as? CodecError)?.reason.contains("JPEG header unreadable") == true
        }
    }

    @Test func rotationsAreLosslessAndTurnTheRightWay() throws {
        let jpeg = try codec.encode(Fixtures.gradient(width: 256, height: 256), quality: 90)
        let upright = try decode(jpeg).image
        let turned = try codec.rotateClockwise(jpeg, by: [90, 180, 270])
        #expect(turned.count == 3)
        let expected: [Orientation] = [.rotatedClockwise, .upsideDown, .rotatedCounterclockwise]
        for (rotated, orientation) in zip(turned, expected) {
            let decoded = try decode(rotated).image
            #expect(Fixtures.meanDifference(decoded, upright.applying(orientation)) < 1.0)
        }
    }

    @Test func readsCMYKByConvertingInk() throws {
        // No CMYK encoder here; the corpus test covers real CMYK files. Check the header path.
        let jpeg = try codec.encode(Fixtures.gradient(width: 32, height: 32), quality: 90)
        let header = try jpeg.withUnsafeBytes { try codec.readHeader($0) }
        #expect(header.colorSpace == .ycbcr)
    }
}
