/// The schema's history: migration N (1-based) takes a database from version N-1 to N.
///
/// `PRAGMA user_version` holds the version. Migrations are append-only: a released script is never
/// edited, a change to the schema is a new script at the end. Comments inside `CREATE` statements are
/// kept by SQLite, so `sqlite3 intake.db .schema` shows them.
enum Schema {
    /// The migrations of one engine; both engines have the same versions, each in its own dialect.
    static func migrations(for engine: Database.Engine) -> [String] {
        switch engine {
        case .sqlite: [version1, version2, version3, version4, version5, version6, version7, version8]
        case .postgresql: PostgresSchema.migrations
        }
    }

    static let version1 = """
        CREATE TABLE jobs (
            -- One row per file dropped in an inbox, from the moment it is claimed.
            id TEXT PRIMARY KEY,              -- 14-character job id; sorts by creation time
            environment TEXT NOT NULL,        -- inbox it came from: prod, beta…
            name TEXT NOT NULL,               -- file name as kept (control characters, bad UTF-8 and % as %XX)
            source_path TEXT NOT NULL,        -- path relative to the inbox root, e.g. prod/MTR-1/x.jpg
            meter TEXT,                       -- inbox subfolder naming the meter, if any
            status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'done', 'failed')),
            stage TEXT,                       -- stage that failed, or that last ran
            error TEXT,                       -- why it failed, for a person to act on
            error_kind TEXT CHECK (error_kind IN ('permanent', 'transient')),  -- transient: retrying may help
            attempts INTEGER NOT NULL DEFAULT 0,  -- number of the latest attempt (see attempts)
            sha256 TEXT,                      -- of the original bytes, lowercase hex
            bytes INTEGER,                    -- size of the original
            duplicate_of TEXT REFERENCES jobs(id) ON DELETE SET NULL,  -- earlier finished job with the same SHA-256
            spool_path TEXT,                  -- where the claimed file waits while queued
            final_path TEXT,                  -- where the original was filed: processed/… or failed/…
            created_at TEXT NOT NULL,         -- times are ISO 8601 UTC with milliseconds: 2026-11-21T14:25:21.123Z
            updated_at TEXT NOT NULL,
            finished_at TEXT                  -- set when done or failed
        );
        CREATE INDEX jobs_status ON jobs(status);
        CREATE INDEX jobs_sha256 ON jobs(sha256);
        CREATE INDEX jobs_environment_created ON jobs(environment, created_at);
        CREATE INDEX jobs_duplicate_of ON jobs(duplicate_of);  -- keeps ON DELETE SET NULL from scanning

        CREATE TABLE images (
            -- What decoding and EXIF found in a job's file: one row per job that got that far.
            job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
            type TEXT,                        -- jpeg, png
            width INTEGER,                    -- as stored in the file, before orientation
            height INTEGER,
            orientation INTEGER,              -- EXIF orientation 1-8
            decode_scale TEXT,                -- JPEG DCT scale used to decode, e.g. 1/4
            detail TEXT,                      -- JSON object: colour space, progressive, bit depth…
            warnings TEXT,                    -- JSON array of decoder warnings
            exif TEXT,                        -- JSON object of the EXIF read
            exif_problems TEXT,               -- JSON array: what was wrong with the EXIF (never fatal)
            make TEXT,
            model TEXT,
            lens TEXT,
            date_taken TEXT,                  -- as the camera wrote it
            latitude REAL,                    -- decimal degrees, north positive
            longitude REAL,                   -- decimal degrees, east positive
            altitude REAL,                    -- metres
            exposure_time REAL,               -- seconds
            f_number REAL,
            iso INTEGER,
            focal_length REAL                 -- millimetres
        );

        CREATE TABLE stage_timings (
            -- Milliseconds each pipeline stage took, per attempt.
            job_id TEXT REFERENCES jobs(id) ON DELETE CASCADE,
            attempt INTEGER,
            stage TEXT,
            ms REAL,
            PRIMARY KEY (job_id, attempt, stage)
        );

        CREATE TABLE attempts (
            -- Every run of a job and how it ended; requeued marks an operator sending it back.
            job_id TEXT REFERENCES jobs(id) ON DELETE CASCADE,
            attempt INTEGER,
            started_at TEXT,
            finished_at TEXT,
            outcome TEXT CHECK (outcome IN ('done', 'failed', 'retry', 'interrupted', 'requeued')),
            stage TEXT,                       -- stage it ended in, when it failed
            error TEXT,
            PRIMARY KEY (job_id, attempt)
        );

        CREATE TABLE outputs (
            -- Files a job wrote (absolute paths), including where its original was filed.
            job_id TEXT REFERENCES jobs(id) ON DELETE CASCADE,
            kind TEXT CHECK (kind IN ('original', 'derivative', 'rotation', 'error')),
            angle INTEGER,                    -- rotations only: degrees counter-clockwise
            path TEXT NOT NULL,
            PRIMARY KEY (job_id, path)
        );

        CREATE TABLE labels (
            -- What was recognised in an image, with an optional box in image coordinates.
            job_id TEXT REFERENCES jobs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            confidence REAL NOT NULL,         -- 0 to 1
            source TEXT NOT NULL,             -- what produced the label
            box_x REAL,
            box_y REAL,
            box_w REAL,
            box_h REAL
        );
        CREATE INDEX labels_job_id ON labels(job_id);
        CREATE INDEX labels_name ON labels(name);

        \(resultsView(environment: "prod"))

        \(resultsView(environment: "beta"))
        """

