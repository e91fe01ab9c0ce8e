/// A job's life before it finishes: claimed, started, retried, interrupted, sent back.
extension Database {
    /// Records a file just claimed from an inbox, queued with no attempts yet.
    ///
    /// Recording the same job again is nothing (a batch tried again after its commit's answer was
    /// lost); a different job under the id (another host's, the same millisecond and random bits)
    /// is refused, never merged into it.
    public func insertJob(_ job: NewJob) throws(StoreError) {
        try execute(
            """
            INSERT INTO jobs (id, environment, name, source_path, meter, status, attempts, spool_path, created_at, updated_at, host)
            VALUES (?1, ?2, ?3, ?4, ?5, 'queued', 0, ?6, ?7, ?7, ?8)
            ON CONFLICT (id) DO NOTHING
            """,
            [.text(job.id), .text(job.environment), .text(job.name), .text(job.sourcePath), SQLValue(job.meter),
             .text(job.spoolPath), SQLValue(timestamp: job.createdAt), SQLValue(job.host)]
        )
        guard changes == 0 else { return }
        let existing = try rows("SELECT host, source_path FROM jobs WHERE id = ?", [.text(job.id)]) { row throws(StoreError) in
            (row.text(0), row.text(1))
        }.first
        guard let existing, existing.0 == job.host, existing.1 == job.sourcePath else {
            throw StoreError("job id \(job.id) is already another job's (\(existing?.1 ?? "?") on host \(existing?.0 ?? "?"))")
        }
    }

    /// The job with this id, or nil.
    public func job(id: String) throws(StoreError) -> JobRow? {
        try rows("SELECT \(JobRow.columns) FROM jobs WHERE id = ?", [.text(id)], JobRow.init(row:)).first
    }

    /// Every job, or those with `status`, oldest first (ids sort by creation time); only `host`'s
    /// when given (a store shared by several hosts, each with its own files).
    public func jobs(status: JobStatus? = nil, host: String? = nil) throws(StoreError) -> [JobRow] {
        try rows(
            "SELECT \(JobRow.columns) FROM jobs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR host = ?2) ORDER BY id",
            [SQLValue(status?.rawValue), SQLValue(host)], JobRow.init(row:))
    }

