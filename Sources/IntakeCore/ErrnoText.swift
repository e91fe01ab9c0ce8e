#if canImport(Glibc)
import Glibc
#endif

/// The text of an `errno` value, for error messages.
public enum ErrnoText {
    /// `strerror_r` into a local buffer: `strerror` may share one buffer between threads, and
    /// intake reports errors from many.
    public static func describe(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard strerror_r(code, &buffer, buffer.count) == 0 else { return "error \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The text of the calling thread's current `errno`.
    public static var current: String { describe(errno) }
}
