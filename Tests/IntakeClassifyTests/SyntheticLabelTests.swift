import IntakeCodecs
import IntakeCore
import IntakeMeter
import Testing

@testable import IntakeClassify

/// The names of the labels `image` gets, with the original's size given as `width` × `height`
/// (the image's own size by default).
func labelNames(
    _ image: RGBImage, originalWidth: Int? = nil, originalHeight: Int? = nil, thresholds: ClassifierThresholds = .defaults
) -> Set<String> {
    Set(
        ImageClassifier.labels(
            for: image, originalWidth: originalWidth ?? image.width, originalHeight: originalHeight ?? image.height,
            thresholds: thresholds
        ).map(\.name))
}

@Suite("Built-in labels on made-up images")
struct SyntheticLabelTests {
    let photo = TestImages.photoLike(width: 512, height: 384)

    /// The analysis copy averages bins of up to hundreds of pixels when it is given an image
    /// far over its size (the daemon reduces first; callers of `labels(for:)` need not): white
    /// averaged to 256 there, which wrapped to black.
    @Test func whiteStaysWhiteThroughBinsOfMoreThan256Pixels() {
        let white = RGBImage(width: 6144, height: 23, red: 255, green: 255, blue: 255)  // bins of 24 × 23, as a 6000 × 4000 photo has
        let analysis = AnalysisImage(white)
        #expect(analysis.width == 256 && analysis.height == 1)
        #expect(Array(analysis.luma).allSatisfy { $0 == 255 }, "\(Array(analysis.luma).prefix(8))")
        #expect(Array(analysis.colour).allSatisfy { $0 == 0xFFFFFF })
    }

    @Test func aCleanPhotoGetsOnlyItsShapeAndPhoto() {
        #expect(labelNames(photo) == ["landscape", "photo"])
    }

    @Test func blurredAppearsOnlyOnTheBlurredCheckerboard() {
        let sharp = TestImages.checkerboard(width: 512, height: 384, square: 16)
        let blurred = TestImages.boxBlurred(sharp, radius: 4)
        #expect(!labelNames(sharp).contains("blurred"))
        #expect(labelNames(blurred).contains("blurred"))
    }

    @Test func blurredAppearsOnABlurredPhoto() {
        #expect(labelNames(TestImages.boxBlurred(photo, radius: 3)).contains("blurred"))
    }

    @Test func darkAppearsWhenExposureDrops() {
        #expect(!labelNames(photo).contains("dark"))
        #expect(labelNames(TestImages.exposed(photo, by: 0.25)).contains("dark"))
        // A little darker is not dark yet.
        #expect(!labelNames(TestImages.exposed(photo, by: 0.8)).contains("dark"))
    }

    /// A low-key picture (a flower on black, a street at night) is dim, and even its 90th
    /// percentile is dim, but a few parts of it are as bright as any well-exposed photo's: it is
    /// not underexposed. An underexposed photo has nothing bright at all.
    @Test func aDimPictureWithAFewBrightPartsIsNotDark() {
        let dim = TestImages.exposed(photo, by: 0.42)
        let lowKey = RGBImage(width: dim.width, height: dim.height) { target in
            let source = dim.pixels
            let brightRows = dim.height * 4 / 100  // 4% of the picture
            for i in 0..<source.count { target[i] = i < brightRows * dim.width * 3 ? 240 : source[i] }
        }
        let measures = ImageClassifier.qualityMeasures(of: lowKey)
        // What made the 90th percentile rule call it dark: dim on average, and dim at the 90th
        // percentile; and what the rule now sees: the brightest hundredth near white.
        #expect(measures.meanLuma > ClassifierThresholds.defaults.veryDarkMean + 10 && measures.meanLuma < ClassifierThresholds.defaults.darkMean)
        #expect(ToneStatistics(AnalysisImage(lowKey)).percentile90 < 100)
        #expect(measures.percentile99 >= 235)
        #expect(!labelNames(lowKey).contains("dark"))
        #expect(labelNames(dim).contains("dark"))
    }

