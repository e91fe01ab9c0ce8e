/// A TIFF's metadata directories copied into a small TIFF of their own, for the EXIF reader.
///
/// libexif reads at most the first 64 KiB of what it is given (JPEG's APP1 limit), and libtiff
/// writes a TIFF's first directory after the pixels, so the Make, Model, dates and EXIF of most
/// scanned or converted TIFFs lie beyond its reach. This copies the first directory (IFD0) and
/// the EXIF, GPS and interoperability directories it points to, each value moved next to its
/// directory and every offset rewritten, into a TIFF of a few KiB in the same byte order.
///
/// Left out: what describes or holds the pixels (strip and tile tables, sub-images) and the
/// large blocks the EXIF reader does not read from IFD0 (ICC profile, XMP, IPTC, Photoshop).
/// The maker note is left out too, and said: its offsets are often counted from the original
/// file's start, so moved it would be misread.
///
/// Every offset and count is checked against the file; a loop of directories, an entry out of
/// the file or an unknown type drops that entry or directory, never more.
public enum TIFFMetadataCopy {
    /// What the copy holds, and what it left out that the EXIF reader would have read.
    public struct Copy: Sendable {
        /// A TIFF stream (header, IFD0, its sub-directories), under 64 KiB.
        public let tiff: [UInt8]
        /// What was left out, in words, e.g. "the maker note (its offsets would not survive a copy)".
        public let omitted: [String]
    }

    /// Any one value above this is left out (no tag the EXIF reader uses comes near it).
    static let largestValue = 16 * 1024
    static let maximumEntries = 512

    /// Pointers to the directories copied, by the tag that holds them.
    static let exifPointer: UInt16 = 34665, gpsPointer: UInt16 = 34853, interoperabilityPointer: UInt16 = 40965
    static let makerNote: UInt16 = 37500
    /// IFD0's entries about the pixels' storage or large blocks nothing here reads from IFD0:
    /// strips, tiles, free space, sub-IFDs, XMP, IPTC, Photoshop, ICC, JPEG tables.
    static let leftOut: Set<UInt16> = [273, 279, 288, 289, 324, 325, 330, 347, 513, 514, 700, 33723, 34377, 34675, 37724]

