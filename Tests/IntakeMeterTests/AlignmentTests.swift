import IntakeCodecs
@testable import IntakeMeter
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The demo meter's profile, alignment of its photos, and the crops cut through the alignment.
@Suite struct MeterProfileTests {
    @Test func theDemoProfileLoads() throws {
        let profile = try MeterProfile.load(path: AlignmentFixtures.packageRoot + "/etc/meters/demo-meter.toml")
        #expect(profile.name == "demo-meter")
        #expect(profile.unit == "m3" && profile.decimals == 4)
        #expect(profile.initialRotationDegrees == -34.6)
        #expect(profile.marks.map { [$0.x, $0.y] } == [[30, 189], [536, 113]])
        #expect(profile.marks[0].imagePath.hasSuffix("etc/meters/../../../shared/corpus/meters/demo-meter/ref0.jpg"))
        #expect(profile.wheels.map(\.place) == [10000, 1000, 100, 10, 1])
        #expect(profile.wheels.allSatisfy { $0.box.width == 49 && $0.box.height == 71 })
        #expect(profile.dials.map(\.factor) == [0.1, 0.01, 0.001, 0.0001])
        #expect(profile.limits.tolerance == profile.tolerance)
        #expect(profile.minimumConfidence == MeterAssembler.minimumConfidence)
        #expect(MeterProfile.find(meter: "demo-meter", in: AlignmentFixtures.packageRoot + "/etc/meters") != nil)
        #expect(MeterProfile.find(meter: "no-such-meter", in: AlignmentFixtures.packageRoot + "/etc/meters") == nil)
        #expect(MeterProfile.find(meter: "../meters/demo-meter", in: AlignmentFixtures.packageRoot + "/etc/meters") == nil)
    }

    @Test func anUnknownKeyIsRefusedWithItsLine() {
        let text = AlignmentFixtures.minimalProfile.replacingFirst("place = 1\n", with: "place = 1\ncolour = \"red\"\n")
        #expect(throws: MeterProfileError.self) { try MeterProfile.parse(text, path: "/etc/m/x.toml") }
        do {
            _ = try MeterProfile.parse(text, path: "/etc/m/x.toml")
        } catch {
            #expect(error.key == "wheels[1].colour")
            #expect(error.line == AlignmentFixtures.line(of: "colour", in: text))
            #expect(error.description.hasPrefix("/etc/m/x.toml:\(error.line ?? 0): unknown key \"wheels[1].colour\""))
        }
        let root = AlignmentFixtures.minimalProfile.replacingFirst("tolerance", with: "tolerence")
        do {
            _ = try MeterProfile.parse(root, path: "x.toml")
            Issue.record("a misspelt key was accepted")
        } catch {
            #expect(error.key == "tolerence" && error.line == 5)
        }
    }

    @Test func aProfileMayRaiseTheConfidenceItsReadingsNeed() throws {
        let text = AlignmentFixtures.minimalProfile.replacingFirst("tolerance = 0.001\n", with: "tolerance = 0.001\nminimum_confidence = 0.8\n")
        #expect(try MeterProfile.parse(text, path: "x.toml").minimumConfidence == 0.8)
    }

    @Test func marksAreOptional() throws {
        let text = AlignmentFixtures.minimalProfile.replacingFirst(
            "[[marks]]\nimage = \"b.png\"\nx = 300\ny = 20\n", with: "").replacingFirst("[[marks]]\nimage = \"a.png\"\nx = 10\ny = 20\n", with: "")
        let profile = try MeterProfile.parse(text, path: "x.toml")
        #expect(profile.marks.isEmpty)
    }

    @Test func badValuesAreRefusedWithKeyAndLine() {
        let cases: [(String, String, String)] = [
            ("width = 40", "width = -4", "wheels[1].width"),
            ("decimals = 3", "decimals = \"3\"", "decimals"),
            ("x = 300", "x = 1.5", "marks[2].x"),
            ("factor = 0.1", "factor = 0", "dials[1].factor"),
            // A profile may ask for more confidence than the default, never for less.
            ("initial_rotation_degrees = 10", "minimum_confidence = 0.3", "minimum_confidence"),
        ]
        for (original, replacement, key) in cases {
            let text = AlignmentFixtures.minimalProfile.replacingFirst(original, with: replacement)
            do {
                _ = try MeterProfile.parse(text, path: "x.toml")
                Issue.record("\(replacement) was accepted")
            } catch {
                #expect(error.key == key)
                #expect(error.line == AlignmentFixtures.line(of: replacement, in: text), "\(error)")
            }
        }
        let noBoxes = String(AlignmentFixtures.minimalProfile.split(separator: "# Wheels")[0])
        #expect(throws: MeterProfileError.self) { try MeterProfile.parse(noBoxes, path: "x.toml") }
        #expect(throws: MeterProfileError.self) { try MeterProfile.parse("name = [", path: "x.toml") }
        #expect(throws: MeterProfileError.self) { try MeterProfile.load(path: "/nonexistent/meter.toml") }
    }