    @Test func overexposedAppearsWhenHighlightsClip() {
        #expect(!labelNames(photo).contains("overexposed"))
        #expect(labelNames(TestImages.exposed(photo, by: 2.5)).contains("overexposed"))
        #expect(!labelNames(TestImages.exposed(photo, by: 1.1)).contains("overexposed"))
    }

    @Test func lowContrastAppearsWhenTheSpreadShrinks() {
        #expect(!labelNames(photo).contains("low_contrast"))
        #expect(labelNames(TestImages.flattened(photo, keep: 0.15)).contains("low_contrast"))
        #expect(!labelNames(TestImages.flattened(photo, keep: 0.7)).contains("low_contrast"))
    }

    @Test func grayscaleAppearsWithoutColour() {
        #expect(!labelNames(photo).contains("grayscale"))
        #expect(labelNames(TestImages.desaturated(photo)).contains("grayscale"))
    }

    @Test func tooSmallFollowsTheOriginalsShortSide() {
        #expect(labelNames(photo, originalWidth: 255 * 4 / 3, originalHeight: 255).contains("too_small"))
        #expect(!labelNames(photo, originalWidth: 4000, originalHeight: 3000).contains("too_small"))
        #expect(!labelNames(photo, originalWidth: 341, originalHeight: 256).contains("too_small"))
        let small = TestImages.shrunk(photo, toFit: 200)
        #expect(labelNames(small).contains("too_small"))
        #expect(!labelNames(small, thresholds: ClassifierThresholds(minimumSide: 100)).contains("too_small"))
    }

    @Test(arguments: [
        (300, 200, "landscape"), (200, 300, "portrait"), (300, 300, "square"), (300, 290, "square"), (290, 300, "square"),
        (300, 280, "landscape"), (280, 300, "portrait"),
    ])
    func exactlyOneShape(width: Int, height: Int, shape: String) {
        let names = labelNames(TestImages.photoLike(width: width, height: height))
        #expect(names.intersection(["landscape", "portrait", "square"]) == [shape])
    }

    /// EXIF orientation 6 stores a portrait photo as 4000 × 3000: the shape is that of the upright image.
    @Test func shapeAndSizeFollowTheUprightImage() {
        let upright = TestImages.photoLike(width: 300, height: 400)
        let names = labelNames(upright, originalWidth: 4000, originalHeight: 3000)
        #expect(names.contains("portrait"))
        #expect(!names.contains("too_small"))
    }

    @Test func pageOfTextIsADocument() {
        let names = labelNames(TestImages.page(width: 800, height: 1000))
        #expect(names.contains("document"))
        #expect(!names.contains("photo"))
        #expect(!names.contains("overexposed"))
        #expect(!labelNames(photo).contains("document"))
    }

    @Test func flatColouredScreenIsAScreenshot() {
        let names = labelNames(TestImages.screen(width: 1024, height: 640))
        #expect(names.contains("screenshot"))
        #expect(!names.contains("photo"))
        #expect(!labelNames(photo).contains("screenshot"))
    }

    @Test func everyLabelIsFromIntakeWithAConfidenceInRange() {
        let images = [
            photo, TestImages.exposed(photo, by: 0.2), TestImages.page(width: 600, height: 800), TestImages.screen(width: 800, height: 500),
        ]
        for image in images {
            let labels = ImageClassifier.labels(for: image, originalWidth: image.width, originalHeight: image.height, thresholds: .defaults)
            for label in labels {
                #expect(label.source == "intake")
                #expect((0.5...1).contains(label.confidence), "\(label.name) \(label.confidence)")
                #expect(label.box == nil, "only meter labels have a box")
            }
        }
    }

