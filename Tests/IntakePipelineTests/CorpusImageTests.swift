import IntakeCodecs
import IntakePipeline
import IntakeTestSupport
import Testing

/// Named corpus files whose right answer is known: orientation, PNG variants, EXIF values,
/// CMYK colours. The suite is skipped, visibly, when the corpus is absent.
@Suite(.enabled(if: Fixtures.corpus != nil, "needs ../shared/corpus beside the checkout"))
struct CorpusImageTests {
    let corpus = Fixtures.corpus

    func process(_ relative: String, options: ProcessingOptions = ProcessingOptions()) throws -> ProcessingOutcome {
        let corpus = try #require(self.corpus)
        let bytes = try ImageFile.read(path: corpus + "/" + relative, maxBytes: 50 << 20, followSymlinks: false)
        return try ImageProcessor(options: options).process(bytes)
    }

    func image(_ relative: String, options: ProcessingOptions = ProcessingOptions()) throws -> ProcessedImage {
        try process(relative, options: options).result.get()
    }

    /// The derivative decoded back to pixels.
    func derivativePixels(_ relative: String) throws -> RGBImage {
        let jpeg = try image(relative).derivative
        let codec = try JPEGCodec()
        return try jpeg.withUnsafeBytes { data in
            try codec.decode(data, header: codec.readHeader(data), scale: .full, adobeInverted: false).image
        }
    }

    @Test(arguments: ["landscape", "portrait"])
    func everyOrientationYieldsTheSameUprightDerivative(kind: String) throws {
        let reference = try derivativePixels("images/exif-samples/jpg/orientation/\(kind)_1.jpg")
        for n in 2...8 {
            let path = "images/exif-samples/jpg/orientation/\(kind)_\(n).jpg"
            #expect(try image(path).facts.orientation == n)
            // The samples differ a little in content (each shows its own number), so the test is
            // that upright is the best match among all eight turns and flips, by a wide margin.
            let derivative = try derivativePixels(path)
            let differences = Orientation.allCases.map { Fixtures.meanDifference(derivative.applying($0), reference) }
            let upright = differences[0], nearestWrong = differences.dropFirst().min()!
            #expect(upright < 16, "\(kind)_\(n) differs from \(kind)_1 by \(upright) per channel")
            #expect(upright * 2 < nearestWrong, "\(kind)_\(n): upright \(upright), another orientation \(nearestWrong)")
        }
    }

    @Test func pngEXIfOrientationIsApplied() throws {
        let early = try image("images/image-png-extras/bugfixes/F-exif-chunk-early.png")
        #expect(early.facts.orientation == 6)
        let late = try image("images/photoprism-samples/photoprism-testdata/rotate/6.png")
        #expect(late.facts.orientation == 6)
        #expect(late.upright.width == late.facts.height && late.upright.height == late.facts.width)
    }

    @Test func pngSuiteDecodesEveryValidFileAndRefusesEveryCorruptOne() throws {
        let corpus = try #require(corpus)
        let manifest = try #require(Manifest(corpus: corpus))
        let suite = manifest.rows.filter { $0.path.hasPrefix("images/pngsuite/") && $0.path.hasSuffix(".png") }
        #expect(suite.count >= 170)
        var decoded = 0, refused = 0
        for row in suite {
            let name = String(row.path.split(separator: "/").last!)
            let outcome = try process(row.path)
            if name.hasPrefix("x") {
                guard case .failure(let error) = outcome.result else {
                    Issue.record("\(name) is corrupt but was accepted")
                    continue
                }
                #expect(!error.reason.isEmpty)
                refused += 1
            } else {
                let image = try outcome.result.get()
                #expect(image.facts.width == Int(row["w"]) && image.facts.height == Int(row["h"]), "\(name)")
                #expect(image.derivative.count > 100)
                decoded += 1
            }
        }
        print("PngSuite: \(decoded) decoded, \(refused) corrupt files refused")
        #expect(refused == 14)
    }