    @Test func boxesOutsideTheReferenceFrameAreRefused() throws {
        let profile = try MeterProfile.parse(AlignmentFixtures.minimalProfile, path: "x.toml")
        let mark = RGBImage(width: 32, height: 32, red: 1, green: 2, blue: 3)
        _ = try LoadedProfile(profile: profile, reference: RGBImage(width: 400, height: 200, red: 90, green: 90, blue: 90), markImages: [mark, mark])
        #expect(throws: MeterProfileError.self) {
            try LoadedProfile(profile: profile, reference: RGBImage(width: 330, height: 200, red: 90, green: 90, blue: 90), markImages: [mark, mark])
        }
    }

    /// Each used to trap the daemon on every photo of the meter, the profile being loaded at the
    /// first photo: an x near Int.max (the bounds check added to it), and a reference cropped to
    /// a strip too thin for the landmark search's borders (a backwards range of rows).
    @Test func anAbsurdBoxOrAThinReferenceIsRefusedNotTrappedOn() throws {
        let huge = AlignmentFixtures.minimalProfile.replacingFirst("x = 300", with: "x = 9223372036854775807")
        let profile = try MeterProfile.parse(huge, path: "x.toml")
        let mark = RGBImage(width: 32, height: 32, red: 1, green: 2, blue: 3)
        let reference = RGBImage(width: 400, height: 200, red: 90, green: 90, blue: 90)
        #expect { try LoadedProfile(profile: profile, reference: reference, markImages: [mark, mark]) } throws: {
            "\($0)".contains("extends past the 400×200 reference frame")
        }
        let strip = RGBImage(width: 640, height: 36, red: 90, green: 90, blue: 90)
        let thin = MeterProfile(
            name: "strip", referencePath: "", unit: "m3", decimals: 3, tolerance: 0.001, maximumRatePerHour: nil,
            initialRotationDegrees: 0, marks: [], wheels: [MeterWheel(box: Box(x: 10, y: 4, width: 24, height: 28), place: 1)], dials: [])
        #expect { try LoadedProfile(profile: thin, reference: strip, markImages: []) } throws: {
            "\($0)".contains("the reference picture is 640×36; it must be at least 64×64")
        }
        // The landmark search itself has nothing to search on so thin a plane, and says so with no corner.
        #expect(LandmarkDetector.corners(in: AlignGrayPlane(luma: strip), keep: 10).isEmpty)
    }
}

@Suite struct SyntheticAlignmentTests {
    /// A reference of random shapes, and a photo of it turned, scaled and shifted, made here
    /// without the module's own sampler.
    static func scene(degrees: Double, scale: Double, shift: (x: Double, y: Double), photoSize: (Int, Int) = (640, 480)) throws -> (
        loaded: LoadedProfile, photo: RGBImage, truth: SimilarityTransform
    ) {
        let width = 640, height = 480
        let reference = AlignmentFixtures.shapes(width: width, height: height, seed: 7)
        let marks = [(x: 80, y: 200, size: 48), (x: 500, y: 140, size: 56)]
        let markImages = marks.map { AlignmentFixtures.cut(reference, x: $0.x, y: $0.y, width: $0.size, height: $0.size) }
        let profile = MeterProfile(
            name: "synthetic", referencePath: "", unit: "m3", decimals: 3, tolerance: 0.001, maximumRatePerHour: nil,
            initialRotationDegrees: 0, marks: marks.map { MeterMark(imagePath: "", x: $0.x, y: $0.y) },
            wheels: [MeterWheel(box: Box(x: 300, y: 200, width: 40, height: 60), place: 1)], dials: [])
        let loaded = try LoadedProfile(profile: profile, reference: reference, markImages: markImages)
        let centre = (x: Double(width - 1) / 2, y: Double(height - 1) / 2)
        let photoCentre = (x: Double(photoSize.0 - 1) / 2, y: Double(photoSize.1 - 1) / 2)
        let truth = SimilarityTransform(rotationDegrees: degrees, scale: scale, about: centre, to: (photoCentre.x + shift.x, photoCentre.y + shift.y))
        return (loaded, AlignmentFixtures.warp(reference, by: truth, width: photoSize.0, height: photoSize.1), truth)
    }

    static func expectClose(_ alignment: Alignment, _ truth: SimilarityTransform, within limit: Double, _ what: String) {
        for (x, y) in [(100.0, 100.0), (540.0, 100.0), (100.0, 380.0), (540.0, 380.0), (320.0, 240.0)] {
            let found = alignment.photoPoint(x: x, y: y), expected = truth.apply(x: x, y: y)
            let error = ((found.x - expected.x) * (found.x - expected.x) + (found.y - expected.y) * (found.y - expected.y)).squareRoot()
            #expect(error < limit, "\(what): reference (\(x), \(y)) lands \(error) px off")
        }
    }