    /// With no minimum every label is given, with whatever confidence it has.
    @Test func minimumConfidenceDecidesWhatIsKept() {
        let all = ImageClassifier.labels(
            for: photo, originalWidth: 512, originalHeight: 384, thresholds: ClassifierThresholds(minimumConfidence: 0))
        let names = all.map(\.name)
        for name in ["blurred", "dark", "overexposed", "low_contrast", "grayscale", "landscape", "document", "screenshot", "photo", "meter"] {
            #expect(names.contains(name), "\(name) missing from \(names)")
        }
        #expect(!names.contains("too_small"), "too_small is only given below the minimum side")
        #expect(all.allSatisfy { (0...1).contains($0.confidence) })
        let sure = ImageClassifier.labels(
            for: photo, originalWidth: 512, originalHeight: 384, thresholds: ClassifierThresholds(minimumConfidence: 0.99))
        #expect(sure.allSatisfy { $0.confidence >= 0.99 })
    }

    /// An empty frame (black, white, grey or a colour, with the ±1 noise a JPEG leaves on a flat
    /// colour, or a faint gradient) is `blank`, not a `photo`; a photo, even with a tenth of its
    /// contrast left, a page and a screen are not blank.
    @Test func anEmptyFrameIsBlankNotAPhoto() {
        var random = SplitMix64(5)
        for (red, green, blue) in [(0, 0, 0), (255, 255, 255), (128, 128, 128), (40, 90, 200)] {
            let flat = RGBImage(width: 640, height: 480) { out in
                for i in 0..<(640 * 480) {
                    let noise = Int(random.next() % 3) - 1
                    out[3 * i] = UInt8(max(0, min(255, red + noise)))
                    out[3 * i + 1] = UInt8(max(0, min(255, green + noise)))
                    out[3 * i + 2] = UInt8(max(0, min(255, blue + noise)))
                }
            }
            let names = labelNames(flat)
            #expect(names.contains("blank") && !names.contains("photo"), "(\(red), \(green), \(blue)): \(names)")
        }
        let card = RGBImage(width: 400, height: 300) { out in
            for i in 0..<(400 * 300) { for c in 0..<3 { out[3 * i + c] = UInt8(230 + (i % 400) * 3 / 400) } }
        }
        #expect(labelNames(card).contains("blank"), "a white card lit a little unevenly: \(labelNames(card))")
        for image in [photo, TestImages.flattened(photo, keep: 0.1), TestImages.page(width: 512, height: 384), TestImages.screen(width: 512, height: 384)] {
            #expect(!labelNames(image).contains("blank"), "\(labelNames(image))")
        }
    }

    @Test func thresholdsMoveTheLabels() {
        let dull = TestImages.flattened(photo, keep: 0.6)
        #expect(!labelNames(dull).contains("low_contrast"))
        #expect(labelNames(dull, thresholds: ClassifierThresholds(lowContrastSpread: 130)).contains("low_contrast"))
        let soft = TestImages.boxBlurred(photo, radius: 1)
        #expect(!labelNames(soft).contains("blurred"))
        #expect(labelNames(soft, thresholds: ClassifierThresholds(blur: 0.05)).contains("blurred"))
        #expect(!labelNames(photo, thresholds: ClassifierThresholds(grayscaleChroma: 45)).contains("grayscale"))
        #expect(labelNames(photo, thresholds: ClassifierThresholds(grayscaleChroma: 58)).contains("grayscale"))
    }

    /// The measures are taken at one analysis scale, so a decode at half the size says the same.
    @Test func labelsDoNotDependOnTheDecodeScale() {
        for image in [photo, TestImages.boxBlurred(photo, radius: 3), TestImages.exposed(photo, by: 0.25)] {
            let half = TestImages.shrunk(image, toFit: 300)
            #expect(labelNames(image, originalWidth: 4000, originalHeight: 3000) == labelNames(half, originalWidth: 4000, originalHeight: 3000))
        }
    }

    @Test func tinyImagesDoNotTrip() {
        for size in [(1, 1), (2, 3), (7, 5), (40, 1)] {
            let image = RGBImage(width: size.0, height: size.1, red: 90, green: 120, blue: 200)
            let names = labelNames(image)
            #expect(names.contains("too_small"))
            #expect(!names.contains("meter"))
        }
    }
}
