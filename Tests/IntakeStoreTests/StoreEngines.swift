import Testing

import class IntakeTestSupport.PostgresCluster
import struct IntakeTestSupport.ChildProcess

#if canImport(Glibc)
import Glibc
#endif

@testable import IntakeStore

/// The engines the store tests run on: SQLite always, PostgreSQL when its server binaries are
/// installed (a throw-away cluster, one database per test).
enum TestEngine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    static var available: [TestEngine] { PostgresCluster.isAvailable ? allCases : [.sqlite] }

    var testDescription: String { rawValue }
}

/// A fresh store of `engine`: a file in a new temporary folder, or a new PostgreSQL database.
func openStore(_ engine: TestEngine) throws -> (TemporaryFolder, Database) {
    let folder = try TemporaryFolder()
    switch engine {
    case .sqlite: return (folder, try Database(path: folder.databasePath))
    case .postgresql: return (folder, try Database(path: try PostgresCluster.shared!.makeDatabase()))
    }
}

@Suite("Store engines")
struct StoreEngineTests {
    /// The daemon's connections give a silent server up after a lease; a migration must not be:
    /// it takes as long as its schema change, or another host's migration ahead of it, needs.
    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func aMigrationWaitsOnAnotherHostsMigrationLongerThanTheAnswerTimeout() throws {
        let cluster = try #require(PostgresCluster.shared)
        let url = try cluster.makeDatabase()
        let folder = try TemporaryFolder()
        // Another host migrating this fresh store: it holds the migration lock for 3 s.
        let other = try cluster.spawnSQL(
            "BEGIN; SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock)); SELECT pg_sleep(3); COMMIT;", on: url,
            output: folder.path + "/psql.out")
        defer { _ = ChildProcess.waitFor(other) }
        usleep(1_000_000)
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let database = try Database(path: url, answerTimeout: 0.5)
        clock_gettime(CLOCK_MONOTONIC, &end)
        let waited = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
        #expect(waited > 1, "the other session never held the lock: nothing was waited for")
        #expect(try database.userVersion() == Database.schemaVersion)
        #expect((database.connection as? PostgresConnection)?.answerTimeout == 0.5, "the limit is back once migrated")
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql): the store tests ran on SQLite only"))
    func aPostgreSQLStoreIsMigratedToTheSameVersionAndAReaderSeesIt() throws {
        let url = try PostgresCluster.shared!.makeDatabase()
        let writer = try Database(path: url)
        #expect(writer.engine == .postgresql)
        #expect(try writer.storedSchemaVersion() == Database.schemaVersion)
        try writer.insertJob(newJob(jobID(1)))
        // A second writer (another host) finds it migrated; a reader cannot write.
        let second = try Database(path: url)
        #expect(try second.job(id: jobID(1))?.status == .queued)
        let reader = try Database(path: url, readOnly: true)
        #expect(throws: StoreError.self) { try reader.insertJob(newJob(jobID(2))) }
        #expect(try reader.jobs().count == 1)
        // Its size is the server's to say: a fresh database already has its catalogue's pages.
        #expect(try reader.serverDatabaseBytes() ?? 0 > 1_000_000)
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries"))
    func aPasswordInTheURLIsRefusedAndAnUnreachableServerIsUnavailable() throws {
        #expect { try Database(path: "postgresql://intake:secret@localhost/x") } throws: { error in
            let error = error as! StoreError
            return error.message.contains("PGPASSFILE") && !error.description.contains("secret")
        }
        #expect { try Database(path: "postgresql://intake@/nothing?host=/nonexistent&port=1") } throws: { error in
            (error as! StoreError).isUnavailable
        }
    }

    @Test func theDialectTranslatesParametersAndRowidButNotLiterals() {
        #expect(PostgresDialect.translate("SELECT * FROM t WHERE a = ? AND b = ? ORDER BY rowid")
            == "SELECT * FROM t WHERE a = $1 AND b = $2 ORDER BY seq")
        #expect(PostgresDialect.translate("UPDATE t SET a = ?2 WHERE id = ?1 AND s = 'what? rowid''s'")
            == "UPDATE t SET a = $2 WHERE id = $1 AND s = 'what? rowid''s'")
        #expect(PostgresDialect.translate("SELECT 1 -- a comment? rowid\nFROM t") == "SELECT 1 -- a comment? rowid\nFROM t")
        #expect(PostgresDialect.translate("WHERE (?1 IS NULL OR env = ?1)") == "WHERE ($1::text IS NULL OR env = $1)")
    }
}
