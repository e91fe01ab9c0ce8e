import Foundation
import IntakeCodecs
import IntakeTestSupport
import Testing

/// `intake process`, run as a real process on files the test makes.
@Suite struct ProcessCommandTests {
    let intake = ChildProcess.built("intake")

    func photo(width: Int, height: Int, orientation: Int? = nil) throws -> [UInt8] {
        let jpeg = try JPEGCodec().encode(Fixtures.gradient(width: width, height: height), quality: 92)
        guard let orientation else { return jpeg }
        var exif = EXIFBuilder()
        exif.orientation = orientation
        exif.make = "TestCam"
        return exif.inserted(into: jpeg)
    }

    func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test func processesGoodFilesAndLaysOutEveryOutput() throws {
        let folder = try TemporaryFolder()
        let wide = folder.write("wide photo.jpg", try photo(width: 800, height: 400, orientation: 6))
        let png = folder.write("chart.png", PNGWriter(width: 3, height: 2, colorType: 2).encode(rows: [[UInt8]](repeating: [9, 9, 9, 200, 200, 200, 0, 0, 0], count: 2)))
        let result = try ChildProcess.run(intake, ["process", "--json", "--out", folder.path + "/state", wide, png])
        #expect(result.status == 0, "\(result.standardError)")
        let reports = try jsonLines(result.standardOutput)
        #expect(reports.count == 2)

        let first = reports[0]
        #expect(first["status"] as? String == "ok")
        #expect(first["type"] as? String == "jpeg")
        #expect(first["width"] as? Int == 800 && first["height"] as? Int == 400)
        #expect(first["orientation"] as? Int == 6)
        #expect((first["exif"] as? [String: Any])?["make"] as? String == "TestCam")
        #expect((first["sha256"] as? String)?.count == 64)
        let stages = try #require(first["stages_ms"] as? [String: Double])
        // The same stages as a daemon job, writing the outputs (commit) included.
        #expect(Set(stages.keys) == ["sniff", "decode", "metadata", "orient", "classify", "derive", "commit"])

        let job = try #require(first["job"] as? String)
        let outputs = try #require(first["outputs"] as? [String: Any])
        let derivative = try #require(outputs["derivative"] as? String)
        #expect(derivative.hasSuffix("/\(job)-wide photo_256x256.jpg"))
        #expect(derivative.contains("/state/processed/prod/"))
        let rotations = try #require(outputs["rotations"] as? [String: String])
        #expect(Set(rotations.keys) == ["90", "180", "270", "360"])
        for (angle, path) in rotations {
            #expect(path == folder.path + "/state/augmented/prod/\(angle)-degree/\(job)-wide photo.jpg")
        }

        // The derivative is 256×256 and upright: the stored 800×400 turned to 400×800 fits as 128×256.
        let codec = try JPEGCodec()
        let bytes = try #require(Fixtures.readFile(derivative))
        let image = try bytes.withUnsafeBytes { data in
            try codec.decode(data, header: codec.readHeader(data), scale: .full, adobeInverted: false).image
        }
        #expect(image.width == 256 && image.height == 256)
        #expect(image[10, 128] == (255, 255, 255) && image[245, 128] == (255, 255, 255))
        #expect(image[128, 128] != (255, 255, 255))
        #expect(reports[1]["type"] as? String == "png")
        // Labels: the stored 800×400 turned upright is a portrait; the stage was timed.
        let labels = try #require(first["labels"] as? [[String: Any]])
        #expect(labels.contains { $0["name"] as? String == "portrait" && $0["confidence"] as? Double == 1 && $0["source"] as? String == "intake" })
        #expect(stages["classify"] != nil)
        // No temporary file is left behind.
        #expect(!FileManagerless.files(under: folder.path + "/state").contains { $0.contains(".intake-tmp-") })
    }

