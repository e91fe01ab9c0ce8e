import Glibc

/// The text of an `errno` value, for error messages.
enum ErrnoText {
    /// `strerror_r` into a local buffer: `strerror` may share a buffer between threads.
    static func describe(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard strerror_r(code, &buffer, buffer.count) == 0 else { return "error \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
