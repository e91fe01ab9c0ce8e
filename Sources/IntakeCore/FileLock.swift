#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a file, waited for, held until `release`: how separate processes
/// (intaked and the commands) take turns at something.
public struct FileLock: Sendable {
    private let descriptor: Int32

    /// Waits for the lock; nil when the file cannot be opened or locked (`errno` says why).
    public init?(path: String) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        var status: Int32
        repeat { status = flock(fd, LOCK_EX) } while status != 0 && errno == EINTR
        guard status == 0 else {
            let code = errno
            close(fd)
            errno = code
            return nil
        }
        descriptor = fd
    }

    public func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
