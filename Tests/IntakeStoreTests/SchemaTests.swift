import Testing

@testable import IntakeStore

@Suite("Opening and migrating")
struct SchemaTests {
    @Test func migrationFromEmptyCreatesTheCurrentSchemaInWALMode() throws {
        let folder = try TemporaryFolder()
        let database = try Database(path: folder.databasePath)
        #expect(Database.schemaVersion == 8)
        #expect(try database.scalar("PRAGMA user_version") == .integer(Int64(Database.schemaVersion)))
        #expect(try database.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try database.scalar("PRAGMA synchronous") == .integer(2))  // FULL
        #expect(try database.scalar("PRAGMA foreign_keys") == .integer(1))
        #expect(try database.scalar("PRAGMA busy_timeout") == .integer(5000))
        let objects = try database.query("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
            .map { "\($0["type"]?.textValue ?? "?") \($0["name"]?.textValue ?? "?")" }
        for expected in [
            "table jobs", "table images", "table stage_timings", "table attempts", "table outputs", "table labels",
            "index jobs_status", "index jobs_sha256", "index jobs_environment_created", "index labels_job_id",
            "index labels_name", "view prod_results", "view beta_results", "table manual_readings", "table meter_readings",
            "index meter_readings_verdict",
        ] {
            #expect(objects.contains(expected), "missing \(expected) in \(objects)")
        }
    }

    @Test func tableCommentsAreKeptForSqlite3Users() throws {
        let folder = try TemporaryFolder()
        let database = try Database(path: folder.databasePath)
        let sql = try database.scalar("SELECT sql FROM sqlite_master WHERE name = 'jobs'")?.textValue ?? ""
        #expect(sql.contains("-- One row per file dropped in an inbox"))
    }

    @Test func reopeningKeepsDataAndDoesNotMigrateAgain() throws {
        let folder = try TemporaryFolder()
        do {
            let database = try Database(path: folder.databasePath)
            try database.insertJob(newJob(jobID(1)))
        }
        let database = try Database(path: folder.databasePath)
        #expect(try database.scalar("PRAGMA user_version") == .integer(Int64(Database.schemaVersion)))
        #expect(try database.job(id: jobID(1)) != nil)
        // A second run of migration 1 would have failed on "table jobs already exists"; and no copies appear.
        #expect(try database.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'jobs'") == .integer(1))
    }

    @Test func aVersionOneDatabaseIsMigratedForwardKeepingItsRows() throws {
        let folder = try TemporaryFolder()
        do {
            // Version 1 exactly as the first release left it.
            let database = try Database(path: folder.databasePath)
            _ = try database.query("DROP TABLE host_names")
            _ = try database.query("DROP TABLE claims")
            _ = try database.query("DROP TABLE meter_readings")
            _ = try database.query("DROP TABLE manual_readings")
            _ = try database.query("DROP INDEX jobs_finished")
            _ = try database.query("DROP TABLE storage_samples")
            _ = try database.query("ALTER TABLE jobs DROP COLUMN pruned_at")
            _ = try database.query("DROP INDEX jobs_host")
            _ = try database.query("ALTER TABLE jobs DROP COLUMN host")
            _ = try database.query("PRAGMA user_version = 1")
            // As the first release wrote a job, before later versions added columns.
            _ = try database.query(
                """
                INSERT INTO jobs (id, environment, name, source_path, status, attempts, created_at, updated_at)
                VALUES (?, 'prod', 'x.jpg', 'prod/x.jpg', 'queued', 0, '2026-11-21T14:25:21.123Z', '2026-11-21T14:25:21.123Z')
                """, [.text(jobID(7))])
        }
        let database = try Database(path: folder.databasePath)
        #expect(try database.scalar("PRAGMA user_version") == .integer(Int64(Database.schemaVersion)))
        #expect(try database.job(id: jobID(7)) != nil)
        #expect(try database.scalar("SELECT count(*) FROM sqlite_master WHERE name IN ('meter_readings', 'manual_readings')") == .integer(2))
        #expect(try database.scalar("SELECT count(*) FROM pragma_table_info('jobs') WHERE name = 'pruned_at'") == .integer(1))
        #expect(try database.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'storage_samples'") == .integer(1))
    }

    @Test func aVersionFiveDatabaseKeepsItsStorageSamplesAsTheRootsOwn() throws {
        let folder = try TemporaryFolder()
        do {
            let database = try Database(path: folder.databasePath)
            _ = try database.query("DROP TABLE host_names")
            _ = try database.query("DROP TABLE claims")
            _ = try database.query("DROP TABLE storage_samples")
            _ = try database.query("CREATE TABLE storage_samples (at TEXT NOT NULL, folder TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (folder, at))")
            _ = try database.query("INSERT INTO storage_samples VALUES ('2026-11-21T14:25:21.123Z', 'processed', 4096)")
            _ = try database.query("PRAGMA user_version = 5")
        }
        let database = try Database(path: folder.databasePath)
        #expect(try database.scalar("PRAGMA user_version") == .integer(Int64(Database.schemaVersion)))
        #expect(try database.query("SELECT host, folder, bytes FROM storage_samples")
            == [["host": .text(""), "folder": .text("processed"), "bytes": .integer(4096)]])
    }

