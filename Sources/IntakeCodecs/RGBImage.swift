#if canImport(Glibc)
import Glibc
#endif

/// Memory for pixels that C decoders can fill and hand over without a copy.
public final class PixelStorage: @unchecked Sendable {
    // Unchecked: the bytes are written once, by whoever creates the image, before it is shared.
    public let base: UnsafeMutablePointer<UInt8>
    public let count: Int

    /// Allocates `count` bytes, uninitialised.
    public init(count: Int) {
        precondition(count > 0, "an image has at least one pixel")
        guard let memory = malloc(count) else { fatalError("out of memory allocating \(count) bytes of pixels") }
        base = memory.assumingMemoryBound(to: UInt8.self)
        self.count = count
    }

    /// Takes ownership of memory that C code allocated with `malloc`.
    init(adopting pointer: UnsafeMutablePointer<UInt8>, count: Int) {
        base = pointer
        self.count = count
    }

    deinit { free(base) }
}

/// An 8-bit RGB image, rows top to bottom, no padding: every stage after decoding works on this.
public struct RGBImage: Sendable {
    public let width: Int
    public let height: Int
    public let storage: PixelStorage

    public init(width: Int, height: Int, storage: PixelStorage) {
        precondition(storage.count >= width * height * 3, "pixel storage smaller than the image")
        self.width = width
        self.height = height
        self.storage = storage
    }

    /// An image over `pixels`, width × height × 3 bytes a C reader malloc'd; freed with the image.
    init(width: Int, height: Int, adopting pixels: UnsafeMutablePointer<UInt8>) {
        self.init(width: width, height: height, storage: PixelStorage(adopting: pixels, count: width * height * 3))
    }

    /// A new image whose pixels `fill` writes, given a pointer to width × height × 3 bytes.
    public init(width: Int, height: Int, fill: (UnsafeMutablePointer<UInt8>) throws -> Void) rethrows {
        let storage = PixelStorage(count: width * height * 3)
        try fill(storage.base)
        self.init(width: width, height: height, storage: storage)
    }

    /// A solid image of one colour.
    public init(width: Int, height: Int, red: UInt8, green: UInt8, blue: UInt8) {
        self.init(width: width, height: height) { pixels in
            for i in 0..<(width * height) {
                pixels[i * 3] = red
                pixels[i * 3 + 1] = green
                pixels[i * 3 + 2] = blue
            }
        }
    }

    public var pixels: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: storage.base, count: width * height * 3)
    }

    /// The red, green and blue values at (x, y).
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (storage.base[i], storage.base[i + 1], storage.base[i + 2])
    }
}
