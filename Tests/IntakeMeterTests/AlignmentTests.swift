import IntakeCodecs
import IntakeMeter
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

    @Test func oneMarkIsRefused() {
        let text = AlignmentFixtures.minimalProfile.replacingFirst(
            "[[marks]]\nimage = \"b.png\"\nx = 300\ny = 20\n", with: "")
        do {
            _ = try MeterProfile.parse(text, path: "x.toml")
            Issue.record("a profile with one mark was accepted")
        } catch {
            #expect(error.key == "marks")
            #expect(error.line == AlignmentFixtures.line(of: "[[marks]]", in: text))
            #expect(error.message.contains("at least two"))
        }
    }

    @Test func badValuesAreRefusedWithKeyAndLine() {
        let cases: [(String, String, String)] = [
            ("width = 40", "width = -4", "wheels[1].width"),
            ("decimals = 3", "decimals = \"3\"", "decimals"),
            ("x = 300", "x = 1.5", "marks[2].x"),
            ("factor = 0.1", "factor = 0", "dials[1].factor"),
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
        _ = try LoadedProfile(profile: profile, referenceWidth: 400, referenceHeight: 200, markImages: [mark, mark])
        #expect(throws: MeterProfileError.self) {
            try LoadedProfile(profile: profile, referenceWidth: 330, referenceHeight: 200, markImages: [mark, mark])
        }
    }
}

@Suite struct SyntheticAlignmentTests {
    /// A textured reference, and a photo of it turned by the initial rotation plus `extraDegrees`,
    /// scaled and shifted, made here without the module's own sampler.
    static func scene(extraDegrees: Double, scale: Double, shift: (x: Double, y: Double)) throws -> (
        loaded: LoadedProfile, photo: RGBImage, truth: SimilarityTransform
    ) {
        let width = 640, height = 480, initial = -25.0
        let reference = AlignmentFixtures.texture(width: width, height: height, seed: 7)
        let marks = [(x: 80, y: 200, size: 48), (x: 500, y: 140, size: 56)]
        let markImages = marks.map { AlignmentFixtures.cut(reference, x: $0.x, y: $0.y, width: $0.size, height: $0.size) }
        let profile = MeterProfile(
            name: "synthetic", referencePath: "", unit: "m3", decimals: 3, tolerance: 0.001, maximumRatePerHour: nil,
            initialRotationDegrees: initial, marks: marks.map { MeterMark(imagePath: "", x: $0.x, y: $0.y) },
            wheels: [MeterWheel(box: Box(x: 300, y: 200, width: 40, height: 60), place: 1)], dials: [])
        let loaded = try LoadedProfile(profile: profile, referenceWidth: width, referenceHeight: height, markImages: markImages)
        let centre = (x: Double(width - 1) / 2, y: Double(height - 1) / 2)
        let truth = SimilarityTransform(
            rotationDegrees: -initial + extraDegrees, scale: scale, about: centre, to: (centre.x + shift.x, centre.y + shift.y))
        return (loaded, AlignmentFixtures.warp(reference, by: truth, width: width, height: height), truth)
    }

    @Test func aKnownTurnAndShiftIsRecovered() throws {
        let (loaded, photo, truth) = try Self.scene(extraDegrees: 2.5, scale: 1.03, shift: (6.3, -4.7))
        let alignment = try Aligner.align(photo, to: loaded).get()
        #expect(abs(alignment.residualRotationDegrees - 2.5) < 0.5)
        #expect(abs(alignment.referenceToPhoto.rotationDegrees - truth.rotationDegrees) < 0.5)
        #expect(abs(alignment.scale - 1.03) < 0.01)
        for (x, y) in [(0.0, 0.0), (639.0, 0.0), (0.0, 479.0), (639.0, 479.0), (320.0, 240.0)] {
            let found = alignment.photoPoint(x: x, y: y), expected = truth.apply(x: x, y: y)
            let error = ((found.x - expected.x) * (found.x - expected.x) + (found.y - expected.y) * (found.y - expected.y)).squareRoot()
            #expect(error < 1, "reference (\(x), \(y)) lands \(error) px off")
        }
        #expect(alignment.marks.allSatisfy { $0.score > 0.9 })
    }

    @Test func theSampledBoxMatchesTheReference() throws {
        let (loaded, photo, _) = try Self.scene(extraDegrees: -3, scale: 0.97, shift: (-8, 5))
        let alignment = try Aligner.align(photo, to: loaded).get()
        let box = loaded.profile.wheels[0].box
        let crop = BoxSampler.crop(photo, box: box, through: alignment)
        #expect(crop.width == box.width && crop.height == box.height)
        let reference = AlignmentFixtures.cut(
            AlignmentFixtures.texture(width: 640, height: 480, seed: 7), x: box.x, y: box.y, width: box.width, height: box.height)
        #expect(AlignmentFixtures.meanDifference(crop, reference) < 6)
    }

    @Test func aHiddenMarkIsReportedNotGuessed() throws {
        let (loaded, photo, truth) = try Self.scene(extraDegrees: 1, scale: 1, shift: (0, 0))
        // Paint the second mark's whole neighbourhood flat grey.
        let centre = truth.apply(x: 528, y: 168)
        let hidden = AlignmentFixtures.painting(photo, around: centre, radius: 90)
        switch Aligner.align(hidden, to: loaded) {
        case .success: Issue.record("aligned without its second mark")
        case .failure(let error):
            guard case .markNotFound(let mark, let best, _) = error.reason else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(mark == 2 && best < AlignmentLimits().minimumScore)
            #expect(error.description.hasPrefix("mark 2 not found (best match "))
            #expect(error.description.contains("the camera may have moved"))
        }
    }

