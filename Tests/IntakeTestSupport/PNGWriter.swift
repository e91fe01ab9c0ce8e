/// A minimal PNG encoder for test fixtures: any colour type and bit depth, zlib "stored"
/// (uncompressed) blocks, and hooks to damage the result the way real files are damaged.
public struct PNGWriter {
    public var width: Int
    public var height: Int
    public var bitDepth: Int
    public var colorType: Int
    public var palette: [(UInt8, UInt8, UInt8)] = []
    public var transparency: [UInt8]? = nil
    /// Extra chunks written before IDAT, as (type, payload).
    public var chunksBeforeData: [(String, [UInt8])] = []
    /// Extra chunks written after IDAT.
    public var chunksAfterData: [(String, [UInt8])] = []

    public init(width: Int, height: Int, bitDepth: Int = 8, colorType: Int) {
        self.width = width
        self.height = height
        self.bitDepth = bitDepth
        self.colorType = colorType
    }

    /// Encodes `rows`: each row the raw scanline without its filter byte.
    public func encode(rows: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = [UInt8]()
        header += Self.u32(width) + Self.u32(height)
        header += [UInt8(bitDepth), UInt8(colorType), 0, 0, 0]
        out += Self.chunk("IHDR", header)
        if !palette.isEmpty { out += Self.chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }) }
        if let transparency { out += Self.chunk("tRNS", transparency) }
        for (type, payload) in chunksBeforeData { out += Self.chunk(type, payload) }
        let raw = rows.flatMap { row -> [UInt8] in [0] + row }
        out += Self.chunk("IDAT", Self.zlibStored(raw))
        for (type, payload) in chunksAfterData { out += Self.chunk(type, payload) }
        out += Self.chunk("IEND", [])
        return out
    }

    public static func chunk(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return u32(payload.count) + typeBytes + payload + u32(Int(crc32(typeBytes + payload)))
    }

    public static func u32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out += [final, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset..<offset + length]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return out + u32(Int(b << 16 | a))
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