    @Test(arguments: [(2.5, 1.03), (137.0, 1.0), (-95.0, 0.7), (200.0, 1.4), (300.0, 1.2)])
    func anyTurnAndScaleIsRecovered(degrees: Double, scale: Double) throws {
        let (loaded, photo, truth) = try Self.scene(degrees: degrees, scale: scale, shift: (6.3, -4.7))
        let alignment = try Aligner.align(photo, to: loaded).get()
        let turn = SimilarityTransform(rotationDegrees: degrees, about: (0, 0), to: (0, 0)).rotationDegrees
        #expect(abs(alignment.rotationDegrees - turn) < 0.5, "turned \(alignment.rotationDegrees)°, truly \(turn)°")
        #expect(abs(alignment.scale - scale) < 0.01 * scale)
        #expect(alignment.inliers >= 40, "\(alignment.inliers) inliers")
        Self.expectClose(alignment, truth, within: 1, "\(degrees)° \(scale)×")
        // Marks that the move keeps in the photo are found; the others are left out.
        for (mark, match) in zip(loaded.profile.marks, alignment.marks) {
            let centre = truth.apply(x: Double(mark.x + 24), y: Double(mark.y + 24))
            let inside = centre.x > 60 && centre.y > 60 && centre.x < Double(photo.width - 60) && centre.y < Double(photo.height - 60)
            if inside { #expect(match.used && match.score > 0.85, "\(match)") }
        }
        #expect(alignment.confidence >= 0.5)
    }

    @Test func aPhotoMuchLargerThanTheReferenceIsBroughtToItsSize() throws {
        let (loaded, photo, truth) = try Self.scene(degrees: 40, scale: 2.6, shift: (0, 0), photoSize: (1664, 1248))
        let alignment = try Aligner.align(photo, to: loaded).get()
        #expect(abs(alignment.scale - 2.6) < 0.03)
        Self.expectClose(alignment, truth, within: 2.6, "2.6× photo")
    }

    @Test func theSampledBoxMatchesTheReference() throws {
        let (loaded, photo, _) = try Self.scene(degrees: -3, scale: 0.97, shift: (-8, 5))
        let alignment = try Aligner.align(photo, to: loaded).get()
        let box = loaded.profile.wheels[0].box
        let crop = BoxSampler.crop(photo, box: box, through: alignment)
        #expect(crop.width == box.width && crop.height == box.height)
        let reference = AlignmentFixtures.cut(
            AlignmentFixtures.shapes(width: 640, height: 480, seed: 7), x: box.x, y: box.y, width: box.width, height: box.height)
        #expect(AlignmentFixtures.meanDifference(crop, reference) < 8)
    }

    @Test func aBoxOverThePhotosEdgeIsBlackBeyondItAndBlendedAcrossIt() {
        // A white 4×4 photo, seen through a shift of half a pixel from a box that starts 3 pixels
        // above and left of it: sample points at −2.5, −1.5, −0.5, 0.5, …; only the one at −0.5
        // straddles the edge, half black, half white.
        let photo = RGBImage(width: 4, height: 4, red: 255, green: 255, blue: 255)
        let crop = BoxSampler.crop(
            photo, box: Box(x: -3, y: -3, width: 6, height: 6), through: PlaneTransform([1, 0, 0.5, 0, 1, 0.5, 0, 0, 1]))
        func grey(_ x: Int, _ y: Int) -> UInt8 { crop.storage.base[(y * 6 + x) * 3] }
        #expect(grey(0, 5) == 0 && grey(1, 5) == 0, "wholly outside: black")
        #expect(grey(2, 5) == 128, "half outside: \(grey(2, 5))")
        #expect(grey(2, 2) == 64, "a quarter inside: \(grey(2, 2))")
        #expect(grey(3, 3) == 255 && grey(5, 5) == 255, "inside: white")
    }

    @Test func aTiltedViewIsFittedWithItsPerspective() throws {
        let (loaded, _, _) = try Self.scene(degrees: 0, scale: 1, shift: (0, 0))
        let reference = AlignmentFixtures.shapes(width: 640, height: 480, seed: 7)
        let tilted = CameraMove.tiltVertical(0.15).apply(to: reference)
        let alignment = try Aligner.align(tilted, to: loaded).get()
        let spread = alignment.referenceToPhoto.perspectiveSpread(over: Box(x: 0, y: 0, width: 640, height: 480))
        #expect(spread > 1.05, "spread \(spread): the tilt was not fitted")
        // The move takes the top corners inwards by 7.5% of the width and leaves the bottom ones.
        let truth = try #require(
            PlaneTransform.fitting(
                from: [(0, 0), (639, 0), (0, 479), (639, 479)], to: [(48, 0), (639 - 48, 0), (0, 479), (639, 479)]))
        for (x, y) in [(100.0, 100.0), (540.0, 100.0), (100.0, 380.0), (540.0, 380.0), (320.0, 240.0)] {
            let found = alignment.photoPoint(x: x, y: y), expected = truth.apply(x: x, y: y)
            let error = ((found.x - expected.x) * (found.x - expected.x) + (found.y - expected.y) * (found.y - expected.y)).squareRoot()
            #expect(error < 4, "reference (\(x), \(y)) lands \(error) px off")
        }
    }

    @Test func aHiddenMarkIsLeftOutNotFatal() throws {
        let (loaded, photo, truth) = try Self.scene(degrees: 1, scale: 1, shift: (0, 0))
        let centre = truth.apply(x: 528, y: 168)
        let hidden = AlignmentFixtures.painting(photo, around: centre, radius: 40)
        let alignment = try Aligner.align(hidden, to: loaded).get()
        #expect(alignment.marks[0].used)
        #expect(!alignment.marks[1].used && alignment.marks[1].score < AlignmentLimits().minimumMarkScore)
        Self.expectClose(alignment, truth, within: 1, "mark 2 hidden")
    }

    @Test func implausibleScaleIsRefused() throws {
        let (loaded, photo, _) = try Self.scene(degrees: 2.5, scale: 1.3, shift: (0, 0))
        let strict = Aligner.align(photo, to: loaded, limits: AlignmentLimits(scaleRange: 0.9...1.1))
        guard case .failure(let error) = strict else {
            Issue.record("a 1.3 scale passed a 0.9–1.1 limit")
            return
        }
        switch error.reason {
        case .implausibleScale(let scale, _): #expect(abs(scale - 1.3) < 0.02)
        // Landmarks 1.3× apart are not even paired under a 0.9–1.1 search.
        case .tooFewLandmarks: break
        default: Issue.record("unexpected \(error)")
        }
    }

    @Test func anUnrelatedPictureIsNotAligned() throws {
        let (loaded, _, _) = try Self.scene(degrees: 0, scale: 1, shift: (0, 0))
        let other = AlignmentFixtures.shapes(width: 640, height: 480, seed: 99)
        guard case .failure(let error) = Aligner.align(other, to: loaded) else {
            Issue.record("an unrelated picture was aligned")
            return
        }
        #expect(error.description.contains("landmarks") || error.description.contains("does not look like"), "\(error)")
        let flat = RGBImage(width: 640, height: 480, red: 128, green: 128, blue: 128)
        guard case .failure(let flatError) = Aligner.align(flat, to: loaded), case .tooFewLandmarks(let agreeing, _, _) = flatError.reason else {
            Issue.record("a flat picture was aligned")
            return
        }
        #expect(agreeing == 0)
        #expect(flatError.description.hasPrefix("only 0 landmarks of the reference agree"))
    }
}

