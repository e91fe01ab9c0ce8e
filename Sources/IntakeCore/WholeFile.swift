#if canImport(Glibc)
import Glibc
#endif

/// Whole files read and written with the C library, so that no module needs Foundation for it:
/// the one reader and the one atomic writer every part of intake uses (configuration, profiles,
/// weights, labels, sidecars, outputs, error reports, metrics).
public enum WholeFile {
    /// What failed, on which file, and the system's reason.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let path: String
        /// `open`, `read`, `chmod`, `write`, `fsync` or `rename`.
        public let operation: String
        public let code: Int32

        public init(path: String, operation: String, code: Int32) {
            self.path = path
            self.operation = operation
            self.code = code
        }

        public var description: String { "cannot \(operation) \(path): \(ErrnoText.describe(code))" }
    }

    /// The prefix of every temporary name intake writes; start-up removes leftovers with it.
    public static let temporaryPrefix = ".intake-tmp-"

    /// A temporary name in `folder` no other writer uses.
    public static func uniqueTemporary(in folder: String) -> String {
        "\(folder)/\(temporaryPrefix)\(getpid())-\(UInt64.random(in: .min ... .max))"
    }

    /// The whole file. A folder opens and then fails to read, with EISDIR.
    public static func read(_ path: String) throws(Failure) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw Failure(path: path, operation: "open", code: errno) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            bytes.append(contentsOf: buffer[0..<count])
            guard count == buffer.count else { break }
        }
        if ferror(file) != 0 { throw Failure(path: path, operation: "read", code: errno) }
        return bytes
    }

    /// Replaces `path` with `bytes` atomically: written to `temporary` (same filesystem), then
    /// renamed over it, so a reader sees the old file or the new one, never half of one. The mode
    /// is set whatever the umask; `sync` makes the data durable before the rename (otherwise the
    /// caller makes a batch durable at once). A symbolic link at `temporary` is never followed.
    public static func write(
        _ bytes: [UInt8], to path: String, through temporary: String, sync: Bool, mode: UInt32 = 0o644,
        owner: (user: UInt32, group: UInt32)? = nil
    ) throws(Failure) {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode_t(mode))
        guard fd >= 0 else { throw Failure(path: temporary, operation: "open", code: errno) }
        do throws(Failure) {
            // Owner first: changing it clears set-id bits, which the mode then gives back.
            if let owner, fchown(fd, uid_t(owner.user), gid_t(owner.group)) != 0 {
                throw Failure(path: temporary, operation: "chown", code: errno)
            }
            guard fchmod(fd, mode_t(mode)) == 0 else { throw Failure(path: temporary, operation: "chmod", code: errno) }
            try writeAll(bytes, to: fd, path: temporary)
            // Without it a crash soon after the rename can leave an empty file on ext4 or xfs.
            if sync, fsync(fd) != 0 { throw Failure(path: temporary, operation: "fsync", code: errno) }
        } catch {
            close(fd)
            StrandedTemporaries.remove(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let failure = Failure(path: path, operation: "rename", code: errno)
            StrandedTemporaries.remove(temporary)
            throw failure
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(Failure) {
        if let failure = bytes.withUnsafeBytes({ writeAll($0, to: fd) }) { throw Failure(path: path, operation: "write", code: failure) }
    }

    /// Writes all of `buffer` to `fd`, through short writes and interruptions; the error number
    /// when it cannot (also left in `errno`), nil once everything is written.
    public static func writeAll(_ buffer: UnsafeRawBufferPointer, to fd: Int32) -> Int32? {
        var written = 0
        while written < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno }
            if n == 0 {
                errno = EIO
                return EIO
            }
            written += n
        }
        return nil
    }
}
