import IntakeCore
import IntakeTestSupport
import Logging
import Synchronization
import Testing

@testable import IntakeDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// Files left in the inbox (ignored by their names) are named in the log once while they stay,
/// however many scans pass: the watcher forgot them all at once past 10,000, and then named every
/// one again at every scan of an inbox that held more. Past its limit it names no more and says so
/// once; a file that goes and comes back is named again.
@Suite struct InboxLeftFilesTests {
    final class Lines: Sendable {
        let all = Mutex<[String]>([])
        var named: [String] { all.withLock { $0.filter { $0.hasPrefix("left in the inbox ") } } }
        var overLimit: Int { all.withLock { $0.filter { $0.hasPrefix("more files are left") }.count } }
    }

    /// Keeps each line's message and file.
    struct Capture: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let file = event.metadata?["file"].map { "\($0)" } ?? ""
            lines.all.withLock { $0.append("\(event.message) \(file)") }
        }
    }

    /// Has the watcher scan the whole inbox `count` more times. Scans run one after another on
    /// its thread, so the start of one more than asked for means those asked for have ended.
    func scan(_ watcher: InboxWatcher, times count: Int) {
        for _ in 0...count {
            let before = watcher.counters.rescans
            watcher.requestScan()
            let deadline = monotonicSeconds() + 10
            while watcher.counters.rescans == before && monotonicSeconds() < deadline { usleep(5_000) }
        }
    }

    @Test func eachLeftFileIsNamedOnceWhileItStaysAndTheRestPastTheLimitInOneLine() throws {
        let folder = try TemporaryFolder()
        let inbox = folder.path + "/inbox"
        #expect(mkdir(inbox, 0o755) == 0 && mkdir(inbox + "/prod", 0o755) == 0)
        for n in 0..<30 { _ = folder.write("inbox/prod/left\(n).tmp", [1]) }
        let lines = Lines()
        let watcher = try InboxWatcher(
            inboxRoot: inbox, environments: ["prod"], rules: InboxRules(ignoredSuffixes: [".tmp"]), scanInterval: 3600,
            namedLimit: 20, logger: Logger(label: "test") { _ in Capture(lines: lines) }
        ) { _ in true }
        let thread = SystemThread(name: "test-watch") { watcher.run() }
        defer {
            watcher.stop()
            thread.join()
        }
        usleep(300_000)
        scan(watcher, times: 3)
        #expect(lines.named.count == 20, "20 named, once each, over four scans: \(lines.named.count)")
        #expect(Set(lines.named).count == lines.named.count)
        #expect(lines.overLimit == 1)

        // 15 named files go: the 10 never named are named now (the limit has room), once.
        let gone = lines.named.prefix(15).map { $0.split(separator: " ").last.map(String.init)! }
        for path in gone { #expect(unlink(path) == 0) }
        scan(watcher, times: 2)
        #expect(lines.named.count == 30, "the ten not named before: \(lines.named.count - 20)")
        #expect(Set(lines.named).count == 30)

        // One that went comes back: it is another file, named again.
        _ = folder.write(String(gone[0].dropFirst(folder.path.count + 1)), [1])
        scan(watcher, times: 2)
        #expect(lines.named.count == 31)
        #expect(lines.named.last?.hasSuffix(gone[0]) == true)
    }
}