@Suite(.enabled(if: AlignmentFixtures.corpus != nil, "needs the corpus's meters/demo-meter at $INTAKE_CORPUS or ../shared/corpus"))
struct DemoMeterAlignmentTests {
    static let photos = [
        "530.07077", "530.07325", "530.12067", "530.21419", "530.48435", "530.70265",
        "530.95675", "531.10877", "531.24108", "531.38301", "531.63071", "531.82235",
    ]

    /// The demo profile and the corpus folder of its photos (the suite runs only with the corpus).
    static func demo() throws -> (loaded: LoadedProfile, folder: String) {
        let corpus = try #require(AlignmentFixtures.corpus)
        // The profile names its images relative to etc/meters, which assumes the corpus beside the
        // checkout; with $INTAKE_CORPUS elsewhere, point the paths there.
        var profile = try MeterProfile.load(path: AlignmentFixtures.packageRoot + "/etc/meters/demo-meter.toml")
        let folder = corpus + "/meters/demo-meter"
        profile.referencePath = folder + "/reference.jpg"
        profile.marks[0].imagePath = folder + "/ref0.jpg"
        profile.marks[1].imagePath = folder + "/ref1.jpg"
        return (try LoadedProfile.load(profile), folder)
    }

    @Test func allDemoPhotosAlign() throws {
        let (loaded, folder) = try Self.demo()
        #expect(loaded.referenceWidth == 640 && loaded.referenceHeight == 480)
        for name in Self.photos {
            let photo = try AlignmentFixtures.decodeJPEG(folder + "/\(name).jpg")
            let alignment = try Aligner.align(photo, to: loaded).get()
            #expect(alignment.marks.count == 2)
            #expect(alignment.marks.allSatisfy { $0.used && $0.score > 0.9 }, "\(name): \(alignment.marks)")
            // The reference is the photo turned back by the profile's 34.6°.
            #expect(abs(alignment.rotationDegrees + loaded.profile.initialRotationDegrees) < 2, "\(name): turned \(alignment.rotationDegrees)°")
            #expect(abs(alignment.scale - 1) < 0.03, "\(name): scale \(alignment.scale)")
            #expect(alignment.inliers >= 40 && alignment.residualPixels < 2, "\(name): \(alignment.inliers) inliers, residual \(alignment.residualPixels)")
            #expect(alignment.similarity > 0.8, "\(name): similarity \(alignment.similarity)")
        }
    }

    /// Each demo photo as a moved camera would take it (turned across the full circle, 0.7× and
    /// 1.4×, shifted, cut so that a washer is lost, darkened, tinted, tilted) reads the value the photo
    /// itself reads, or abstains; where the photo itself abstains, a reading of the moved one must
    /// still be what the photo shows (within 5 L of its name, which lags some photos).
    @Test func movedPhotosReadTheSameOrAbstain() throws {
        let (loaded, folder) = try Self.demo()
        let reader = MeterReader(
            profile: loaded, digits: try DigitModel(weightsAt: AlignmentFixtures.packageRoot + "/etc/meters/digits.weights"),
            dials: try DialModel(weightsAt: AlignmentFixtures.packageRoot + "/etc/meters/dials.weights"))
        let moves = CameraMove.standardSet
        var same = 0, total = 0
        for name in Self.photos {
            let photo = try AlignmentFixtures.decodeJPEG(folder + "/\(name).jpg")
            let plain = reader.read(photo).value
            for move in moves {
                let moved = reader.read(move.apply(to: photo)).value
                total += 1
                switch (plain, moved) {
                case (_, nil): break
                case (let a?, let b?):
                    #expect(abs(a - b) <= 0.00005, "\(name) \(move): read \(b), the photo itself \(a)")
                    if abs(a - b) <= 0.00005 { same += 1 }
                case (nil, let b?):
                    #expect(abs(b - Double(name)!) <= 0.005, "\(name) \(move): read \(b)")
                }
            }
        }
        // Most moves are read, not abstained on (the benchmark says how many).
        #expect(same >= total / 2, "\(same) of \(total) moved photos read as the photo itself")
    }

    static func reader(_ loaded: LoadedProfile) throws -> MeterReader {
        MeterReader(
            profile: loaded, digits: try DigitModel(weightsAt: AlignmentFixtures.packageRoot + "/etc/meters/digits.weights"),
            dials: try DialModel(weightsAt: AlignmentFixtures.packageRoot + "/etc/meters/dials.weights"))
    }

    /// Where the centre of every wheel and dial lands in the photo.
    static func boxCentres(_ alignment: Alignment, _ profile: MeterProfile) -> [(x: Double, y: Double)] {
        let boxes: [Box] = profile.wheels.map(\.box) + profile.dials.map(\.box)
        return boxes.map { box -> (x: Double, y: Double) in
            let x = Double(box.x) + Double(box.width - 1) / 2, y = Double(box.y) + Double(box.height - 1) / 2
            return alignment.photoPoint(x: x, y: y)
        }
    }

