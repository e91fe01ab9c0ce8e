import IntakeCore
/// Recording a finished attempt: the job's outcome and everything the pipeline learned about the file.
extension Database {
    /// Records a finished attempt (done or failed) and all it produced, atomically.
    ///
    /// Updates the job, points `duplicate_of` at the earliest other finished job with the same
    /// SHA-256, and replaces the job's image facts, outputs and labels and this attempt's timings, so
    /// recording a job again leaves no stale rows. The daemon wraps a batch of these in
    /// ``transaction(_:)``; on its own each call is still all-or-nothing.
    public func complete(_ completion: JobCompletion) throws(StoreError) {
        guard completion.status == .done || completion.status == .failed else {
            throw StoreError("a completed job must be done or failed, not \(completion.status.rawValue) (job \(completion.id))")
        }
        let id = SQLValue.text(completion.id)
        try atomically { () throws(StoreError) in
            try execute(
                """
                UPDATE jobs SET status = ?2, stage = ?3, error = ?4, error_kind = ?5, attempts = ?6, sha256 = ?7,
                    bytes = ?8, final_path = ?9, finished_at = ?10, updated_at = ?11,
                    duplicate_of = (SELECT other.id FROM jobs AS other
                                     WHERE other.sha256 = ?7 AND other.id <> ?1 AND other.status IN ('done', 'failed')
                                     ORDER BY other.id LIMIT 1)
                WHERE id = ?1
                """,
                [id, .text(completion.status.rawValue), SQLValue(completion.stage), SQLValue(completion.error),
                 SQLValue(completion.errorKind?.rawValue), SQLValue(completion.attempts), SQLValue(completion.sha256),
                 SQLValue(completion.bytes), SQLValue(completion.finalPath), SQLValue(timestamp: completion.finishedAt),
                 // updated_at is when the result was committed: finished_at plus the wait for the batch.
                 SQLValue(timestamp: Timestamp.nowMilliseconds())]
            )
            try requireChanged(completion.id)

            if let image = completion.image {
                try upsertImage(image, jobID: id)
            } else {
                try execute("DELETE FROM images WHERE job_id = ?", [id])
            }

            let attempt = SQLValue(completion.attempts)
            try execute("DELETE FROM stage_timings WHERE job_id = ? AND attempt = ?", [id, attempt])
            for timing in completion.timings {
                // A stage timed twice in one attempt counts once, with the total.
                try execute(
                    """
                    INSERT INTO stage_timings (job_id, attempt, stage, ms) VALUES (?, ?, ?, ?)
                    ON CONFLICT (job_id, attempt, stage) DO UPDATE SET ms = stage_timings.ms + excluded.ms
                    """,
                    [id, attempt, .text(timing.stage), .real(timing.ms)]
                )
            }

            try recordAttempt(
                id: completion.id, attempt: completion.attempts, startedAt: completion.startedAt,
                finishedAt: completion.finishedAt, outcome: completion.status == .done ? .done : .failed,
                stage: completion.stage, error: completion.error
            )

            try execute("DELETE FROM outputs WHERE job_id = ?", [id])
            for output in completion.outputs {
                try execute(
                    """
                    INSERT INTO outputs (job_id, kind, angle, path) VALUES (?, ?, ?, ?)
                    ON CONFLICT (job_id, path) DO UPDATE SET kind = excluded.kind, angle = excluded.angle
                    """,
                    [id, .text(output.kind), SQLValue(output.angle), .text(output.path)]
                )
            }

            try execute("DELETE FROM labels WHERE job_id = ?", [id])
            for label in completion.labels {
                try execute(
                    """
                    INSERT INTO labels (job_id, name, confidence, source, box_x, box_y, box_w, box_h)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [id, .text(label.name), .real(label.confidence), .text(label.source),
                     SQLValue(label.box?.x), SQLValue(label.box?.y), SQLValue(label.box?.w), SQLValue(label.box?.h)]
                )
            }
        }
    }

    private func upsertImage(_ image: ImageRecord, jobID: SQLValue) throws(StoreError) {
        try execute(
            """
            INSERT INTO images (job_id, \(ImageRecord.columns))
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
            ON CONFLICT (job_id) DO UPDATE SET
                type = excluded.type, width = excluded.width, height = excluded.height,
                orientation = excluded.orientation, decode_scale = excluded.decode_scale, detail = excluded.detail,
                warnings = excluded.warnings, exif = excluded.exif, exif_problems = excluded.exif_problems,
                make = excluded.make, model = excluded.model, lens = excluded.lens, date_taken = excluded.date_taken,
                latitude = excluded.latitude, longitude = excluded.longitude, altitude = excluded.altitude,
                exposure_time = excluded.exposure_time, f_number = excluded.f_number, iso = excluded.iso,
                focal_length = excluded.focal_length
            """,
            [jobID, SQLValue(image.type), SQLValue(image.width), SQLValue(image.height), SQLValue(image.orientation),
             SQLValue(image.decodeScale), SQLValue(image.detail), SQLValue(image.warnings), SQLValue(image.exif),
             SQLValue(image.exifProblems), SQLValue(image.make), SQLValue(image.model), SQLValue(image.lens),
             SQLValue(image.dateTaken), SQLValue(image.latitude), SQLValue(image.longitude), SQLValue(image.altitude),
             SQLValue(image.exposureTime), SQLValue(image.fNumber), SQLValue(image.iso), SQLValue(image.focalLength)]
        )
    }
}

extension ImageRecord {
    /// The `images` columns besides job_id, in the order ``init(row:)`` reads them.
    static let columns = """
        type, width, height, orientation, decode_scale, detail, warnings, exif, exif_problems, make, model, lens, \
        date_taken, latitude, longitude, altitude, exposure_time, f_number, iso, focal_length
        """

    init(row: Row) {
        self.init(
            type: row.text(0), width: row.int(1), height: row.int(2), orientation: row.int(3),
            decodeScale: row.text(4), detail: row.text(5), warnings: row.text(6), exif: row.text(7),
            exifProblems: row.text(8), make: row.text(9), model: row.text(10), lens: row.text(11),
            dateTaken: row.text(12), latitude: row.double(13), longitude: row.double(14), altitude: row.double(15),
            exposureTime: row.double(16), fNumber: row.double(17), iso: row.int(18), focalLength: row.double(19)
        )
    }
}
