import IntakeCodecs
import IntakeCore
import Testing

@testable import IntakeClassify

/// The meter label on the corpus's meter photos and on everyday photos, and the rates measured
/// when the detector was tuned: every meter photo found, no everyday photo taken for one.
@Suite("Meter detector on the corpus", .enabled(if: Corpus.root != nil, "no corpus"))
struct MeterDetectorTests {
    static let demoMeter = Corpus.files(in: "meters/demo-meter").filter { !$0.hasPrefix("ref0") && !$0.hasPrefix("ref1") }
    static let otherMeter = Corpus.files(in: "meters/unlabelled")
    static let everyday = Corpus.files(in: "images/photoprism-samples/examples")
    static let cameraSamples = Corpus.files(in: "images/exif-samples/jpg")

    private func meterLabel(_ path: String) throws -> (label: Label?, decoded: Corpus.Decoded) {
        let decoded = try Corpus.decode(path)
        let labels = ImageClassifier.labels(
            for: decoded.image, originalWidth: decoded.storedWidth, originalHeight: decoded.storedHeight, thresholds: .defaults)
        return (labels.first { $0.name == "meter" }, decoded)
    }

    /// The demo meter: 12 photos from an ESP32 camera, rotated about 35°, and the upright reference.
    @Test func everyDemoMeterPhotoIsAMeter() throws {
        #expect(Self.demoMeter.count >= 13)
        for name in Self.demoMeter {
            let (label, decoded) = try meterLabel("meters/demo-meter/" + name)
            let meter = try #require(label, "\(name) is not labelled meter")
            #expect(meter.confidence >= 0.9, "\(name): \(meter.confidence)")
            // The box lies on the dials: inside the image, and neither a speck nor the whole picture.
            let box = try #require(meter.box)
            #expect(box.x >= 0 && box.y >= 0)
            #expect(box.x + box.width <= Double(decoded.storedWidth) && box.y + box.height <= Double(decoded.storedHeight))
            #expect(box.width * box.height >= 0.1 * Double(decoded.storedWidth * decoded.storedHeight))
            #expect(box.width * box.height <= 0.8 * Double(decoded.storedWidth * decoded.storedHeight))
        }
    }

    /// Another water meter, two of its shots upside down, two with drawn-on annotations.
    @Test func everyShotOfTheOtherMeterIsAMeter() throws {
        #expect(Self.otherMeter.count == 6)
        for name in Self.otherMeter {
            let (label, _) = try meterLabel("meters/unlabelled/" + name)
            #expect(label != nil, "\(name) is not labelled meter")
        }
    }

    /// Turned on its side or upside down, a meter is still a meter.
    @Test(arguments: [Orientation.rotatedClockwise, .upsideDown, .rotatedCounterclockwise])
    func turnedMeterIsStillAMeter(turn: Orientation) throws {
        let photo = try Corpus.decode("meters/demo-meter/" + Self.demoMeter[0])
        let turned = photo.image.applying(turn)
        let found = labelNames(turned, originalWidth: photo.storedWidth, originalHeight: photo.storedHeight)
        #expect(found.contains("meter"), "\(turn): \(found)")
    }

    /// Cats, dogs, beaches — and a purple wall clock, the hardest of them.
    @Test func noEverydayPhotoIsAMeter() throws {
        #expect(Self.everyday.count >= 35)
        var falsePositives: [String] = []
        for name in Self.everyday {
            if try meterLabel("images/photoprism-samples/examples/" + name).label != nil { falsePositives.append(name) }
        }
        #expect(falsePositives == [])
    }

    @Test func noCameraSampleIsAMeter() throws {
        #expect(Self.cameraSamples.count >= 20)
        var falsePositives: [String] = []
        for name in Self.cameraSamples {
            guard let (label, _) = try? meterLabel("images/exif-samples/jpg/" + name) else { continue }  // corrupted.jpg may not decode
            if label != nil { falsePositives.append(name) }
        }
        #expect(falsePositives == [])
    }
}
