import IntakeCodecs
import Testing

@testable import IntakeClassify

/// The built-in labels on real photos, before and after the tests spoil them.
@Suite("Built-in labels on corpus photos", .enabled(if: Corpus.root != nil, "no corpus"))
struct CorpusLabelTests {
    /// Everyday photos that are clean: sharp, well exposed, in colour, large enough.
    static let cleanPhotos = [
        "cat_brown.jpg", "elephants.jpg", "zebra_green_brown.jpg", "door_cyan.jpg", "giraffe_green_brown.jpg", "instrument_gold.jpg",
    ]
    static let examples = "images/photoprism-samples/examples/"

    private func names(_ image: RGBImage, _ photo: Corpus.Decoded) -> Set<String> {
        labelNames(image, originalWidth: photo.storedWidth, originalHeight: photo.storedHeight)
    }

    @Test(arguments: cleanPhotos)
    func originalIsClean(name: String) throws {
        let photo = try Corpus.decode(Self.examples + name)
        let found = names(photo.image, photo)
        #expect(found.isDisjoint(with: ["blurred", "dark", "overexposed", "low_contrast", "too_small", "grayscale"]), "\(found)")
        #expect(found.contains("photo"))
        #expect(!found.contains("meter"))
    }

    /// A blur a person sees at the derivative's size, whatever the photo's size: a box of a
    /// thirtieth of the long side (8 pixels at 256; about a Gaussian of 1/100).
    @Test(arguments: cleanPhotos)
    func blurredCopyIsBlurred(name: String) throws {
        let photo = try Corpus.decode(Self.examples + name)
        let radius = max(photo.image.width, photo.image.height) / 60
        #expect(names(TestImages.boxBlurred(photo.image, radius: radius), photo).contains("blurred"), "box radius \(radius)")
    }

    @Test(arguments: cleanPhotos)
    func darkenedCopyIsDark(name: String) throws {
        let photo = try Corpus.decode(Self.examples + name)
        #expect(names(TestImages.exposed(photo.image, by: 0.2), photo).contains("dark"))
    }

    @Test(arguments: cleanPhotos)
    func overexposedCopyIsOverexposed(name: String) throws {
        let photo = try Corpus.decode(Self.examples + name)
        #expect(names(TestImages.exposed(photo.image, by: 3), photo).contains("overexposed"))
    }

    @Test(arguments: cleanPhotos)
    func flattenedCopyHasLowContrast(name: String) throws {
        let photo = try Corpus.decode(Self.examples + name)
        #expect(names(TestImages.flattened(photo.image, keep: 0.15), photo).contains("low_contrast"))
    }

    @Test(arguments: cleanPhotos)
    func greyCopyIsGrayscale(name: String) throws {
        let photo = try Corpus.decode(Self.examples + name)
        #expect(names(TestImages.desaturated(photo.image), photo).contains("grayscale"))
    }

    /// A shrunk copy saved as a file of its own is too small; its other labels stay.
    @Test(arguments: cleanPhotos)
    func shrunkCopyIsTooSmall(name: String) throws {
        let photo = try Corpus.decode(Self.examples + name)
        let small = TestImages.shrunk(photo.image, toFit: 160)
        let found = labelNames(small)
        #expect(found.contains("too_small"))
        #expect(!found.contains("blurred"), "shrinking sharpens; it must not read as blur")
    }

    /// The text screenshot is both a document and a screenshot; the Kodak photos are photos.
    @Test func screenshotsAndPhotosAmongThePNGs() throws {
        let lorem = try Corpus.decode("images/image-png-extras/benches/lorem_ipsum_screenshot.png")
        let found = names(lorem.image, lorem)
        #expect(found.isSuperset(of: ["document", "screenshot"]))
        #expect(!found.contains("photo"))
        #expect(!found.contains("overexposed"), "a white page is not overexposed")
        for kodak in ["kodim02.png", "kodim07.png", "kodim17.png", "kodim23.png"] {
            let photo = try Corpus.decode("images/image-png-extras/benches/" + kodak)
            let found = names(photo.image, photo)
            #expect(found.contains("photo"), "\(kodak): \(found)")
            #expect(found.isDisjoint(with: ["document", "screenshot", "meter"]), "\(kodak): \(found)")
        }
    }
}
