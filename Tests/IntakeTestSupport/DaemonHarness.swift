import IntakeCodecs
public import IntakeStore
import Testing

#if canImport(Glibc)
public import Glibc
#endif

/// A real intaked on a temporary state root: started as a process, fed files through the real
/// file system, signalled and killed like systemd or a power cut would.
public final class DaemonHarness {
    public let folder: TemporaryFolder
    public let root: String
    public let configPath: String
    /// `[store] url` when the jobs are recorded in PostgreSQL; nil for the SQLite file.
    public let store: String?
    public private(set) var pid: pid_t = 0
    private var runs = 0

    /// Where `drop` writes a file before renaming it into the inbox; it must be on the inbox's
    /// filesystem (a test that mounts one over the state root points it there).
    public var stagingFolder: String

    /// `settings` are extra TOML lines (whole sections) for the configuration; `daemonSettings`
    /// extra lines for its `[daemon]` section. The free-space floor is off unless a test sets it.
    /// `scanSeconds` is the reconciliation scan's interval: short by default, long for a test of
    /// what inotify alone must catch.
    /// `root` puts the state root there instead of in the harness's own folder: several
    /// harnesses on one root are several hosts sharing it. `storeSettings` are extra lines for
    /// `[store]`.
    public init(workers: Int = 2, settings: String = "", daemonSettings: String = "min_free_bytes = 0", scanSeconds: Double = 2,
                store: String? = nil, storeSettings: String = "", root: String? = nil) throws {
        self.store = store
        folder = try TemporaryFolder()
        self.root = root ?? folder.path + "/state"
        stagingFolder = folder.path
        let toml = """
            [daemon]
            root = "\(self.root)"
            \(daemonSettings)
            workers = \(workers)
            reconcile_interval_seconds = \(scanSeconds)
            metrics_interval_seconds = 0.5
            shutdown_grace_seconds = 5
            log_level = "debug"

            [retry]
            initial_backoff_seconds = 0.1
            max_backoff_seconds = 0.5

            \(store.map { "[store]\nurl = \"\($0)\"\n\(storeSettings)" } ?? "")

            \(settings)
            """
        configPath = folder.write("intake.toml", Array(toml.utf8))
    }

    public var inbox: String { root + "/inbox" }
    public var logPath: String { folder.path + "/intaked-\(runs).log" }

    /// Starts intaked and waits until it has created its folders and database. `through` is a
    /// command that runs it (`setpriv` and its options, to run it as another user).
    public func start(environment: [String: String] = [:], through wrapper: [String] = []) throws {
        runs += 1
        let command = wrapper + [ChildProcess.built("intaked"), "--config", configPath]
        pid = try ChildProcess.spawn(
            command[0], Array(command.dropFirst()), environment: environment,
            standardOutput: folder.path + "/stdout-\(runs)", standardError: logPath)
        try waitUntil("the daemon created its folders", timeout: 30) {
            (store != nil || access(root + "/intake.db", F_OK) == 0) && access(inbox + "/prod", F_OK) == 0
        }
    }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// Sends `number` and waits for the process to exit; returns its exit status.
    @discardableResult
    public func stop(with number: Int32 = SIGTERM) -> Int32 {
        kill(pid, number)
        return ChildProcess.waitFor(pid)
    }

    public var log: String { String(decoding: Fixtures.readFile(logPath) ?? [], as: UTF8.self) }

    /// The logs of every run so far, oldest first.
    public var allLogs: String {
        (1...max(1, runs)).map { String(decoding: Fixtures.readFile(folder.path + "/intaked-\($0).log") ?? [], as: UTF8.self) }.joined()
    }

    /// Drops `bytes` as `relativePath` under inbox/ the way a careful uploader does: written
    /// elsewhere on the same filesystem, then renamed in.
    @discardableResult
    public func drop(_ relativePath: String, _ bytes: [UInt8]) -> String {
        let staging = stagingFolder + "/staging-\(UInt64.random(in: 0 ... .max))"
        if let file = fopen(staging, "wbe") {
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        let target = inbox + "/" + relativePath
        makeFolders(String(target[..<target.lastIndex(of: "/")!]))
        rename(staging, target)
        return target
    }

    /// Writes straight into the inbox, as `cp` does.
    public func copy(_ relativePath: String, _ bytes: [UInt8]) {
        let target = inbox + "/" + relativePath
        makeFolders(String(target[..<target.lastIndex(of: "/")!]))
        if let file = fopen(target, "wbe") {
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
    }

    public func makeFolders(_ path: String) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            mkdir(current, 0o755)
        }
    }

    /// A read-only connection to the daemon's database.
    public func database() throws -> Database { try Database(path: store ?? root + "/intake.db", readOnly: true) }

    public func statusCounts() throws -> [String: Int] { try database().statusCounts() }

    /// Every file below `relative` (under the state root), relative to it.
    public func files(_ relative: String) -> [String] { FileManagerless.files(under: root + "/" + relative) }

    /// Waits until `condition` holds, polling; records an issue naming `what` on time-out.
    public func waitUntil(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws {
        let deadline = Self.now() + timeout
        while Self.now() < deadline {
            if (try? condition()) == true { return }
            usleep(20_000)
        }
        if try condition() { return }
        Issue.record("timed out after \(timeout) s waiting until \(what)\n--- intaked log ---\n\(log.suffix(4000))")
        throw HarnessError.timeout(what)
    }

    /// Waits until `count` jobs are final and nothing is left in the inboxes or the spool.
    public func waitForAll(_ count: Int, timeout: Double = 120) throws {
        try waitUntil("\(count) jobs are final", timeout: timeout) {
            let counts = try statusCounts()
            return (counts["done", default: 0] + counts["failed", default: 0]) == count
                // Whatever is left in the inbox is hidden (a dot name, or in a dot folder such as
                // intake serve's upload folder), which the daemon never takes.
                && files("spool/active").isEmpty && files("inbox").allSatisfy { $0.split(separator: "/").contains { $0.hasPrefix(".") } }
        }
    }

    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    deinit {
        if pid > 0 && kill(pid, 0) == 0 {
            kill(pid, SIGKILL)
            ChildProcess.waitFor(pid)
        }
    }
}

public enum HarnessError: Error { case timeout(String) }

/// Small JPEGs made by the project's own encoder; each different, so none is a duplicate.
public enum Photos {
    public static func jpeg(width: Int = 96, height: Int = 64, seed: Int) -> [UInt8] {
        let image = RGBImage(width: width, height: height) { p in
            for y in 0..<height {
                for x in 0..<width {
                    let i = (y * width + x) * 3
                    p[i] = UInt8((x * 255 / width + seed) & 0xFF)
                    p[i + 1] = UInt8((y * 255 / height + seed * 7) & 0xFF)
                    p[i + 2] = UInt8((seed * 13) & 0xFF)
                }
            }
            // The seed itself in the first pixel: every seed gives different bytes.
            p[0] = UInt8(seed & 0xFF)
            p[1] = UInt8((seed >> 8) & 0xFF)
        }
        return try! JPEGCodec().encode(image, quality: 85)
    }
}
