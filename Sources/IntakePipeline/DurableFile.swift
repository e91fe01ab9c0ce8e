#if canImport(Glibc)
import Glibc
#endif

/// Writing and moving files so that a crash at any instant leaves either the old state or the
/// new one: write under a temporary name, fsync, rename, fsync the folder.
public enum DurableFile {
    /// The prefix of every temporary name intake writes; start-up removes leftovers with it.
    public static let temporaryPrefix = ".intake-tmp-"

    /// Writes `bytes` to `path` atomically, creating missing folders.
    public static func write(_ bytes: [UInt8], to path: String, stage: Stage = .commit) throws(IntakeError) {
        let folder = parent(of: path)
        try makeFolders(folder, stage: stage)
        let temporary = "\(folder)/\(temporaryPrefix)\(getpid())-\(UInt32.random(in: .min ... .max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(stage, "cannot create a file in \(folder)") }
        var written = 0
        let ok = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let saved = errno
        close(fd)
        guard ok else {
            unlink(temporary)
            errno = saved
            throw failure(stage, "cannot write \(path)")
        }
        guard rename(temporary, path) == 0 else {
            let error = failure(stage, "cannot rename into \(path)")
            unlink(temporary)
            throw error
        }
        try syncFolder(folder, stage: stage)
    }

    /// Flushes a folder's entries, making renames into it durable.
    public static func syncFolder(_ folder: String, stage: Stage = .commit) throws(IntakeError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(stage, "cannot open \(folder)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure(stage, "cannot sync \(folder)") }
    }

    /// `mkdir -p`.
    public static func makeFolders(_ path: String, stage: Stage = .commit) throws(IntakeError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw failure(stage, "cannot create folder \(current)")
            }
        }
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// An I/O failure: the disk or the permissions, not the file, so worth retrying.
    static func failure(_ stage: Stage, _ what: String) -> IntakeError {
        .transient(stage, "\(what): \(String(cString: strerror(errno)))")
    }
}
