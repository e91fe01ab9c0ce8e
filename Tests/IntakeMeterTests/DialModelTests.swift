import IntakeCodecs
import IntakeMeter
import IntakeTraining
import Testing
import IntakeCore

#if canImport(Glibc)
    import Glibc
#endif

/// The learned dial reader: the renderer it is trained on, the committed `dials.weights` reading
/// rendered and drawn dials, the weights file's refusals, and the meter reader reading its dials
/// through the model (on the demo meter's photos, when the shared corpus is here).
@Suite struct DialModelTests {
    static var weightsPath: String { DigitModelTests.packageRoot + "/etc/meters/dials.weights" }

    static func model() throws -> DialModel { try DialModel(weightsAt: weightsPath) }

    static func render(_ value: Double, seed: UInt64) -> RGBImage {
        var random = SplitMix64(seed: seed, stream: 9, item: UInt64(value * 10))
        return DialRenderer(value: value, random: &random).image(random: &random)
    }

    static func bytes(_ image: RGBImage) -> [UInt8] { Array(UnsafeBufferPointer(start: image.storage.base, count: image.width * image.height * 3)) }

    // MARK: The renderer

    @Test func theRendererIsDeterministicForASeed() {
        let first = Self.render(3.7, seed: 42), again = Self.render(3.7, seed: 42), other = Self.render(3.7, seed: 43)
        #expect(first.width == again.width && first.height == again.height)
        #expect(Self.bytes(first) == Self.bytes(again))
        #expect(Self.bytes(first) != Self.bytes(other))
    }

    @Test func renderedDialsAreReadByTheCommittedWeights() throws {
        // The learned model on its own: the geometry is not what these test. Random styles include
        // hard ones (a sticker over the needle, a ghost, strong blur): most, not all, must be read
        // (the committed weights read 35 of these 40).
        let model = try Self.model().model
        var within = 0, total = 0
        for seed in UInt64(1)...40 {
            let value = Double(seed * 37 % 100) / 10
            let reading = model.read(Self.render(value, seed: seed), window: DialModel.window)
            total += 1
            if DigitReading.circularDistance(reading.value, value) <= 0.2 { within += 1 }
        }
        #expect(within >= 30, "\(within) of \(total) rendered dials within ±0.2")
    }

    @Test(arguments: [0.0, 2.5, 5.0, 7.3, 9.9])
    func aDrawnRedNeedleIsReadConfidently(value: Double) throws {
        // Drawn by the tests' own sketcher, not the renderer the model learnt from.
        let reading = try Self.model().read(DialSketch.dial(needleAt: value))
        #expect(DigitReading.circularDistance(reading.value, value) <= 0.2, "read \(reading.value) for \(value)")
        #expect(reading.confidence >= DialModel.confidenceThreshold, "confidence \(reading.confidence)")
    }

    @Test func aFaceWithoutANeedleIsNotTrusted() throws {
        let reading = try Self.model().read(DialSketch.dial(needleAt: nil))
        #expect(reading.confidence < DialModel.confidenceThreshold, "\(reading)")
    }

    @Test func whenTheReadersDisagreeAnUnsureLearnedModelYieldsToTheGeometryAndOnlyAVerySureOneIsTrusted() {
        let doubtedFit = DialReading(value: 3.1, confidence: 0)
        let unsure = DialModel.combine(learned: DigitReading(value: 8.6, confidence: 0.1), geometric: doubtedFit)
        #expect(unsure.value == 3.1 && unsure.confidence < DialModel.confidenceThreshold, "\(unsure)")
        let sure = DialModel.combine(learned: DigitReading(value: 8.6, confidence: 0.95), geometric: doubtedFit)
        #expect(sure.value == 8.6 && sure.confidence >= DialModel.confidenceThreshold, "\(sure)")
        let fairlySure = DialModel.combine(learned: DigitReading(value: 8.6, confidence: 0.6), geometric: doubtedFit)
        #expect(fairlySure.value == 8.6 && fairlySure.confidence < DialModel.confidenceThreshold, "\(fairlySure)")
        let agreeing = DialModel.combine(learned: DigitReading(value: 3.4, confidence: 0.9), geometric: DialReading(value: 3.1, confidence: 0.8))
        #expect(agreeing.confidence >= DialModel.confidenceThreshold, "\(agreeing)")
        #expect(abs(agreeing.value - 3.2) < 1e-9, "two readers this close are blended, the geometry weighing two thirds: \(agreeing)")
    }

    @Test func closeReadingsAreBlendedAroundTheCircleNotAcrossIt() {
        // 9.8 and 0.1 lie 0.3 apart across 0: their blend is near 9.9, never near 5.
        let acrossZero = DialModel.combine(learned: DigitReading(value: 0.1, confidence: 0.9), geometric: DialReading(value: 9.8, confidence: 0.8))
        #expect(abs(acrossZero.value - 9.9) < 1e-9, "\(acrossZero)")
        let otherWay = DialModel.combine(learned: DigitReading(value: 9.9, confidence: 0.9), geometric: DialReading(value: 0.2, confidence: 0.8))
        #expect(abs(otherWay.value - (0.2 - 0.1)) < 1e-9, "\(otherWay)")
        // Readers further apart than half a step are not blended: one of them is simply wrong.
        let apart = DialModel.combine(learned: DigitReading(value: 4.0, confidence: 0.9), geometric: DialReading(value: 3.1, confidence: 0.8))
        #expect(apart.value == 3.1, "\(apart)")
    }

