import IntakeStore
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several intaked sharing one inbox (`[watch] mode = "poll"` with a PostgreSQL store): hosts on
/// one state root, as machines on one network folder would be, fed, killed, frozen and
/// restarted. No file may be processed by two hosts, and none lost.
@Suite(.serialized) struct DaemonSharedInboxTests {
    static let watch = """
        [watch]
        mode = "poll"
        poll_milliseconds = 200
        settle_milliseconds = 0
        """

    /// `settings` are added to the shared `[watch]` section: a host's own limits, say.
    static func host(_ name: String, root: String, store: String, workers: Int = 2, settings: String = "") throws -> DaemonHarness {
        try DaemonHarness(
            workers: workers, settings: watch + "\n" + settings, daemonSettings: "min_free_bytes = 0\nhost = \"\(name)\"", store: store,
            storeSettings: "claim_lease_seconds = 3", root: root)
    }

    /// Waits until `count` jobs are final and neither the inbox nor any host's spool holds a file.
    static func waitForEveryFile(_ count: Int, watchedBy host: DaemonHarness) throws {
        let database = try host.database()
        try host.waitUntil("every file is final", timeout: 180) {
            let counts = try database.statusCounts()
            return counts["done", default: 0] + counts["failed", default: 0] == count
                && host.files("inbox").isEmpty && host.files("hosts").allSatisfy { !$0.contains("/spool/active/") }
        }
    }