    /// A fixed camera's next photo is aligned by confirming where the last one was found. The
    /// placement must be this photo's own, fitted afresh: every wheel and dial where a full search
    /// puts it (within half a pixel), and the same reading.
    @Test func aFixedCamerasNextPhotoFollowsTheLastAndLandsWhereASearchWould() throws {
        let (loaded, folder) = try Self.demo()
        let reader = try Self.reader(loaded)
        let photos = try Self.photos.map { try AlignmentFixtures.decodeJPEG(folder + "/\($0).jpg") }
        for (index, name) in Self.photos.enumerated() {
            _ = reader.inspect(photos[(index + photos.count - 1) % photos.count])
            let (followed, reading) = reader.inspect(photos[index])
            let alignment = try followed.get()
            #expect(alignment.followedLastPhoto, "\(name) was searched, not followed from the photo before it")
            let searched = try Aligner.align(photos[index], to: loaded).get()
            #expect(!searched.followedLastPhoto)
            for (a, b) in zip(Self.boxCentres(alignment, loaded.profile), Self.boxCentres(searched, loaded.profile)) {
                #expect((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y) < 0.25, "\(name): a box centre followed at \(a), searched at \(b)")
            }
            let searchedReading = reader.inspect(photos[index], followingLastPhoto: false).reading
            #expect(reading.value == searchedReading.value || abs((reading.value ?? -1) - (searchedReading.value ?? -2)) <= 0.00005,
                    "\(name): read \(String(describing: reading.value)) followed, \(String(describing: searchedReading.value)) searched")
        }
    }

    /// A camera moved by more than a few pixels is searched afresh, and one moved by a few is
    /// followed and placed where it now is: the placement is confirmed, never assumed.
    @Test func aMovedCameraIsSearchedAfreshAndASmallMoveIsFollowedToItsNewPlace() throws {
        let (loaded, folder) = try Self.demo()
        let reader = try Self.reader(loaded)
        let photo = try AlignmentFixtures.decodeJPEG(folder + "/530.21419.jpg")
        // (A turn or zoom also changes the photo's size, which alone sends it to the search; the
        // shifts keep it.)
        for move in [CameraMove.turn(30), .zoom(1.4), .shift(40, -30), .shift(12, -9)] {
            _ = reader.inspect(photo)
            let alignment = try reader.inspect(move.apply(to: photo)).alignment.get()
            #expect(!alignment.followedLastPhoto, "\(move): followed a placement the camera has left")
        }
        let plain = try reader.inspect(photo).alignment.get()
        let nudged = try reader.inspect(CameraMove.shift(2, -2).apply(to: photo)).alignment.get()
        #expect(nudged.followedLastPhoto)
        for (a, b) in zip(Self.boxCentres(plain, loaded.profile), Self.boxCentres(nudged, loaded.profile)) {
            #expect(abs(b.x - a.x - 2) < 0.5 && abs(b.y - a.y + 2) < 0.5, "a box centre moved from \(a) to \(b), not by (2, −2)")
        }
    }

    /// The other water meter of the corpus (two of its shots upside down) is not this meter.
    @Test func anotherMeterIsRefused() throws {
        let (loaded, _) = try Self.demo()
        let corpus = try #require(AlignmentFixtures.corpus)
        // Also by a reader that has just found the demo meter in a photo: nothing of that placement is confirmed here.
        let reader = try Self.reader(loaded)
        let demoPhoto = try AlignmentFixtures.decodeJPEG(try Self.demo().folder + "/530.21419.jpg")
        for name in ["image_tmp_alg", "image_tmp_org", "image_tmp_original", "image_tmp_roi", "image_tmp_rot", "images_roi_masked"] {
            let photo = try AlignmentFixtures.decodeJPEG(corpus + "/meters/unlabelled/\(name).jpg")
            guard case .failure(let error) = Aligner.align(photo, to: loaded) else {
                Issue.record("\(name), another meter, was aligned to the demo meter")
                continue
            }
            #expect(!error.description.isEmpty)
            _ = reader.inspect(demoPhoto)
            let (followed, reading) = reader.inspect(photo)
            #expect(reading.value == nil, "\(name), another meter, was read after a demo photo")
            if case .success = followed { Issue.record("\(name), another meter, was aligned after a demo photo") }
        }
    }

    /// Wheels: a dark crop whose bright digit sits in the middle and stands upright (taller than
    /// wide); dials: the hub, a dark disc on the white face, in the middle, and some red. A box
    /// off by a few pixels, or a rotation the wrong way, fails these.
    @Test func cropsAreUprightAndCentred() throws {
        let (loaded, folder) = try Self.demo()
        for name in Self.photos {
            let photo = try AlignmentFixtures.decodeJPEG(folder + "/\(name).jpg")
            let alignment = try Aligner.align(photo, to: loaded).get()
            for (index, wheel) in loaded.profile.wheels.enumerated() {
                let crop = BoxSampler.crop(photo, box: wheel.box, through: alignment)
                let glyph = AlignmentFixtures.brightGlyph(crop)
                #expect(glyph.meanLuma < 110, "\(name) wheel \(index + 1) is not dark: \(glyph.meanLuma)")
                #expect(abs(glyph.centreX - Double(crop.width - 1) / 2) < 4, "\(name) wheel \(index + 1): digit at x \(glyph.centreX)")
                #expect(abs(glyph.centreY - Double(crop.height - 1) / 2) < 12, "\(name) wheel \(index + 1): digit at y \(glyph.centreY)")
                // The first wheels never move on this meter: a still digit is taller than wide.
                if index < 4 { #expect(glyph.height > glyph.width, "\(name) wheel \(index + 1): \(glyph.width)×\(glyph.height)") }
            }
            for (index, dial) in loaded.profile.dials.enumerated() {
                let crop = BoxSampler.crop(photo, box: dial.box, through: alignment)
                let hub = AlignmentFixtures.hubCentre(crop)
                let half = Double(crop.width - 1) / 2
                #expect(abs(hub.x - half) <= 3 && abs(hub.y - half) <= 3, "\(name) dial \(index + 1): hub at (\(hub.x), \(hub.y))")
                #expect(AlignmentFixtures.redPixels(crop) > 100, "\(name) dial \(index + 1): no red needle")
            }
        }
    }
}

