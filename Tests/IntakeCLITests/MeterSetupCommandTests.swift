import Foundation
import IntakeCodecs
import IntakeTestSupport
import Testing

/// `intake meter setup` and `intake meter check`, run as real processes on the demo meter.
/// The demo meter's photos, where the shipped profile's paths (relative to etc/meters) find them.
enum DemoMeterPhotos {
    static var folder: String? {
        let folder = Fixtures.packageRoot + "/../shared/corpus/meters/demo-meter"
        return FileManager.default.fileExists(atPath: folder + "/reference.jpg") ? folder : nil
    }
}

@Suite(.enabled(if: DemoMeterPhotos.folder != nil, "needs the corpus's meters/demo-meter beside the checkout"))
struct MeterSetupCommandTests {
    let intake = ChildProcess.built("intake")
    static var demoFolder: String? { DemoMeterPhotos.folder }

    static let photos = [
        "530.07077", "530.07325", "530.12067", "530.21419", "530.48435", "530.70265",
        "530.95675", "531.10877", "531.24108", "531.38301", "531.63071", "531.82235",
    ]

    /// A configuration whose profiles folder is `folder`, with the digit and dial models in it.
    func configuration(profiles folder: String, in temporary: TemporaryFolder) throws -> String {
        for model in ["digits.weights", "dials.weights"] where !FileManager.default.fileExists(atPath: folder + "/" + model) {
            let weights = try #require(Fixtures.readFile(Fixtures.packageRoot + "/etc/meters/" + model))
            _ = FileManager.default.createFile(atPath: folder + "/" + model, contents: Data(weights))
        }
        return temporary.write("intake-\(folder.hashValue).toml", Array("[meters]\nprofiles_dir = \"\(folder)\"\n".utf8))
    }

    /// `meter check`'s value for each photo, nil where it abstained.
    func checked(_ meter: String, config: String, out: String) throws -> [String: String?] {
        let folder = try #require(Self.demoFolder)
        let result = try ChildProcess.run(intake, ["meter", "check", "--config", config, "--out", out, meter] + Self.photos.map { folder + "/\($0).jpg" })
        #expect(result.status == 0 || result.status == 2, "\(result.standardError)")
        var values: [String: String?] = [:]
        for line in result.standardOutput.split(separator: "\n") {
            let name = String(line.split(separator: ":")[0].split(separator: "/").last!.dropLast(4))
            let after = line.split(separator: ": ", maxSplits: 1)[1]
            values[name] = after.hasPrefix("unreadable") ? String?.none : String(after.split(separator: " ")[0])
        }
        #expect(values.count == Self.photos.count, "\(result.standardOutput)")
        return values
    }

    /// `intake process --meter` reads through the daemon's job runner: the meter is a timed stage.
    @Test func processWithAMeterReadsItAsAStageOfTheJob() throws {
        let folder = try #require(Self.demoFolder)
        let temporary = try TemporaryFolder()
        let config = try configuration(profiles: Fixtures.packageRoot + "/etc/meters", in: temporary)
        let result = try ChildProcess.run(intake, ["process", "--json", "--config", config, "--meter", "demo-meter", folder + "/530.48435.jpg"])
        #expect(result.status == 0, "\(result.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let stages = try #require(report["stages_ms"] as? [String: Double])
        #expect(stages["meter"] != nil, "no meter stage in \(stages)")
        let meter = try #require(report["meter"] as? [String: Any])
        let reading = try #require(meter["reading"] as? Double)
        #expect(abs(reading - 530.48) < 0.05, "read \(reading)")
    }

