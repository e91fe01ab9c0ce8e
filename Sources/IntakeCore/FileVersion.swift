#if canImport(Glibc)
public import Glibc
#endif

/// Which file a path names, and which version of it, as `stat` tells: a file replaced (by
/// rename) has another device or inode; one rewritten in place another size or modification time.
public struct FileVersion: Hashable, Sendable {
    public let device: UInt64, inode: UInt64, size: Int64, modifiedSeconds: Int, modifiedNanoseconds: Int

    /// Nil when nothing is at `path` (links followed).
    public init?(_ path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        self.init(status)
    }

    /// The version `status` describes (of the link itself, when it came from `lstat`).
    public init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        size = Int64(status.st_size)
        modifiedSeconds = status.st_mtim.tv_sec
        modifiedNanoseconds = status.st_mtim.tv_nsec
    }

    /// The same file, whatever was written into it since.
    public func isSameFile(as other: FileVersion) -> Bool { device == other.device && inode == other.inode }
}