    @Test func pngVariantsDecodeToTheRightColours() throws {
        // basn0g16: 16-bit gray ramp; basn3p04: 4-bit palette; tbwn3p08: palette + tRNS on white.
        let full = ProcessingOptions(fullResolution: true)
        let gray16 = try image("images/pngsuite/basn0g16.png", options: full).upright
        let (r, g, b) = gray16[0, 0]
        #expect(r == g && g == b)
        let transparent = try image("images/pngsuite/tbwn3p08.png", options: full).upright
        #expect(transparent[0, 0] == (255, 255, 255))  // the corner pixel is fully transparent
        let interlaced = try image("images/pngsuite/basi2c16.png", options: full).upright
        let plain = try image("images/pngsuite/basn2c16.png", options: full).upright
        #expect(Fixtures.meanDifference(interlaced, plain) == 0)
    }

    @Test func exifValuesMatchTheOracle() throws {
        let corpus = try #require(corpus)
        let manifest = try #require(Manifest(corpus: corpus))
        let named = [
            "images/exif-samples/jpg/Canon_40D.jpg", "images/exif-samples/jpg/Kodak_CX7530.jpg",
            "images/exif-samples/jpg/gps/DSCN0010.jpg", "images/exif-samples/jpg/gps/DSCN0027.jpg",
            "images/exif-samples/from-exif-py/jpg/tests/Xiaomi_Mi_9T_KeyError.jpg",
            "images/exif-samples/from-exif-py/jpg/tests/nikon_D3100_TypeError.jpg",
            "images/exif-samples/from-exif-py/jpg/Sony_alpha_a58.JPG",
        ]
        for path in named {
            let row = try #require(manifest.byPath[path])
            let exif = try #require(try image(path).facts.exif, "\(path) has no EXIF")
            #expect(exif.make == row["make"], "\(path)")
            #expect(exif.model == row["model"], "\(path)")
            if let orientation = Int(row["orientation"]) { #expect(exif.orientation == orientation, "\(path)") }
            if row["gps"].hasPrefix("lat") {
                // "lat 43, 28, 2.81400000 / lon 11, 53, 6.45599999": degrees, minutes, seconds.
                let parts = row["gps"].split(separator: "/").map { part in
                    part.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Double($0) }
                }
                let latitude = parts[0][0] + parts[0][1] / 60 + (parts[0].count > 2 ? parts[0][2] / 3600 : 0)
                let longitude = parts[1][0] + parts[1][1] / 60 + (parts[1].count > 2 ? parts[1][2] / 3600 : 0)
                #expect(abs(abs(try #require(exif.latitude)) - latitude) < 1e-4, "\(path)")
                #expect(abs(abs(try #require(exif.longitude)) - longitude) < 1e-4, "\(path)")
            } else {
                #expect(exif.latitude == nil, "\(path) has no GPS coordinates")
            }
        }
    }

    @Test func brokenEXIFIsRecordedAndTheImageGoesOn() throws {
        let broken = try image("images/pillow-selected/jpeg/exif_gps.jpg")
        #expect(!broken.facts.exifProblems.isEmpty)
        let invalid = try image("images/photoprism-samples/thumb-testdata/fixed.jpg")
        #expect(invalid.facts.orientation == 1)
        #expect(invalid.facts.exifProblems.contains { $0.contains("orientation") })
    }

    @Test(arguments: ["mozilla/jpg-cmyk-1", "mozilla/jpg-cmyk-2", "ycck", "mozilla/jpg-progressive", "mozilla/jpg-size-33x33", "mozilla/jpg-gray"])
    func jpegPixelsMatchTheReferenceDecode(name: String) throws {
        let folder = "images/jpeg-decoder-tests/reftest/images/"
        let full = ProcessingOptions(fullResolution: true)
        let ours = try image(folder + name + ".jpg", options: full).upright
        let reference = try image(folder + name + ".png", options: full).upright
        let difference = Fixtures.meanDifference(ours, reference)
        #expect(difference < 3, "\(name): mean difference \(difference)")
    }

    @Test func decompressionBombIsRefusedFromItsHeader() throws {
        let outcome = try process("images/decompression-bombs/spark.png")
        guard case .failure(let error) = outcome.result else { Issue.record("bomb accepted"); return }
        #expect(error.stage == .sniff)
        #expect(error.reason.contains("225000×225000"))
        // Nothing past the header ran.
        #expect(outcome.clock.milliseconds.map(\.stage).contains(.decode) == false)
    }

    @Test func largeJPEGsShrinkOnLoad() throws {
        let photo = try image("images/photoprism-samples/examples/6720px_white.jpg")
        #expect(photo.facts.decodeScale == "1/8")
        #expect(photo.upright.width == 840 && photo.upright.height == 560)
    }
}
