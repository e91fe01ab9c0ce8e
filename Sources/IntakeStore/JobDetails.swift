/// Reading back what was recorded about jobs, for `intake job`, reports and tests.
extension Database {
    /// How many jobs are in each status, keyed by the status name; every status is present, 0 if none.
    public func statusCounts(environment: String? = nil) throws(StoreError) -> [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0.rawValue, 0) })
        let rows = try rows(
            "SELECT status, count(*) FROM jobs WHERE ?1 IS NULL OR environment = ?1 GROUP BY status", [SQLValue(environment)]
        ) { row throws(StoreError) in
            (try row.requiredText(0), try row.requiredInt(1))
        }
        for (status, count) in rows { counts[status] = count }
        return counts
    }

    /// The files a job wrote, ordered by path.
    public func outputs(jobID: String) throws(StoreError) -> [OutputRecord] {
        try rows("SELECT kind, angle, path FROM outputs WHERE job_id = ? ORDER BY path", [.text(jobID)]) { row throws(StoreError) in
            OutputRecord(kind: row.text(0) ?? "", angle: row.int(1), path: try row.requiredText(2))
        }
    }

    /// The stage timings of a job's latest timed attempt, in the order they were recorded.
    public func timings(jobID: String) throws(StoreError) -> [StageTiming] {
        try rows(
            """
            SELECT stage, ms FROM stage_timings
            WHERE job_id = ?1 AND attempt = (SELECT max(attempt) FROM stage_timings WHERE job_id = ?1)
            ORDER BY rowid
            """,
            [.text(jobID)]
        ) { row throws(StoreError) in
            StageTiming(stage: try row.requiredText(0), ms: row.double(1) ?? 0)
        }
    }

    /// Every recorded attempt of a job, in order.
    public func attempts(jobID: String) throws(StoreError) -> [AttemptRecord] {
        try rows(
            "SELECT attempt, started_at, finished_at, outcome, stage, error FROM attempts WHERE job_id = ? ORDER BY attempt",
            [.text(jobID)]
        ) { row throws(StoreError) in
            AttemptRecord(
                attempt: try row.requiredInt(0), startedAt: try row.timestamp(1), finishedAt: try row.timestamp(2),
                outcome: try row.enumeration(3, as: AttemptOutcome.self), stage: row.text(4), error: row.text(5)
            )
        }
    }

    /// A job's labels, in the order they were recorded.
    public func labels(jobID: String) throws(StoreError) -> [LabelRecord] {
        try rows(
            "SELECT name, confidence, source, box_x, box_y, box_w, box_h FROM labels WHERE job_id = ? ORDER BY rowid",
            [.text(jobID)]
        ) { row throws(StoreError) in
            var box: LabelBox?
            if let x = row.double(3), let y = row.double(4), let w = row.double(5), let h = row.double(6) {
                box = LabelBox(x: x, y: y, w: w, h: h)
            }
            return LabelRecord(name: try row.requiredText(0), confidence: try row.requiredDouble(1), source: try row.requiredText(2), box: box)
        }
    }

    /// What decoding and EXIF found in a job's file, or nil if nothing was recorded.
    public func image(jobID: String) throws(StoreError) -> ImageRecord? {
        try rows("SELECT \(ImageRecord.columns) FROM images WHERE job_id = ?", [.text(jobID)]) { row throws(StoreError) in
            ImageRecord(row: row)
        }.first
    }
}
