/// A retention rule as the store applies it: jobs of `environment` that ended `failed` (or done)
/// before `cutoff` (Unix milliseconds) have expired.
public struct ExpiryRule: Sendable, Equatable {
    public let environment: String
    public let failed: Bool
    public let cutoff: Int64

    public init(environment: String, failed: Bool, cutoff: Int64) {
        self.environment = environment
        self.failed = failed
        self.cutoff = cutoff
    }
}

/// A finished job whose time is up, with everything retention needs to remove or archive it.
public struct ExpiredJob: Sendable, Equatable, Codable {
    public let id: String
    public let environment: String
    public let failed: Bool
    public let name: String
    public let sha256: String?
    public let bytes: Int64?
    /// Where its original was filed; nil if never filed.
    public let finalPath: String?
    public let finishedAt: Int64
    /// Whether a meter reading hangs on it: kept when `keep_meter_readings` says so.
    public let hasMeterReading: Bool
    /// The files its `outputs` rows name (the original usually among them; see `finalPath`).
    public let outputs: [String]

    public init(id: String, environment: String, failed: Bool, name: String, sha256: String?, bytes: Int64?,
                finalPath: String?, finishedAt: Int64, hasMeterReading: Bool, outputs: [String]) {
        self.id = id
        self.environment = environment
        self.failed = failed
        self.name = name
        self.sha256 = sha256
        self.bytes = bytes
        self.finalPath = finalPath
        self.finishedAt = finishedAt
        self.hasMeterReading = hasMeterReading
        self.outputs = outputs
    }
}

/// Retention's reads and its one write: what has expired, and removing it.
extension Database {
    /// The finished jobs the rules expire, oldest first, at most `limit`. A job queued, running or
    /// sent back by `intake retry` is never among them: only done and failed jobs have a
    /// `finished_at`, and a requeue clears it. With `host`, only that host's jobs: in a store shared
    /// by several hosts each prunes its own, whose files are on its disk.
    public func expiredJobs(_ rules: [ExpiryRule], limit: Int, host: String? = nil) throws(StoreError) -> [ExpiredJob] {
        var found: [ExpiredJob] = []
        for rule in rules {
            found += try rows(
                """
                SELECT id, environment, name, sha256, bytes, final_path, finished_at,
                       EXISTS (SELECT 1 FROM meter_readings WHERE meter_readings.job_id = jobs.id)
                  FROM jobs
                 WHERE environment = ?1 AND status = ?2 AND finished_at < ?3 AND pruned_at IS NULL
                   AND (?5 IS NULL OR host = ?5)
                 ORDER BY finished_at, id LIMIT ?4
                """,
                [.text(rule.environment), .text(rule.failed ? "failed" : "done"), SQLValue(timestamp: rule.cutoff),
                 .integer(Int64(limit)), SQLValue(host)]
            ) { row throws(StoreError) in
                ExpiredJob(
                    id: try row.requiredText(0), environment: try row.requiredText(1), failed: rule.failed,
                    name: try row.requiredText(2), sha256: row.text(3), bytes: row.int64(4), finalPath: row.text(5),
                    finishedAt: try row.requiredTimestamp(6), hasMeterReading: (row.int(7) ?? 0) != 0, outputs: [])
            }
        }
        let oldest = found.sorted { ($0.finishedAt, $0.id) < ($1.finishedAt, $1.id) }.prefix(limit)
        return try oldest.map { job throws(StoreError) in
            ExpiredJob(
                id: job.id, environment: job.environment, failed: job.failed, name: job.name, sha256: job.sha256,
                bytes: job.bytes, finalPath: job.finalPath, finishedAt: job.finishedAt, hasMeterReading: job.hasMeterReading,
                outputs: try outputs(jobID: job.id).map(\.path))
        }
    }

    /// Removes the rows of these jobs in one transaction, and returns the ids it removed: a job
    /// no longer finished as it was when found expired (sent back meanwhile, perhaps run again)
    /// is left alone. With `keepMeterReadings`, a job
    /// with a meter reading keeps its row and the reading, stamped `pruned_at`, and loses the rows
    /// that name its files.
    public func pruneJobs(_ jobs: [ExpiredJob], keepMeterReadings: Bool, at time: Int64) throws(StoreError) -> [String] {
        try atomically { () throws(StoreError) in
            var pruned: [String] = []
            for job in jobs {
                // The conditions are in the write itself, not checked before it: under PostgreSQL's
                // read committed another host's or command's change between a check and the
                // write would go unseen.
                let stillFinished = "id = ?1 AND status = ?2 AND finished_at = ?3 AND pruned_at IS NULL"
                let key: [SQLValue] = [.text(job.id), .text(job.failed ? "failed" : "done"), SQLValue(timestamp: job.finishedAt)]
                if keepMeterReadings && job.hasMeterReading {
                    try execute("UPDATE jobs SET final_path = NULL, spool_path = NULL, pruned_at = ?4 WHERE \(stillFinished)",
                                key + [SQLValue(timestamp: time)])
                    guard changes > 0 else { continue }
                    for table in ["outputs", "images", "labels", "stage_timings", "attempts"] {
                        try execute("DELETE FROM \(table) WHERE job_id = ?", [.text(job.id)])
                    }
                } else {
                    try execute("DELETE FROM jobs WHERE \(stillFinished)", key)
                    guard changes > 0 else { continue }
                }
                pruned.append(job.id)
            }
            return pruned
        }
    }

