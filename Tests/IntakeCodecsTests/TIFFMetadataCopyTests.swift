import IntakeCodecs
import Testing

/// A TIFF's EXIF when its directories lie after more than 64 KiB of pixels, as libtiff and most
/// scanners write them: copied into a small TIFF the EXIF reader takes whole.
@Suite struct TIFFMetadataCopyTests {
    /// One entry of a hand-made directory: its value's bytes (inline when four or fewer), or a
    /// directory it points to.
    enum Value {
        case bytes(type: UInt16, count: UInt32, [UInt8])
        case directory([(UInt16, Value)])
    }

    /// A TIFF of `width`×`height` grey pixels (one strip, right after the header) and, after
    /// them, IFD0 with the image's own entries and `entries`, in the given byte order.
    static func scannerTIFF(width: UInt32 = 300, height: UInt32 = 250, bigEndian: Bool, entries: [(UInt16, Value)]) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32) -> [UInt8] { bigEndian ? u16(UInt16(v >> 16)) + u16(UInt16(v & 0xFFFF)) : u16(UInt16(v & 0xFFFF)) + u16(UInt16(v >> 16)) }
        let pixelCount = Int(width * height)
        var bytes = (bigEndian ? Array("MM".utf8) + u16(42) : Array("II".utf8) + u16(42)) + u32(0)
        bytes += (0..<pixelCount).map { UInt8(truncatingIfNeeded: $0 % 251) }
        func long(_ v: UInt32) -> Value { .bytes(type: 4, count: 1, u32(v)) }
        func short(_ v: UInt16) -> Value { .bytes(type: 3, count: 1, u16(v)) }
        let image: [(UInt16, Value)] = [
            (256, long(width)), (257, long(height)), (258, short(8)), (259, short(1)), (262, short(1)),
            (273, long(8)), (277, short(1)), (278, long(height)), (279, long(UInt32(pixelCount))),
        ]
        /// Writes a directory at the end and answers its offset.
        func write(_ entries: [(UInt16, Value)]) -> UInt32 {
            if bytes.count % 2 == 1 { bytes.append(0) }
            let start = bytes.count
            bytes += u16(UInt16(entries.count)) + [UInt8](repeating: 0, count: 12 * entries.count) + u32(0)
            for (index, (tag, value)) in entries.sorted(by: { $0.0 < $1.0 }).enumerated() {
                let head: [UInt8]
                switch value {
                case .directory(let children):
                    head = u16(tag) + u16(4) + u32(1) + u32(write(children))
                case .bytes(let type, let count, let data) where data.count <= 4:
                    head = u16(tag) + u16(type) + u32(count) + data + [UInt8](repeating: 0, count: 4 - data.count)
                case .bytes(let type, let count, let data):
                    if bytes.count % 2 == 1 { bytes.append(0) }
                    head = u16(tag) + u16(type) + u32(count) + u32(UInt32(bytes.count))
                    bytes += data
                }
                bytes.replaceSubrange((start + 2 + 12 * index)..<(start + 14 + 12 * index), with: head)
            }
            return UInt32(start)
        }
        let first = write(image + entries)
        bytes.replaceSubrange(4..<8, with: u32(first))
        return bytes
    }

    static func ascii(_ text: String) -> Value {
        let bytes = Array(text.utf8) + [0]
        return .bytes(type: 2, count: UInt32(bytes.count), bytes)
    }

    static func rationals(_ values: [(UInt32, UInt32)], bigEndian: Bool) -> Value {
        let bytes = values.flatMap { [$0.0, $0.1] }.flatMap { v -> [UInt8] in
            let le = (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) }
            return bigEndian ? le.reversed() : le
        }
        return .bytes(type: 5, count: UInt32(values.count), bytes)
    }

    static func scannerEntries(bigEndian: Bool) -> [(UInt16, Value)] {
        let iso: [UInt8] = bigEndian ? [0x01, 0x90] : [0x90, 0x01]  // 400
        let exif: [(UInt16, Value)] = [
            (34855, .bytes(type: 3, count: 1, iso)), (36867, ascii("2024:05:06 07:08:09")),
            (37500, .bytes(type: 7, count: 12, Array("Nikon\0\0\0\0\0\0\0".utf8))),
        ]
        let gps: [(UInt16, Value)] = [
            (1, ascii("N")), (2, rationals([(52, 1), (30, 1), (0, 1)], bigEndian: bigEndian)),
            (3, ascii("E")), (4, rationals([(13, 1), (24, 1), (36, 1)], bigEndian: bigEndian)),
        ]
        return [
            (271, ascii("Scanner Works")), (272, ascii("FlatBed 9000")), (306, ascii("2024:05:06 07:08:09")),
            (34675, .bytes(type: 7, count: 3000, [UInt8](repeating: 7, count: 3000))),  // an ICC profile: left out
            (34665, .directory(exif)), (34853, .directory(gps)),
        ]
    }

    @Test(arguments: [false, true])
    func aScannersTIFFWithItsDirectoriesAfterThePixelsHasItsEXIFRead(bigEndian: Bool) throws {
        let file = Self.scannerTIFF(bigEndian: bigEndian, entries: Self.scannerEntries(bigEndian: bigEndian))
        #expect(file.count > 70_000, "the directory lies beyond the first 64 KiB")
        let decoded = try file.withUnsafeBytes { try TIFFDecoder.decode($0, limits: DecodeLimits()) }
        #expect(decoded.image.width == 300 && decoded.image.height == 250)
        let exif = try #require(decoded.exif)
        #expect(exif.count < 1024, "the copy holds the metadata, not the pixels or the ICC profile")
        #expect(decoded.exifOmitted.contains { $0.contains("maker note") })

        let reading = EXIFReader.read(tiff: exif)
        let info = try #require(reading.info)
        #expect(info.make == "Scanner Works" && info.model == "FlatBed 9000")
        #expect(info.iso == 400)
        #expect(info.dateTaken == "2024:05:06 07:08:09", "DateTimeOriginal, from the EXIF directory")
        #expect(abs((info.latitude ?? 0) - 52.5) < 1e-6 && abs((info.longitude ?? 0) - 13.41) < 1e-6)
        #expect(reading.problems.isEmpty, "\(reading.problems)")
    }

    /// The copy never reads outside the file and never follows a loop: a directory that points
    /// back at itself, offsets past the end, and every truncation of the metadata.
    @Test func hostileDirectoriesAreCopiedAsFarAsTheyHoldAndNeverCrash() throws {
        // The EXIF pointer aimed at IFD0 itself: found once, not followed again.
        var looping = Self.scannerTIFF(bigEndian: false, entries: [(271, Self.ascii("Loop Inc"))])
        let first = Int(looping[4]) | Int(looping[5]) << 8 | Int(looping[6]) << 16 | Int(looping[7]) << 24
        let count = Int(looping[first]) | Int(looping[first + 1]) << 8
        // Replace IFD0's StripByteCounts (left out of the copy anyway) with an EXIF pointer to IFD0.
        for index in 0..<count where looping[first + 2 + 12 * index] == 0x17 && looping[first + 3 + 12 * index] == 0x01 {
            let at = first + 2 + 12 * index
            looping.replaceSubrange(at..<(at + 12), with: [0x69, 0x87, 4, 0, 1, 0, 0, 0] + looping[4..<8])
        }
        let copied = try #require(looping.withUnsafeBytes { TIFFMetadataCopy.copy($0) })
        #expect(EXIFReader.read(tiff: copied.tiff).info?.make == "Loop Inc")

        // Every cut through the directories: a copy of what is left, or nil; never a crash.
        let whole = Self.scannerTIFF(bigEndian: true, entries: Self.scannerEntries(bigEndian: true))
        for end in stride(from: 75_000, through: whole.count, by: 1) {
            let cut = Array(whole.prefix(end))
            if let copy = cut.withUnsafeBytes({ TIFFMetadataCopy.copy($0) }) {
                _ = EXIFReader.read(tiff: copy.tiff)
            }
        }
        // An entry whose value lies past the end is dropped; the rest stays.
        var pastTheEnd = Self.scannerTIFF(bigEndian: false, entries: [(271, Self.ascii("Past The End Ltd")), (272, Self.ascii("Fine Model"))])
        let ifd = Int(pastTheEnd[4]) | Int(pastTheEnd[5]) << 8 | Int(pastTheEnd[6]) << 16 | Int(pastTheEnd[7]) << 24
        let entries = Int(pastTheEnd[ifd]) | Int(pastTheEnd[ifd + 1]) << 8
        for index in 0..<entries where pastTheEnd[ifd + 2 + 12 * index] == 0x0F && pastTheEnd[ifd + 3 + 12 * index] == 0x01 {
            pastTheEnd.replaceSubrange((ifd + 10 + 12 * index)..<(ifd + 14 + 12 * index), with: [0xFF, 0xFF, 0xFF, 0x7F])
        }
        let partial = try #require(pastTheEnd.withUnsafeBytes { TIFFMetadataCopy.copy($0) })
        let info = EXIFReader.read(tiff: partial.tiff).info
        #expect(info?.make == nil && info?.model == "Fine Model")
    }

    /// Where the directory lies within the first 64 KiB, the file's own bytes are read as before
    /// (the maker note keeps its offsets), and nothing is said to be left out.
    @Test func aSmallTIFFIsReadFromItsOwnBytes() throws {
        let small = Self.scannerTIFF(width: 40, height: 30, bigEndian: false, entries: Self.scannerEntries(bigEndian: false))
        let decoded = try small.withUnsafeBytes { try TIFFDecoder.decode($0, limits: DecodeLimits()) }
        #expect(decoded.exif?.count == small.count && decoded.exifOmitted.isEmpty)
        #expect(EXIFReader.read(tiff: try #require(decoded.exif)).info?.make == "Scanner Works")
    }
}
