import IntakeCodecs
import IntakeMeter
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The dial reader on dials drawn here (no files needed) and, when the shared corpus is there,
/// on its 1,469 labelled needle crops (used to test only: they carry no licence) and on the 48
/// dial crops of the demo water meter's 12 photos, cut as the meter reader cuts them.
@Suite struct DialReaderTests {
    // MARK: Drawn dials

    @Test(arguments: [0.0, 2.5, 5.0, 7.3, 9.9])
    func readsARedNeedleDrawnAtAKnownValue(value: Double) throws {
        let reading = try #require(DialReader.read(DialSketch.dial(needleAt: value)))
        #expect(DialSketch.circularDistance(reading.value, value) <= 0.1, "read \(reading.value) for \(value)")
        #expect(reading.confidence >= 0.5, "a clean drawn needle is trusted: \(reading.confidence)")
        #expect(reading.value >= 0 && reading.value < 10)
    }

    @Test(arguments: [1.2, 6.8])
    func readsABlackNeedle(value: Double) throws {
        // Some real dials have black needles: the reader falls back to the darkest central shape.
        let crop = DialSketch.dial(needleAt: value, needle: (25, 25, 25))
        let reading = try #require(DialReader.read(crop))
        #expect(DialSketch.circularDistance(reading.value, value) <= 0.1, "read \(reading.value) for \(value)")
    }

    @Test func readsAnOffCentreDialInAnOblongCrop() throws {
        let crop = DialSketch.dial(needleAt: 3.3, width: 110, height: 96, centreX: 50, centreY: 50)
        let reading = try #require(DialReader.read(crop))
        #expect(DialSketch.circularDistance(reading.value, 3.3) <= 0.1, "read \(reading.value)")
    }

    @Test func aFaceWithoutANeedleGivesNoReadingOrALowConfidence() {
        let reading = DialReader.read(DialSketch.dial(needleAt: nil))
        #expect(reading == nil || reading!.confidence < 0.5, "\(String(describing: reading))")
    }

    @Test func blankAndTinyCropsGiveNoReading() {
        #expect(DialReader.read(RGBImage(width: 80, height: 80, red: 240, green: 240, blue: 240)) == nil)
        #expect(DialReader.read(RGBImage(width: 80, height: 80, red: 0, green: 0, blue: 0)) == nil)
        #expect(DialReader.read(RGBImage(width: 8, height: 8, red: 200, green: 20, blue: 20)) == nil)
    }

    @Test func aRedDiscIsNotTrustedAsANeedle() {
        // All red, no direction: whatever comes back must not be believed.
        let crop = DialSketch.dial(needleAt: nil, redDiscRadius: 0.3)
        let reading = DialReader.read(crop)
        #expect(reading == nil || reading!.confidence < 0.5, "\(String(describing: reading))")
    }

    // MARK: The labelled corpus

    @Test(.enabled(if: DialCorpus.location != nil, "needs the corpus's needle crops (../shared/corpus or INTAKE_CORPUS)"))
    func corpusNeedleCropsAreReadWithinTolerance() throws {
        let corpus = try #require(DialCorpus.location)
        let summary = try DialCorpus.evaluate(corpus: corpus)
        print(summary.report)
        #expect(summary.unreadable == 0, "crops that could not be decoded: \(summary.unreadable)")
        #expect(summary.crops > 1400)
        // What the method reached when it was written (87.7%, 64.3% at 97.7%), minus a margin:
        // a fall below these is a regression. (With thin blades taken back: 88.6%, 65.3% at 97.8%.)
        #expect(summary.within02 >= 0.86)
        #expect(summary.within05 >= 0.92)
        #expect(summary.coverage >= 0.60)
        #expect(summary.coveredWithin02 >= 0.965)
    }

    // MARK: The demo meter