    /// Version 2: manual meter readings, and what the meter stage read in each job's image.
    static let version2 = """
        CREATE TABLE manual_readings (
            -- Readings a person took, imported with `intake readings import`; the reference a photo is checked against.
            id INTEGER PRIMARY KEY,
            meter_id TEXT NOT NULL,
            read_at TEXT NOT NULL,            -- ISO 8601 UTC
            value REAL NOT NULL,
            unit TEXT,
            source TEXT,                      -- who or what took it
            note TEXT,
            UNIQUE (meter_id, read_at, value) -- importing the same rows twice adds nothing
        );
        CREATE INDEX manual_readings_meter_time ON manual_readings(meter_id, read_at);

        CREATE TABLE meter_readings (
            -- What the meter stage made of a job's image, and its verdict against the manual readings.
            job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
            meter_id TEXT,
            captured_at TEXT,                 -- EXIF time, else the uploader's (file name or sidecar), else the file's mtime
            value REAL,                       -- the reading assembled from wheels and dials
            unit TEXT,
            confidence REAL,                  -- 0 to 1, the weakest digit's
            digits TEXT,                      -- JSON array: [{"value": 8.7, "confidence": 0.98}, …] wheels then dials
            claimed_value REAL,               -- what the uploader said (file name or sidecar), if anything
            manual_value REAL,                -- the manual reading compared against
            manual_read_at TEXT,
            delta REAL,                       -- value − expected, in the meter's unit
            verdict TEXT CHECK (verdict IN ('match', 'mismatch', 'unreadable', 'no_reference', 'no_profile')),
            reason TEXT,                      -- the verdict in words
            plausibility TEXT                 -- against the meter's history, in words
        );
        CREATE INDEX meter_readings_meter ON meter_readings(meter_id, captured_at);
        CREATE INDEX meter_readings_verdict ON meter_readings(verdict);
        """

    /// Outcomes in the order they happened, for those who follow them (`intake serve`'s events).
    static let version3 = """
        CREATE INDEX jobs_finished ON jobs(finished_at, id);
        """

    /// Version 4: retention. A job pruned while its meter reading is kept stays as a row without
    /// files; the bytes under the state root are sampled for growth per day.
    static let version4 = """
        ALTER TABLE jobs ADD COLUMN pruned_at TEXT;  -- set when retention removed the job's files but kept its meter reading
        CREATE TABLE storage_samples (
            -- Bytes under each folder of the state root (and the database's own size), sampled by intaked.
            at TEXT NOT NULL,                 -- ISO 8601 UTC
            folder TEXT NOT NULL,             -- inbox, spool, processed, augmented, failed, archive or database
            bytes INTEGER NOT NULL,
            PRIMARY KEY (folder, at)
        );
        """

    /// Version 5: which host did each job, for several hosts on one store.
    static let version5 = """
        ALTER TABLE jobs ADD COLUMN host TEXT;  -- the intaked that claimed it: [daemon] host, or the machine's name
        CREATE INDEX jobs_host ON jobs(host, finished_at);
        """

    /// Version 6: storage samples per host, as several hosts sharing one store each measure their
    /// own folders. SQLite cannot change a primary key in place: the table is copied.
    static let version6 = """
        CREATE TABLE storage_samples_by_host (
            -- Bytes under each folder of a host's state root (and the database's size), sampled by its intaked.
            at TEXT NOT NULL,                 -- ISO 8601 UTC
            host TEXT NOT NULL,               -- '' for the root's own SQLite file, else [daemon] host
            folder TEXT NOT NULL,             -- inbox, spool, processed, augmented, failed, archive or database
            bytes INTEGER NOT NULL,
            PRIMARY KEY (host, folder, at)
        );
        INSERT INTO storage_samples_by_host (at, host, folder, bytes) SELECT at, '', folder, bytes FROM storage_samples;
        DROP TABLE storage_samples;
        ALTER TABLE storage_samples_by_host RENAME TO storage_samples;
        """

