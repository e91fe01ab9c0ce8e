public import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL cluster for the tests: `initdb` into a temporary folder, `pg_ctl
/// start` on a private Unix socket there (no TCP), one database per test. Started once per test
/// process; a watcher stops it (`-m immediate`) when the process ends, however it ends. As root,
/// which the server refuses, everything runs as the `postgres` user the Debian package makes.
public final class PostgresCluster: @unchecked Sendable {
    /// The cluster of this test process, or nil when the server's binaries are not installed
    /// (Debian's `postgresql`; `scripts/install-deps.sh --test` installs it).
    public static let shared: PostgresCluster? = {
        guard let binaries = findBinaries() else { return nil }
        do {
            return try PostgresCluster(binaries: binaries)
        } catch {
            print("PostgresCluster: cannot start a cluster: \(error)")
            return nil
        }
    }()

    public static var isAvailable: Bool { shared != nil }

    /// A cluster of its own, for a test that stops and starts the server; stopped when dropped.
    public static func dedicated() throws -> PostgresCluster {
        guard let binaries = findBinaries() else { throw ChildProcessError(message: "no PostgreSQL server binaries") }
        return try PostgresCluster(binaries: binaries)
    }

    deinit {
        try? run("pg_ctl", ["-D", data, "-w", "-m", "immediate", "stop"])
        _ = FileManagerless.removeTree(folder)
    }

    let binaries: String
    public let folder: String
    private let port = 5432
    private var created = 0
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    private init(binaries: String) throws {
        self.binaries = binaries
        var template = Array("/tmp/intake-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ChildProcessError(message: "mkdtemp failed") }
        folder = String(cString: made)
        pthread_mutex_init(lock, nil)
        if geteuid() == 0 {
            guard let user = getpwnam("postgres") else { throw ChildProcessError(message: "running as root and there is no postgres user") }
            chown(folder, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        // fsync off: these clusters live for one test run; no test here cuts the power.
        try run("initdb", ["-D", data, "-U", "intake", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
        try start()
        startWatcher()
    }

    private var data: String { folder + "/data" }

    /// A fresh, empty database: its URL.
    public func makeDatabase() throws -> String {
        pthread_mutex_lock(lock)
        created += 1
        let name = "t\(getpid())_\(created)"
        pthread_mutex_unlock(lock)
        try run("createdb", ["-h", folder, "-p", "\(port)", "-U", "intake", name])
        return url(database: name)
    }

    public func url(database: String) -> String { "postgresql://intake@/\(database)?host=\(folder)&port=\(port)" }

    /// Stops the server (for the tests of an outage): at once, as a crash or a cut would.
    public func stop() throws { try run("pg_ctl", ["-D", data, "-w", "-m", "immediate", "stop"]) }

    /// Starts `psql` running `sql` on the database at `url` (as another host's session would);
    /// its pid, to wait for.
    public func spawnSQL(_ sql: String, on url: String, output: String) throws -> Int32 {
        try ChildProcess.spawn(binaries + "/psql", [url, "-v", "ON_ERROR_STOP=1", "-c", sql], standardOutput: output, standardError: output)
    }

    /// Stops every process of the server where it stands (SIGSTOP), as a stalled machine would:
    /// its sockets stay open and accept, and nothing answers. `thaw` lets them go on.
    public func freeze() { signalServer(SIGSTOP) }

    public func thaw() { signalServer(SIGCONT) }

    /// Sends `signal` to the postmaster (the first line of postmaster.pid) and to its children.
    private func signalServer(_ signal: Int32) {
        guard let text = Fixtures.readFile(data + "/postmaster.pid"),
              let line = String(decoding: text, as: UTF8.self).split(separator: "\n").first, let postmaster = pid_t(line)
        else { return }
        kill(postmaster, signal)
        for entry in FileManagerless.list("/proc") {
            guard let pid = pid_t(entry), let stat = Fixtures.readFile("/proc/\(entry)/stat") else { continue }
            // "pid (name) state ppid …": the name may hold spaces, so the fields after its last ')'.
            let text = String(decoding: stat, as: UTF8.self)
            guard let close = text.lastIndex(of: ")") else { continue }
            let fields = text[text.index(after: close)...].split(separator: " ")
            if fields.count > 1, pid_t(fields[1]) == postmaster { kill(pid, signal) }
        }
    }

    /// Starts the server on the folder's private socket (again, after `stop`).
    public func start() throws {
        try run("pg_ctl", ["-D", data, "-l", folder + "/server.log", "-w", "-t", "60", "-o",
                           "-k \(folder) -c listen_addresses='' -p \(port) -c fsync=off -c max_connections=200", "start"])
    }

    /// Runs one of the server's programs, as `postgres` when we are root.
    private func run(_ program: String, _ arguments: [String]) throws {
        let path = binaries + "/" + program
        let (executable, argv) = geteuid() == 0 ? ("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments) : (path, arguments)
        let result = try ChildProcess.run(executable, argv)
        guard result.status == 0 else {
            throw ChildProcessError(message: "\(program) failed (\(result.status)): \(result.standardError)\(result.standardOutput)")
        }
    }

    /// A shell that waits for this process to end, then stops the server at once.
    private func startWatcher() {
        let stop = (geteuid() == 0 ? "/usr/sbin/runuser -u postgres -- " : "") + "\(binaries)/pg_ctl -D \(data) -m immediate stop"
        let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop) >/dev/null 2>&1; rm -rf \(folder)"
        _ = try? ChildProcess.spawn("/bin/sh", ["-c", script], standardOutput: "/dev/null", standardError: "/dev/null")
    }

    /// `initdb` and `pg_ctl` from Debian's versioned folder (newest first), else on the PATH.
    static func findBinaries() -> String? {
        let versions = FileManagerless.list("/usr/lib/postgresql").compactMap(Int.init).sorted(by: >)
        let candidates = versions.map { "/usr/lib/postgresql/\($0)/bin" }
            + (getenv("PATH").map { String(cString: $0) } ?? "").split(separator: ":").map(String.init)
        return candidates.first { access($0 + "/initdb", X_OK) == 0 && access($0 + "/pg_ctl", X_OK) == 0 && access($0 + "/createdb", X_OK) == 0 }
    }
}

/// The stores a daemon test runs on: the state root's SQLite file always, PostgreSQL when its
/// server binaries are installed (a throw-away cluster, a new database per test).
public enum DaemonStore: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    public static var available: [DaemonStore] { PostgresCluster.isAvailable ? allCases : [.sqlite] }

    public var testDescription: String { rawValue }

    /// `[store] url` for a fresh store of this kind: nil for the state root's SQLite file.
    public func makeURL() throws -> String? {
        self == .sqlite ? nil : try PostgresCluster.shared!.makeDatabase()
    }
}
