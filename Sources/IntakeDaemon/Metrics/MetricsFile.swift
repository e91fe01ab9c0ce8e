import IntakeCore

/// Writes the metrics file for node_exporter's textfile collector, which reads whole files only:
/// the text goes to a temporary file beside it, is fsynced, and is renamed over the old one, so
/// a scrape sees either the previous file or the new one, never half of one.
public struct MetricsFile {
    /// What follows the target's name for the temporary file. Not `.prom`, so the collector
    /// never reads it; fixed, so a file left by a crash is overwritten by the next write instead
    /// of piling up. One writer per path, which the daemon's single metrics task is.
    public static let temporarySuffix = ".tmp"

    /// Replaces `path` atomically with `text`, fsynced. The file is made world-readable (0644)
    /// whatever the umask, because node_exporter runs as another user than intaked. The folder is
    /// not fsynced: after a crash the previous file is as good, and the daemon writes a fresh one
    /// within seconds.
    public static func write(_ text: String, to path: String) throws(MetricsFileError) {
        do {
            try WholeFile.write(Array(text.utf8), to: path, through: path + temporarySuffix, sync: true)
        } catch {
            throw MetricsFileError(path: error.path, operation: error.operation, code: error.code)
        }
    }
}
