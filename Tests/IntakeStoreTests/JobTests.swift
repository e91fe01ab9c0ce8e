import Testing

import IntakeCore
@testable import IntakeStore

@Suite("Jobs")
struct JobTests {
    @Test(arguments: TestEngine.available) func insertedJobIsQueuedWithNoAttempts(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        try database.insertJob(newJob(jobID(1), environment: "beta", name: "a b.jpg", meter: "MTR-1", createdAt: 1_795_271_121_123))
        let row = try #require(try database.job(id: jobID(1)))
        #expect(row == JobRow(
            id: jobID(1), environment: "beta", name: "a b.jpg", sourcePath: "beta/MTR-1/a b.jpg", meter: "MTR-1",
            status: .queued, attempts: 0, spoolPath: "spool/\(jobID(1))",
            createdAt: 1_795_271_121_123, updatedAt: 1_795_271_121_123
        ))
        // Stored as readable, sortable text.
        #expect(try database.scalar("SELECT created_at FROM jobs") == .text("2026-11-21T14:25:21.123Z"))
        #expect(try database.job(id: "missing") == nil)
    }

    @Test(arguments: TestEngine.available) func insertMarkProcessingCompleteRoundTripsEveryField(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        let id = jobID(1)
        try database.insertJob(newJob(id, meter: "MTR-7"))
        try database.markProcessing(id: id, attempt: 1, at: 1_795_271_121_500)
        let processing = try #require(try database.job(id: id))
        #expect(processing.status == .processing)
        #expect(processing.attempts == 1)
        #expect(processing.updatedAt == 1_795_271_121_500)

        let image = ImageRecord(
            type: "jpeg", width: 4032, height: 3024, orientation: 6, decodeScale: "1/8",
            detail: #"{"colorspace":"ycbcr","progressive":false}"#, warnings: #"["premature end of data"]"#,
            exif: #"{"Make":"Canon"}"#, exifProblems: "[]", make: "Canon", model: "EOS 5D", lens: "EF 50mm",
            dateTaken: "2026:11:21 14:25:00", latitude: 52.5, longitude: -1.25, altitude: 101.5,
            exposureTime: 0.004, fNumber: 2.8, iso: 400, focalLength: 50
        )
        let outputs = [
            OutputRecord(kind: "original", path: "processed/prod/2026/11/21/\(id)-x.jpg"),
            OutputRecord(kind: "derivative", path: "processed/prod/2026/11/21/\(id)-x_256x256.jpg"),
            OutputRecord(kind: "rotation", angle: 90, path: "augmented/prod/90-degree/\(id)-x.jpg"),
        ]
        let labels = [
            LabelRecord(name: "meter", confidence: 0.97, source: "detector", box: LabelBox(x: 1, y: 2, w: 30, h: 40)),
            LabelRecord(name: "dial", confidence: 0.5, source: "detector"),
        ]
        let timings = [StageTiming(stage: "sniff", ms: 0.25), StageTiming(stage: "decode", ms: 12.5), StageTiming(stage: "derive", ms: 3)]
        try database.complete(JobCompletion(
            id: id, status: .done, stage: "commit", attempts: 1, startedAt: 1_795_271_121_500,
            finishedAt: 1_795_271_122_042, finalPath: "processed/prod/2026/11/21/\(id)-x.jpg",
            sha256: "ab12", bytes: 987_654, image: image, timings: timings, outputs: outputs, labels: labels
        ))

        let done = try #require(try database.job(id: id))
        // updated_at is when the result was committed, which is after the attempt finished.
        #expect(done.updatedAt >= 1_795_271_122_042)
        #expect(done == JobRow(
            id: id, environment: "prod", name: "x.jpg", sourcePath: "prod/MTR-7/x.jpg", meter: "MTR-7",
            status: .done, stage: "commit", attempts: 1, sha256: "ab12", bytes: 987_654, duplicateOf: nil,
            spoolPath: "spool/\(id)", finalPath: "processed/prod/2026/11/21/\(id)-x.jpg",
            createdAt: 1_795_271_121_123, updatedAt: done.updatedAt, finishedAt: 1_795_271_122_042
        ))
        #expect(try database.image(jobID: id) == image)
        #expect(try database.outputs(jobID: id) == outputs.sorted { $0.path < $1.path })
        #expect(try database.labels(jobID: id) == labels)
        #expect(try database.timings(jobID: id) == timings)
        #expect(try database.attempts(jobID: id) == [
            AttemptRecord(attempt: 1, startedAt: 1_795_271_121_500, finishedAt: 1_795_271_122_042, outcome: .done, stage: "commit")
        ])
        #expect(try database.statusCounts() == ["queued": 0, "processing": 0, "done": 1, "failed": 0])
    }

    @Test(arguments: TestEngine.available) func failedCompletionKeepsTheReason(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        let id = jobID(1)
        try database.insertJob(newJob(id))
        try database.markProcessing(id: id, attempt: 1, at: 1_795_271_121_500)
        try database.complete(JobCompletion(
            id: id, status: .failed, stage: "sniff", error: "not a supported image: the content is GIF",
            errorKind: .permanent, attempts: 1, startedAt: 1_795_271_121_500, finishedAt: 1_795_271_121_600,
            finalPath: "failed/prod/\(id)-x.jpg", bytes: 12,
            outputs: [OutputRecord(kind: "error", path: "failed/prod/\(id)-x.jpg.error.json")]
        ))
        let row = try #require(try database.job(id: id))
        #expect(row.status == .failed)
        #expect(row.errorKind == .permanent)
        #expect(row.error == "not a supported image: the content is GIF")
        #expect(try database.image(jobID: id) == nil)
        #expect(try database.attempts(jobID: id).map(\.outcome) == [.failed])
    }

    @Test(arguments: TestEngine.available) func completeRefusesAnUnfinishedStatusAndAMissingJob(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        try database.insertJob(newJob(jobID(1)))
        var completion = doneCompletion(jobID(1))
        completion.status = .processing
        #expect(throws: StoreError.self) { try database.complete(completion) }
        #expect(throws: StoreError.self) { try database.complete(doneCompletion(jobID(2))) }
        #expect(throws: StoreError.self) { try database.markProcessing(id: jobID(2), attempt: 1, at: 0) }
        // Nothing half-written by the refused calls.
        #expect(try database.attempts(jobID: jobID(1)).isEmpty)
        #expect(try database.job(id: jobID(1))?.status == .queued)
    }

    @Test(arguments: TestEngine.available) func duplicateOfPointsAtTheEarlierFinishedJobWithTheSameHash(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        for n in 1...4 { try database.insertJob(newJob(jobID(n))) }
        try database.complete(doneCompletion(jobID(1), sha256: "same"))
        try database.complete(doneCompletion(jobID(2), sha256: "same"))
        try database.complete(doneCompletion(jobID(3), sha256: "other"))
        #expect(try database.job(id: jobID(1))?.duplicateOf == nil)
        #expect(try database.job(id: jobID(2))?.duplicateOf == jobID(1))
        #expect(try database.job(id: jobID(3))?.duplicateOf == nil)
        // Recording a finished job again (a replay after a crash) must not make it its own duplicate.
        try database.complete(doneCompletion(jobID(3), sha256: "other"))
        #expect(try database.job(id: jobID(3))?.duplicateOf == nil)
        // A queued job with the same hash is not an original: job 4 is still only queued.
        try database.complete(doneCompletion(jobID(4), sha256: nil))
        #expect(try database.job(id: jobID(4))?.duplicateOf == nil)

        // Only finished jobs count as originals: a requeued one keeps its hash but is queued again.
        try database.insertJob(newJob(jobID(5)))
        try database.insertJob(newJob(jobID(6)))
        try database.complete(doneCompletion(jobID(5), sha256: "requeued"))
        try database.requeue(id: jobID(5), spoolPath: "spool/5", at: 2_000_000_000_000)
        try database.complete(doneCompletion(jobID(6), sha256: "requeued"))
        #expect(try database.job(id: jobID(6))?.duplicateOf == nil)

        // Deleting the original clears the pointer instead of failing on the foreign key.
        try database.deleteJob(id: jobID(1))
        #expect(try database.job(id: jobID(1)) == nil)
        #expect(try database.job(id: jobID(2))?.duplicateOf == nil)
    }

    @Test(arguments: TestEngine.available) func retryThenCompleteLeavesTwoAttempts(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        let id = jobID(1)
        try database.insertJob(newJob(id))
        try database.markProcessing(id: id, attempt: 1, at: 1_000)
        try database.recordRetry(id: id, attempt: 1, startedAt: 1_000, finishedAt: 1_200, stage: "derive", error: "disk full")
        let queued = try #require(try database.job(id: id))
        #expect(queued.status == .queued)
        #expect(queued.stage == "derive")
        #expect(queued.error == "disk full")
        #expect(queued.errorKind == .transient)
        #expect(queued.attempts == 1)
        #expect(try database.unfinishedJobs().map(\.id) == [id])

        try database.markProcessing(id: id, attempt: 2, at: 5_000)
        try database.complete(doneCompletion(id, attempt: 2, finishedAt: 5_400))
        #expect(try database.attempts(jobID: id) == [
            AttemptRecord(attempt: 1, startedAt: 1_000, finishedAt: 1_200, outcome: .retry, stage: "derive", error: "disk full"),
            AttemptRecord(attempt: 2, startedAt: 4_900, finishedAt: 5_400, outcome: .done),
        ])
        let done = try #require(try database.job(id: id))
        #expect(done.status == .done)
        #expect(done.error == nil)
        #expect(done.errorKind == nil)
        #expect(try database.unfinishedJobs().isEmpty)
    }

    @Test(arguments: TestEngine.available) func interruptedAttemptIsRecordedAndTheJobQueuedAgain(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        let id = jobID(1)
        try database.insertJob(newJob(id))
        try database.markProcessing(id: id, attempt: 1, at: 1_000)
        #expect(try database.unfinishedJobs().map(\.status) == [.processing])
        try database.recordInterrupted(id: id, attempt: 1, at: 9_000)
        #expect(try database.attempts(jobID: id) == [AttemptRecord(attempt: 1, startedAt: 1_000, finishedAt: 9_000, outcome: .interrupted)])
        #expect(try database.job(id: id)?.status == .queued)
        #expect(throws: StoreError.self) { try database.recordInterrupted(id: jobID(9), attempt: 1, at: 9_000) }
    }

    @Test(arguments: TestEngine.available) func requeueSendsAFinishedJobBackAndRecompletionReplacesItsRows(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        let id = jobID(1)
        try database.insertJob(newJob(id))
        #expect(throws: StoreError.self) { try database.requeue(id: id, spoolPath: "spool/again", at: 2_000) }  // still queued
        var first = doneCompletion(id, labels: ["old"], finishedAt: 1_500)
        first.outputs = [OutputRecord(kind: "original", path: "old/path.jpg")]
        first.timings = [StageTiming(stage: "decode", ms: 9)]
        try database.complete(first)

        try database.requeue(id: id, spoolPath: "spool/again", at: 2_000)
        let requeued = try #require(try database.job(id: id))
        #expect(requeued.status == .queued)
        #expect(requeued.finalPath == nil)
        #expect(requeued.finishedAt == nil)
        #expect(requeued.spoolPath == "spool/again")
        #expect(requeued.attempts == 2)

        var second = doneCompletion(id, attempt: 3, labels: ["new"], finishedAt: 3_000)
        second.outputs = [OutputRecord(kind: "original", path: "new/path.jpg")]
        second.timings = [StageTiming(stage: "decode", ms: 4), StageTiming(stage: "decode", ms: 1)]
        try database.complete(second)
        #expect(try database.attempts(jobID: id).map(\.outcome) == [.done, .requeued, .done])
        #expect(try database.outputs(jobID: id) == second.outputs)
        #expect(try database.labels(jobID: id).map(\.name) == ["new"])
        #expect(try database.timings(jobID: id) == [StageTiming(stage: "decode", ms: 5)])
    }

    @Test(arguments: TestEngine.available) func listsAndCountsByStatus(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        for n in [3, 1, 2] { try database.insertJob(newJob(jobID(n))) }
        try database.markProcessing(id: jobID(2), attempt: 1, at: 0)
        try database.complete(doneCompletion(jobID(3)))
        #expect(try database.jobs().map(\.id) == [jobID(1), jobID(2), jobID(3)])
        #expect(try database.jobs(status: .queued).map(\.id) == [jobID(1)])
        #expect(try database.unfinishedJobs().map(\.id) == [jobID(1), jobID(2)])
        #expect(try database.statusCounts() == ["queued": 1, "processing": 1, "done": 1, "failed": 0])
    }

    @Test(arguments: TestEngine.available) func eachHostSharingAStoreFindsOnlyItsOwnUnfinishedFailedAndExpiredJobs(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        for (n, host) in [(1, "alpha"), (2, "bravo"), (3, "alpha"), (4, "bravo"), (5, "alpha"), (6, "bravo")] {
            var job = newJob(jobID(n))
            job.host = host
            try database.insertJob(job)
        }
        for n in [3, 4] { try database.complete(doneCompletion(jobID(n), finishedAt: 1_000)) }
        for n in [5, 6] {
            var failed = doneCompletion(jobID(n), finishedAt: 1_000)
            failed.status = .failed
            try database.complete(failed)
        }
        #expect(try database.unfinishedJobs(host: "alpha").map(\.id) == [jobID(1)])
        #expect(try database.unfinishedJobs(host: "bravo").map(\.id) == [jobID(2)])
        #expect(try database.unfinishedJobs().map(\.id) == [jobID(1), jobID(2)])
        #expect(try database.jobs(status: .failed, host: "bravo").map(\.id) == [jobID(6)])
        #expect(try database.jobs(host: "alpha").map(\.id) == [jobID(1), jobID(3), jobID(5)])
        let rules = [ExpiryRule(environment: "prod", failed: false, cutoff: 2_000), ExpiryRule(environment: "prod", failed: true, cutoff: 2_000)]
        #expect(try database.expiredJobs(rules, limit: 10, host: "alpha").map(\.id) == [jobID(3), jobID(5)])
        #expect(try database.expiredJobs(rules, limit: 10).map(\.id) == [jobID(3), jobID(4), jobID(5), jobID(6)])
    }

    /// A batch tried again after its commit's answer was lost records its job again: nothing
    /// happens. Another job under the same id (another host's, same millisecond and random bits)
    /// is refused, and the first job's row is left as it was.
    @Test(arguments: TestEngine.available) func aJobRecordedTwiceIsOneAndAnotherJobUnderItsIdIsRefused(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }
        try database.insertJob(newJob(jobID(1), name: "a.jpg"))
        try database.markProcessing(id: jobID(1), attempt: 1, at: 1_795_271_121_500)
        try database.insertJob(newJob(jobID(1), name: "a.jpg"))
        #expect(try database.job(id: jobID(1))?.status == .processing, "recording it again reset it")
        #expect(throws: StoreError.self) { try database.insertJob(newJob(jobID(1), name: "b.jpg")) }
        #expect(try database.job(id: jobID(1))?.name == "a.jpg")
    }

    /// Leases are judged on the store's clock, which every host reads alike: PostgreSQL's own, or
    /// (with SQLite, one machine) this one's.
    @Test(arguments: TestEngine.available) func theStoresClockIsReadFromTheStore(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        _ = folder
        let before = Timestamp.nowMilliseconds()
        let store = try database.clockMilliseconds()
        let after = Timestamp.nowMilliseconds()
        // The same machine's clock either way here: the server's reading falls between ours.
        #expect(store >= before - 5 && store <= after + 5, "\(before) \(store) \(after)")
    }

    @Test(arguments: TestEngine.available) func aClaimIsTakenOnceAndAHostWhoseClaimWasTakenOverIsFencedOff(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        let id = jobID(1)
        #expect(try database.claim(path: "prod/x.jpg", identity: "7:100:1", jobID: id, host: "alpha", spoolName: "prod/\(id)-x.jpg", leaseUntil: 5_000))
        #expect(try !database.claim(path: "prod/x.jpg", identity: "7:100:1", jobID: jobID(2), host: "bravo", spoolName: "prod/y", leaseUntil: 5_000))
        // Another file of the same name later is another claim.
        #expect(try database.claim(path: "prod/x.jpg", identity: "8:90:2", jobID: jobID(3), host: "bravo", spoolName: "prod/z", leaseUntil: 5_000))
        var job = newJob(id)
        job.host = "alpha"
        try database.insertJob(job)

        // alpha renews until 5000; at 6000 its lease is over and bravo takes the claim, and the job.
        #expect(try database.takeOverExpiredClaims(host: "bravo", now: 4_000, leaseUntil: 10_000, limit: 10) { _ in nil }.isEmpty)
        let taken = try database.takeOverExpiredClaims(host: "bravo", now: 6_000, leaseUntil: 10_000, limit: 10) { _ in nil }
        #expect(taken.map(\.previousHost) == ["alpha"] && taken.first?.claim.generation == 2 && taken.first?.claim.host == "bravo")
        #expect(try database.job(id: id)?.host == "bravo")
        #expect(try !database.holdsClaim(jobID: id, host: "alpha", generation: 1))
        #expect(try !database.releaseClaim(jobID: id, host: "alpha", generation: 1), "a late write by the old holder went through")
        #expect(try database.holdsClaim(jobID: id, host: "bravo", generation: 2))
        #expect(try database.releaseClaim(jobID: id, host: "bravo", generation: 2))
        #expect(try database.claims(host: "bravo").map(\.jobID) == [jobID(3)])
        // A claim whose job the old holder never recorded gets its row from the caller.
        #expect(try database.claim(path: "beta/w.jpg", identity: "9:1:1", jobID: jobID(4), host: "alpha", spoolName: "beta/\(jobID(4))-w.jpg", leaseUntil: 5_000))
        _ = try database.takeOverExpiredClaims(host: "charlie", now: 20_000, leaseUntil: 30_000, limit: 10) { claim in
            claim.jobID == jobID(4) ? newJob(jobID(4), environment: "beta", name: "w.jpg") : nil
        }
        #expect(try database.job(id: jobID(4))?.host == "charlie")
        #expect(try database.claims(host: "charlie").count == 2)
    }

    @Test(arguments: TestEngine.available) func deletingAJobDeletesEverythingRecordedAboutIt(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        let id = jobID(1)
        try database.insertJob(newJob(id))
        var completion = doneCompletion(id, labels: ["a"])
        completion.image = ImageRecord(type: "png")
        completion.outputs = [OutputRecord(kind: "original", path: "p")]
        completion.timings = [StageTiming(stage: "sniff", ms: 1)]
        try database.complete(completion)
        try database.deleteJob(id: id)
        for table in ["jobs", "images", "stage_timings", "attempts", "outputs", "labels"] {
            #expect(try database.scalar("SELECT count(*) FROM \(table)") == .integer(0), "\(table) not emptied")
        }
    }
}
