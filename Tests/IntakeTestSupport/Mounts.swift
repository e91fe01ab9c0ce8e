#if canImport(Glibc)
import Glibc
#endif

/// Filesystems a test mounts to make faults real: a small tmpfs to fill, a folder made
/// read-only under a running daemon. Needs the right to mount (root, or a namespace that grants
/// it); `available` says whether this machine gives it, so tests can be skipped visibly without.
public enum Mounts {
    public static let available: Bool = {
        guard let folder = try? TemporaryFolder() else { return false }
        let point = folder.path + "/probe"
        mkdir(point, 0o755)
        guard (try? tmpfs(at: point, bytes: 1 << 20)) != nil else { return false }
        unmount(point)
        return true
    }()

    /// Mounts a tmpfs of `bytes` at `path` (made if missing).
    public static func tmpfs(at path: String, bytes: Int) throws {
        mkdir(path, 0o755)
        try mount(["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", path])
    }

    /// Mounts a ramfs at `path` (made if missing): a real filesystem that keeps no user extended
    /// attributes, as some network filesystems do not.
    public static func ramfs(at path: String) throws {
        mkdir(path, 0o755)
        try mount(["-t", "ramfs", "ramfs", path])
    }

    /// Gives the tmpfs mounted at `path` a new size: a full disk given room again.
    public static func resize(_ path: String, bytes: Int) throws {
        try mount(["-o", "remount,size=\(bytes)", path])
    }

    /// Remounts the filesystem mounted at `path` read-only or writable again.
    public static func remount(_ path: String, readOnly: Bool) throws {
        try mount(["-o", "remount,\(readOnly ? "ro" : "rw")", path])
    }

    /// Makes the folder at `path` read-only by binding it onto itself read-only; `unmount` undoes it.
    public static func bindReadOnly(_ path: String) throws {
        try mount(["--bind", path, path])
        // The remount is refused while a file is open for writing through the new mount, which a
        // running daemon may just have done: try again for a moment.
        for _ in 0..<50 {
            if (try? mount(["-o", "remount,bind,ro", path])) != nil { return }
            usleep(20_000)
        }
        try mount(["-o", "remount,bind,ro", path])
    }

    /// Unmounts `path`, lazily: a daemon still holding a file there does not keep it.
    public static func unmount(_ path: String) {
        _ = try? ChildProcess.run("/bin/umount", ["-l", path])
    }

    private static func mount(_ arguments: [String]) throws {
        let result = try ChildProcess.run("/bin/mount", arguments)
        guard result.status == 0 else {
            throw ChildProcessError(message: "mount \(arguments.joined(separator: " ")) failed: \(result.standardError)")
        }
    }

    /// Fills the filesystem holding `path` to the last byte with a file at `path`; returns its size.
    @discardableResult
    public static func fill(_ path: String) -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var total = 0
        for chunk in [1 << 20, 1 << 12, 1] {
            let zeros = [UInt8](repeating: 0, count: chunk)
            while true {
                let written = zeros.withUnsafeBytes { write(fd, $0.baseAddress, chunk) }
                if written <= 0 { break }
                total += written
            }
        }
        return total
    }
}

/// Folders made append-only (`chattr +a`): files can be made in one, and neither removed nor
/// renamed out of it, the fault a write meets when its filesystem goes read-only between making
/// its temporary file and renaming it. Needs root and a filesystem that keeps the flag.
public enum AppendOnlyFolders {
    public static let available: Bool = {
        guard let folder = try? TemporaryFolder() else { return false }
        let probe = folder.path + "/probe"
        mkdir(probe, 0o755)
        defer { set(probe, appendOnly: false) }
        return set(probe, appendOnly: true)
    }()

    /// Sets or clears the flag; whether `chattr` did it.
    @discardableResult
    public static func set(_ path: String, appendOnly: Bool) -> Bool {
        (try? ChildProcess.run("/usr/bin/chattr", [appendOnly ? "+a" : "-a", path]))?.status == 0
    }
}