    @Test(.enabled(if: DemoDials.folder != nil, "needs the corpus's meters/demo-meter (../shared/corpus or INTAKE_CORPUS)"))
    func demoMeterDialsAreReadAsPhotographed() throws {
        let folder = try #require(DemoDials.folder)
        let readings = try DemoDials.read(folder: folder)
        var confident = 0
        var table = "Demo meter dials, read / as photographed (confidence):\n"
        for (photo, dials) in zip(DemoDials.photos, readings) {
            table += "  \(photo.name):"
            for (index, reading) in dials.enumerated() {
                let expected = photo.dial(index)
                guard let reading else {
                    Issue.record("\(photo.name) dial ×\(DemoDials.factors[index]): no reading")
                    continue
                }
                table += "  \(DemoDials.format(reading.value))/\(DemoDials.format(expected)) (\(DemoDials.format(reading.confidence)))"
                // Every reading, trusted or not, is within ±0.2: none is confidently wrong.
                #expect(DialSketch.circularDistance(reading.value, expected) <= 0.2,
                        "\(photo.name) dial ×\(DemoDials.factors[index]): read \(reading.value), photographed \(expected)")
                if reading.confidence >= 0.5 { confident += 1 }
            }
            table += "\n"
            // Put together as the meter reader does, the dials give the decimals photographed.
            if dials.allSatisfy({ ($0?.confidence ?? 0) >= 0.5 }) {
                let positions = zip(dials, [0.1, 0.01, 0.001, 0.0001]).map { dial, factor in
                    PositionReading(kind: .dial, weight: factor, value: dial!.value, confidence: dial!.confidence)
                }
                let assembled = MeterAssembler.assemble(positions)
                let decimals = photo.shown - photo.shown.rounded(.down)
                if let value = assembled.value {
                    #expect(abs(value - decimals) <= 0.00003, "\(photo.name): the dials give \(value), photographed \(decimals)")
                } else {
                    Issue.record("\(photo.name): the dials do not go together: \(assembled.unreadableReason ?? "")")
                }
            }
            // The dials are geared: each shows its digit plus a tenth of the next one.
            for index in 0..<3 {
                guard let upper = dials[index], let lower = dials[index + 1] else { continue }
                var residual = (upper.value - lower.value / 10).truncatingRemainder(dividingBy: 1)
                if residual < 0 { residual += 1 }
                let offset = min(residual, 1 - residual)
                #expect(offset <= 0.25, "\(photo.name): dial ×\(DemoDials.factors[index]) at \(upper.value) does not go with \(lower.value) below it")
            }
        }
        print(table, "confident: \(confident) of 48")
        // 47 when this was written: the ×0.0001 dial of 530.95675 is a blurred, kinked blade whose
        // ends and body disagree by 0.14 (read 7.80 for 7.8, trusted at 0.36).
        #expect(confident >= 46, "only \(confident) of 48 dials trusted")
    }
}

/// The demo water meter's 12 photos (corpus `meters/demo-meter`): its profile, the photos' readings
/// and its four dial crops per photo, cut through the alignment as `MeterReader` cuts them.
enum DemoDials {
    /// A photo, its name (the reading in m³ the corpus gives it) and what its dials show.
    struct Photo {
        var name: String
        /// The reading the four dials show. Six photos show more than their names say, by 0.03 to
        /// 4.5 litres, all four dials and the gearing between them agreeing: they were taken
        /// after the reading in their name. For those, the reading shown, as read by eye on crops
        /// enlarged 5× (the needle against the marks, to about 0.1 of the last dial); the gearing
        /// (each dial's tenths in the next) checks it.
        var shown: Double

        init(_ name: String, shows shown: Double? = nil) {
            self.name = name
            self.shown = shown ?? Double(name)!
        }

        /// What dial `index` (0: ×0.1 … 3: ×0.0001) shows: 10^(index+1) × the decimals, mod 10.
        func dial(_ index: Int) -> Double {
            let decimals = shown - shown.rounded(.down)
            var scaled = decimals * 10
            for _ in 0..<index { scaled *= 10 }
            return scaled.truncatingRemainder(dividingBy: 10)
        }
    }

    static let photos = [
        Photo("530.07077", shows: 530.07105), Photo("530.07325", shows: 530.07428),
        Photo("530.12067", shows: 530.12246), Photo("530.21419"),
        Photo("530.48435", shows: 530.48880), Photo("530.70265", shows: 530.70405),
        Photo("530.95675", shows: 530.95678), Photo("531.10877", shows: 531.11088),
        Photo("531.24108", shows: 531.24111), Photo("531.38301"), Photo("531.63071"), Photo("531.82235"),
    ]
    static let factors = ["0.1", "0.01", "0.001", "0.0001"]

    /// The demo-meter folder of the corpus, or nil without it.
    static var folder: String? {
        let root: String
        if let value = getenv("INTAKE_CORPUS") {
            root = String(cString: value)
        } else {
            root = packageRoot + "/../shared/corpus"
        }
        let folder = root + "/meters/demo-meter"
        return access(folder + "/reference.jpg", R_OK) == 0 ? folder : nil
    }

    static var packageRoot: String {
        // This file is <root>/Tests/IntakeMeterTests/DialReaderTests.swift.
        var root = #filePath
        for _ in 0..<3 { root = String(root[..<(root.lastIndex(of: "/") ?? root.startIndex)]) }
        return root
    }

