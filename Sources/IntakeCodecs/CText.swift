/// Reading what the C readers hand back: their fixed error buffers and their malloc'd blocks.
enum CText {
    /// A buffer for a reader's `char error[256]`.
    static func buffer() -> [CChar] { [CChar](repeating: 0, count: 256) }

    /// The NUL-terminated text in a buffer.
    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The NUL-terminated text in a fixed C array inside a struct (imported as a tuple of `CChar`).
    static func string<T>(fixed buffer: inout T) -> String {
        withUnsafeBytes(of: &buffer) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// A copy of `count` bytes at `pointer`, or nil when there are none.
    static func bytes(_ pointer: UnsafeMutablePointer<UInt8>?, count: Int) -> [UInt8]? {
        guard let pointer, count > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}
