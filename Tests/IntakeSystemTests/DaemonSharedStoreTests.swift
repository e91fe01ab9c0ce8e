import IntakeStore
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// intaked recording its jobs in PostgreSQL (`[store] url`), with a real throw-away cluster.
@Suite(.serialized) struct DaemonSharedStoreTests {
    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func intakedRecordsInPostgreSQLAndAKillLosesAndDoublesNothing() throws {
        let daemon = try DaemonHarness(store: try PostgresCluster.shared!.makeDatabase())
        var expected: [String: Bool] = [:]  // source path → should succeed
        for n in 0..<60 {
            let good = n % 10 != 7
            daemon.drop("\(n % 2 == 0 ? "prod" : "beta")/f-\(n).jpg", good ? Photos.jpeg(width: 400, height: 300, seed: 3000 + n) : Array("not \(n)".utf8))
            expected["\(n % 2 == 0 ? "prod" : "beta")/f-\(n).jpg"] = good
        }
        try daemon.start()
        usleep(600_000)
        #expect(daemon.stop(with: SIGKILL) == 128 + SIGKILL)
        try daemon.start()
        try daemon.waitForAll(expected.count, timeout: 120)
        #expect(daemon.stop() == 0)

        let database = try daemon.database()
        #expect(database.engine == .postgresql)
        let rows = try database.jobs()
        #expect(rows.count == expected.count, "a job was lost or recorded twice")
        for row in rows {
            let good = try #require(expected[row.sourcePath] as Bool?, "unexpected \(row.sourcePath)")
            #expect(row.status == (good ? .done : .failed), "\(row.sourcePath): \(row.error ?? "")")
            #expect(access(try #require(row.finalPath), F_OK) == 0)
            for output in try database.outputs(jobID: row.id) { #expect(access(output.path, F_OK) == 0, "missing \(output.path)") }
        }
        #expect(daemon.files("processed").filter { !$0.hasSuffix("_256x256.jpg") }.count == expected.values.filter { $0 }.count)
        #expect(!daemon.log.contains("intake.db"), "the daemon touched the SQLite file")
        #expect(access(daemon.root + "/intake.db", F_OK) != 0)
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func twoHostsWithTheirOwnInboxesRecordInOneStoreAndAThirdProcessReportsBoth() throws {
        let url = try PostgresCluster.shared!.makeDatabase()
        let alpha = try DaemonHarness(daemonSettings: "min_free_bytes = 0\nhost = \"alpha\"", store: url)
        let bravo = try DaemonHarness(daemonSettings: "min_free_bytes = 0\nhost = \"bravo\"", store: url)
        try alpha.start()
        try bravo.start()
        for n in 0..<12 {
            alpha.drop("prod/a-\(n).jpg", Photos.jpeg(seed: 4000 + n))
            bravo.drop(n < 3 ? "beta/b-\(n).jpg" : "prod/b-\(n).jpg", n == 0 ? Array("broken".utf8) : Photos.jpeg(seed: 5000 + n))
        }
        try alpha.waitForAll(24)
        try bravo.waitForAll(24)
        #expect(alpha.stop() == 0 && bravo.stop() == 0)

        let intake = ChildProcess.built("intake")
        let summary = try ChildProcess.run(intake, ["report", "--db", url, "--format", "csv"])
        #expect(summary.status == 0, "\(summary.standardError)")
        // The summary's "Hosts" rows, read by the CSV header's column names.
        let lines = summary.standardOutput.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = try #require(lines.first)
        let hosts = lines.filter { $0.first == "Hosts" }.map { row in
            Dictionary(uniqueKeysWithValues: zip(header, row).filter { !$0.1.isEmpty })
        }
        #expect(hosts.map { $0["host"] } == ["alpha", "bravo"], "\(summary.standardOutput)")
        #expect(hosts.first?["done"] == "12" && hosts.first?["failed"] == "0")
        #expect(hosts.last?["done"] == "11" && hosts.last?["failed"] == "1")
        let onlyBravo = try ChildProcess.run(intake, ["report", "jobs", "--db", url, "--host", "bravo", "--format", "csv"])
        let rows = onlyBravo.standardOutput.split(separator: "\n").dropFirst()
        #expect(rows.count == 12 && rows.allSatisfy { $0.hasSuffix(",bravo") }, "\(onlyBravo.standardOutput)")
        // Job ids stay unique across the hosts: 24 rows for 24 files.
        #expect(try alpha.database().jobs().count == 24)
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func aHostStartingLeavesTheUnfinishedJobsOfAnotherHostAlone() throws {
        let url = try PostgresCluster.shared!.makeDatabase()
        let alpha = try DaemonHarness(daemonSettings: "min_free_bytes = 0\nhost = \"alpha\"", store: url)
        let bravo = try DaemonHarness(daemonSettings: "min_free_bytes = 0\nhost = \"bravo\"", store: url)
        for n in 0..<40 { bravo.drop("prod/b-\(n).jpg", Photos.jpeg(width: 1600, height: 1200, seed: 8000 + n)) }
        try bravo.start()
        // Killed as soon as it has claimed: its claims are rows in the store, its files in its spool.
        try bravo.waitUntil("bravo claims", timeout: 60) { try !bravo.database().unfinishedJobs(host: "bravo").isEmpty }
        #expect(bravo.stop(with: SIGKILL) == 128 + SIGKILL)
        let unfinished = try bravo.database().unfinishedJobs(host: "bravo").map(\.id)
        try #require(!unfinished.isEmpty)

        // alpha's start-up recovery sees none of them in its spool: they are not its to forget.
        try alpha.start()
        try alpha.waitUntil("alpha recovers", timeout: 60) { alpha.log.contains("recovered") }
        #expect(alpha.stop() == 0)
        #expect(!alpha.log.contains("forgetting the claim"), "\(alpha.log)")
        #expect(try alpha.database().unfinishedJobs(host: "bravo").map(\.id) == unfinished)

        try bravo.start()
        try bravo.waitForAll(40)
        #expect(bravo.stop() == 0)
        let rows = try bravo.database().jobs()
        #expect(rows.count == 40 && rows.allSatisfy { $0.status == .done && $0.host == "bravo" }, "a job was lost or recorded twice")
    }

    /// Two machines set up alike (a clone keeps its host name) on one store: the second would
    /// record as the first, and its start-up recovery delete the first's unfinished jobs as lost
    /// claims. It waits out a lease and refuses to start instead; once the first has stopped
    /// (giving the name up), it starts at once. A daemon killed and started again on its own
    /// root takes its name back without waiting.
    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func aSecondDaemonUnderAHostNameInUseRefusesToStart() throws {
        let url = try PostgresCluster.shared!.makeDatabase()
        let lease = "claim_lease_seconds = 3"
        let first = try DaemonHarness(daemonSettings: "min_free_bytes = 0\nhost = \"twin\"", store: url, storeSettings: lease)
        let clone = try DaemonHarness(daemonSettings: "min_free_bytes = 0\nhost = \"twin\"", store: url, storeSettings: lease)
        try first.start()
        first.drop("prod/a.jpg", Photos.jpeg(seed: 8100))
        try first.waitForAll(1)

        let started = DaemonHarness.now()
        let refused = try ChildProcess.run(ChildProcess.built("intaked"), ["--config", clone.configPath])
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("another intaked records as host twin on this store"), "\(refused.standardError)")
        #expect(DaemonHarness.now() - started >= 3.0, "it waited out a lease first")
        #expect(try first.database().jobs().count == 1 && first.log.contains("intaked started"))

        // Killed and started again: the same machine and root, so the name is taken back at once.
        #expect(first.stop(with: SIGKILL) == 128 + SIGKILL)
        let restarted = DaemonHarness.now()
        try first.start()
        try first.waitUntil("the daemon is started again", timeout: 10) { first.log.contains("intaked started") }
        #expect(DaemonHarness.now() - restarted < 3.0, "it did not wait for its own lease")
        #expect(first.stop() == 0)

        // Stopped cleanly, the name is free for the other at once.
        try clone.start()
        clone.drop("prod/b.jpg", Photos.jpeg(seed: 8101))
        try clone.waitForAll(2)
        #expect(clone.stop() == 0)
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func postgreSQLStoppedForFifteenSecondsMidFeedLosesAndDoublesNothing() throws {
        let cluster = try PostgresCluster.dedicated()
        let daemon = try DaemonHarness(store: try cluster.makeDatabase())
        let notify = try DaemonServiceTests.NotifySocket(in: daemon.folder)
        try daemon.start(environment: ["NOTIFY_SOCKET": notify.path])
        for n in 0..<40 { daemon.drop("prod/before-\(n).jpg", Photos.jpeg(width: 320, height: 240, seed: 6000 + n)) }
        usleep(300_000)
        try cluster.stop()
        let stopped = DaemonHarness.now()
        // The feed goes on while the store is away: claimed and worked, held for the commit.
        for n in 0..<40 { daemon.drop("beta/during-\(n).jpg", Photos.jpeg(width: 320, height: 240, seed: 7000 + n)) }
        // Said to systemd too (`systemctl status`), not only in the log.
        let away = notify.receive(until: { $0.contains("the database cannot record") }, timeout: 15)
        #expect(away.contains { $0.contains("STATUS=the database cannot record") }, "\(away)")
        usleep(UInt32(max(0, 15 - (DaemonHarness.now() - stopped)) * 1_000_000))
        #expect(kill(daemon.pid, 0) == 0, "intaked died while the store was away")
        #expect(daemon.log.contains("the database cannot record"), "the outage was not said")
        try cluster.start()
        let back = notify.receive(until: { $0.contains("the database records again") }, timeout: 60)
        #expect(back.contains { $0.contains("STATUS=the database records again") }, "\(back)")
        try daemon.waitForAll(80, timeout: 120)
        #expect(daemon.stop() == 0)
        let rows = try daemon.database().jobs()
        #expect(rows.count == 80, "a job was lost or recorded twice")
        #expect(rows.allSatisfy { $0.status == .done }, "\(rows.filter { $0.status != .done }.map { "\($0.sourcePath): \($0.error ?? "")" })")
        #expect(Set(rows.map(\.sourcePath)).count == 80)
        #expect(daemon.files("processed").filter { !$0.hasSuffix("_256x256.jpg") }.count == 80)
    }

    /// A server that stops answering without closing anything (its machine stalled, the network
    /// cut) must not hold the committer for as long as TCP keeps the connection: a statement
    /// unanswered for a claim lease gives the connection up, the outage is said, and everything
    /// is recorded once the server answers again, without a restart.
    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func aServerThatStopsAnsweringIsGivenUpAfterALeaseAndEverythingRecordedOnceItAnswers() throws {
        let cluster = try PostgresCluster.dedicated()
        let daemon = try DaemonHarness(store: try cluster.makeDatabase(), storeSettings: "claim_lease_seconds = 3\n")
        try daemon.start()
        var sources: [String: [UInt8]] = [:]
        for n in 0..<10 {
            let bytes = Photos.jpeg(width: 320, height: 240, seed: 8200 + n)
            sources["prod/before-\(n).jpg"] = bytes
            daemon.drop("prod/before-\(n).jpg", bytes)
        }
        try daemon.waitForAll(10)
        cluster.freeze()
        var frozen = true
        defer { if frozen { cluster.thaw() } }
        for n in 0..<20 {
            let bytes = Photos.jpeg(width: 320, height: 240, seed: 8300 + n)
            sources["beta/during-\(n).jpg"] = bytes
            daemon.drop("beta/during-\(n).jpg", bytes)
        }
        try daemon.waitUntil("the daemon says the server does not answer", timeout: 20) {
            daemon.log.contains("the server has not answered for 3 s")
        }
        #expect(daemon.log.contains("the database cannot record"), "the outage was not said")
        cluster.thaw()
        frozen = false
        try daemon.waitForAll(30, timeout: 60)
        #expect(daemon.log.contains("over: the database cannot record"))
        #expect(daemon.stop() == 0)
        let rows = try daemon.database().jobs()
        #expect(rows.count == 30, "a job was lost or recorded twice")
        #expect(rows.allSatisfy { $0.status == .done }, "\(rows.filter { $0.status != .done }.map { "\($0.sourcePath): \($0.error ?? "")" })")
        for (source, bytes) in sources {
            guard let row = rows.first(where: { $0.sourcePath == source }), let original = row.finalPath else {
                Issue.record("\(source) has no row or no original")
                continue
            }
            #expect(Fixtures.readFile(original) == bytes, "\(source) lost or changed")
        }
    }
}
