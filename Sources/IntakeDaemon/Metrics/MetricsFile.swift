import Glibc

/// Writes the metrics file for node_exporter's textfile collector, which reads whole files only:
/// the text goes to a temporary file beside it, is fsynced, and is renamed over the old one, so
/// a scrape sees either the previous file or the new one, never half of one.
public struct MetricsFile {
    /// What follows the target's name for the temporary file. Not `.prom`, so the collector
    /// never reads it; fixed, so a file left by a crash is overwritten by the next write instead
    /// of piling up. One writer per path, which the daemon's single metrics task is.
    public static let temporarySuffix = ".tmp"

    /// Replaces `path` atomically with `text`. The file is made world-readable (0644) whatever
    /// the umask, because node_exporter runs as another user than intaked.
    public static func write(_ text: String, to path: String) throws(MetricsFileError) {
        let temporary = path + temporarySuffix
        // O_NOFOLLOW: a symlink planted at the temporary name must not redirect the write.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw MetricsFileError(path: temporary, operation: "open", code: errno) }
        do throws(MetricsFileError) {
            guard fchmod(fd, 0o644) == 0 else { throw MetricsFileError(path: temporary, operation: "chmod", code: errno) }
            try writeAll(text, to: fd, path: temporary)
            // Without it a crash soon after the rename can leave an empty file on ext4/xfs.
            guard fsync(fd) == 0 else { throw MetricsFileError(path: temporary, operation: "fsync", code: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        // The folder is not fsynced: after a crash the previous file is as good, and the daemon
        // writes a fresh one within seconds.
        guard rename(temporary, path) == 0 else {
            let error = MetricsFileError(path: path, operation: "rename", code: errno)
            unlink(temporary)
            throw error
        }
    }

    private static func writeAll(_ text: String, to fd: Int32, path: String) throws(MetricsFileError) {
        var text = text
        let failure: Int32? = text.withUTF8 { bytes in
            var written = 0
            while written < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return errno }
                if n == 0 { return EIO }
                written += n
            }
            return nil
        }
        if let failure { throw MetricsFileError(path: path, operation: "write", code: failure) }
    }
}
