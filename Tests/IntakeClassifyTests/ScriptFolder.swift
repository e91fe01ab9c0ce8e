#if canImport(Glibc)
import Glibc
#endif

/// A temporary folder holding shell scripts that play external classifiers; removed when dropped.
final class ScriptFolder {
    let path: String

    init() throws {
        var template = Array("/tmp/intake-classify-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CorpusError("mkdtemp failed") }
        path = String(cString: made)
    }

    deinit {
        for name in list() { unlink(path + "/" + name) }
        rmdir(path)
    }

    /// Writes `body` after a `#!/bin/sh` line to `name`, executable (755); returns its path.
    ///
    /// Opened close-on-exec ("e"): tests run in parallel, and a program another test starts while
    /// this script is open for writing would otherwise keep the write end for as long as it runs,
    /// and running the script would fail with ETXTBSY ("text file busy").
    @discardableResult
    func script(_ name: String, _ body: String) -> String {
        let full = path + "/" + name
        let text = "#!/bin/sh\n" + body + "\n"
        if let file = fopen(full, "we") {
            fputs(text, file)
            fclose(file)
        }
        chmod(full, 0o755)
        return full
    }

    /// The contents of `name`, or nil when it does not exist.
    func read(_ name: String) -> String? {
        guard let file = fopen(path + "/" + name, "r") else { return nil }
        defer { fclose(file) }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return text
    }

    private func list() -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// Whether process `pid` has finished: gone, or a zombie nobody has reaped yet (in a container
/// whose init does not reap, an orphan's zombie can stay).
func processHasEnded(_ pid: Int32) -> Bool {
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return true }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 512)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return true }
    let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // "pid (name) S …": the state follows the last ")".
    guard let close = line.lastIndex(of: ")") else { return true }
    let state = line[line.index(after: close)...].drop { $0 == " " }.first
    return state == "Z" || state == "X"
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