/// What `intake meter setup` proposes besides boxes: the landmarks the aligner will find the
/// meter by, drawn on the overlay, and a doubt said when there are too few.
@Suite struct MeterSetupTests {
    /// A picture with almost nothing to find again (a smooth gradient): too few landmarks, said.
    @Test func aFeaturelessPhotoIsSaidToHaveTooFewLandmarks() {
        let plain = RGBImage(width: 320, height: 240) { pixels in
            for y in 0..<240 {
                for x in 0..<320 {
                    let i = (y * 320 + x) * 3
                    (pixels[i], pixels[i + 1], pixels[i + 2]) = (UInt8(60 + x / 4), UInt8(60 + y / 4), 120)
                }
            }
        }
        let proposal = MeterSetup.propose(plain)
        #expect(proposal.landmarks.count < MeterSetup.fewLandmarks)
        #expect(proposal.doubts.contains { $0.hasPrefix("only \(proposal.landmarks.count) landmarks") }, "\(proposal.doubts)")
    }

    /// A meter whose dials have black needles: a light face in a dark frame, three needles
    /// (a long bar with a round hub at one end) among small printed numerals. Each needle's hub is
    /// found, nothing else is taken for one, and the person is asked to check them.
    @Test func blackNeedlesOnALightFaceAreFoundAndSaidToBeChecked() {
        let width = 640, height = 480
        let hubs: [(x: Double, y: Double, angle: Double)] = [(160, 300, 0.4), (330, 330, 2.2), (500, 280, 4.0)]
        let face = RGBImage(width: width, height: height) { pixels in
            for y in 0..<height {
                for x in 0..<width {
                    var luma = 215 + (x * 7 + y * 3) % 9  // a little grain
                    // A dark frame around the face, as a meter's housing or the window's edge.
                    if x < 40 || y < 40 || x >= width - 40 || y >= height - 40 { luma = 35 }
                    for hub in hubs {
                        let dx = Double(x) - hub.x, dy = Double(y) - hub.y
                        // The hub, radius 9; the needle, 48 long and 5 wide, from it.
                        let along = dx * cos(hub.angle) + dy * sin(hub.angle), across = -dx * sin(hub.angle) + dy * cos(hub.angle)
                        if dx * dx + dy * dy <= 81 || (along >= 0 && along <= 48 && abs(across) <= 2.5) { luma = 30 }
                        // Numerals around it: short strokes, 9 long and 2 wide, at ten places.
                        for k in 0..<10 {
                            let a = Double(k) * .pi / 5, cx = hub.x + 62 * cos(a), cy = hub.y + 62 * sin(a)
                            if abs(Double(x) - cx) <= 1 && abs(Double(y) - cy) <= 4.5 { luma = 40 }
                        }
                    }
                    let i = (y * width + x) * 3
                    (pixels[i], pixels[i + 1], pixels[i + 2]) = (UInt8(luma), UInt8(luma), UInt8(luma))
                }
            }
        }
        let proposal = MeterSetup.propose(face)
        #expect(proposal.dials.count == 3, "\(proposal.dials.map(\.box))")
        for hub in hubs {
            let found = proposal.dials.contains { dial in
                let cx = Double(dial.box.x) + Double(dial.box.width - 1) / 2, cy = Double(dial.box.y) + Double(dial.box.height - 1) / 2
                return abs(cx - hub.x) <= 4 && abs(cy - hub.y) <= 4
            }
            #expect(found, "no dial centred on the hub at \(hub)")
        }
        #expect(proposal.doubts.contains { $0.contains("found by dark needles") }, "\(proposal.doubts)")
    }

    /// Short red teardrop needles (a round hub and a tail about twice its radius) are dials; a
    /// red six-armed flow star, as round one way as the other, is not.
    @Test func redTeardropNeedlesAreDialsAndAFlowStarIsNot() {
        let width = 640, height = 480
        let needles: [(x: Double, y: Double, angle: Double)] = [(150, 200, 1.0), (320, 160, 3.0), (480, 220, 5.0)]
        let star = (x: 320.0, y: 360.0)
        let face = RGBImage(width: width, height: height) { pixels in
            for y in 0..<height {
                for x in 0..<width {
                    var red = false
                    for n in needles {
                        let dx = Double(x) - n.x, dy = Double(y) - n.y
                        let along = dx * cos(n.angle) + dy * sin(n.angle), across = abs(-dx * sin(n.angle) + dy * cos(n.angle))
                        // Hub of radius 10; a tail narrowing from 10 to 2 over 26 pixels.
                        if dx * dx + dy * dy <= 100 || (along >= 0 && along <= 26 && across <= 10 - 8 * along / 26) { red = true }
                    }
                    for arm in 0..<6 {
                        let a = Double(arm) * .pi / 3, dx = Double(x) - star.x, dy = Double(y) - star.y
                        let along = dx * cos(a) + dy * sin(a), across = abs(-dx * sin(a) + dy * cos(a))
                        if along >= 0 && along <= 22 && across <= 3.5 { red = true }
                    }
                    let i = (y * width + x) * 3
                    (pixels[i], pixels[i + 1], pixels[i + 2]) = red ? (200, 40, 40) : (225, 225, 220)
                }
            }
        }
        let proposal = MeterSetup.propose(face)
        #expect(proposal.dials.count == 3, "\(proposal.dials.map(\.box))")
        let nearStar = proposal.dials.contains { dial in
            abs(Double(dial.box.x) + Double(dial.box.width) / 2 - star.x) < 20 && abs(Double(dial.box.y) + Double(dial.box.height) / 2 - star.y) < 20
        }
        #expect(!nearStar, "the flow star was taken for a dial")
    }

