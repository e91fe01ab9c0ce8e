/// Builds EXIF blocks (TIFF structure, little-endian) for test fixtures.
public struct EXIFBuilder {
    public var orientation: Int?
    public var make: String?
    public var model: String?
    public var dateTaken: String?
    /// Degrees, minutes, seconds and the hemisphere letter.
    public var latitude: (Int, Int, Int, String)?
    public var longitude: (Int, Int, Int, String)?

    public init() {}

    private enum Value {
        case short(Int)
        case ascii(String)
        case long(Int)
        case rationals([(Int, Int)])
    }

    /// The TIFF block ("II*\0…"), as PNG's eXIf chunk holds it.
    public func tiff() -> [UInt8] {
        var ifd0: [(Int, Value)] = []
        if let make { ifd0.append((0x010F, .ascii(make))) }
        if let model { ifd0.append((0x0110, .ascii(model))) }
        if let orientation { ifd0.append((0x0112, .short(orientation))) }
        var exif: [(Int, Value)] = []
        if let dateTaken { exif.append((0x9003, .ascii(dateTaken))) }
        var gps: [(Int, Value)] = []
        if let latitude {
            gps.append((0x0001, .ascii(latitude.3)))
            gps.append((0x0002, .rationals([(latitude.0, 1), (latitude.1, 1), (latitude.2, 1)])))
        }
        if let longitude {
            gps.append((0x0003, .ascii(longitude.3)))
            gps.append((0x0004, .rationals([(longitude.0, 1), (longitude.1, 1), (longitude.2, 1)])))
        }
        // Layout: header, IFD0, EXIF IFD, GPS IFD, then all out-of-line data.
        func ifdSize(_ count: Int) -> Int { 2 + count * 12 + 4 }
        let ifd0Count = ifd0.count + (exif.isEmpty ? 0 : 1) + (gps.isEmpty ? 0 : 1)
        let ifd0Offset = 8
        let exifOffset = ifd0Offset + ifdSize(ifd0Count)
        let gpsOffset = exifOffset + (exif.isEmpty ? 0 : ifdSize(exif.count))
        var dataOffset = gpsOffset + (gps.isEmpty ? 0 : ifdSize(gps.count))
        var data: [UInt8] = []

        func entries(_ list: [(Int, Value)]) -> [UInt8] {
            var out = u16(list.count)
            for (tag, value) in list.sorted(by: { $0.0 < $1.0 }) {
                out += u16(tag)
                switch value {
                case .short(let v): out += u16(3) + u32(1) + u16(v) + [0, 0]
                case .long(let v): out += u16(4) + u32(1) + u32(v)
                case .ascii(let s):
                    let bytes = Array(s.utf8) + [0]
                    out += u16(2) + u32(bytes.count)
                    if bytes.count <= 4 {
                        out += bytes + [UInt8](repeating: 0, count: 4 - bytes.count)
                    } else {
                        out += u32(dataOffset); data += bytes; dataOffset += bytes.count
                    }
                case .rationals(let list):
                    out += u16(5) + u32(list.count) + u32(dataOffset)
                    for (n, d) in list { data += u32(n) + u32(d) }
                    dataOffset += list.count * 8
                }
            }
            return out + u32(0)
        }
        var main = ifd0
        if !exif.isEmpty { main.append((0x8769, .long(exifOffset))) }
        if !gps.isEmpty { main.append((0x8825, .long(gpsOffset))) }
        var out: [UInt8] = [0x49, 0x49, 0x2A, 0x00] + u32(ifd0Offset)
        out += entries(main)
        if !exif.isEmpty { out += entries(exif) }
        if !gps.isEmpty { out += entries(gps) }
        return out + data
    }

    /// The APP1 segment, marker and length included, to put after a JPEG's SOI.
    public func app1Segment() -> [UInt8] {
        let payload = Array("Exif\0\0".utf8) + tiff()
        let length = payload.count + 2
        return [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    }

    /// `jpeg` with this EXIF inserted right after its SOI marker.
    public func inserted(into jpeg: [UInt8]) -> [UInt8] {
        Array(jpeg[0..<2]) + app1Segment() + Array(jpeg[2...])
    }

    private func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    private func u32(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24 & 0xFF)] }
}