    /// Every photo's four dial readings, most significant first (nil: no reading).
    static func read(folder: String) throws -> [[DialReading?]] {
        // The profile names its images relative to etc/meters (the corpus beside the checkout);
        // point them at the corpus found.
        var profile = try MeterProfile.load(path: packageRoot + "/etc/meters/demo-meter.toml")
        profile.referencePath = folder + "/reference.jpg"
        for index in profile.marks.indices {
            let file = profile.marks[index].imagePath
            profile.marks[index].imagePath = folder + "/" + (file.split(separator: "/").last.map(String.init) ?? file)
        }
        let loaded = try LoadedProfile.load(profile)
        let dials = loaded.profile.dials.sorted { $0.factor > $1.factor }
        let codec = try JPEGCodec()
        var readings: [[DialReading?]] = []
        for photo in photos {
            let bytes = try #require(DialCorpus.readFile(folder + "/\(photo.name).jpg"), "\(photo.name).jpg unreadable")
            let image = try #require(DialCorpus.decode(bytes, codec: codec), "\(photo.name).jpg undecodable")
            let alignment = try Aligner.align(image, to: loaded).get()
            readings.append(dials.map { DialReader.read(BoxSampler.crop(image, box: $0.box, through: alignment)) })
        }
        return readings
    }

    static func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}

/// Draws test dials: a light face with ten ticks on a grey ground, and a teardrop needle (hub,
/// tapering blade, short tail), supersampled 4 × 4 so its edges are anti-aliased like a photo's.
enum DialSketch {
    static func dial(
        needleAt value: Double?, needle colour: (UInt8, UInt8, UInt8) = (205, 35, 30),
        width: Int = 120, height: Int = 120, centreX: Double? = nil, centreY: Double? = nil,
        redDiscRadius: Double? = nil
    ) -> RGBImage {
        let size = Double(min(width, height))
        let cx = centreX ?? Double(width) / 2, cy = centreY ?? Double(height) / 2
        let angle = (value ?? 0) * Double.pi / 5
        let direction = (x: sin(angle), y: -cos(angle))
        let ground: (Double, Double, Double) = (105, 110, 100), face: (Double, Double, Double) = (238, 236, 226)
        let ink: (Double, Double, Double) = (35, 35, 35)
        let paint = (Double(colour.0), Double(colour.1), Double(colour.2))

        func colourAt(_ x: Double, _ y: Double) -> (Double, Double, Double) {
            let dx = x - cx, dy = y - cy
            let r = (dx * dx + dy * dy).squareRoot()
            if let redDiscRadius, r <= redDiscRadius * size { return paint }
            if value != nil {
                let along = dx * direction.x + dy * direction.y
                let across = abs(dx * direction.y - dy * direction.x)
                let hub = 0.09 * size, length = 0.36 * size, tail = 0.12 * size
                if r <= hub { return paint }
                // The blade narrows from the hub's width to a point; the tail is a thin stub.
                if along > 0, along <= length, across <= hub * (1 - along / length) { return paint }
                if along < 0, along >= -tail, across <= 0.02 * size { return paint }
            }
            if r > 0.47 * size { return ground }
            // Ten ticks where the numerals would be: the ring the reader uses to check its pivot.
            if r >= 0.36 * size, r <= 0.44 * size {
                var turn = atan2(dx, -dy) / (Double.pi / 5)
                turn -= turn.rounded()
                if abs(turn) * (Double.pi / 5) * r <= 0.015 * size { return ink }
            }
            return face
        }

        return RGBImage(width: width, height: height) { pixels in
            for y in 0..<height {
                for x in 0..<width {
                    var sum = (0.0, 0.0, 0.0)
                    for sy in 0..<4 {
                        for sx in 0..<4 {
                            let c = colourAt(Double(x) + (Double(sx) + 0.5) / 4, Double(y) + (Double(sy) + 0.5) / 4)
                            sum = (sum.0 + c.0, sum.1 + c.1, sum.2 + c.2)
                        }
                    }
                    let i = (y * width + x) * 3
                    pixels[i] = UInt8((sum.0 / 16).rounded())
                    pixels[i + 1] = UInt8((sum.1 / 16).rounded())
                    pixels[i + 2] = UInt8((sum.2 / 16).rounded())
                }
            }
        }
    }

    /// How far apart two dial values are, the shorter way round (9.9 and 0.0 are 0.1 apart).
    static func circularDistance(_ a: Double, _ b: Double) -> Double {
        let d = abs(a - b).truncatingRemainder(dividingBy: 10)
        return min(d, 10 - d)
    }
}

/// The labelled needle crops of the shared corpus (`meters/needles/labels.csv`: file,needle_value).
enum DialCorpus {
    struct Summary {
        var crops = 0, unreadable = 0, noReading = 0, covered = 0
        var within02 = 0.0, within05 = 0.0, meanAbsoluteError = 0.0, coverage = 0.0, coveredWithin02 = 0.0