    /// The copy of `tiff`'s metadata directories, or nil when its header or first directory
    /// cannot be read, or the copy would itself exceed the EXIF reader's reach.
    public static func copy(_ tiff: UnsafeRawBufferPointer) -> Copy? {
        guard tiff.count >= 8 else { return nil }
        let bigEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): bigEndian = false
        case (0x4D, 0x4D): bigEndian = true
        default: return nil
        }
        var reader = Reader(bytes: tiff, bigEndian: bigEndian)
        guard reader.uint16(at: 2) == 42, let first = reader.uint32(at: 4),
            let directory = reader.directory(at: Int(first), depth: 0)
        else { return nil }
        var writer = Writer(bigEndian: bigEndian)
        writer.header()
        writer.write(directory)
        guard writer.bytes.count <= TIFFDecoder.exifReach else { return nil }
        return Copy(tiff: writer.bytes, omitted: reader.omitted.sorted())
    }

    /// One directory's entries, with the values they point to already read out.
    struct Directory {
        struct Entry {
            let tag: UInt16, type: UInt16, count: UInt32
            /// The value's bytes as stored (the file's byte order), or
            let value: [UInt8]
            /// the directory it points to.
            let child: Directory?
        }
        var entries: [Entry] = []
    }

    /// Reads directories out of the original file, bounds checked throughout.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let bigEndian: Bool
        var visited: Set<Int> = []
        var omitted: Set<String> = []

        init(bytes: UnsafeRawBufferPointer, bigEndian: Bool) {
            self.bytes = bytes
            self.bigEndian = bigEndian
        }

        func uint16(at offset: Int) -> UInt16? {
            guard offset >= 0, offset + 2 <= bytes.count else { return nil }
            let a = UInt16(bytes[offset]), b = UInt16(bytes[offset + 1])
            return bigEndian ? a << 8 | b : b << 8 | a
        }

        func uint32(at offset: Int) -> UInt32? {
            guard let high = uint16(at: offset + (bigEndian ? 0 : 2)), let low = uint16(at: offset + (bigEndian ? 2 : 0)) else { return nil }
            return UInt32(high) << 16 | UInt32(low)
        }

        /// BigTIFF's offsets and counts.
        func uint64(at offset: Int) -> UInt64? {
            guard let high = uint32(at: offset + (bigEndian ? 0 : 4)), let low = uint32(at: offset + (bigEndian ? 4 : 0)) else { return nil }
            return UInt64(high) << 32 | UInt64(low)
        }

        /// Bytes per value of each TIFF type (1…13), nil for a type TIFF does not define.
        static func size(ofType type: UInt16) -> Int? {
            switch type {
            case 1, 2, 6, 7: 1
            case 3, 8: 2
            case 4, 9, 11, 13: 4
            case 5, 10, 12: 8
            default: nil
            }
        }

        mutating func directory(at offset: Int, depth: Int) -> Directory? {
            // A loop is read once; IFD0, EXIF and interoperability are the deepest there are.
            guard depth < 3, visited.insert(offset).inserted, let count = uint16(at: offset), count > 0 else { return nil }
            guard count <= maximumEntries, offset + 2 + 12 * Int(count) <= bytes.count else { return nil }
            var directory = Directory()
            for index in 0..<Int(count) {
                let at = offset + 2 + 12 * index
                guard let tag = uint16(at: at), let type = uint16(at: at + 2), let count = uint32(at: at + 4) else { continue }
                if depth == 0, leftOut.contains(tag) { continue }
                if tag == makerNote {
                    omitted.insert("the maker note (its offsets would not survive a copy)")
                    continue
                }
                if [exifPointer, gpsPointer, interoperabilityPointer].contains(tag) {
                    if let target = uint32(at: at + 8), let child = self.directory(at: Int(target), depth: depth + 1) {
                        directory.entries.append(.init(tag: tag, type: 4, count: 1, value: [], child: child))
                    }
                    continue
                }
                guard let size = Self.size(ofType: type) else { continue }
                let length = Int(count) * size
                guard length <= largestValue else {
                    omitted.insert("tag \(tag) (\(length) bytes)")
                    continue
                }
                let start: Int
                if length <= 4 {
                    start = at + 8
                } else {
                    guard let pointer = uint32(at: at + 8) else { continue }
                    start = Int(pointer)
                }
                guard start >= 0, start + length <= bytes.count else { continue }
                directory.entries.append(.init(tag: tag, type: type, count: count, value: Array(bytes[start..<(start + length)]), child: nil))
            }
            return directory
        }
    }

    /// Lays the directories out again: each directory's entry table, then its values, then the
    /// directories it points to.
    struct Writer {
        let bigEndian: Bool
        var bytes: [UInt8] = []

        mutating func header() {
            bytes += bigEndian ? [0x4D, 0x4D, 0, 42] : [0x49, 0x49, 42, 0]
            bytes += encode(UInt32(8))
        }

        func encode(_ value: UInt16) -> [UInt8] {
            bigEndian ? [UInt8(value >> 8), UInt8(value & 0xFF)] : [UInt8(value & 0xFF), UInt8(value >> 8)]
        }

        func encode(_ value: UInt32) -> [UInt8] {
            bigEndian ? encode(UInt16(value >> 16)) + encode(UInt16(value & 0xFFFF)) : encode(UInt16(value & 0xFFFF)) + encode(UInt16(value >> 16))
        }

        /// Writes `directory` at the end (on a word boundary) and answers where it starts.
        @discardableResult
        mutating func write(_ directory: Directory) -> Int {
            if bytes.count % 2 == 1 { bytes.append(0) }
            let start = bytes.count
            bytes += encode(UInt16(directory.entries.count))
            bytes += [UInt8](repeating: 0, count: 12 * directory.entries.count)
            bytes += encode(UInt32(0))  // no next directory: only IFD0 is copied
            for (index, entry) in directory.entries.enumerated() {
                let field: [UInt8]
                if let child = entry.child {
                    field = encode(UInt32(write(child)))
                } else if entry.value.count <= 4 {
                    field = entry.value + [UInt8](repeating: 0, count: 4 - entry.value.count)
                } else {
                    if bytes.count % 2 == 1 { bytes.append(0) }
                    field = encode(UInt32(bytes.count))
                    bytes += entry.value
                }
                let at = start + 2 + 12 * index
                let head = encode(entry.tag) + encode(entry.type) + encode(entry.count) + field
                bytes.replaceSubrange(at..<(at + 12), with: head)
            }
            return start
        }
    }
}
