public import IntakeCodecs

/// A picture to draw on: boxes, crosses and short labels over a photo, so that a person sees in
/// one look where intake thinks a meter's wheels and dials are and what it read there.
public struct Overlay {
    public private(set) var width: Int
    public private(set) var height: Int
    private var pixels: [UInt8]

    public typealias Colour = (UInt8, UInt8, UInt8)
    public static let wheelColour: Colour = (0, 200, 255)
    public static let dialColour: Colour = (255, 230, 0)
    public static let markColour: Colour = (255, 0, 255)
    public static let landmarkColour: Colour = (0, 255, 0)
    public static let problemColour: Colour = (255, 40, 40)

    public init(_ image: RGBImage) {
        width = image.width
        height = image.height
        pixels = Array(UnsafeBufferPointer(start: image.storage.base, count: image.width * image.height * 3))
    }

    public var image: RGBImage {
        RGBImage(width: width, height: height) { out in
            for i in 0..<pixels.count { out[i] = pixels[i] }
        }
    }

    public mutating func set(_ x: Int, _ y: Int, _ colour: Colour) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = colour.0
        pixels[i + 1] = colour.1
        pixels[i + 2] = colour.2
    }

    /// A rectangle's outline, `thickness` pixels inwards.
    public mutating func box(_ box: Box, _ colour: Colour, thickness: Int = 2) {
        for t in 0..<thickness {
            for x in box.x..<(box.x + box.width) {
                set(x, box.y + t, colour)
                set(x, box.y + box.height - 1 - t, colour)
            }
            for y in box.y..<(box.y + box.height) {
                set(box.x + t, y, colour)
                set(box.x + box.width - 1 - t, y, colour)
            }
        }
    }

    /// A small cross centred on (x, y).
    public mutating func cross(_ x: Double, _ y: Double, _ colour: Colour, size: Int = 3) {
        let cx = Int(x.rounded()), cy = Int(y.rounded())
        for d in -size...size {
            set(cx + d, cy, colour)
            set(cx, cy + d, colour)
        }
    }

    /// A frame around the whole picture: something is wrong with it.
    public mutating func border(_ colour: Colour, thickness: Int = 4) {
        box(Box(x: 0, y: 0, width: width, height: height), colour, thickness: thickness)
    }

    /// `text` at (x, y), its top-left, in a 5×7 font scaled by `scale`, on a dark backing so it
    /// reads on any photo. Characters the font lacks are drawn as `?`.
    public mutating func label(_ text: String, x: Int, y: Int, _ colour: Colour, scale: Int = 2) {
        let characters = Array(text)
        let advance = 6 * scale
        for dy in -1..<(7 * scale + 1) {
            for dx in -1..<(characters.count * advance) { set(x + dx, y + dy, (0, 0, 0)) }
        }
        for (index, character) in characters.enumerated() {
            let rows = Self.font[character] ?? Self.font["?"]!
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (1 << (4 - column)) != 0 {
                    for sy in 0..<scale {
                        for sx in 0..<scale { set(x + index * advance + column * scale + sx, y + row * scale + sy, colour) }
                    }
                }
            }
        }
    }

    /// The overlay as a PNG file's bytes.
    public func png() throws(CodecError) -> [UInt8] { try PNGEncoder.encode(image) }

    /// 5×7 glyphs, one byte a row, the high five bits of each: digits and what labels need.
    static let font: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ".": [0, 0, 0, 0, 0, 0x0C, 0x0C], "-": [0, 0, 0, 0x1F, 0, 0, 0], ":": [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        " ": [0, 0, 0, 0, 0, 0, 0], "?": [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04], "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        "w": [0, 0, 0x11, 0x11, 0x15, 0x15, 0x0A], "d": [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F],
        "m": [0, 0, 0x1A, 0x15, 0x15, 0x11, 0x11], "x": [0, 0, 0x11, 0x0A, 0x04, 0x0A, 0x11],
        "c": [0, 0, 0x0E, 0x10, 0x10, 0x11, 0x0E], "p": [0, 0, 0x1E, 0x11, 0x1E, 0x10, 0x10],
    ]
}
