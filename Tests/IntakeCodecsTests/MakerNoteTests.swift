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

    /// A Reconyx HyperFire note as the HC500 writes it: version 0xF101, the date at byte 22 as
    /// second, minute, hour, month, day, year.
    static func hyperFire(_ date: [Int], bigEndianDate: Bool = false) -> [UInt8] {
        var note = [UInt8](repeating: 0, count: 80)
        (note[0], note[1]) = (0x01, 0xF1)
        for (index, value) in date.enumerated() {
            let low = UInt8(value & 0xFF), high = UInt8(value >> 8)
            (note[22 + 2 * index], note[23 + 2 * index]) = bigEndianDate ? (high, low) : (low, high)
        }
        return note
    }

    @Test func reconyxNotesGiveTheirDateAndNothingElseDoes() {
        func date(_ note: [UInt8], littleEndian: Bool = true) -> String? {
            note.withUnsafeBufferPointer { ReconyxNote.dateTaken($0, littleEndian: littleEndian) }
        }
        #expect(date(Self.hyperFire([0, 0, 10, 3, 16, 2020])) == "2020:03:16 10:00:00")
        // Some HyperFires write the date big-endian in a little-endian note.
        #expect(date(Self.hyperFire([5, 4, 23, 12, 31, 2019], bigEndianDate: true)) == "2019:12:31 23:04:05")
        var hf2 = Array("RECONYXH2".utf8) + [0] + [UInt8](repeating: 0, count: 80)
        for (index, value) in [7, 8, 9, 24, 6, 2021].enumerated() { (hf2[62 + 2 * index], hf2[63 + 2 * index]) = (UInt8(value & 0xFF), UInt8(value >> 8)) }
        #expect(date(hf2) == "2021:06:24 09:08:07")
        var ultra = Array("RECONYXUF".utf8) + [0] + [UInt8](repeating: 0, count: 80)
        for (index, value) in [1, 2, 3, 4, 5, 0xE6, 0x07].enumerated() { ultra[59 + index] = UInt8(value) }
        #expect(date(ultra) == "2022:05:04 03:02:01")
        // No calendar date, another maker's note, a note cut short: nothing.
        #expect(date(Self.hyperFire([0, 0, 10, 13, 16, 2020])) == nil)
        #expect(date(Self.hyperFire([0, 0, 10, 3, 16, 0])) == nil)
        #expect(date(Array("Nikon".utf8) + [UInt8](repeating: 0, count: 60)) == nil)
        #expect(date(Array(Self.hyperFire([0, 0, 10, 3, 16, 2020]).prefix(30))) == nil)
        #expect(date([]) == nil)
    }

    /// Through the EXIF reader: the maker note's date fills in only where the EXIF has none, and
    /// says where it came from.
    @Test func aReconyxDateFillsInTheDateTakenAndNamesItsSource() {
        let reading = Self.app1(makerNote: Self.hyperFire([30, 15, 6, 7, 4, 2018])).withUnsafeBytes { EXIFReader.read(app1: $0) }
        #expect(reading.info?.dateTaken == "2018:07:04 06:15:30")
        #expect(reading.info?.sources?["date_taken"] == "maker note (Reconyx)")
    }

    /// An APP1 payload: Exif header, a little-endian TIFF header, IFD0 pointing at the Exif IFD,
    /// whose one entry is the maker note.
    static func app1(makerNote: [UInt8]) -> [UInt8] {
        var tiff: [UInt8] = [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00]
        func short(_ v: Int) { tiff += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func long(_ v: Int) { short(v & 0xFFFF); short(v >> 16) }
        // IFD0 at 8: one entry, ExifIFDPointer → 26.
        short(1); short(0x8769); short(4); long(1); long(26); long(0)
        // Exif IFD at 26: one entry, MakerNote (UNDEFINED) → 44.
        short(1); short(0x927C); short(7); long(makerNote.count); long(44); long(0)
        tiff += makerNote
        return Array("Exif".utf8) + [0, 0] + tiff
    }
}
