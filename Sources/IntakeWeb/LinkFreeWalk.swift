#if canImport(Glibc)
import Glibc
#endif

/// A path below a folder, opened a component at a time with `O_NOFOLLOW`, so that no symbolic
/// link anywhere on the way is followed; the folder itself may be one, the administrator's to
/// make. What `intake serve` writes into the inbox and serves from the state root goes through
/// it: a producer's link in a meter folder's place, or a link to a look-alike among the outputs,
/// would otherwise steer a file elsewhere.
enum LinkFreeWalk {
    /// Why the walk stopped: the errno, at which component (−1: the folder it starts from), and
    /// whether in making a missing folder (or syncing its name into its parent).
    struct Failure: Error {
        let code: Int32
        let component: Int
        let making: Bool
    }

    /// The descriptor of the last of `components` below `root`: a folder, or with `lastIsFile` a
    /// file opened to read (without blocking on a FIFO). With `makingFolders`, a folder missing on
    /// the way is made, and its name synced into its parent.
    static func open(_ components: [String], below root: String, lastIsFile: Bool = false, makingFolders: Bool = false)
        -> Result<Int32, Failure>
    {
        var folder = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { return .failure(Failure(code: errno, component: -1, making: false)) }
        for (index, component) in components.enumerated() {
            let asFile = lastIsFile && index == components.count - 1
            let flags = asFile ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
            var next = openat(folder, component, flags)
            if next < 0 && errno == ENOENT && makingFolders && !asFile {
                let made = mkdirat(folder, component, 0o755) == 0
                guard made ? fsync(folder) == 0 : errno == EEXIST else {
                    let code = errno
                    close(folder)
                    return .failure(Failure(code: code, component: index, making: true))
                }
                next = openat(folder, component, flags)
            }
            let code = errno
            close(folder)
            guard next >= 0 else { return .failure(Failure(code: code, component: index, making: false)) }
            folder = next
        }
        return .success(folder)
    }
}
