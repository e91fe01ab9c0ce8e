internal import CLinux
public import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// Writing and moving files so that a crash at any instant leaves either the old state or the
/// new one: write under a temporary name, rename into place, and make a batch of such writes
/// durable at once with `syncfs` before anyone is told they are done.
///
/// One fsync per file and per folder costs more CPU than decoding a photo; one `syncfs` for a
/// batch of jobs costs one journal commit. Callers record nothing as done until `sync` returns.
public enum DurableFile {
    /// The prefix of every temporary name intake writes; start-up removes leftovers with it.
    public static let temporaryPrefix = WholeFile.temporaryPrefix

    /// Writes `bytes` to `path` by rename from a temporary name, creating missing folders.
    /// Not yet durable: call `sync(filesystemOf:)` before relying on it. The temporary file is made
    /// in `temporaryFolder` (same filesystem) when given, so that start-up has one folder to empty;
    /// else beside `path`.
    public static func write(_ bytes: [UInt8], to path: String, temporaryFolder: String? = nil, stage: Stage = .commit) throws(IntakeError) {
        let temporary = temporaryName(in: temporaryFolder ?? parent(of: path))
        do {
            try WholeFile.write(bytes, to: path, through: temporary, sync: false)
        } catch where error.code == ENOENT {
            // The first file in its folder: make the folders, once. Cheaper than checking every time.
            try makeFolders(parent(of: temporary), stage: stage)
            try makeFolders(parent(of: path), stage: stage)
            do {
                try WholeFile.write(bytes, to: path, through: temporary, sync: false)
            } catch {
                throw failure(stage, error)
            }
        } catch {
            throw failure(stage, error)
        }
    }

    /// Renames `temporary` over `path`, creating `path`'s folder when missing.
    private static func replace(_ path: String, with temporary: String, stage: Stage) throws(IntakeError) {
        var status = rename(temporary, path)
        if status != 0 && errno == ENOENT {
            try makeFolders(parent(of: path), stage: stage)
            status = rename(temporary, path)
        }
        guard status == 0 else {
            let error = failure(stage, "cannot rename into \(path)")
            unlink(temporary)
            throw error
        }
    }

    private static func temporaryName(in folder: String) -> String { WholeFile.uniqueTemporary(in: folder) }

    /// Copies everything readable from `source` (an open descriptor) to `path`, durably: a
    /// temporary file, fsync, rename. For moves across filesystems, where rename cannot go.
    public static func copy(from source: Int32, to path: String, temporaryFolder: String? = nil, stage: Stage = .commit) throws(IntakeError) {
        let temporary = temporaryName(in: temporaryFolder ?? parent(of: path))
        var target = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if target < 0 && errno == ENOENT {
            try makeFolders(parent(of: temporary), stage: stage)
            target = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard target >= 0 else { throw failure(stage, "cannot create a file in \(parent(of: temporary))") }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var ok = true
        while ok {
            let n = read(source, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                ok = n == 0
                break
            }
            ok = buffer.withUnsafeBytes { chunk in
                var written = 0
                while written < n {
                    let w = Glibc.write(target, chunk.baseAddress! + written, n - written)
                    if w < 0 && errno == EINTR { continue }
                    if w <= 0 { return false }
                    written += w
                }
                return true
            }
            if !ok { break }
        }
        ok = ok && fsync(target) == 0
        let saved = errno
        close(target)
        guard ok else {
            unlink(temporary)
            errno = saved
            throw failure(stage, "cannot copy into \(path)")
        }
        try replace(path, with: temporary, stage: stage)
        try syncFolder(parent(of: path), stage: stage)
    }

    /// Flushes a folder's entries: makes a rename into it durable.
    public static func syncFolder(_ folder: String, stage: Stage = .commit) throws(IntakeError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(stage, "cannot open \(folder)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure(stage, "cannot sync \(folder)") }
    }

    /// Gives the file at `existing` a second name, `path`, replacing whatever `path` was.
    public static func link(_ existing: String, to path: String, temporaryFolder: String? = nil, stage: Stage = .commit) throws(IntakeError) {
        let temporary = temporaryName(in: temporaryFolder ?? parent(of: path))
        var status = Glibc.link(existing, temporary)
        if status != 0 && errno == ENOENT {
            try makeFolders(parent(of: temporary), stage: stage)
            status = Glibc.link(existing, temporary)
        }
        guard status == 0 else { throw failure(stage, "cannot link \(existing) to \(path)") }
        // Through a temporary name and rename, so that an existing `path` is replaced atomically.
        try replace(path, with: temporary, stage: stage)
    }

    /// Moves the file at `source` to `path` by rename, creating `path`'s folder when missing.
    public static func move(_ source: String, to path: String, stage: Stage = .commit) throws(IntakeError) {
        var status = rename(source, path)
        var existing = stat()
        if status != 0 && errno == ENOENT && lstat(source, &existing) == 0 {
            try makeFolders(parent(of: path), stage: stage)
            status = rename(source, path)
        }
        guard status == 0 else { throw failure(stage, "cannot move \(source) to \(path)") }
    }

    /// Makes every write, rename and unlink so far on the filesystem holding `path` durable:
    /// data, then the folder entries that name it.
    public static func sync(filesystemOf path: String, stage: Stage = .commit) throws(IntakeError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(stage, "cannot open \(path) to sync it") }
        defer { close(fd) }
        guard intake_syncfs(fd) == 0 else { throw failure(stage, "cannot sync the filesystem of \(path)") }
    }

    /// `mkdir -p`.
    public static func makeFolders(_ path: String, stage: Stage = .commit) throws(IntakeError) {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw failure(stage, "cannot create folder \(path)") }
        try makeFolders(parent(of: path), stage: stage)
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw failure(stage, "cannot create folder \(path)") }
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// An I/O failure, from the `errno` just set: the disk or the folders, never the file, so
    /// worth trying again. A full or read-only disk, or a folder that cannot be written or is not
    /// a folder, blocks until someone fixes it: see ``IntakeError/Kind/blocked``.
    public static func failure(_ stage: Stage, _ what: String) -> IntakeError {
        let code = errno
        let reason = "\(what): \(ErrnoText.describe(code))"
        return blockingCodes.contains(code) ? .blocked(stage, reason) : .transient(stage, reason)
    }

    /// A failure of the whole-file writer, classified as ``failure(_:_:)`` classifies `errno`.
    public static func failure(_ stage: Stage, _ error: WholeFile.Failure) -> IntakeError {
        let reason = error.description
        return blockingCodes.contains(error.code) ? .blocked(stage, reason) : .transient(stage, reason)
    }

    /// The `errno` values that say the folders cannot take writes until something changes.
    public static let blockingCodes: Set<Int32> = [ENOSPC, EDQUOT, EROFS, EACCES, EPERM, ENOTDIR]
}
