import IntakeCodecs
import IntakeMeter
import Testing
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// The counter-wheel digit reader: the committed weights, the file format's refusals, inference
/// that is in range and repeatable, and — when the shared corpus is here — the accuracy on the
/// validation split that `intake-train` never trains on.
@Suite struct DigitModelTests {
    /// What `intake-train` reached on the validation split with the committed weights (99.73%,
    /// 99.49%, 98.33%), less a small margin: the test decodes and reads the crops the same way.
    static let expectedWithinHalf = 0.993
    static let expectedWithinTwoTenths = 0.99
    static let expectedWithinOneTenth = 0.975

    static var packageRoot: String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }

    static var weightsPath: String { packageRoot + "/etc/meters/digits.weights" }

    /// $INTAKE_CORPUS, or ../shared/corpus beside the checkout.
    static var corpus: String {
        if let value = getenv("INTAKE_CORPUS") { return String(cString: value) }
        return packageRoot + "/../shared/corpus"
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func committedWeights() throws -> [UInt8] {
        try #require(try? WholeFile.read(weightsPath), "no weights at \(weightsPath): run intake-train")
    }

    /// Writes `bytes` to a fresh temporary file and returns its path.
    static func temporaryFile(_ bytes: [UInt8]) -> String {
        var template = Array("/tmp/intake-digit-weights-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        precondition(descriptor >= 0, "mkstemp failed")
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// A dark upright bar on a light face, roughly a "1" on a wheel, with a little texture.
    static func syntheticCrop(width: Int = 24, height: Int = 40) -> RGBImage {
        RGBImage(width: width, height: height) { pixels in
            for y in 0..<height {
                for x in 0..<width {
                    let i = (y * width + x) * 3
                    let stroke = abs(x - width / 2) <= 2 && y > height / 6 && y < height * 5 / 6
                    let value = UInt8(stroke ? 30 : 200 + (x * 7 + y * 3) % 40)
                    pixels[i] = value
                    pixels[i + 1] = value
                    pixels[i + 2] = value
                }
            }
        }
    }

    // MARK: Without the corpus

    @Test func committedWeightsLoadAndStayWellUnderAMebibyte() throws {
        let bytes = try Self.committedWeights()
        #expect(bytes.count < 600 << 10)
        let model = try DigitModel(weightsAt: Self.weightsPath)
        #expect(model.inputSize.width > 0 && model.inputSize.height > 0)
    }

    @Test func aMissingFileIsRefusedWithItsPath() {
        #expect {
            try DigitModel(weightsAt: "/nonexistent/digits.weights")
        } throws: { error in
            "\(error)".contains("/nonexistent/digits.weights")
        }
    }

    @Test func aFileWithTheWrongMagicIsRefused() throws {
        var bytes = try Self.committedWeights()
        bytes[0] = UInt8(ascii: "X")
        let path = Self.temporaryFile(bytes)
        defer { unlink(path) }
        #expect {
            try DigitModel(weightsAt: path)
        } throws: { error in
            "\(error)".contains("magic")
        }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        #expect(throws: DigitModelError.self) { try DigitWeightsFile.decode(png) }
    }

    @Test func aTruncatedFileIsRefused() throws {
        let bytes = try Self.committedWeights()
        for length in [0, 3, 10, 30, bytes.count / 2, bytes.count - 1] {
            let path = Self.temporaryFile(Array(bytes.prefix(length)))
            defer { unlink(path) }
            #expect(throws: DigitModelError.self, "truncated to \(length) bytes") { try DigitModel(weightsAt: path) }
        }
    }

    @Test func aDamagedParameterIsCaughtByTheChecksum() throws {
        var bytes = try Self.committedWeights()
        bytes[bytes.count / 2] ^= 0x10
        #expect {
            try DigitWeightsFile.decode(bytes)
        } throws: { error in
            "\(error)".contains("checksum")
        }
    }

    @Test func anotherVersionIsRefusedByName() throws {
        var bytes = try Self.committedWeights()
        bytes[4] = 99
        #expect {
            try DigitWeightsFile.decode(bytes)
        } throws: { error in
            "\(error)".contains("version 99")
        }
    }

    @Test func encodingRoundTrips() throws {
        let network = try DigitNetwork(
            inputWidth: 8, inputHeight: 10,
            layers: [.convolution(outputs: 16), .maxPool, .dense(outputs: 16, relu: true), .dense(outputs: 100, relu: false)])
        let parameters = (0..<network.parameterCount).map { Float($0 % 97) / 97 - 0.5 }
        let exact = try DigitWeightsFile.decode(DigitWeightsFile.encode(network, parameters: parameters, encoding: .float32))
        #expect(exact.network.layers == network.layers)
        #expect(exact.network.input == network.input)
        #expect(exact.parameters == parameters)
        let half = try DigitWeightsFile.decode(DigitWeightsFile.encode(network, parameters: parameters, encoding: .float16))
        #expect(half.parameters == DigitWeightsFile.rounded(parameters, encoding: .float16))
        #expect(zip(half.parameters, parameters).allSatisfy { abs($0 - $1) <= 0.001 })
    }

    @Test func aSyntheticCropReadsInRangeAndTheSameEveryTime() throws {
        let model = try DigitModel(weightsAt: Self.weightsPath)
        for crop in [Self.syntheticCrop(), Self.syntheticCrop(width: 12, height: 18), Self.syntheticCrop(width: 90, height: 160),
                     RGBImage(width: 20, height: 32, red: 128, green: 128, blue: 128)] {
            let first = model.read(crop), second = model.read(crop)
            #expect((0..<10).contains(first.value))
            #expect((0...1).contains(first.confidence))
            #expect(first == second)
        }
    }

    @Test func concurrentReadsAgreeWithASerialRead() async throws {
        let model = try DigitModel(weightsAt: Self.weightsPath)
        let crop = Self.syntheticCrop()
        let expected = model.read(crop)
        let readings = await withTaskGroup(of: DigitReading.self) { group in
            for _ in 0..<8 { group.addTask { model.read(crop) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(readings.allSatisfy { $0 == expected })
    }

    @Test func theCircularMeanWrapsAndTheConfidenceMeasuresAgreement() {
        func reading(_ fill: (Int) -> Float) -> DigitReading {
            var p = (0..<100).map(fill)
            let sum = p.reduce(0, +)
            for k in p.indices { p[k] /= sum }
            return p.withUnsafeBufferPointer { DigitDecoding.reading(from: $0) }
        }
        // Split evenly between 9.9 and 0.0: the wheel is at 9.95, not at 5.
        let wrapped = reading { $0 == 99 || $0 == 0 ? 1 : 0 }
        #expect(DigitReading.circularDistance(wrapped.value, 9.95) < 1e-6)
        #expect(wrapped.confidence > 0.99)
        // Mid-roll between 3 and 4: 3.5 and confident.
        let midRoll = reading { (33...37).contains($0) ? 1 : 0 }
        #expect(abs(midRoll.value - 3.5) < 1e-6 && midRoll.confidence > 0.99)
        // Torn between 2 and 7: not confident, whatever the value.
        let torn = reading { $0 == 20 || $0 == 70 ? 1 : 0.001 }
        #expect(torn.confidence < 0.6)
        let flat = reading { _ in 1 }
        #expect(flat.confidence < 0.15 && (0..<10).contains(flat.value))
        #expect(DigitReading.circularDistance(0.1, 9.9) < 0.2 + 1e-9)
    }

    // MARK: With the corpus

    @Test(.enabled(if: DigitCorpus.digitsFolder(DigitModelTests.corpus) != nil, "needs the corpus's meters/digits/labels.csv (../shared/corpus or INTAKE_CORPUS)"))
    func theValidationSplitIsReadAsWellAsTrainingReported() throws {
        let folder = try #require(DigitCorpus.digitsFolder(Self.corpus))
        let model = try DigitModel(weightsAt: Self.weightsPath)
        let validation = try DigitCorpus.samples(folder: folder).filter { DigitCorpus.isValidation($0.path) }
        #expect(validation.count > 2000)
        let codec = try JPEGCodec()
        var withinHalf = 0, withinTwoTenths = 0, withinOneTenth = 0, confidentAndWrong = 0
        var inference = 0.0
        for sample in validation {
            let bytes = try #require(try? WholeFile.read(folder + "/" + sample.path))
            let crop = try DigitCorpus.decodeCrop(bytes, jpeg: codec)
            let started = Self.now()
            let reading = model.read(crop)
            inference += Self.now() - started
            let distance = DigitReading.circularDistance(reading.value, sample.value)
            if distance <= 0.5 + 1e-9 { withinHalf += 1 } else if reading.confidence >= 0.9 { confidentAndWrong += 1 }
            if distance <= 0.2 + 1e-9 { withinTwoTenths += 1 }
            if distance <= 0.1 + 1e-9 { withinOneTenth += 1 }
        }
        let count = Double(validation.count)
        func percent(_ n: Int) -> String { "\((Double(n) / count * 10000).rounded() / 100)%" }
        print(
            "DigitModelTests: \(validation.count) validation crops: within 0.5 \(percent(withinHalf)), 0.2 \(percent(withinTwoTenths)), "
                + "0.1 \(percent(withinOneTenth)); \(confidentAndWrong) wrong with confidence ≥ 0.9; "
                + "\(Int(inference / count * 1e6)) µs per read")
        #expect(Double(withinHalf) / count >= Self.expectedWithinHalf)
        #expect(Double(withinTwoTenths) / count >= Self.expectedWithinTwoTenths)
        #expect(Double(withinOneTenth) / count >= Self.expectedWithinOneTenth)
    }
}
