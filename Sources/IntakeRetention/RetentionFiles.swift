import Foundation
public import IntakeCore
import IntakePipeline

#if canImport(Glibc)
import Glibc
#endif

/// One pruner at a time on a state root, and never while `intake retry` sends a dead letter
/// back: both take the state root's prune lock.
struct PruneLock {
    private let lock: FileLock

    init(root: StateRoot) throws(RetentionError) {
        do {
            try DurableFile.makeFolders(root.spoolPrune)
        } catch {
            throw RetentionError("cannot create \(root.spoolPrune): \(error.reason)")
        }
        // A batch is short; waiting for the other pruner's is simpler than skipping a turn.
        guard let lock = FileLock(path: root.pruneLock) else {
            throw RetentionError("cannot lock \(root.pruneLock): \(ErrnoText.current)")
        }
        self.lock = lock
    }

    func release() { lock.release() }
}

enum FileSize {
    /// The size of a regular file (never followed through a link); 0 for anything else or nothing.
    static func regularFile(_ path: String) -> Int64 {
        var status = stat()
        guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return 0 }
        return Int64(status.st_size)
    }

    static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }
}

extension FolderListing {
    /// Whether `intake retry` has put a file of this job under `folder` (its name starts with the id).
    static func containsJob(_ id: String, under folder: String) -> Bool {
        for name in names(in: folder) {
            if name.hasPrefix(id + "-") { return true }
            var status = stat()
            let path = "\(folder)/\(name)"
            if lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR, containsJob(id, under: path) { return true }
        }
        return false
    }
}

extension ArchiveManifestLine {
    /// One JSON object and a newline.
    static func jsonLine(_ line: ArchiveManifestLine) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(line)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// The bytes under each folder of the state root, as `du` counts them (allocated blocks, links
/// not followed), and the database's files: what `intake_storage_bytes` and the growth per day
/// are made of.
public enum StorageSizes {
    /// The folders measured, by the names samples are kept under.
    public static func folders(of root: StateRoot, archive: String?) -> [(name: String, path: String)] {
        var folders = [("inbox", root.inbox), ("spool", root.spool), ("processed", root.processed),
                       ("augmented", root.augmented), ("failed", root.failed)]
        if let archive { folders.append(("archive", archive)) }
        return folders
    }

    public static func measure(_ root: StateRoot, archive: String?) -> [String: Int64] {
        var sizes: [String: Int64] = [:]
        for (name, path) in folders(of: root, archive: archive) { sizes[name] = allocatedBytes(under: path) }
        sizes["database"] = ["", "-wal", "-shm"].reduce(Int64(0)) { $0 + allocatedBytes(under: root.database + $1) }
        return sizes
    }

    /// Allocated bytes of `path` and, for a folder, everything below it; 0 when it is not there.
    static func allocatedBytes(under path: String) -> Int64 {
        var status = stat()
        guard lstat(path, &status) == 0 else { return 0 }
        var total = Int64(status.st_blocks) * 512
        guard (status.st_mode & S_IFMT) == S_IFDIR else { return total }
        for name in FolderListing.names(in: path) { total += allocatedBytes(under: "\(path)/\(name)") }
        return total
    }
}