    /// A counter seen through one dark window: the window is found around its digits, to within
    /// a few pixels, and drawn on the overlay.
    @Test func theCountersWindowIsFoundAroundItsDigits() throws {
        let width = 640, height = 480
        let window = (left: 200, top: 100, right: 420, bottom: 160)
        let face = RGBImage(width: width, height: height) { pixels in
            for y in 0..<height {
                for x in 0..<width {
                    var luma = 220
                    if x >= window.left && x <= window.right && y >= window.top && y <= window.bottom {
                        luma = 40
                        // Five light digits, 14 wide and 30 tall, each with a dark middle (an 0).
                        for digit in 0..<5 {
                            let left = 215 + digit * 45
                            if x >= left && x < left + 14 && y >= 115 && y < 145 && !(x >= left + 4 && x < left + 10 && y >= 121 && y < 139) {
                                luma = 230
                            }
                        }
                    }
                    let i = (y * width + x) * 3
                    (pixels[i], pixels[i + 1], pixels[i + 2]) = (UInt8(luma), UInt8(luma), UInt8(luma))
                }
            }
        }
        let proposal = MeterSetup.propose(face)
        #expect(proposal.wheels.count == 5)
        let found = try #require(proposal.counterWindow)
        #expect(abs(found.x - window.left) <= 3 && abs(found.y - window.top) <= 3, "\(found)")
        #expect(abs(found.x + found.width - 1 - window.right) <= 3 && abs(found.y + found.height - 1 - window.bottom) <= 3, "\(found)")
        let overlay = MeterOverlays.setup(photo: face, proposal: proposal).image
        // Its left side (the wheels' labels sit over its top).
        #expect(overlay[found.x, found.y + found.height / 2] == Overlay.markColour)
    }

    /// The demo meter's reference: plenty of landmarks, none in a wheel (its digit changes), and
    /// each drawn on the overlay.
    @Test(.enabled(if: AlignmentFixtures.corpus != nil, "needs the corpus (../shared/corpus)"))
    func theDemoMetersLandmarksLieOutsideItsWheelsAndAreDrawn() throws {
        let (_, folder) = try DemoMeterAlignmentTests.demo()
        let reference = try AlignmentFixtures.decodeJPEG(folder + "/reference.jpg")
        let proposal = MeterSetup.propose(reference)
        #expect(proposal.landmarks.count >= MeterSetup.fewLandmarks, "\(proposal.landmarks.count) landmarks")
        #expect(!proposal.doubts.contains { $0.contains("landmarks") })
        for landmark in proposal.landmarks {
            let inWheel = proposal.wheels.contains { wheel in
                let box = wheel.box
                return landmark.x >= Double(box.x) && landmark.x < Double(box.x + box.width) && landmark.y >= Double(box.y) && landmark.y < Double(box.y + box.height)
            }
            #expect(!inWheel, "a landmark in a wheel at \(landmark)")
        }
        let overlay = MeterOverlays.setup(photo: reference, proposal: proposal).image
        let drawn = proposal.landmarks.filter { landmark in
            let pixel = overlay[Int(landmark.x.rounded()), Int(landmark.y.rounded())]
            return pixel == Overlay.landmarkColour
        }
        // Boxes drawn over some of them; most show.
        #expect(drawn.count * 2 > proposal.landmarks.count, "\(drawn.count) of \(proposal.landmarks.count) landmarks drawn")
    }
}

