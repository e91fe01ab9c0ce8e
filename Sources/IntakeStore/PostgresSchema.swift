/// The schema in PostgreSQL's dialect: the same tables, columns, constraints, indexes and views
/// as `Schema`'s SQLite scripts, version for version. The differences, and why:
///
/// - `INTEGER` is `BIGINT` and `REAL` is `DOUBLE PRECISION`: SQLite's integers and reals are 64-bit.
/// - `labels` and `stage_timings` have a `seq BIGSERIAL` column, the explicit form of SQLite's
///   implicit `rowid`, which the queries order by (the connection translates the name).
/// - `manual_readings.id` is `BIGSERIAL`, SQLite's `INTEGER PRIMARY KEY`.
/// - The results views build their JSON array with `string_agg` of `to_json` instead of
///   `json_group_array`, to the same text (no spaces).
/// - The version is a row of `intake_schema`, SQLite's `PRAGMA user_version`.
enum PostgresSchema {
    static let migrations = [version1, version2, version3, version4, version5, version6, version7, Schema.version8]

    /// The advisory lock hosts take to migrate one at a time.
    static let migrationLock = 7_412_001

    static let version1 = """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            environment TEXT NOT NULL,
            name TEXT NOT NULL,
            source_path TEXT NOT NULL,
            meter TEXT,
            status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'done', 'failed')),
            stage TEXT,
            error TEXT,
            error_kind TEXT CHECK (error_kind IN ('permanent', 'transient')),
            attempts BIGINT NOT NULL DEFAULT 0,
            sha256 TEXT,
            bytes BIGINT,
            duplicate_of TEXT REFERENCES jobs(id) ON DELETE SET NULL,
            spool_path TEXT,
            final_path TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE INDEX jobs_status ON jobs(status);
        CREATE INDEX jobs_sha256 ON jobs(sha256);
        CREATE INDEX jobs_environment_created ON jobs(environment, created_at);
        CREATE INDEX jobs_duplicate_of ON jobs(duplicate_of);

        CREATE TABLE images (
            job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
            type TEXT, width BIGINT, height BIGINT, orientation BIGINT, decode_scale TEXT,
            detail TEXT, warnings TEXT, exif TEXT, exif_problems TEXT,
            make TEXT, model TEXT, lens TEXT, date_taken TEXT,
            latitude DOUBLE PRECISION, longitude DOUBLE PRECISION, altitude DOUBLE PRECISION,
            exposure_time DOUBLE PRECISION, f_number DOUBLE PRECISION, iso BIGINT, focal_length DOUBLE PRECISION
        );

        CREATE TABLE stage_timings (
            seq BIGSERIAL,
            job_id TEXT REFERENCES jobs(id) ON DELETE CASCADE,
            attempt BIGINT,
            stage TEXT,
            ms DOUBLE PRECISION,
            PRIMARY KEY (job_id, attempt, stage)
        );

        CREATE TABLE attempts (
            job_id TEXT REFERENCES jobs(id) ON DELETE CASCADE,
            attempt BIGINT,
            started_at TEXT,
            finished_at TEXT,
            outcome TEXT CHECK (outcome IN ('done', 'failed', 'retry', 'interrupted', 'requeued')),
            stage TEXT,
            error TEXT,
            PRIMARY KEY (job_id, attempt)
        );

        CREATE TABLE outputs (
            job_id TEXT REFERENCES jobs(id) ON DELETE CASCADE,
            kind TEXT CHECK (kind IN ('original', 'derivative', 'rotation', 'error')),
            angle BIGINT,
            path TEXT NOT NULL,
            PRIMARY KEY (job_id, path)
        );

        CREATE TABLE labels (
            seq BIGSERIAL PRIMARY KEY,
            job_id TEXT REFERENCES jobs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            confidence DOUBLE PRECISION NOT NULL,
            source TEXT NOT NULL,
            box_x DOUBLE PRECISION, box_y DOUBLE PRECISION, box_w DOUBLE PRECISION, box_h DOUBLE PRECISION
        );
        CREATE INDEX labels_job_id ON labels(job_id);
        CREATE INDEX labels_name ON labels(name);

        \(resultsView(environment: "prod"))

        \(resultsView(environment: "beta"))
        """

    static let version2 = """
        CREATE TABLE manual_readings (
            id BIGSERIAL PRIMARY KEY,
            meter_id TEXT NOT NULL,
            read_at TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            unit TEXT,
            source TEXT,
            note TEXT,
            UNIQUE (meter_id, read_at, value)
        );
        CREATE INDEX manual_readings_meter_time ON manual_readings(meter_id, read_at);

        CREATE TABLE meter_readings (
            job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
            meter_id TEXT,
            captured_at TEXT,
            value DOUBLE PRECISION,
            unit TEXT,
            confidence DOUBLE PRECISION,
            digits TEXT,
            claimed_value DOUBLE PRECISION,
            manual_value DOUBLE PRECISION,
            manual_read_at TEXT,
            delta DOUBLE PRECISION,
            verdict TEXT CHECK (verdict IN ('match', 'mismatch', 'unreadable', 'no_reference', 'no_profile')),
            reason TEXT,
            plausibility TEXT
        );
        CREATE INDEX meter_readings_meter ON meter_readings(meter_id, captured_at);
        CREATE INDEX meter_readings_verdict ON meter_readings(verdict);
        """

    static let version3 = """
        CREATE INDEX jobs_finished ON jobs(finished_at, id);
        """

    static let version4 = """
        ALTER TABLE jobs ADD COLUMN pruned_at TEXT;
        CREATE TABLE storage_samples (
            at TEXT NOT NULL,
            folder TEXT NOT NULL,
            bytes BIGINT NOT NULL,
            PRIMARY KEY (folder, at)
        );
        """

    static let version5 = """
        ALTER TABLE jobs ADD COLUMN host TEXT;
        CREATE INDEX jobs_host ON jobs(host, finished_at);
        """

    static let version6 = """
        ALTER TABLE storage_samples ADD COLUMN host TEXT NOT NULL DEFAULT '';
        ALTER TABLE storage_samples DROP CONSTRAINT storage_samples_pkey;
        ALTER TABLE storage_samples ADD PRIMARY KEY (host, folder, at);
        """

    static let version7 = """
        CREATE TABLE claims (
            path TEXT NOT NULL,
            identity TEXT NOT NULL,
            job_id TEXT NOT NULL UNIQUE,
            host TEXT NOT NULL,
            generation BIGINT NOT NULL,
            lease_until TEXT NOT NULL,
            spool_name TEXT NOT NULL,
            PRIMARY KEY (path, identity)
        );
        CREATE INDEX claims_host ON claims(host);
        CREATE INDEX claims_lease ON claims(lease_until);
        """

    static func resultsView(environment: String) -> String {
        """
        CREATE VIEW \(environment)_results AS
            SELECT jobs.name AS filename,
                   (SELECT '[' || coalesce(string_agg(to_json(name)::text, ',' ORDER BY seq), '') || ']'
                      FROM labels WHERE labels.job_id = jobs.id) AS labels,
                   (SELECT count(*) FROM labels WHERE labels.job_id = jobs.id) AS label_count,
                   jobs.finished_at AS timestamp,
                   jobs.environment AS environment
              FROM jobs
             WHERE jobs.status = 'done' AND jobs.environment = '\(environment)';
        """
    }
}
