#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a file, waited for, held until `release`: how separate processes
/// (intaked and the commands) take turns at something.
public struct FileLock: Sendable {
    private let descriptor: Int32

    /// Waits for the lock; nil when the file cannot be opened or locked (`errno` says why).
    public init?(path: String) {
        // Read-only is enough for flock: a lock file another user created (intaked's, or a first
        // run under sudo) is then still usable by everyone who may read it.
        var fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644) }
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
