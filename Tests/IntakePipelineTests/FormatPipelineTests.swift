import IntakeCodecs
import IntakePipeline
import IntakeTestSupport
import Testing

/// WebP, TIFF and HEIF through the whole pipeline: the type recorded, the facts said, the
/// orientation from where each format keeps it, and a JPEG derivative and rotations as for JPEG.
@Suite struct FormatPipelineTests {
    static func process(_ name: String) throws -> ProcessedImage {
        let bytes = try #require(Fixtures.readFile(Fixtures.packageRoot + "/Tests/Fixtures/formats/" + name))
        return try ImageProcessor(options: ProcessingOptions()).process(bytes).result.get()
    }

    @Test(arguments: [("lossless.webp", "webp"), ("rgb16.tiff", "tiff"), ("cmyk.tiff", "tiff"), ("still.heic", "heif")])
    func eachFormatEndsInAJPEGDerivativeAndRotations(name: String, type: String) throws {
        let image = try Self.process(name)
        #expect(image.facts.type == type && image.facts.width == 24 && image.facts.height == 16)
        #expect(image.derivative.starts(with: [0xFF, 0xD8, 0xFF]))
        #expect(image.rotations.count == 4 && image.rotations.values.allSatisfy { $0.starts(with: [0xFF, 0xD8, 0xFF]) })
    }

    @Test func aTIFFIsTurnedByItsOrientationOnceAndItsPagesAreSaid() throws {
        let rotated = try Self.process("rotated6.tiff")
        #expect(rotated.facts.orientation == 6 && rotated.facts.orientationSource == "exif")
        // Orientation 6 (turn 90° clockwise): the stored left half, red, comes out on top, not
        // at the bottom (8) nor left as stored (libtiff's own flip is off, so it is turned once).
        let upright = rotated.upright
        #expect(upright.width == 16 && upright.height == 24)
        if upright.width == 16 && upright.height == 24 {
            let top = upright[8, 3], bottom = upright[8, 20]
            #expect(top.0 > 150 && top.2 < 90, "top \(top)")
            #expect(bottom.2 > 150 && bottom.0 < 90, "bottom \(bottom)")
        }
        let pages = try Self.process("pages.tiff")
        #expect(pages.facts.warnings.contains("a TIFF of several pages: only the first is kept"))
        #expect(pages.facts.detail?.colorSpace == "rgb" && pages.facts.detail?.bitDepth == 8)
    }

    /// The decoder turns a HEIF (its irot/imir); nothing is applied after it. The fixture has no
    /// turn of its own: the corpus's iPhone photo below has irot and EXIF orientation 6 both.
    @Test func aHEIFSaysItsDecoderTurnedIt() throws {
        let heif = try Self.process("still.heic")
        #expect(heif.facts.orientationSource == "decoder" && heif.facts.orientation == 1)
        #expect(heif.upright.width == 24 && heif.upright.height == 16)
    }

    @Test(.enabled(if: Fixtures.corpus != nil, "needs ../shared/corpus beside the checkout"))
    func aPhonesHEICKeepsItsEXIFAndIsUprightByItsOwnRotation() throws {
        // An iPhone 13 photo: stored 4032×3024 with HEIF's irot of 270° and EXIF orientation 6.
        let path = try #require(Fixtures.corpus) + "/images/exif-samples/heic/mobile/iphone_13_pro_max.HEIC"
        let bytes = try #require(Fixtures.readFile(path))
        let image = try ImageProcessor(options: ProcessingOptions()).process(bytes).result.get()
        #expect(image.facts.exif?.make == "Apple" && image.facts.exif?.orientation == 6 && image.facts.exif?.iso != nil)
        #expect(image.facts.width == 3024 && image.facts.height == 4032, "portrait, as the phone held it")
        #expect(image.facts.orientationSource == "decoder")
    }
}