    @Test func aProfileSetUpFromTheReferenceReadsAsWellAsTheShippedOne() throws {
        let folder = try #require(Self.demoFolder)
        let temporary = try TemporaryFolder()
        let profiles = temporary.path + "/profiles"
        let setup = try ChildProcess.run(intake, ["meter", "setup", "--out", profiles + "/proposed.toml", "proposed", folder + "/reference.jpg"])
        #expect(setup.status == 0, "\(setup.standardError)")
        #expect(setup.standardOutput.contains("5 wheels, 4 dials, 4 decimals"), "\(setup.standardOutput)")
        #expect(setup.standardOutput.contains("unsure: which dial is which fraction"))
        let overlay = try #require(Fixtures.readFile(profiles + "/proposed.setup.png"))
        let decoded = try overlay.withUnsafeBytes { try PNGDecoder.decode($0, limits: DecodeLimits()).image }
        #expect(decoded.width == 640 && decoded.height == 480)
        let profileText = String(decoding: try #require(Fixtures.readFile(profiles + "/proposed.toml")), as: UTF8.self)
        #expect(profileText.contains("# UNSURE: which dial is which fraction"))
        // A second setup does not overwrite the first without --force.
        let again = try ChildProcess.run(intake, ["meter", "setup", "--out", profiles + "/proposed.toml", "proposed", folder + "/reference.jpg"])
        #expect(again.status != 0 && again.standardError.contains("--force"))

        let proposed = try checked("proposed", config: try configuration(profiles: profiles, in: temporary), out: temporary.path + "/a")
        let shipped = try checked("demo-meter", config: try configuration(profiles: Fixtures.packageRoot + "/etc/meters", in: temporary),
                                  out: temporary.path + "/b")
        let readByShipped = shipped.values.compactMap { $0 }.count
        #expect(readByShipped >= 11)
        #expect(proposed.values.compactMap { $0 }.count >= readByShipped, "proposed \(proposed), shipped \(shipped)")
        for name in Self.photos {
            if let value = proposed[name] ?? nil, let reference = shipped[name] ?? nil {
                #expect(value == reference, "\(name): the proposed profile reads \(value), the shipped one \(reference)")
            }
        }
    }

    /// Set up under a name that TOML must escape, the profile loads again (the name used to go into
    /// the file as it was, and a quote broke it), and setup reads its own photo with it.
    @Test func setupReadsItsOwnPhotoThroughTheProfileItWrote() throws {
        let folder = try #require(Self.demoFolder)
        let temporary = try TemporaryFolder()
        let profiles = temporary.path + "/profiles"
        try FileManager.default.createDirectory(atPath: profiles, withIntermediateDirectories: true)
        let config = try configuration(profiles: profiles, in: temporary)
        let name = #"odd "name" \ here"#
        let setup = try ChildProcess.run(intake, ["meter", "setup", "--config", config, name, folder + "/reference.jpg"])
        #expect(setup.status == 0, "\(setup.standardError)\(setup.standardOutput)")
        #expect(setup.standardOutput.contains("reads its own photo as 531.82"), "\(setup.standardOutput)")
        let check = try ChildProcess.run(intake, ["meter", "check", "--config", config, "--out", temporary.path, name, folder + "/530.21419.jpg"])
        #expect(check.status == 0, "\(check.standardError)\(check.standardOutput)")
        let refused = try ChildProcess.run(intake, ["meter", "setup", "--config", config, "50%", folder + "/reference.jpg"])
        #expect(refused.status != 0 && refused.standardError.contains("'%'"), "\(refused.standardError)")
    }

    @Test func checkDrawsTheBoxesWhereTheProfileSays() throws {
        let folder = try #require(Self.demoFolder)
        let temporary = try TemporaryFolder()
        let config = try configuration(profiles: Fixtures.packageRoot + "/etc/meters", in: temporary)
        let result = try ChildProcess.run(intake, ["meter", "check", "--config", config, "--out", temporary.path, "demo-meter", folder + "/530.21419.jpg"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("530.21419.jpg: 530.2142 m3"), "\(result.standardOutput)")
        let png = try #require(Fixtures.readFile(temporary.path + "/530.21419.check.png"))
        let overlay = try png.withUnsafeBytes { try PNGDecoder.decode($0, limits: DecodeLimits()).image }
        #expect(overlay.width == 640 && overlay.height == 480)
        // The first wheel's box is at (194, 62), 49 × 71 in demo-meter.toml; the first dial's at (449, 198), 120 × 120.
        for (x, y) in [(194 + 20, 62), (194, 62 + 30), (194 + 48, 62 + 40)] { #expect(overlay[x, y] == (0, 200, 255), "(\(x), \(y)): \(overlay[x, y])") }
        for (x, y) in [(449 + 60, 198), (449, 198 + 60)] { #expect(overlay[x, y] == (255, 230, 0), "(\(x), \(y)): \(overlay[x, y])") }
    }

    @Test func anotherMetersPhotoIsRefusedWithTheReason() throws {
        let folder = try #require(Self.demoFolder)
        let temporary = try TemporaryFolder()
        let config = try configuration(profiles: Fixtures.packageRoot + "/etc/meters", in: temporary)
        let result = try ChildProcess.run(intake, ["meter", "check", "--config", config, "--out", temporary.path, "demo-meter",
                                                   folder + "/../unlabelled/image_tmp_original.jpg"])
        #expect(result.status == 2)
        #expect(result.standardOutput.contains("unreadable: only "), "\(result.standardOutput)")
        #expect(FileManager.default.fileExists(atPath: temporary.path + "/image_tmp_original.check.png"))
    }
}

/// What `meter setup` does with a photo it finds nothing to read in: no corpus needed.
@Suite struct MeterSetupRefusalTests {
    @Test func aPhotoWithNothingToReadGetsAnOverlayAndNoProfile() throws {
        let temporary = try TemporaryFolder()
        let photo = temporary.write("wall.jpg", try JPEGCodec().encode(RGBImage(width: 320, height: 240, red: 128, green: 128, blue: 128), quality: 90))
        let out = temporary.path + "/profiles/wall.toml"
        let setup = try ChildProcess.run(ChildProcess.built("intake"), ["meter", "setup", "--out", out, "wall", photo])
        #expect(setup.status == 2, "\(setup.standardError)\(setup.standardOutput)")
        #expect(setup.standardOutput.contains("no profile written"))
        #expect(!FileManager.default.fileExists(atPath: out), "a profile with nothing to read was written")
        #expect(!FileManager.default.fileExists(atPath: temporary.path + "/profiles/wall.reference.png"))
        #expect(FileManager.default.fileExists(atPath: temporary.path + "/profiles/wall.setup.png"))
        // An --out that is not a profile's file name is refused before anything is written.
        let bad = try ChildProcess.run(ChildProcess.built("intake"), ["meter", "setup", "--out", "z", "wall", photo])
        #expect(bad.status != 0 && bad.standardError.contains(".toml"), "\(bad.standardError)")
    }
}
