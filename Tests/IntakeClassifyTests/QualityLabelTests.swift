import IntakeCodecs
import IntakeMeter
import IntakeTraining
import Testing

@testable import IntakeClassify

/// The quality labels as issue #14 asks for them: blur that grows with the blur, in any
/// direction; exposure judged as a photographer would; contrast in colour too.
@Suite struct QualityLabelTests {
    let photo = TestImages.photoLike(width: 768, height: 512)

    func degraded(_ degradation: Degradation) throws -> RGBImage {
        var random = SplitMix64(1)
        return degradation.apply(to: photo, codec: try JPEGCodec(), random: &random)
    }

    /// The old measure turned round once blur flattened both of its octaves (heavy blur read as
    /// sharp); this one grows with the blur over the range the issue names (up to 3% of the long
    /// side), and far beyond it the picture stays blurred.
    @Test func blurGrowsWithTheBlurAndNeverTurnsRound() throws {
        let sigmas: [Double] = [0, 1 / 512, 1 / 256, 1 / 120, 1 / 60, 1 / 33]
        let measures = try sigmas.map { ImageClassifier.qualityMeasures(of: try degraded($0 == 0 ? .untouched : .defocus(sigma: $0))).blur }
        // Within 0.03: near 0.9 the measure has levelled off and wobbles with the content.
        for (softer, sharper) in zip(measures.dropFirst(), measures) {
            #expect(softer >= sharper - 0.03, "blur fell from \(sharper) to \(softer) as the blur grew: \(measures)")
        }
        #expect(!labelNames(photo).contains("blurred"))
        for sigma in sigmas.dropFirst(2) + [1 / 15, 1 / 8] {
            #expect(labelNames(try degraded(.defocus(sigma: sigma))).contains("blurred"), "defocus σ = 1/\(Int(1 / sigma))")
        }
    }

    @Test(arguments: [0.0, 45, 90, 135, 20])
    func motionBlurInAnyDirectionIsBlurred(degrees: Double) throws {
        #expect(labelNames(try degraded(.motion(length: 1 / 30, degrees: degrees))).contains("blurred"))
    }

    @Test func noiseAPoorJPEGAndAShrunkCopyAreNotBlurred() throws {
        for degradation: Degradation in [.noise(sigma: 10), .downscale(longSide: 300), .jpeg(quality: 30)] {
            #expect(!labelNames(try degraded(degradation)).contains("blurred"), "\(degradation)")
        }
    }

    /// A blown sky over a well-exposed scene (midtones around a mean luma of 100, as the
    /// corpus's photos have them) is not overexposure; the whole picture pushed up is.
    @Test func overexposedWantsTheMidtonesPushedUpNotJustASkyBlownOut() throws {
        let scene = TestImages.exposed(photo, by: 0.7)
        #expect(abs(ImageClassifier.qualityMeasures(of: scene).meanLuma - 100) < 15)
        let sky = RGBImage(width: photo.width, height: photo.height) { target in
            let source = scene.pixels
            for i in 0..<source.count { target[i] = i < source.count * 3 / 10 ? 255 : source[i] }
        }
        #expect(ImageClassifier.qualityMeasures(of: sky).clippedFraction > 0.25)
        #expect(!labelNames(sky).contains("overexposed"))
        #expect(labelNames(try degraded(.exposure(factor: 3.5))).contains("overexposed"))
    }

    /// A page is meant to be white: its paper blown out to 255 (a flash, a scanner set bright)
    /// leaves it a document, not an overexposed photo, though most of it is clipped.
    @Test func aPageWithItsPaperBlownOutIsNotOverexposed() {
        let page = TestImages.page(width: 800, height: 1000)
        let blown = RGBImage(width: page.width, height: page.height) { target in
            let source = page.pixels
            for i in 0..<source.count { target[i] = source[i] >= 200 ? 255 : source[i] }
        }
        #expect(ImageClassifier.qualityMeasures(of: blown).clippedFraction > 0.5)
        let names = labelNames(blown)
        #expect(names.contains("document"), "\(names)")
        #expect(!names.contains("overexposed"), "\(names)")
    }

    /// Underexposed: the picture dim and not even its bright parts bright.
    @Test func darkWantsTheHighlightsDimToo() throws {
        #expect(labelNames(try degraded(.exposure(factor: 0.1))).contains("dark"))
        // A dark scene with a fifth of it bright (a lit window at night): dim on average, not underexposed.
        let night = RGBImage(width: photo.width, height: photo.height) { target in
            let source = try! degraded(.exposure(factor: 0.1)).pixels
            for i in 0..<source.count { target[i] = i % (photo.width * 3) < photo.width * 3 / 5 ? 235 : source[i] }
        }
        #expect(ImageClassifier.qualityMeasures(of: night).meanLuma < 90)
        #expect(!labelNames(night).contains("dark"))
    }

    /// A saturated red against its dark frame has little luma contrast and plenty of red.
    @Test func contrastInColourCounts() {
        let red = RGBImage(width: 256, height: 256) { target in
            for i in 0..<(256 * 256) {
                let bright = (i % 256) < 128
                (target[i * 3], target[i * 3 + 1], target[i * 3 + 2]) = bright ? (230, 20, 30) : (60, 25, 30)
            }
        }
        #expect(ImageClassifier.qualityMeasures(of: red).spread > 150)
        #expect(!labelNames(red).contains("low_contrast"))
        #expect(labelNames(try! degraded(.haze(contrast: 0.25))).contains("low_contrast"))
    }
}
