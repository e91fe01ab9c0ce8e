import IntakeCore
import IntakeTestSupport
import Logging
import Synchronization
import Testing

@testable import IntakeDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// A file the claim answers "not now" is offered again by the watcher, with no event to prompt it,
/// for as long as such a "not now" can last.
@Suite struct InboxWatcherRetryTests {
    /// Where leases are unavailable (another user's file, under the unit) a file no close reported
    /// is claimed once it has been left alone for `settle_milliseconds`. The watcher offered it
    /// again for six seconds only: with a longer settle, the file waited for the next scan.
    @Test func aFileNotYetSettledIsOfferedAgainForLongerThanTheSettleTime() throws {
        let folder = try TemporaryFolder()
        let inbox = folder.path + "/inbox"
        #expect(mkdir(inbox, 0o755) == 0 && mkdir(inbox + "/prod", 0o755) == 0)
        let settle = 8.0
        let started = monotonicSeconds()
        final class Acceptance: Sendable { let after = Mutex<Double?>(nil) }
        let acceptance = Acceptance()
        // The claim's answer for a file that settles `settle` seconds after it was written.
        let watcher = try InboxWatcher(
            inboxRoot: inbox, environments: ["prod"], rules: InboxRules(ignoredSuffixes: []), scanInterval: 3600,
            settleSeconds: settle, logger: Logger(label: "test")
        ) { _ in
            let now = monotonicSeconds()
            guard now - started >= settle else { return false }
            acceptance.after.withLock { $0 = $0 ?? now - started }
            return true
        }
        let thread = SystemThread(name: "test-watch") { watcher.run() }
        usleep(300_000)  // the watches are set
        _ = folder.write("inbox/prod/a.jpg", [0xFF, 0xD8, 0xFF])
        let deadline = monotonicSeconds() + settle + 5
        while acceptance.after.withLock({ $0 }) == nil && monotonicSeconds() < deadline { usleep(50_000) }
        watcher.stop()
        thread.join()
        let after = try #require(acceptance.after.withLock { $0 }, "not offered again once settled: left for the scan an hour away")
        #expect(after < settle + 1.5, "offered again \(after) s after it was written")
    }
}
