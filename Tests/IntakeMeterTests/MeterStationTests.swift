import IntakeCodecs
import IntakeMeter
import IntakeTestSupport
import IntakeTraining
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The station's profiles: loaded once, and loaded again when a profile is replaced (as `intake
/// meter setup --force` replaces one after the camera moved), without a restart.
@Suite struct MeterStationTests {
    /// A profiles folder with the committed models and a reference picture.
    static func profilesFolder() throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        for weights in ["digits.weights", "dials.weights"] {
            folder.write(weights, try #require(Fixtures.readFile(DigitModelTests.packageRoot + "/etc/meters/" + weights)))
        }
        var random = SplitMix64(seed: 5, stream: 9, item: 1)
        let dial = DialRenderer(value: 3.4, random: &random).image(random: &random)
        folder.write("m.reference.png", try PNGEncoder.encode(dial))
        return folder
    }

    static func profile(boxes: String) -> [UInt8] {
        Array("name = \"m\"\nreference = \"m.reference.png\"\nunit = \"m3\"\ndecimals = 1\ntolerance = 1\n\(boxes)".utf8)
    }

    /// Replaces the profile as `meter setup` does: written under another name, renamed over it.
    static func replace(_ folder: TemporaryFolder, _ bytes: [UInt8]) {
        let written = folder.write(".m.toml.new", bytes)
        rename(written, folder.path + "/m.toml")
    }

    @Test func aReplacedProfileIsLoadedAgainAndAnUnchangedOneIsNot() throws {
        let folder = try Self.profilesFolder()
        Self.replace(folder, Self.profile(boxes: ""))
        let station = MeterStation(profilesFolder: folder.path)
        guard case .failure(let first) = try #require(station.reader(for: "m")) else {
            Issue.record("a profile with nothing to read was loaded")
            return
        }
        #expect("\(first)".contains("at least one"))

        let dial = "\n[[dials]]\nx = 0\ny = 0\nwidth = 40\nheight = 40\nfactor = 0.1\n"
        Self.replace(folder, Self.profile(boxes: dial))
        let second = try #require(station.reader(for: "m"))
        if case .failure(let error) = second {
            #expect(!"\(error)".contains("at least one"), "the old profile's failure was kept: \(error)")
        }
        // Unchanged, the same reader (or the same reason) comes back without loading again.
        let again = try #require(station.reader(for: "m"))
        switch (second, again) {
        case (.success(let a), .success(let b)): #expect(a === b)
        case (.failure(let a), .failure(let b)): #expect("\(a)" == "\(b)")
        default: Issue.record("an unchanged profile was loaded again with another outcome")
        }
    }
}
