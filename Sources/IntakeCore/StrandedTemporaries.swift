import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The temporary files this process made and then could not remove.
///
/// A write that fails after its temporary file exists removes that file. When the fault is the
/// filesystem itself (gone read-only between the file's creation and its rename, say), the
/// removal fails too, and the file would stay until the next start empties spool/tmp. Kept here
/// instead, and removed by `retry()` on the daemon's next tick once the fault is over, so a fault
/// that comes and goes leaves nothing behind without a restart.
///
/// Process-wide because the files are: every writer in the process (workers, committer, claimer)
/// strands them through the same two writers, `WholeFile` and `DurableFile`.
public enum StrandedTemporaries {
    private static let paths = Mutex<Set<String>>([])

    /// Removes `temporary`; if it cannot be removed now, remembers it for `retry()`. A file
    /// already gone is not stranded.
    public static func remove(_ temporary: String) {
        let saved = errno
        defer { errno = saved }  // callers report the error that made them give up, not this one
        guard unlink(temporary) != 0, errno != ENOENT else { return }
        _ = paths.withLock { $0.insert(temporary) }
    }

    /// Tries again to remove every stranded file; returns how many are still there.
    @discardableResult
    public static func retry() -> Int {
        paths.withLock { stranded in
            stranded = stranded.filter { unlink($0) != 0 && errno != ENOENT }
            return stranded.count
        }
    }

    /// How many files wait to be removed.
    public static var count: Int { paths.withLock { $0.count } }
}
