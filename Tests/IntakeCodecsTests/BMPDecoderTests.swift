import IntakeCodecs
import Testing

/// BMP, read by the project itself: hand-made files of every layout it reads, and the ones it refuses.
@Suite struct BMPDecoderTests {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// A BMP with a 40-byte info header (or `infoSize` with zero padding), `masks` after it when
    /// given, `palette` (BGRA entries), then `rows` as stored, each padded to four bytes.
    static func bmp(width: Int, height: Int, bits: Int, compression: Int = 0, infoSize: Int = 40, masks: [Int] = [],
                    palette: [[UInt8]] = [], rows: [[UInt8]]) -> [UInt8] {
        var info = le32(infoSize) + le32(width) + le32(height) + le16(1) + le16(bits) + le32(compression)
            + le32(0) + le32(2835) + le32(2835) + le32(palette.count) + le32(0)
        if infoSize > 40 {
            info += masks.flatMap(le32) + [UInt8](repeating: 0, count: infoSize - 40 - masks.count * 4)
        } else {
            info += masks.flatMap(le32)
        }
        let table = palette.flatMap { $0 }
        let pixels = rows.flatMap { $0 + [UInt8](repeating: 0, count: (4 - $0.count % 4) % 4) }
        let offset = 14 + info.count + table.count
        return Array("BM".utf8) + le32(offset + pixels.count) + le32(0) + le32(offset) + info + table + pixels
    }

    func decode(_ bytes: [UInt8]) throws -> (BMPHeader, [UInt8]) {
        try bytes.withUnsafeBytes { data in
            let header = try BMPDecoder.readHeader(data)
            let image = try BMPDecoder.decode(data, header: header)
            return (header, Array(image.pixels))
        }
    }

    @Test func twentyFourBitsBottomUpAreTurnedTheRightWayUpAndBGRBecomesRGB() throws {
        // Stored bottom row first: the bottom row is blue, green; the top row red, white.
        let file = Self.bmp(width: 2, height: 2, bits: 24, rows: [[255, 0, 0, 0, 255, 0], [0, 0, 255, 255, 255, 255]])
        let (header, pixels) = try decode(file)
        #expect(header.width == 2 && header.height == 2 && !header.topDown)
        #expect(pixels == [255, 0, 0, 255, 255, 255, 0, 0, 255, 0, 255, 0])
    }

    @Test func palettesOfOneFourAndEightBitsAreLookedUp() throws {
        let palette: [[UInt8]] = [[0, 0, 0, 0], [0, 0, 255, 0], [0, 255, 0, 0], [255, 0, 0, 0]]  // black, red, green, blue
        let one = Self.bmp(width: 3, height: 1, bits: 1, palette: Array(palette.prefix(2)), rows: [[0b1010_0000]])
        #expect(try decode(one).1 == [255, 0, 0, 0, 0, 0, 255, 0, 0])
        let four = Self.bmp(width: 3, height: 1, bits: 4, palette: palette, rows: [[0x23, 0x10]])
        #expect(try decode(four).1 == [0, 255, 0, 0, 0, 255, 255, 0, 0])
        let eight = Self.bmp(width: 2, height: 1, bits: 8, palette: palette, rows: [[3, 2]])
        #expect(try decode(eight).1 == [0, 0, 255, 0, 255, 0])
    }

    @Test func bitFieldsOfSixteenAndThirtyTwoBitsAndAlphaOnWhite() throws {
        // 565: pure red and pure blue.
        let rgb565 = Self.bmp(width: 2, height: 1, bits: 16, compression: 3, masks: [0xF800, 0x07E0, 0x001F], rows: [Self.le16(0xF800) + Self.le16(0x001F)])
        #expect(try decode(rgb565).1 == [255, 0, 0, 0, 0, 255])
        // 555 by default: white.
        let rgb555 = Self.bmp(width: 1, height: 1, bits: 16, rows: [Self.le16(0x7FFF)])
        #expect(try decode(rgb555).1 == [255, 255, 255])
        // A V5 header, top-down, with an alpha mask: opaque red, then black at half alpha over white.
        let v5 = Self.bmp(width: 2, height: -1, bits: 32, compression: 3, infoSize: 124, masks: [0xFF0000, 0x00FF00, 0x0000FF, Int(0xFF00_0000)],
                          rows: [[0, 0, 255, 255, 0, 0, 0, 128]])
        let (header, pixels) = try decode(v5)
        #expect(header.topDown && header.height == 1 && header.hasAlpha)
        #expect(pixels == [255, 0, 0, 127, 127, 127])
    }

    /// Plain 32-bit pixels under a V5 header that names an alpha byte, left 0 in every pixel (as
    /// many writers do): no alpha, as browsers take it. Read as alpha, the picture was all white.
    @Test func anAlphaByteThatIsZeroEverywhereIsNoAlpha() throws {
        let masks = [0xFF0000, 0x00FF00, 0x0000FF, Int(0xFF00_0000)]
        let zero = Self.bmp(width: 2, height: 1, bits: 32, infoSize: 124, masks: masks, rows: [[0, 0, 255, 0, 255, 0, 0, 0]])
        #expect(try decode(zero).1 == [255, 0, 0, 0, 0, 255])
        // One pixel with alpha makes it alpha throughout: the transparent one goes white.
        let some = Self.bmp(width: 2, height: 1, bits: 32, infoSize: 124, masks: masks, rows: [[0, 0, 255, 0, 255, 0, 0, 255]])
        #expect(try decode(some).1 == [255, 255, 255, 0, 0, 255])
    }

    @Test func whatItDoesNotReadIsRefusedSayingWhy() {
        func reason(_ bytes: [UInt8]) -> String {
            do {
                _ = try decode(bytes)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(reason(Self.bmp(width: 2, height: 2, bits: 8, compression: 1, rows: [[0, 0]])).contains("run-length"))
        #expect(reason(Self.bmp(width: 2, height: 2, bits: 24, compression: 4, rows: [])).contains("JPEG"))
        #expect(reason(Self.bmp(width: 0, height: 2, bits: 24, rows: [])).contains("empty"))
        #expect(reason(Self.bmp(width: 2, height: 2, bits: 7, rows: [])).contains("7 bits"))
        let whole = Self.bmp(width: 4, height: 3, bits: 24, rows: Array(repeating: [UInt8](repeating: 9, count: 12), count: 3))
        #expect(reason(Array(whole.dropLast(20))).contains("2 of 3 rows missing"))
        #expect(reason(Array("BM".utf8) + [1, 2, 3]).contains("BMP cut short: its 5 bytes end inside its 14-byte file header"))
        #expect(reason(Array(whole.prefix(20))).contains("BMP cut short: its 20 bytes end inside its info header"))
    }
}
