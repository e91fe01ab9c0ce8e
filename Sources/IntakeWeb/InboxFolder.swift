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
        let components = [target.environment] + (target.meter.map { [$0] } ?? [])
        var walk = LinkFreeWalk.open(components, below: inbox, makingFolders: create)
        if case .failure(let failure) = walk, failure.component < 0, failure.code == ENOENT, create {
            // The inbox itself is the administrator's to place (a link to another disk is theirs
            // to make); made here only when it is missing altogether.
            do { try DurableFile.makeFolders(inbox, stage: .claim) } catch { throw InboxWriter.refusal(error) }
            walk = LinkFreeWalk.open(components, below: inbox, makingFolders: create)
        }
        switch walk {
        case .success(let fd):
            return InboxFolder(fd: fd, shown: (["inbox"] + components).joined(separator: "/"))
        case .failure(let failure):
            let shown = (["inbox"] + components.prefix(failure.component + 1)).joined(separator: "/")
            switch failure.code {
            case ENOENT where !create: return nil
            // O_NOFOLLOW on a link, with O_DIRECTORY: ELOOP, or ENOTDIR on some kernels; told apart here.
            case ELOOP, ENOTDIR: throw refused(shown, isLink: isLink(inbox: inbox, shown: shown))
            default:
                errno = failure.code
                let what = failure.component < 0 ? "cannot open the inbox \(inbox)" : failure.making ? "cannot create \(shown)" : "cannot open \(shown)"
                throw InboxWriter.refusal(DurableFile.failure(.claim, what))
            }
        }
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
