import IntakeCore
import IntakePipeline
import Hummingbird

#if canImport(Glibc)
import Glibc
#endif

/// One folder of the inbox (`inbox/<env>` or `inbox/<env>/<meter>`), held open. It is reached a
/// component at a time from the inbox, never through a symbolic link: producers may make meter
/// folders in an environment's folder, and one who made `inbox/beta/MTR-1` a link to `../prod`, or
/// to any folder intake may write, must not steer uploads there (a beta-only token's into prod, or
/// files out of the daemon's sight for ever). What is then renamed into the folder lands in it by
/// its descriptor, so the path changing meanwhile changes nothing.
struct InboxFolder: ~Copyable {
    let fd: Int32
    /// `inbox/<env>[/<meter>]`, for messages.
    let shown: String

    /// The folder of `target`, made when missing (each new folder synced into its parent) if
    /// `create`; nil when it does not exist and `create` is false. A component that is a link or
    /// not a folder is a 409 naming it.
    static func open(inbox: String, target: UploadTarget, create: Bool) throws(APIError) -> InboxFolder? {
        // The inbox itself is the administrator's to place (a link to another disk is theirs to make).
        var folder = Glibc.open(inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder < 0 && errno == ENOENT && create {
            do { try DurableFile.makeFolders(inbox, stage: .claim) } catch { throw InboxWriter.refusal(error) }
            folder = Glibc.open(inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        guard folder >= 0 else {
            if errno == ENOENT && !create { return nil }
            throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot open the inbox \(inbox)"))
        }
        var shown = "inbox"
        for component in [target.environment] + (target.meter.map { [$0] } ?? []) {
            shown += "/" + component
            var next = openat(folder, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT && create {
                if mkdirat(folder, component, 0o755) == 0 {
                    // The new folder's name made durable, as the upload's will be in it.
                    guard fsync(folder) == 0 else {
                        close(folder)
                        throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot sync the folder holding \(shown)"))
                    }
                } else if errno != EEXIST {
                    let failure = DurableFile.failure(.claim, "cannot create \(shown)")
                    close(folder)
                    throw InboxWriter.refusal(failure)
                }
                next = openat(folder, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let code = errno
            close(folder)
            guard next >= 0 else {
                switch code {
                case ENOENT where !create: return nil
                // O_NOFOLLOW on a link, with O_DIRECTORY: ELOOP, or ENOTDIR on some kernels; told apart below.
                case ELOOP, ENOTDIR: throw refused(shown, isLink: isLink(inbox: inbox, shown: shown))
                default: throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot open \(shown)"))
                }
            }
            folder = next
        }
        return InboxFolder(fd: folder, shown: shown)
    }

    deinit { close(fd) }

    /// Whether `name` is taken in the folder, by anything: a link whose target is gone still holds
    /// the name, as the rename finds.
    func holds(_ name: String) -> Bool {
        var status = stat()
        return fstatat(fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0
    }

    /// The inode at `name` in the folder, not followed; nil when nothing is there.
    func inode(of name: String) -> ino_t? {
        var status = stat()
        return fstatat(fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0 ? status.st_ino : nil
    }

    /// Its entries made durable.
    func sync() throws(APIError) {
        guard fsync(fd) == 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot sync \(shown)")) }
    }

    private static func isLink(inbox: String, shown: String) -> Bool {
        var status = stat()
        return lstat(inbox + shown.dropFirst("inbox".count), &status) == 0 && status.st_mode & S_IFMT == S_IFLNK
    }

    private static func refused(_ shown: String, isLink: Bool) -> APIError {
        APIError(
            .conflict, "folder_refused",
            isLink
                ? "\(shown) is a symbolic link: uploads go only into the inbox's own folders, never through a link"
                : "\(shown) is not a folder: uploads cannot go into it")
    }
}