    /// One page of jobs, newest first: of `environment` and `status` when given, created at or
    /// after `since` (Unix milliseconds), with ids below `before` (the previous page's last id, as
    /// ids sort by creation time), at most `limit`.
    public func jobs(environment: String?, status: JobStatus?, since: Int64?, before: String?, limit: Int) throws(StoreError) -> [JobRow] {
        var conditions: [String] = [], arguments: [SQLValue] = []
        if let environment {
            conditions.append("environment = ?")
            arguments.append(.text(environment))
        }
        if let status {
            conditions.append("status = ?")
            arguments.append(.text(status.rawValue))
        }
        if let since {
            conditions.append("created_at >= ?")
            arguments.append(SQLValue(timestamp: since))
        }
        if let before {
            conditions.append("id < ?")
            arguments.append(.text(before))
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(.integer(Int64(limit)))
        return try rows("SELECT \(JobRow.columns) FROM jobs \(filter) ORDER BY id DESC LIMIT ?", arguments, JobRow.init(row:))
    }

    /// Jobs made final after the one finished at `finishedAt` (Unix milliseconds) with id `id`, in
    /// the order they were, at most `limit`: what a follower of outcomes has not seen yet.
    public func jobsFinished(after finishedAt: Int64, id: String, limit: Int) throws(StoreError) -> [JobRow] {
        try rows(
            """
            SELECT \(JobRow.columns) FROM jobs
             WHERE finished_at IS NOT NULL AND (finished_at, id) > (?, ?) ORDER BY finished_at, id LIMIT ?
            """,
            [SQLValue(timestamp: finishedAt), .text(id), .integer(Int64(limit))], JobRow.init(row:))
    }

    /// The job made final last: where a follower of outcomes starts.
    public func lastFinishedJob() throws(StoreError) -> JobRow? {
        try rows(
            "SELECT \(JobRow.columns) FROM jobs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT 1", [],
            JobRow.init(row:)
        ).first
    }

    /// Jobs still to run or cut short while running (queued or processing), oldest first: what the
    /// daemon picks up again when it starts. With `host`, only that host's: in a store shared by
    /// several hosts the others' unfinished jobs are theirs to recover, their files in their spools.
    public func unfinishedJobs(host: String? = nil) throws(StoreError) -> [JobRow] {
        try rows(
            "SELECT \(JobRow.columns) FROM jobs WHERE status IN ('queued', 'processing') AND (?1 IS NULL OR host = ?1) ORDER BY id",
            [SQLValue(host)], JobRow.init(row:))
    }

    /// Deletes a job and everything recorded about it; later duplicates of it lose their `duplicate_of`.
    /// Deleting a job that does not exist does nothing.
    public func deleteJob(id: String) throws(StoreError) {
        try atomically { () throws(StoreError) in
            try execute("DELETE FROM claims WHERE job_id = ?", [.text(id)])
            try execute("DELETE FROM jobs WHERE id = ?", [.text(id)])
        }
    }

    /// Records that attempt number `attempt` of a job has started.
    public func markProcessing(id: String, attempt: Int, at time: Int64) throws(StoreError) {
        try execute(
            "UPDATE jobs SET status = 'processing', attempts = ?2, updated_at = ?3 WHERE id = ?1",
            [.text(id), SQLValue(attempt), SQLValue(timestamp: time)]
        )
        try requireChanged(id)
    }

    /// Records an attempt that failed transiently and puts the job back in the queue to try again.
    public func recordRetry(id: String, attempt: Int, startedAt: Int64, finishedAt: Int64, stage: String?, error: String) throws(StoreError) {
        try atomically { () throws(StoreError) in
            try execute(
                """
                UPDATE jobs SET status = 'queued', stage = ?2, error = ?3, error_kind = 'transient', attempts = ?4, updated_at = ?5
                WHERE id = ?1
                """,
                [.text(id), SQLValue(stage), .text(error), SQLValue(attempt), SQLValue(timestamp: finishedAt)]
            )
            try requireChanged(id)
            try recordAttempt(id: id, attempt: attempt, startedAt: startedAt, finishedAt: finishedAt, outcome: .retry, stage: stage, error: error)
        }
    }

    /// Records that a job waits, without spending an attempt, because the state root cannot take
    /// its writes (a full disk, a folder unwritable): queued again, with the reason.
    public func markWaiting(id: String, stage: String?, reason: String, at time: Int64) throws(StoreError) {
        try execute(
            "UPDATE jobs SET status = 'queued', stage = ?2, error = ?3, error_kind = 'transient', updated_at = ?4 WHERE id = ?1",
            [.text(id), SQLValue(stage), .text(reason), SQLValue(timestamp: time)]
        )
        try requireChanged(id)
    }

    /// Records that attempt `attempt` was cut short (the daemon crashed or was killed) and queues the
    /// job to run again. The attempt's start is the job's last update if it was still processing,
    /// which ``markProcessing(id:attempt:at:)`` stamped.
    public func recordInterrupted(id: String, attempt: Int, at time: Int64) throws(StoreError) {
        try atomically { () throws(StoreError) in
            let started = try rows(
                "SELECT CASE WHEN status = 'processing' THEN updated_at END FROM jobs WHERE id = ?", [.text(id)]
            ) { row throws(StoreError) in try row.timestamp(0) }
            guard let startedAt = started.first else { throw noSuchJob(id) }
            try execute(
                "UPDATE jobs SET status = 'queued', attempts = CASE WHEN attempts > ?2 THEN attempts ELSE ?2 END, updated_at = ?3 WHERE id = ?1",
                [.text(id), SQLValue(attempt), SQLValue(timestamp: time)]
            )
            try recordAttempt(id: id, attempt: attempt, startedAt: startedAt, finishedAt: time, outcome: .interrupted, stage: nil, error: nil)
        }
    }

    /// Sends a finished job back through the pipeline (`intake retry`) from `spoolPath`.
    ///
    /// The job is queued again with its outcome cleared. The requeue is recorded as an attempt of its
    /// own, numbered after the last, so the attempt history reads in order and the next run is the one after.
    public func requeue(id: String, spoolPath: String, at time: Int64) throws(StoreError) {
        try atomically { () throws(StoreError) in
            let attempts = try rows("SELECT status, attempts FROM jobs WHERE id = ?", [.text(id)]) { row throws(StoreError) in
                (try row.enumeration(0, as: JobStatus.self), try row.requiredInt(1))
            }
            guard let (status, attempt) = attempts.first else { throw noSuchJob(id) }
            guard status == .done || status == .failed else {
                throw StoreError("job \(id) is \(status?.rawValue ?? "unknown"); only a done or failed job can be requeued")
            }
            try execute(
                """
                UPDATE jobs SET status = 'queued', stage = NULL, error = NULL, error_kind = NULL, final_path = NULL,
                    finished_at = NULL, spool_path = ?2, attempts = ?3, updated_at = ?4
                WHERE id = ?1
                """,
                [.text(id), .text(spoolPath), SQLValue(attempt + 1), SQLValue(timestamp: time)]
            )
            try recordAttempt(id: id, attempt: attempt + 1, startedAt: time, finishedAt: time, outcome: .requeued, stage: nil, error: nil)
        }
    }

    /// Writes an attempt's row. An attempt has one outcome: recording it again replaces the first,
    /// so a repeated record after a crash cannot wedge the job on a key conflict.
    func recordAttempt(id: String, attempt: Int, startedAt: Int64?, finishedAt: Int64?, outcome: AttemptOutcome, stage: String?, error: String?) throws(StoreError) {
        try execute(
            """
            INSERT INTO attempts (job_id, attempt, started_at, finished_at, outcome, stage, error)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            ON CONFLICT (job_id, attempt) DO UPDATE SET
                started_at = excluded.started_at, finished_at = excluded.finished_at,
                outcome = excluded.outcome, stage = excluded.stage, error = excluded.error
            """,
            [.text(id), SQLValue(attempt), SQLValue(timestamp: startedAt), SQLValue(timestamp: finishedAt),
             .text(outcome.rawValue), SQLValue(stage), SQLValue(error)]
        )
    }

    /// Throws when the last UPDATE matched no job: recording against a missing job is a bug to surface.
    func requireChanged(_ id: String) throws(StoreError) {
        if changes == 0 { throw noSuchJob(id) }
    }

    func noSuchJob(_ id: String) -> StoreError { StoreError("no job with id \(id)") }
}

extension JobRow {
    /// The select list ``init(row:)`` reads, in its order.
    static let columns = """
        id, environment, name, source_path, meter, status, stage, error, error_kind, attempts, sha256, bytes, \
        duplicate_of, spool_path, final_path, created_at, updated_at, finished_at, host
        """

    init(row: Row) throws(StoreError) {
        guard let status = try row.enumeration(5, as: JobStatus.self) else {
            throw StoreError("column status is NULL", sql: row.sql)
        }
        self.init(
            id: try row.requiredText(0), environment: try row.requiredText(1), name: try row.requiredText(2),
            sourcePath: try row.requiredText(3), meter: row.text(4), status: status, stage: row.text(6),
            error: row.text(7), errorKind: try row.enumeration(8, as: ErrorKind.self), attempts: try row.requiredInt(9),
            sha256: row.text(10), bytes: row.int64(11), duplicateOf: row.text(12), spoolPath: row.text(13),
            finalPath: row.text(14), createdAt: try row.requiredTimestamp(15), updatedAt: try row.requiredTimestamp(16),
            finishedAt: try row.timestamp(17), host: row.text(18)
        )
    }
}
