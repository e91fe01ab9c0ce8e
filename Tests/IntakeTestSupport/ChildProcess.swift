#if canImport(Glibc)
public import Glibc
#endif

/// Runs a program of this package for real and collects what it did: exit status and output.
/// (Not its peak memory: wait4 would count this test process's own, see `chunkBombsStayWithinMemory`.)
public struct ChildProcess {
    public struct Result {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    /// An executable built into this package's .build folder (debug unless INTAKE_BUILD says otherwise).
    public static func built(_ name: String) -> String {
        let configuration = getenv("INTAKE_BUILD").map { String(cString: $0) } ?? "debug"
        return Fixtures.packageRoot + "/.build/\(configuration)/\(name)"
    }

    /// Runs `path` with `arguments`, waiting for it to exit.
    public static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let scratch = try TemporaryFolder()
        let out = scratch.path + "/stdout", err = scratch.path + "/stderr"
        let pid = try spawn(path, arguments, environment: environment, standardOutput: out, standardError: err)
        let exit = waitFor(pid)
        return Result(
            status: exit, standardOutput: String(decoding: Fixtures.readFile(out) ?? [], as: UTF8.self),
            standardError: String(decoding: Fixtures.readFile(err) ?? [], as: UTF8.self))
    }

    /// Starts `path` without waiting; its output goes to the two files named.
    public static func spawn(_ path: String, _ arguments: [String], environment: [String: String] = [:],
                             standardOutput out: String, standardError err: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var env = [String: String]()
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") { env[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
            index += 1
        }
        env.merge(environment) { $1 }

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard spawned == 0 else { throw ChildProcessError(message: "cannot start \(path): \(String(cString: strerror(spawned)))") }
        return pid
    }

    /// Waits for `pid` to exit: its exit status, 128 + the signal when killed.
    @discardableResult
    public static func waitFor(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// A folder under the system's temporary folder, removed with everything in it when dropped.
public final class TemporaryFolder {
    public let path: String

    public init() throws {
        var template = Array("\(FileManagerless.temporaryRoot)/intake-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ChildProcessError(message: "mkdtemp failed") }
        path = String(cString: made)
    }

    deinit { _ = FileManagerless.removeTree(path) }

    /// Writes `bytes` to `name` inside the folder and returns the full path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) -> String {
        let full = path + "/" + name
        if let file = fopen(full, "wbe") {
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        return full
    }
}

/// The few file-system chores tests need, without Foundation.
public enum FileManagerless {
    static var temporaryRoot: String { getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp" }

    /// `rm -rf`, without following symbolic links.
    public static func removeTree(_ path: String) -> Bool {
        var status = stat()
        guard lstat(path, &status) == 0 else { return false }
        if status.st_mode & S_IFMT == S_IFDIR {
            for name in list(path) { _ = removeTree(path + "/" + name) }
            return rmdir(path) == 0
        }
        return unlink(path) == 0
    }

    /// The names in a folder, without "." and "..".
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Every regular file below `path`, relative to it.
    public static func files(under path: String, prefix: String = "") -> [String] {
        list(path).flatMap { name -> [String] in
            var status = stat()
            let full = path + "/" + name
            guard lstat(full, &status) == 0 else { return [] }
            if status.st_mode & S_IFMT == S_IFDIR { return files(under: full, prefix: prefix + name + "/") }
            return [prefix + name]
        }.sorted()
    }
}