/// Helpers of these tests only: corpus location, decoding, synthetic scenes, measurements.
private enum AlignmentFixtures {
    static var packageRoot: String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }

    static var corpus: String? {
        if let value = getenv("INTAKE_CORPUS") {
            let path = String(cString: value)
            return access(path + "/meters/demo-meter/reference.jpg", R_OK) == 0 ? path : nil
        }
        let path = packageRoot + "/../shared/corpus"
        return access(path + "/meters/demo-meter/reference.jpg", R_OK) == 0 ? path : nil
    }

    /// A profile that parses, for the tests that break it one key at a time.
    static let minimalProfile = """
        name = "m"
        reference = "r.png"
        unit = "m3"
        decimals = 3
        tolerance = 0.001
        initial_rotation_degrees = 10

        [[marks]]
        image = "a.png"
        x = 10
        y = 20

        [[marks]]
        image = "b.png"
        x = 300
        y = 20

        # Wheels
        [[wheels]]
        x = 100
        y = 50
        width = 40
        height = 60
        place = 1

        [[dials]]
        x = 200
        y = 50
        width = 100
        height = 100
        factor = 0.1

        """

    /// 1-based line of the first line containing `text`.
    static func line(of text: String, in document: String) -> Int? {
        for (index, line) in document.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.contains(text) {
            return index + 1
        }
        return nil
    }

    static func decodeJPEG(_ path: String) throws -> RGBImage {
        guard let file = fopen(path, "rb") else { throw CodecError("can't open \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            bytes += buffer[0..<count]
            if count < buffer.count { break }
        }
        let codec = try JPEGCodec()
        return try bytes.withUnsafeBytes { raw in
            let header = try codec.readHeader(raw)
            return try codec.decode(raw, header: header, scale: .full, adobeInverted: false).image
        }
    }

    /// A grey picture of random rectangles and discs, deterministic for a seed: corners and
    /// edges everywhere, as a meter's face has, and nothing that repeats.
    static func shapes(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func random(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var grey = [UInt8](repeating: 110, count: width * height)
        for index in 0..<260 {
            let size = 8 + random(index < 40 ? 90 : 40), x0 = random(width) - size / 2, y0 = random(height) - size / 2
            let value = UInt8(20 + random(215)), disc = random(3) == 0
            for y in max(0, y0)..<min(height, y0 + size) {
                for x in max(0, x0)..<min(width, x0 + size) {
                    let dx = Double(x - x0) - Double(size) / 2, dy = Double(y - y0) - Double(size) / 2
                    if !disc || dx * dx + dy * dy <= Double(size * size) / 4 { grey[y * width + x] = value }
                }
            }
        }
        return RGBImage(width: width, height: height) { pixels in
            for i in 0..<(width * height) {
                pixels[i * 3] = grey[i]
                pixels[i * 3 + 1] = grey[i]
                pixels[i * 3 + 2] = grey[i]
            }
        }
    }

    static func cut(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height) { pixels in
            for row in 0..<height {
                for column in 0..<width {
                    let value = image[x + column, y + row]
                    let i = (row * width + column) * 3
                    pixels[i] = value.0
                    pixels[i + 1] = value.1
                    pixels[i + 2] = value.2
                }
            }
        }
    }

    /// The photo a camera would take of `reference` placed by `transform` (reference → photo):
    /// each photo pixel is the reference, bilinear, at the inverse point; black outside.
    static func warp(_ reference: RGBImage, by transform: SimilarityTransform, width: Int, height: Int) -> RGBImage {
        let norm = transform.a * transform.a + transform.b * transform.b
        return RGBImage(width: width, height: height) { pixels in
            for y in 0..<height {
                for x in 0..<width {
                    // Inverse of p ↦ R·p + t: p = Rᵀ(q − t) / |R|².
                    let qx = Double(x) - transform.tx, qy = Double(y) - transform.ty
                    let px = (transform.a * qx + transform.b * qy) / norm, py = (-transform.b * qx + transform.a * qy) / norm
                    let x0 = Int(px.rounded(.down)), y0 = Int(py.rounded(.down))
                    var value = 0.0
                    if x0 >= 0, y0 >= 0, x0 + 1 < reference.width, y0 + 1 < reference.height {
                        let fx = px - Double(x0), fy = py - Double(y0)
                        func v(_ i: Int, _ j: Int) -> Double { Double(reference[i, j].0) }
                        value = (v(x0, y0) * (1 - fx) + v(x0 + 1, y0) * fx) * (1 - fy) + (v(x0, y0 + 1) * (1 - fx) + v(x0 + 1, y0 + 1) * fx) * fy
                    }
                    let byte = UInt8(value.rounded())
                    pixels[(y * width + x) * 3] = byte
                    pixels[(y * width + x) * 3 + 1] = byte
                    pixels[(y * width + x) * 3 + 2] = byte
                }
            }
        }
    }

    /// `image` with a flat grey disc of `radius` around `centre`.
    static func painting(_ image: RGBImage, around centre: (x: Double, y: Double), radius: Double) -> RGBImage {
        RGBImage(width: image.width, height: image.height) { pixels in
            for y in 0..<image.height {
                for x in 0..<image.width {
                    let inside = (Double(x) - centre.x) * (Double(x) - centre.x) + (Double(y) - centre.y) * (Double(y) - centre.y) < radius * radius
                    let value = image[x, y]
                    let i = (y * image.width + x) * 3
                    pixels[i] = inside ? 128 : value.0
                    pixels[i + 1] = inside ? 128 : value.1
                    pixels[i + 2] = inside ? 128 : value.2
                }
            }
        }
    }

    static func meanDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        var total = 0
        for i in 0..<(a.width * a.height * 3) { total += abs(Int(a.storage.base[i]) - Int(b.storage.base[i])) }
        return Double(total) / Double(a.width * a.height * 3)
    }

    static func luma(_ pixel: (UInt8, UInt8, UInt8)) -> Double {
        0.299 * Double(pixel.0) + 0.587 * Double(pixel.1) + 0.114 * Double(pixel.2)
    }

    /// The bright strokes of a wheel crop (above the midpoint between the crop's median and its
    /// brightest tenth): their centroid and extent, and the crop's mean luma.
    static func brightGlyph(_ crop: RGBImage) -> (meanLuma: Double, centreX: Double, centreY: Double, width: Int, height: Int) {
        var values: [Double] = []
        for y in 0..<crop.height { for x in 0..<crop.width { values.append(luma(crop[x, y])) } }
        let sorted = values.sorted()
        let threshold = (sorted[sorted.count / 2] + sorted[sorted.count * 9 / 10]) / 2
        var count = 0.0, sumX = 0.0, sumY = 0.0
        var minX = crop.width, maxX = 0, minY = crop.height, maxY = 0
        for y in 0..<crop.height {
            for x in 0..<crop.width where values[y * crop.width + x] > threshold {
                count += 1
                sumX += Double(x)
                sumY += Double(y)
                minX = min(minX, x)
                maxX = max(maxX, x)
                minY = min(minY, y)
                maxY = max(maxY, y)
            }
        }
        return (values.reduce(0, +) / Double(values.count), sumX / max(count, 1), sumY / max(count, 1), maxX - minX + 1, maxY - minY + 1)
    }

    /// Pixels clearly redder than they are green or blue.
    static func redPixels(_ crop: RGBImage) -> Int {
        var count = 0
        for y in 0..<crop.height { for x in 0..<crop.width where Int(crop[x, y].0) > Int(max(crop[x, y].1, crop[x, y].2)) + 25 { count += 1 } }
        return count
    }

    /// The centre of the dial's hub, searched within 12 px of the crop's centre: the circle
    /// (radius 19–23 px) along which it is darker just inside than just outside. The needle
    /// spoils only a short arc of it.
    static func hubCentre(_ crop: RGBImage) -> (x: Double, y: Double) {
        let half = (crop.width - 1) / 2
        var best = (score: -Double.infinity, x: 0, y: 0)
        for cy in (half - 12)...(half + 12) {
            for cx in (half - 12)...(half + 12) {
                for radius in [19.0, 21.0, 23.0] {
                    var score = 0.0
                    for step in 0..<48 {
                        let angle = Double(step) * .pi / 24
                        func at(_ r: Double) -> Double {
                            luma(crop[Int((Double(cx) + r * cos(angle)).rounded()), Int((Double(cy) + r * sin(angle)).rounded())])
                        }
                        score += min(1, max(0, (at(radius + 3) - at(radius - 3)) / 60))
                    }
                    if score > best.score { best = (score, cx, cy) }
                }
            }
        }
        return (Double(best.x), Double(best.y))
    }
}

extension String {
    /// The string with the first occurrence of `target` replaced (the whole string when absent).
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        replacing(target, with: replacement, maxReplacements: 1)
    }
}