    /// Version 7: claims on a shared inbox (several hosts polling one network folder). A file is
    /// claimed by its row here before its rename into a host's spool; the row goes in the
    /// transaction that makes the job final. Unused with a root's own SQLite file.
    static let version7 = """
        CREATE TABLE claims (
            -- A file of a shared inbox, claimed by one host: no other host may take it.
            path TEXT NOT NULL,               -- below inbox/, as the spool names it: prod/MTR-1/x.jpg
            identity TEXT NOT NULL,           -- inode:size:mtime of the file claimed: a new file of the same name is a new claim
            job_id TEXT NOT NULL UNIQUE,
            host TEXT NOT NULL,               -- the host that holds it
            generation INTEGER NOT NULL,      -- raised at each takeover: a write by an older holder is refused
            lease_until TEXT NOT NULL,        -- renewed by its host; once past, another host may take it over
            spool_name TEXT NOT NULL,         -- below any host's spool/active: prod/MTR-1/<job>-x.jpg
            PRIMARY KEY (path, identity)
        );
        CREATE INDEX claims_host ON claims(host);
        CREATE INDEX claims_lease ON claims(lease_until);
        """

    /// Version 8: the host names in use on a store shared by several hosts, each held by one
    /// running intaked under a lease, so that two machines set up alike (a cloned virtual
    /// machine keeps its host name) cannot record, recover and prune under one name. Unused with a
    /// root's own SQLite file, which its lock file already keeps to one daemon.
    static let version8 = """
        CREATE TABLE host_names (
            -- A host name jobs are recorded under, and the intaked that holds it.
            host TEXT PRIMARY KEY,            -- [daemon] host, or the machine's name
            holder TEXT NOT NULL,             -- the running intaked: its boot and state root
            lease_until TEXT NOT NULL         -- renewed while it runs; once past, another may take the name
        );
        """

    /// `<environment>_results`: the shape of the old cloud table, finished images and their label names.
    static func resultsView(environment: String) -> String {
        """
        CREATE VIEW \(environment)_results AS
            -- The shape of the old cloud table: finished \(environment) images and their label names.
            SELECT jobs.name AS filename,
                   (SELECT json_group_array(name)
                      FROM (SELECT name FROM labels WHERE labels.job_id = jobs.id ORDER BY rowid)) AS labels,
                   (SELECT count(*) FROM labels WHERE labels.job_id = jobs.id) AS label_count,
                   jobs.finished_at AS timestamp,
                   jobs.environment AS environment
              FROM jobs
             WHERE jobs.status = 'done' AND jobs.environment = '\(environment)';
        """
    }
}

extension Database {
    /// The schema version written in the store, which a reader may find older than this build's.
    public func storedSchemaVersion() throws(StoreError) -> Int { try userVersion() }

    /// The schema version written in the store: SQLite's `user_version`, PostgreSQL's
    /// `intake_schema` table (0 when it is not there yet).
    func userVersion() throws(StoreError) -> Int {
        switch engine {
        case .sqlite:
            return try rows("PRAGMA user_version") { row throws(StoreError) in try row.requiredInt(0) }.first ?? 0
        case .postgresql:
            let exists = try rows("SELECT to_regclass('intake_schema') IS NOT NULL") { row throws(StoreError) in row.int(0) == 1 }.first
            guard exists == true else { return 0 }
            return try rows("SELECT version FROM intake_schema") { row throws(StoreError) in try row.requiredInt(0) }.first ?? 0
        }
    }

    /// Applies the migrations the store lacks, each in its own transaction together with the
    /// version bump, so a crash leaves it at one version or the next, never between. Several
    /// hosts starting at once on one PostgreSQL take turns on an advisory lock.
    func migrate() throws(StoreError) {
        let found = try userVersion()
        if found > Self.schemaVersion { throw newerSchemaError(found) }
        guard found < Self.schemaVersion else { return }  // the usual case: nothing to lock for
        // A migration takes as long as its schema change needs (an index over a large table, or
        // another host's migration ahead of it on the lock): never given up for a silent server.
        let postgres = connection as? PostgresConnection, answerTimeout = postgres?.answerTimeout
        postgres?.answerTimeout = nil
        defer { postgres?.answerTimeout = answerTimeout }
        for (index, script) in Schema.migrations(for: engine).enumerated() {
            let target = index + 1
            try atomically { () throws(StoreError) in
                if engine == .postgresql {
                    try execute("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))")
                    try execute("CREATE TABLE IF NOT EXISTS intake_schema (version INTEGER NOT NULL)")
                }
                // Read inside the write lock: another writer may have migrated since we looked.
                let onDisk = try userVersion()
                if onDisk > Self.schemaVersion { throw newerSchemaError(onDisk) }
                guard onDisk < target else { return }
                try executeScript(script)
                switch engine {
                case .sqlite:
                    try execute("PRAGMA user_version = \(target)")
                case .postgresql:
                    try execute("DELETE FROM intake_schema")
                    try execute("INSERT INTO intake_schema (version) VALUES (\(target))")
                }
            }
        }
    }

    func newerSchemaError(_ onDisk: Int) -> StoreError {
        StoreError("database schema version \(onDisk) is newer than this intake (\(Self.schemaVersion)); upgrade intake", path: path)
    }
}