    @Test func implausibleScaleAndRotationAreRefused() throws {
        let (loaded, photo, _) = try Self.scene(extraDegrees: 2.5, scale: 1.03, shift: (0, 0))
        let strictScale = Aligner.align(photo, to: loaded, limits: AlignmentLimits(scaleRange: 0.99...1.01))
        guard case .failure(let scaleError) = strictScale, case .implausibleScale = scaleError.reason else {
            Issue.record("a 1.03 scale passed a 0.99–1.01 limit: \(strictScale)")
            return
        }
        let strictTurn = Aligner.align(photo, to: loaded, limits: AlignmentLimits(maximumResidualRotationDegrees: 1))
        guard case .failure(let turnError) = strictTurn, case .excessiveRotation(let degrees, _) = turnError.reason else {
            Issue.record("a 2.5° turn passed a 1° limit: \(strictTurn)")
            return
        }
        #expect(abs(degrees - 2.5) < 0.5)
        #expect(
            turnError.description.contains("turned 2.5° beyond") || turnError.description.contains("turned 2.4° beyond")
                || turnError.description.contains("turned 2.6° beyond"))
    }

    @Test func anUnrelatedPictureIsNotAligned() throws {
        let (loaded, _, _) = try Self.scene(extraDegrees: 0, scale: 1, shift: (0, 0))
        let other = AlignmentFixtures.texture(width: 640, height: 480, seed: 99)
        #expect(throws: AlignmentError.self) { try Aligner.align(other, to: loaded).get() }
        let small = AlignmentFixtures.texture(width: 320, height: 240, seed: 7)
        guard case .failure(let error) = Aligner.align(small, to: loaded), case .photoSize = error.reason else {
            Issue.record("a 320×240 photo was not refused for its size")
            return
        }
        #expect(error.description == "the photo is 320×240 but the profile's reference is 640×480: another camera setting, or another meter")
    }
}

@Suite struct DemoMeterAlignmentTests {
    static let photos = [
        "530.07077", "530.07325", "530.12067", "530.21419", "530.48435", "530.70265",
        "530.95675", "531.10877", "531.24108", "531.38301", "531.63071", "531.82235",
    ]

    /// The demo profile and the corpus folder of its photos, or nil (with a message) without the corpus.
    static func demo() throws -> (loaded: LoadedProfile, folder: String)? {
        guard let corpus = AlignmentFixtures.corpus else {
            print("skipped: no corpus with meters/demo-meter at $INTAKE_CORPUS or ../shared/corpus")
            return nil
        }
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
        guard let (loaded, folder) = try Self.demo() else { return }
        #expect(loaded.referenceWidth == 640 && loaded.referenceHeight == 480)
        for name in Self.photos {
            let photo = try AlignmentFixtures.decodeJPEG(folder + "/\(name).jpg")
            let alignment = try Aligner.align(photo, to: loaded).get()
            #expect(alignment.marks.count == 2)
            #expect(alignment.marks.allSatisfy { $0.score >= AlignmentLimits().minimumScore && $0.score > 0.9 }, "\(name): \(alignment.marks)")
            #expect(abs(alignment.residualRotationDegrees) < 2, "\(name): turned \(alignment.residualRotationDegrees)°")
            #expect(abs(alignment.scale - 1) < 0.03, "\(name): scale \(alignment.scale)")
            #expect(abs(alignment.shift.x) < 10 && abs(alignment.shift.y) < 10, "\(name): shifted \(alignment.shift)")
        }
    }

    /// Wheels: a dark crop whose bright digit sits in the middle and stands upright (taller than
    /// wide); dials: the hub, a dark disc on the white face, in the middle, and some red. A box
    /// off by a few pixels, or a rotation the wrong way, fails these.
    @Test func cropsAreUprightAndCentred() throws {
        guard let (loaded, folder) = try Self.demo() else { return }
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

    /// A smooth random grey texture: two octaves of value noise, deterministic for a seed.
    static func texture(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func random() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        func grid(_ step: Int) -> (values: [Double], columns: Int) {
            let columns = width / step + 2, rows = height / step + 2
            return ((0..<(columns * rows)).map { _ in random() }, columns)
        }
        let coarse = grid(12), fine = grid(4)
        func noise(_ g: (values: [Double], columns: Int), step: Int, _ x: Int, _ y: Int) -> Double {
            let gx = Double(x) / Double(step), gy = Double(y) / Double(step)
            let x0 = Int(gx), y0 = Int(gy), fx = gx - Double(x0), fy = gy - Double(y0)
            func v(_ i: Int, _ j: Int) -> Double { g.values[j * g.columns + i] }
            return (v(x0, y0) * (1 - fx) + v(x0 + 1, y0) * fx) * (1 - fy) + (v(x0, y0 + 1) * (1 - fx) + v(x0 + 1, y0 + 1) * fx) * fy
        }
        return RGBImage(width: width, height: height) { pixels in
            for y in 0..<height {
                for x in 0..<width {
                    let value = 20 + 160 * noise(coarse, step: 12, x, y) + 60 * noise(fine, step: 4, x, y)
                    let byte = UInt8(max(0, min(255, value)))
                    pixels[(y * width + x) * 3] = byte
                    pixels[(y * width + x) * 3 + 1] = byte
                    pixels[(y * width + x) * 3 + 2] = byte
                }
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