    @Test func readOnlyOpenOfAMissingFileFails() throws {
        let folder = try TemporaryFolder()
        let path = folder.databasePath
        let error = #expect(throws: StoreError.self) { try Database(path: path, readOnly: true) }
        #expect(error?.description == "no database at \(path)")
    }

    @Test func newerSchemaIsRefusedByReadersAndWriters() throws {
        let folder = try TemporaryFolder()
        do {
            let database = try Database(path: folder.databasePath)
            _ = try database.query("PRAGMA user_version = 99")
        }
        let expected = "database schema version 99 is newer than this intake (\(Database.schemaVersion)); upgrade intake"
        for readOnly in [true, false] {
            let error = #expect(throws: StoreError.self) { try Database(path: folder.databasePath, readOnly: readOnly) }
            #expect(error?.message == expected)
            #expect(error?.description == "\(folder.databasePath): \(expected)")
        }
    }

    @Test func readOnlyConnectionRefusesWrites() throws {
        let folder = try TemporaryFolder()
        _ = try Database(path: folder.databasePath)
        let reader = try Database(path: folder.databasePath, readOnly: true)
        #expect(reader.isReadOnly)
        #expect(throws: StoreError.self) { try reader.insertJob(newJob(jobID(1))) }
    }

    @Test func queryRejectsASecondStatementAndWrongArgumentCounts() throws {
        let folder = try TemporaryFolder()
        let database = try Database(path: folder.databasePath)
        #expect(throws: StoreError.self) { try database.query("SELECT 1; DELETE FROM jobs") }
        #expect(throws: StoreError.self) { try database.query("SELECT ?", []) }
        // Trailing comments and semicolons are not a second statement.
        #expect(try database.query("SELECT 1 AS one; -- done") == [["one": .integer(1)]])
    }

    @Test func errorsNameTheStatement() throws {
        let folder = try TemporaryFolder()
        let database = try Database(path: folder.databasePath)
        let error = #expect(throws: StoreError.self) { try database.query("SELECT nope FROM jobs") }
        #expect(error?.description == "no such column: nope (in: SELECT nope FROM jobs)")
    }

    @Test func everySQLValueKindRoundTrips() throws {
        let folder = try TemporaryFolder()
        let database = try Database(path: folder.databasePath)
        let values: [SQLValue] = [.null, .integer(-42), .real(2.5), .text("é\u{0}x"), .text(""), .blob([0, 1, 255]), .blob([])]
        for value in values {
            #expect(try database.scalar("SELECT ?", [value]) == value)
        }
    }
}
