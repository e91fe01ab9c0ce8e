import IntakeTestSupport
import Testing

@testable import IntakeCodecs

/// ISO from the maker note: only what a camera could have used, never a trap.
@Suite struct MakerNoteTests {
    @Test func onlyAPlausibleISOIsKept() {
        #expect(MakerNote.plausibleISO(100) == 100)
        #expect(MakerNote.plausibleISO(64.84) == 65)
        #expect(MakerNote.plausibleISO(0) == nil && MakerNote.plausibleISO(-50) == nil && MakerNote.plausibleISO(nil) == nil)
        // A damaged note can spell a number no Int holds; converting it trapped before.
        #expect(MakerNote.plausibleISO(1e300) == nil && MakerNote.plausibleISO(.infinity) == nil)
    }

    /// The input the EXIF fuzz target found: a Canon maker note whose ISO reads as 1e300 or so.
    @Test func theFuzzersMakerNoteIsReadWithoutATrap() throws {
        let path = Fixtures.packageRoot + "/Tests/Fixtures/fuzz/exif-maker-note-iso-1e300.bin"
        let payload = try #require(Fixtures.readFile(path))
        let reading = payload.withUnsafeBytes { EXIFReader.read(app1: $0) }
        #expect(reading.info?.iso == nil || (1...10_000_000).contains(reading.info!.iso!))
    }
}