    // MARK: The weights file

    @Test func aMissingFileIsAClearError() {
        #expect {
            try DialModel(weightsAt: "/nonexistent/dials.weights")
        } throws: { error in
            "\(error)".contains("/nonexistent/dials.weights") && "\(error)".contains("dial weights")
        }
    }

    @Test func aTruncatedFileIsRefused() throws {
        let bytes = try #require(try? WholeFile.read(Self.weightsPath), "no weights at \(Self.weightsPath): run make train-dials")
        for length in [0, 3, 10, 30, bytes.count / 2, bytes.count - 1] {
            let path = DigitModelTests.temporaryFile(Array(bytes.prefix(length)))
            defer { unlink(path) }
            #expect(throws: DigitModelError.self, "truncated to \(length) bytes") { try DialModel(weightsAt: path) }
        }
    }

    @Test func weightsOfTheOtherKindAreRefusedByName() throws {
        #expect {
            try DialModel(weightsAt: DigitModelTests.weightsPath)
        } throws: { error in
            "\(error)".contains("digit weights, not dial weights")
        }
        #expect {
            try DigitModel(weightsAt: Self.weightsPath)
        } throws: { error in
            "\(error)".contains("dial weights, not digit weights")
        }
    }

    @Test func theDialWeightsAreSmallAndOfTheDialKind() throws {
        let bytes = try #require(try? WholeFile.read(Self.weightsPath))
        #expect(bytes.count < 1 << 20)
        let decoded = try DigitWeightsFile.decode(bytes)
        #expect(decoded.kind == .dials)
        #expect(decoded.network.input.channels == 2)
    }

    @Test func aStationWithoutDialWeightsSaysSo() throws {
        // A profiles folder with the digit weights but not the dial weights: the meter is unreadable, naming the file.
        var template = Array("/tmp/intake-dial-station-XXXXXX".utf8CString)
        let folder = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        defer {
            for name in ["digits.weights", "m.toml"] { unlink(folder + "/" + name) }
            rmdir(folder)
        }
        let digits = try DigitModelTests.committedWeights()
        let copy = DigitModelTests.temporaryFile(digits)
        defer { unlink(copy) }
        #expect(rename(copy, folder + "/digits.weights") == 0)
        let profile = try #require(try? WholeFile.read(DigitModelTests.packageRoot + "/etc/meters/demo-meter.toml"))
        let profilePath = DigitModelTests.temporaryFile(profile)
        #expect(rename(profilePath, folder + "/m.toml") == 0)
        let station = MeterStation(profilesFolder: folder)
        let read = try #require(station.read(meter: "m", photo: RGBImage(width: 64, height: 64, red: 128, green: 128, blue: 128)))
        #expect(read.reading.value == nil)
        #expect(read.reading.unreadableReason?.contains("dials.weights") == true, "\(read.reading.unreadableReason ?? "")")
    }

    // MARK: The meter reader

    @Test(.enabled(if: DemoDials.folder != nil, "needs the corpus's meters/demo-meter (../shared/corpus or INTAKE_CORPUS)"))
    func theMeterReaderReadsDialsThroughTheModel() throws {
        let folder = try #require(DemoDials.folder)
        var profile = try MeterProfile.load(path: DigitModelTests.packageRoot + "/etc/meters/demo-meter.toml")
        profile.referencePath = folder + "/reference.jpg"
        for index in profile.marks.indices {
            let file = profile.marks[index].imagePath
            profile.marks[index].imagePath = folder + "/" + (file.split(separator: "/").last.map(String.init) ?? file)
        }
        let loaded = try LoadedProfile.load(profile)
        let dials = try Self.model()
        let reader = MeterReader(profile: loaded, digits: try DigitModel(weightsAt: DigitModelTests.weightsPath), dials: dials)
        let photo = DemoDials.photos[3]
        let bytes = try #require(DialCorpus.readFile(folder + "/\(photo.name).jpg"))
        let image = try #require(DialCorpus.decode(bytes, codec: try JPEGCodec()))
        let alignment = try Aligner.align(image, to: loaded).get()
        let expected = loaded.profile.dials.sorted { $0.factor > $1.factor }.map {
            dials.read(BoxSampler.crop(image, box: $0.box, through: alignment))
        }
        let read = reader.read(image).positions.filter { $0.kind == .dial }
        #expect(read.map(\.value) == expected.map(\.value))
        for (index, reading) in expected.enumerated() {
            #expect(
                DigitReading.circularDistance(reading.value, photo.dial(index)) <= 0.3,
                "dial \(index): read \(reading.value), shows \(photo.dial(index))")
        }
    }
}