    /// The `file=` of every "job done" line in `logs`: one per file when no file was done twice.
    static func doneFiles(in logs: String) -> [Substring] {
        logs.split(separator: "\n").filter { $0.contains("job done") }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("file=") }
        }
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func threeHostsOnOneInboxProcessEveryFileOnceThroughTwoKills() throws {
        let url = try PostgresCluster.shared!.makeDatabase()
        let shared = try TemporaryFolder()
        let root = shared.path + "/state"
        let alpha = try Self.host("alpha", root: root, store: url)
        let bravo = try Self.host("bravo", root: root, store: url)
        let charlie = try Self.host("charlie", root: root, store: url)
        for host in [alpha, bravo, charlie] { try host.start() }
        let count = 600
        for n in 0..<count {
            alpha.drop("\(n % 3 == 0 ? "beta" : "prod")/f-\(n).jpg", Photos.jpeg(width: 320, height: 240, seed: 9000 + n))
        }
        // bravo dies with claims in hand and stays dead: after its lease the others take them
        // over. charlie is killed twice mid-feed, and comes back each time to finish its own.
        try bravo.waitUntil("bravo claims", timeout: 60) { try !bravo.database().claims(host: "bravo").isEmpty }
        usleep(300_000)
        #expect(bravo.stop(with: SIGKILL) == 128 + SIGKILL)
        let bravoHeld = try bravo.database().claims(host: "bravo").count
        for _ in 0..<2 {
            usleep(500_000)
            #expect(charlie.stop(with: SIGKILL) == 128 + SIGKILL)
            usleep(300_000)
            try charlie.start()
        }

        try Self.waitForEveryFile(count, watchedBy: alpha)
        let database = try alpha.database()
        #expect(alpha.stop() == 0 && charlie.stop() == 0)

        let rows = try database.jobs()
        #expect(rows.count == count, "a file was lost or recorded twice")
        #expect(Set(rows.map(\.sourcePath)).count == count)
        #expect(rows.allSatisfy { $0.status == .done }, "\(rows.filter { $0.status != .done }.map { "\($0.sourcePath): \($0.error ?? "")" })")
        #expect(try database.query("SELECT count(*) AS n FROM claims").first?["n"] == .integer(0), "claims left behind")
        let originals = alpha.files("processed").filter { !$0.hasSuffix("_256x256.jpg") && !$0.hasSuffix(".json") }
        #expect(originals.count == count)
        // Each file was done by one host: no file has two "job done" lines across every host's
        // logs. Not one line for each: a host killed between a commit and its log lines loses
        // those lines (the rows above say every file is done).
        let logs = alpha.allLogs + bravo.allLogs + charlie.allLogs
        let doneFiles = Self.doneFiles(in: logs)
        #expect(Set(doneFiles).count == doneFiles.count && doneFiles.count <= count, "\(doneFiles.count) outcomes for \(Set(doneFiles).count) files")
        try #require(bravoHeld > 0, "bravo held no claim when it was killed: the takeover went untested")
        #expect(logs.contains("took over a claim whose host stopped renewing it"), "bravo's \(bravoHeld) claims were not taken over")
        #expect(rows.contains { $0.host == "bravo" } || bravoHeld == rows.count)
        #expect(Set(rows.compactMap(\.host)).isSubset(of: ["alpha", "bravo", "charlie"]))
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func aHostFrozenPastItsLeaseHasItsLateResultsRefused() throws {
        let url = try PostgresCluster.shared!.makeDatabase()
        let shared = try TemporaryFolder()
        let root = shared.path + "/state"
        let alpha = try Self.host("alpha", root: root, store: url)
        let bravo = try Self.host("bravo", root: root, store: url)
        let count = 200
        for n in 0..<count { alpha.drop("prod/g-\(n).jpg", Photos.jpeg(width: 1200, height: 900, seed: 12_000 + n)) }
        try bravo.start()
        try alpha.start()
        try bravo.waitUntil("bravo claims", timeout: 60) { try bravo.database().claims(host: "bravo").count >= 4 }
        // Frozen (a stalled VM, a long GC pause, a cut network) with work in hand, past its lease.
        bravo.signal(SIGSTOP)
        try alpha.waitUntil("alpha takes bravo's claims over", timeout: 60) { alpha.log.contains("took over a claim") }
        bravo.signal(SIGCONT)

        try Self.waitForEveryFile(count, watchedBy: alpha)
        let database = try alpha.database()
        usleep(1_000_000)  // bravo's last late results reach its committer
        #expect(alpha.stop() == 0 && bravo.stop() == 0)
        #expect(bravo.log.contains("another host took this job over"), "bravo wrote nothing late: the fencing went untested")
        let rows = try database.jobs()
        #expect(rows.count == count && rows.allSatisfy { $0.status == .done }, "\(rows.filter { $0.status != .done }.map { "\($0.sourcePath): \($0.error ?? "")" })")
        let logs = alpha.allLogs + bravo.allLogs
        let doneFiles = Self.doneFiles(in: logs)
        #expect(doneFiles.count == count && Set(doneFiles).count == count, "\(doneFiles.count) outcomes for \(Set(doneFiles).count) files")
        #expect(try database.query("SELECT count(*) AS n FROM claims").first?["n"] == .integer(0), "claims left behind")
        #expect(alpha.files("processed").filter { !$0.hasSuffix("_256x256.jpg") && !$0.hasSuffix(".json") }.count == count)
        #expect(alpha.files("failed").isEmpty, "\(alpha.files("failed"))")
    }

    /// A host frozen with jobs in its queue, whose runs of them fail (here by its own pixel
    /// limit, where the other host's succeed), writes their error reports after it resumes:
    /// after the other host has done those jobs. The commit that finds them taken over must take
    /// those reports out of failed/ again, or a job that is done has a report saying it failed.
    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func aFrozenHostsLateFailureLeavesNoReportBesideAJobAnotherHostDid() throws {
        let url = try PostgresCluster.shared!.makeDatabase()
        let shared = try TemporaryFolder()
        let root = shared.path + "/state"
        let alpha = try Self.host("alpha", root: root, store: url)
        let bravo = try Self.host("bravo", root: root, store: url, workers: 1, settings: "[limits]\nmax_pixels = 100_000")
        let count = 300
        for n in 0..<count { alpha.drop("prod/f-\(n).jpg", Photos.jpeg(width: 1200, height: 900, seed: 13_000 + n)) }
        try bravo.start()
        try bravo.waitUntil("bravo holds claims", timeout: 60) {
            guard try bravo.database().claims(host: "bravo").count >= 3 else { return false }
            bravo.signal(SIGSTOP)
            return true
        }
        // What it still held when it froze: some run and failed, their commits not made.
        let held = try bravo.database().claims(host: "bravo").map(\.jobID)
        try #require(!held.isEmpty, "bravo finished its claims before it froze: nothing to take over")
        try alpha.start()
        // Resumed only once alpha has done every job bravo held, so that bravo's failures of them
        // come later. (A claim whose job bravo had not recorded yet is taken over as a new job.)
        let database = try alpha.database()
        try alpha.waitUntil("alpha does bravo's claimed jobs", timeout: 60) {
            try database.claims(host: "bravo").isEmpty && held.allSatisfy { try database.job(id: $0).map { $0.status == .done } ?? true }
        }
        bravo.signal(SIGCONT)

        try Self.waitForEveryFile(count, watchedBy: alpha)
        try bravo.waitUntil("bravo's late results reach its committer", timeout: 30) { bravo.log.contains("another host took this job over") }
        usleep(500_000)
        #expect(alpha.stop() == 0 && bravo.stop() == 0)
        let rows = try database.jobs()
        let failed = Set(rows.filter { $0.status == .failed }.map(\.id))
        #expect(rows.count == count)
        let reports = alpha.files("failed").filter { $0.hasSuffix(".error.json") }
        let strays = reports.filter { report in !failed.contains { report.contains($0) } }
        #expect(strays.isEmpty, "error reports of jobs that are done: \(strays)")
        #expect(reports.count == failed.count, "\(reports.count) reports for \(failed.count) failed jobs")
    }
}
