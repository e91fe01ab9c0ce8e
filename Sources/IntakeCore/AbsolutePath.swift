#if canImport(Glibc)
import Glibc
#endif

/// Paths from the configuration and the command line, made absolute against the working
/// directory once, at start: the daemon's threads and child processes never depend on it later.
public enum AbsolutePath {
    /// `path` itself when absolute; else under the working directory (`./x` and `x` alike).
    public static func resolving(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let cwd = getcwd(&buffer, buffer.count).map { String(cString: $0) } ?? "."
        let relative = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
        return relative.isEmpty || relative == "." ? cwd : cwd + "/" + relative
    }
}