    @Test func refusesBadFilesWithStageAndReasonAndExitsTwo() throws {
        let folder = try TemporaryFolder()
        let good = folder.write("good.jpg", try photo(width: 64, height: 64))
        // A Photoshop file named .jpg: a format intake does not read, lying about its type.
        let psd = folder.write("lies.jpg", Array("8BPS".utf8) + [0, 1] + [UInt8](repeating: 0, count: 32))
        let empty = folder.write("empty.png", [])
        let truncatedHeader = folder.write("cut.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 0x00])
        let missing = folder.path + "/not-there.jpg"
        let result = try ChildProcess.run(intake, ["process", "--json", good, psd, empty, truncatedHeader, missing])
        #expect(result.status == 2)
        let reports = try jsonLines(result.standardOutput)
        #expect(reports.map { $0["status"] as? String } == ["ok", "refused", "refused", "refused", "refused"])
        #expect((reports[1]["reason"] as? String)?.contains("Photoshop") == true)
        #expect(reports[1]["stage"] as? String == "sniff")
        #expect((reports[2]["reason"] as? String)?.contains("empty file") == true)
        // Not "declares an empty image (0×0)": the file ends before any header gives a size.
        #expect((reports[3]["reason"] as? String)?.contains("JPEG cut short: its 5 bytes end before the frame header") == true, "\(reports[3])")
        #expect((reports[4]["reason"] as? String)?.contains("no such file") == true)
    }

    @Test func humanOutputSaysWhatHappened() throws {
        let folder = try TemporaryFolder()
        let good = folder.write("good.jpg", try photo(width: 300, height: 200))
        let text = folder.write("notes.jpg", Array("shopping list\n".utf8))
        // A line break in a name must not split its line.
        let broken = folder.write("two\nlines.jpg", try photo(width: 30, height: 20))
        let result = try ChildProcess.run(intake, ["process", good, text, broken])
        #expect(result.status == 2)
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("ok") && lines[0].contains("300×200"))
        #expect(lines[1].hasPrefix("refused") && lines[1].contains("sniff: not a supported image: the content is text"))
        #expect(lines.last?.hasPrefix("ok") == true && lines.last?.contains("/two%0Alines.jpg  jpeg 30×20") == true, "\(lines)")
    }

    @Test func aBadConfigurationIsAnErrorNamingTheKey() throws {
        let folder = try TemporaryFolder()
        let config = folder.write("intake.toml", Array("[limits]\nmax_pixel = 5\n".utf8))
        let good = folder.write("good.jpg", try photo(width: 64, height: 64))
        let result = try ChildProcess.run(intake, ["process", "--config", config, good])
        #expect(result.status == 1)
        #expect(result.standardError.contains("max_pixel"))
        #expect(result.standardError.contains("intake.toml:2"))
    }

    @Test func limitsFromTheConfigurationApply() throws {
        let folder = try TemporaryFolder()
        let config = folder.write("intake.toml", Array("[limits]\nmax_pixels = 1000\nmax_bytes = 100000\n".utf8))
        let big = folder.write("big.jpg", try photo(width: 100, height: 100))
        let result = try ChildProcess.run(intake, ["process", "--json", "--config", config, big])
        #expect(result.status == 2)
        let report = try #require(try jsonLines(result.standardOutput).first)
        #expect(report["stage"] as? String == "sniff")
        #expect((report["reason"] as? String)?.contains("over the limit") == true)
    }

    @Test(.enabled(if: Fixtures.corpus != nil, "needs ../shared/corpus beside the checkout"),
          .enabled(if: access("/usr/bin/time", X_OK) == 0, "needs GNU time (Debian's time) to measure a child's peak memory"))
    func chunkBombsStayWithinMemory() throws {
        let corpus = try #require(Fixtures.corpus)
        // Each of these 57-byte files makes stock libpng allocate about 1 GiB.
        let crashers = ["iTXt", "pCAL", "sCAL", "sPLT", "tEXt", "zTXt"].map {
            corpus + "/images/libpng-testpngs/testpngs/crashers/huge_\($0)_chunk.png"
        }
        // Measured by GNU time, not by this process's wait4: a child that posix_spawn starts
        // shares this (large, multi-threaded) test process's memory until it execs, and Linux
        // counts that memory's peak into the child's. GNU time forks from its own small image.
        let folder = try TemporaryFolder()
        let peakFile = folder.path + "/peak"
        let result = try ChildProcess.run("/usr/bin/time", ["-o", peakFile, "-f", "%M", intake, "process", "--json"] + crashers)
        #expect(result.status == 0 || result.status == 2)
        #expect(try jsonLines(result.standardOutput).count == 6)
        let peakText = String(decoding: Fixtures.readFile(peakFile) ?? [], as: UTF8.self)
        let peakKilobytes = try #require(peakText.split(separator: "\n").last.flatMap { Int($0) }, "GNU time wrote \(peakText)")
        #expect(peakKilobytes < 200_000, "peak RSS \(peakKilobytes) KiB")
    }
}
