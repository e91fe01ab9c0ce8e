#if canImport(Glibc)
import Glibc
#endif

/// Reads a file to be processed, safely: never through a symbolic link when asked not to,
/// only regular files, and never more than the byte limit (checked before reading).
public enum ImageFile {
    public static func read(path: String, maxBytes: Int, followSymlinks: Bool) throws(IntakeError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO someone dropped must not hang a worker.
        let flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followSymlinks ? 0 : O_NOFOLLOW)
        let fd = open(path, flags)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ELOOP: throw .permanent(.sniff, "is a symbolic link; intake never follows links")
            case ENOENT: throw .permanent(.sniff, "no such file")
            case EACCES, EPERM: throw .permanent(.sniff, "permission denied")
            default: throw .transient(.sniff, "cannot open: \(String(cString: strerror(code)))")
            }
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .transient(.sniff, "cannot stat: \(String(cString: strerror(errno)))") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .permanent(.sniff, "not a regular file") }
        let size = Int(status.st_size)
        if size > maxBytes {
            throw .permanent(.sniff, "file is \(ByteCount(size)), over the limit of \(ByteCount(maxBytes))")
        }
        // Uninitialised, then filled by read(2): zeroing first would touch every page twice.
        var failedWith: Int32?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var filled = 0
            while filled < size {
                let n = Glibc.read(fd, buffer.baseAddress! + filled, size - filled)
                if n < 0 && errno == EINTR { continue }
                if n < 0 {
                    failedWith = errno
                    break
                }
                if n == 0 { break }  // shrank while we read: take what is there, the decoder judges it
                filled += n
            }
            initialized = filled
        }
        if let failedWith { throw .transient(.sniff, "read failed: \(String(cString: strerror(failedWith)))") }
        return bytes
    }
}

/// A byte count in the unit a person reads best.
public struct ByteCount: CustomStringConvertible, Sendable {
    public let bytes: Int
    public init(_ bytes: Int) { self.bytes = bytes }
    public var description: String {
        if bytes >= 1 << 30 { return String(format1: Double(bytes) / Double(1 << 30)) + " GiB" }
        if bytes >= 1 << 20 { return String(format1: Double(bytes) / Double(1 << 20)) + " MiB" }
        if bytes >= 1 << 10 { return String(format1: Double(bytes) / Double(1 << 10)) + " KiB" }
        return "\(bytes) bytes"
    }
}

extension String {
    /// One decimal place, without Foundation's formatter.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