        var report: String {
            func percent(_ share: Double) -> String { "\((share * 1000).rounded() / 10)%" }
            return """
                Dial reader on \(crops) labelled needle crops (\(unreadable) undecodable, \(noReading) without a reading):
                  within ±0.2: \(percent(within02))   within ±0.5: \(percent(within05))   \
                mean absolute error: \((meanAbsoluteError * 1000).rounded() / 1000)
                  confidence ≥ 0.5: coverage \(percent(coverage)), within ±0.2 among those \(percent(coveredWithin02))
                """
        }
    }

    /// Where the corpus is: $INTAKE_CORPUS, or ../shared/corpus beside the checkout; nil without
    /// the needle labels.
    static var location: String? {
        let path: String
        if let value = getenv("INTAKE_CORPUS") {
            path = String(cString: value)
        } else {
            // This file is <root>/Tests/IntakeMeterTests/DialReaderTests.swift.
            var root = #filePath
            for _ in 0..<3 { root = String(root[..<(root.lastIndex(of: "/") ?? root.startIndex)]) }
            path = root + "/../shared/corpus"
        }
        return access(path + "/meters/needles/labels.csv", R_OK) == 0 ? path : nil
    }

    static func evaluate(corpus: String) throws -> Summary {
        let folder = corpus + "/meters/needles/"
        let labels = try #require(readFile(folder + "labels.csv"), "labels.csv unreadable")
        let codec = try JPEGCodec()
        var summary = Summary()
        var errorSum = 0.0, near02 = 0, near05 = 0, coveredNear02 = 0
        for line in String(decoding: labels, as: UTF8.self).split(whereSeparator: \.isNewline).dropFirst() {
            // Names may hold spaces but no commas; the value is after the last comma.
            guard let comma = line.lastIndex(of: ","), let label = Double(line[line.index(after: comma)...]) else { continue }
            summary.crops += 1
            guard let bytes = readFile(folder + line[..<comma]), let crop = decode(bytes, codec: codec) else {
                summary.unreadable += 1
                continue
            }
            guard let reading = DialReader.read(crop) else {
                summary.noReading += 1
                errorSum += 2.5  // the expected error of a guess
                continue
            }
            let error = DialSketch.circularDistance(reading.value, label)
            errorSum += error
            // Labels and readings are compared unrounded; 1e-9 absorbs binary fractions.
            if error <= 0.2 + 1e-9 { near02 += 1 }
            if error <= 0.5 + 1e-9 { near05 += 1 }
            if reading.confidence >= 0.5 {
                summary.covered += 1
                if error <= 0.2 + 1e-9 { coveredNear02 += 1 }
            }
        }
        let decoded = Double(max(summary.crops - summary.unreadable, 1))
        summary.within02 = Double(near02) / decoded
        summary.within05 = Double(near05) / decoded
        summary.meanAbsoluteError = errorSum / decoded
        summary.coverage = Double(summary.covered) / decoded
        summary.coveredWithin02 = Double(coveredNear02) / Double(max(summary.covered, 1))
        return summary
    }

    /// JPEG through the codec; 138 of the crops named .jpg are really BMP, read here.
    static func decode(_ bytes: [UInt8], codec: JPEGCodec) -> RGBImage? {
        bytes.withUnsafeBytes { raw -> RGBImage? in
            guard Sniffer.sniff(raw) == .jpeg else { return decodeBMP(bytes) }
            guard let header = try? codec.readHeader(raw),
                  let decoded = try? codec.decode(raw, header: header, scale: .full, adobeInverted: false) else { return nil }
            return decoded.image
        }
    }

    /// A 24-bit uncompressed BMP: rows bottom-up (unless the height is negative), each padded
    /// to four bytes, pixels stored blue, green, red.
    static func decodeBMP(_ b: [UInt8]) -> RGBImage? {
        guard b.count >= 54, b[0] == 0x42, b[1] == 0x4D else { return nil }
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        let offset = u32(10), width = u32(18), storedHeight = Int(Int32(bitPattern: UInt32(u32(22))))
        guard u16(28) == 24, u32(30) == 0, width > 0, width < 1 << 14, storedHeight != 0, abs(storedHeight) < 1 << 14 else { return nil }
        let height = abs(storedHeight), rowBytes = (width * 3 + 3) / 4 * 4
        guard offset + rowBytes * height <= b.count else { return nil }
        return RGBImage(width: width, height: height) { pixels in
            for y in 0..<height {
                let row = offset + (storedHeight > 0 ? height - 1 - y : y) * rowBytes
                for x in 0..<width {
                    let o = (y * width + x) * 3
                    pixels[o] = b[row + x * 3 + 2]
                    pixels[o + 1] = b[row + x * 3 + 1]
                    pixels[o + 2] = b[row + x * 3]
                }
            }
        }
    }

    static func readFile<Path: StringProtocol>(_ path: Path) -> [UInt8]? {
        guard let file = fopen(String(path), "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return bytes
    }
}
