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
            let good = try #require(expected[row.sourcePath], "unexpected \(row.sourcePath)")
            #expect(row.status == (good ? .done : .failed), "\(row.sourcePath): \(row.error ?? "")")
            #expect(access(try #require(row.finalPath), F_OK) == 0)
            for output in try database.outputs(jobID: row.id) { #expect(access(output.path, F_OK) == 0, "missing \(output.path)") }
        }
        #expect(daemon.files("processed").filter { !$0.hasSuffix("_256x256.jpg") }.count == expected.values.filter { $0 }.count)
        #expect(!daemon.log.contains("intake.db"), "the daemon touched the SQLite file")
        #expect(access(daemon.root + "/intake.db", F_OK) != 0)
    }
}
