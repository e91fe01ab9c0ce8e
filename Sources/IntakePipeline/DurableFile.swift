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
            StrandedTemporaries.remove(temporary)
            throw error
        }
    }

    private static func temporaryName(in folder: String) -> String { WholeFile.uniqueTemporary(in: folder) }

    /// Copies everything readable from `source` (an open descriptor) to `path`, durably: a
    /// temporary file, fsync, rename. For moves across filesystems, where rename cannot go.
    /// `finishing` is given the copy's descriptor before its sync (to set its mode and times).
    public static func copy(
        from source: Int32, to path: String, temporaryFolder: String? = nil, stage: Stage = .commit,
        finishing: (Int32) -> Void = { _ in }
    ) throws(IntakeError) {
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
        if ok { finishing(target) }
        ok = ok && fsync(target) == 0
        let saved = errno
        close(target)
        guard ok else {
            StrandedTemporaries.remove(temporary)
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
        if status != 0 && errno == EXDEV {
            // `path`'s folder is on another filesystem than `existing`: a copy is the second name.
            let fd = open(existing, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw failure(stage, "cannot open \(existing)") }
            defer { close(fd) }
            try copy(from: fd, to: path, temporaryFolder: temporaryFolder, stage: stage)
            return
        }
        guard status == 0 else { throw failure(stage, "cannot link \(existing) to \(path)") }
        // Through a temporary name and rename, so that an existing `path` is replaced atomically.
        try replace(path, with: temporary, stage: stage)
    }

    /// Moves the file at `source` to `path` by rename, creating `path`'s folder when missing.
    ///
    /// Where `path` is on another filesystem (processed/ on a disk of its own, an archive), rename
    /// cannot go: the file is copied under a temporary name (in `temporaryFolder`, on `path`'s
    /// filesystem, else beside `path`), synced and renamed into place, and only then is `source`
    /// removed (and its removal synced), as Postfix moves mail between filesystems. That move is
    /// durable when it returns; a crash during it leaves the source, and perhaps also the complete
    /// copy, never neither.
    public static func move(_ source: String, to path: String, temporaryFolder: String? = nil, stage: Stage = .commit) throws(IntakeError) {
        var status = rename(source, path)
        var existing = stat()
        if status != 0 && errno == ENOENT && lstat(source, &existing) == 0 {
            try makeFolders(parent(of: path), stage: stage)
            status = rename(source, path)
        }
        if status != 0 && errno == EXDEV {
            try moveAcrossFilesystems(source, to: path, temporaryFolder: temporaryFolder ?? parent(of: path), stage: stage)
            return
        }
        guard status == 0 else { throw failure(stage, "cannot move \(source) to \(path)") }
    }

    /// The copy, sync, rename and unlink that stand for a rename between filesystems. A regular
    /// file is copied with its permissions (less setuid and setgid: the copy belongs to whoever
    /// runs this, not to whoever made the file) and modification time; a symbolic link is made
    /// again, never followed; a pipe, socket or device node, which holds no data of its own, is
    /// made again as what it is. The source is removed only if it is still the file moved: one
    /// put in its place meanwhile (a retried job filed again) is not this move's to remove.
    private static func moveAcrossFilesystems(_ source: String, to path: String, temporaryFolder: String, stage: Stage) throws(IntakeError) {
        var moved = stat()
        guard lstat(source, &moved) == 0 else { throw failure(stage, "cannot read the status of \(source)") }
        switch moved.st_mode & S_IFMT {
        case S_IFREG:
            // Non-blocking and checked again once open: what was a file may have become a pipe.
            let fd = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard fd >= 0 else { throw failure(stage, "cannot open \(source) to move it to another filesystem") }
            defer { close(fd) }
            var opened = stat()
            guard fstat(fd, &opened) == 0, opened.st_dev == moved.st_dev, opened.st_ino == moved.st_ino else {
                errno = EAGAIN
                throw failure(stage, "\(source) changed while being moved")
            }
            try copy(from: fd, to: path, temporaryFolder: temporaryFolder, stage: stage) { target in
                _ = fchmod(target, moved.st_mode & 0o777)
                var times = [moved.st_atim, moved.st_mtim]
                _ = futimens(target, &times)
            }
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard readlink(source, &buffer, buffer.count - 1) >= 0 else { throw failure(stage, "cannot read the link \(source)") }
            try recreate(path, temporaryFolder: temporaryFolder, stage: stage) { symlink(buffer, $0) == 0 }
        default:
            try recreate(path, temporaryFolder: temporaryFolder, stage: stage) {
                mknod($0, moved.st_mode & (S_IFMT | 0o777), moved.st_rdev) == 0
            }
        }
        var now = stat()
        if lstat(source, &now) == 0, now.st_dev == moved.st_dev, now.st_ino == moved.st_ino {
            guard unlink(source) == 0 || errno == ENOENT else { throw failure(stage, "cannot remove \(source) after copying it to \(path)") }
        }
        try syncFolder(parent(of: source), stage: stage)
    }

    /// Makes a file that is not copied but made (a link, a node) under a temporary name with
    /// `make`, renames it over `path` and syncs `path`'s folder.
    private static func recreate(_ path: String, temporaryFolder: String, stage: Stage, make: (String) -> Bool) throws(IntakeError) {
        let temporary = temporaryName(in: temporaryFolder)
        var made = make(temporary)
        if !made && errno == ENOENT {
            try makeFolders(temporaryFolder, stage: stage)
            made = make(temporary)
        }
        guard made else { throw failure(stage, "cannot make \(path) on its filesystem") }
        try replace(path, with: temporary, stage: stage)
        try syncFolder(parent(of: path), stage: stage)
    }

    /// Makes every write, rename and unlink so far on the filesystem holding `path` durable:
    /// data, then the folder entries that name it.
    public static func sync(filesystemOf path: String, stage: Stage = .commit) throws(IntakeError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(stage, "cannot open \(path) to sync it") }
        defer { close(fd) }
        guard intake_syncfs(fd) == 0 else { throw failure(stage, "cannot sync the filesystem of \(path)") }
    }

    /// `sync(filesystemOf: path)`, and the same for each other filesystem holding one of `others`
    /// (output trees mounted from disks of their own), once each. One of `others` that does not
    /// exist holds nothing to sync; `path` must exist.
    public static func sync(filesystemOf path: String, alsoOf others: [String], stage: Stage = .commit) throws(IntakeError) {
        try sync(filesystemOf: path, stage: stage)
        var synced = Set([FileVersion(path)?.device].compactMap { $0 })
        for other in others {
            if let device = FileVersion(other)?.device, synced.insert(device).inserted { try sync(filesystemOf: other, stage: stage) }
        }
    }

    /// `mkdir -p`.
    public static func makeFolders(_ path: String, stage: Stage = .commit) throws(IntakeError) {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw failure(stage, "cannot create folder \(path)") }
        try makeFolders(parent(of: path), stage: stage)
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw failure(stage, "cannot create folder \(path)") }
    }

    public static func parent(of path: String) -> String { PathText.folder(of: path) }

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