    /// Whether a job still has its files: it exists and was not pruned.
    public func jobKeepsItsFiles(id: String) throws(StoreError) -> Bool {
        try !rows("SELECT 1 FROM jobs WHERE id = ? AND pruned_at IS NULL", [.text(id)]) { _ throws(StoreError) in true }.isEmpty
    }
}

/// Sizes of the state root's folders over time, for growth per day; each host's own (`host` is
/// '' for a root's own SQLite file, else the host's name).
extension Database {
    /// Records one sample of each folder's bytes at `time`.
    public func recordStorageSample(_ bytes: [String: Int64], host: String = "", at time: Int64) throws(StoreError) {
        try atomically { () throws(StoreError) in
            for (folder, size) in bytes {
                try execute(
                    """
                    INSERT INTO storage_samples (at, host, folder, bytes) VALUES (?, ?, ?, ?)
                    ON CONFLICT (host, folder, at) DO UPDATE SET bytes = excluded.bytes
                    """,
                    [SQLValue(timestamp: time), .text(host), .text(folder), .integer(size)])
            }
            // A year of hourly samples is plenty to see a trend; older ones go.
            try execute("DELETE FROM storage_samples WHERE host = ? AND at < ?", [.text(host), SQLValue(timestamp: time - 366 * 86_400_000)])
        }
    }

    /// Per folder of `host`: the latest sample, and the growth per day against the oldest sample
    /// within the last `window` milliseconds (nil with fewer than two samples an hour apart).
    public func storageGrowth(host: String = "", window: Int64 = 7 * 86_400_000, now: Int64) throws(StoreError) -> [StorageGrowth] {
        try rows(
            """
            SELECT folder,
                   (SELECT bytes FROM storage_samples l WHERE l.host = ?2 AND l.folder = s.folder ORDER BY at DESC LIMIT 1),
                   (SELECT at FROM storage_samples l WHERE l.host = ?2 AND l.folder = s.folder ORDER BY at DESC LIMIT 1),
                   (SELECT bytes FROM storage_samples o WHERE o.host = ?2 AND o.folder = s.folder AND o.at >= ?1 ORDER BY at LIMIT 1),
                   (SELECT at FROM storage_samples o WHERE o.host = ?2 AND o.folder = s.folder AND o.at >= ?1 ORDER BY at LIMIT 1)
              FROM (SELECT DISTINCT folder FROM storage_samples WHERE host = ?2) s ORDER BY folder
            """,
            [SQLValue(timestamp: now - window), .text(host)]
        ) { row throws(StoreError) in
            let latest = row.int64(1) ?? 0
            var perDay: Double?
            if let latestAt = try row.timestamp(2), let first = row.int64(3), let firstAt = try row.timestamp(4),
               latestAt - firstAt >= 3_600_000 {
                perDay = Double(latest - first) / (Double(latestAt - firstAt) / 86_400_000)
            }
            return StorageGrowth(folder: try row.requiredText(0), bytes: latest, bytesPerDay: perDay)
        }
    }

    /// The bytes PostgreSQL keeps for the whole database; nil for SQLite, whose files are measured.
    public func serverDatabaseBytes() throws(StoreError) -> Int64? {
        guard engine == .postgresql else { return nil }
        return try rows("SELECT pg_database_size(current_database())") { row throws(StoreError) in row.int64(0) }.first ?? nil
    }
}

/// One folder's size and how fast it grows.
public struct StorageGrowth: Sendable, Equatable {
    public let folder: String
    public let bytes: Int64
    /// nil until samples an hour apart exist.
    public let bytesPerDay: Double?

    public init(folder: String, bytes: Int64, bytesPerDay: Double?) {
        self.folder = folder
        self.bytes = bytes
        self.bytesPerDay = bytesPerDay
    }
}
