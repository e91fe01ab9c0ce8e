import Foundation
import Synchronization
import IntakeConfig
import IntakeCore
import IntakeStore
import IntakeTestSupport
import Testing

@testable import IntakeRetention

@Suite("Retention: pruning expired jobs")
struct PrunerTests {
    static let day = 86_400.0

    private func pruner(_ fixture: StateFixture, _ retention: IntakeConfiguration.Retention) -> Pruner {
        Pruner(root: fixture.root, retention: retention, environments: ["prod", "beta"])
    }

    /// Prunes batch after batch until nothing is left to prune.
    private func pruneAll(_ pruner: Pruner, _ fixture: StateFixture) throws -> [PrunedJob] {
        var all: [PrunedJob] = []
        while true {
            let batch = try pruner.pruneBatch(fixture.database, now: Timestamp.nowMilliseconds())
            if batch.isEmpty { return all }
            all += batch
        }
    }

    @Test func theRulesRemoveExactlyTheExpiredJobsWithTheirFilesAndNeverAJobInFlight() throws {
        let fixture = try StateFixture()
        let oldProd = try fixture.finishedJob(environment: "prod", daysAgo: 12)
        let youngProd = try fixture.finishedJob(environment: "prod", daysAgo: 8)
        let oldBeta = try fixture.finishedJob(environment: "beta", daysAgo: 3)
        let youngBeta = try fixture.finishedJob(environment: "beta", daysAgo: 1)
        let oldFailed = try fixture.finishedJob(environment: "prod", daysAgo: 6, failed: true)
        let youngFailed = try fixture.finishedJob(environment: "beta", daysAgo: 3, failed: true)  // failed's own 5d wins over beta's 2d
        let queued = try fixture.queuedJob(environment: "beta", daysAgo: 30)
        let retention = IntakeConfiguration.Retention(environments: ["prod": 10 * Self.day, "beta": 2 * Self.day], failed: 5 * Self.day)

        let pruned = try pruneAll(pruner(fixture, retention), fixture)

        #expect(Set(pruned.map(\.id)) == [oldProd.id, oldBeta.id, oldFailed.id])
        for gone in [oldProd, oldBeta, oldFailed] {
            #expect(try !fixture.rowExists(gone.id))
            for file in gone.files { #expect(!fixture.exists(file), "\(file) should be gone") }
        }
        for kept in [youngProd, youngBeta, youngFailed, queued] {
            #expect(try fixture.rowExists(kept.id))
            for file in kept.files { #expect(fixture.exists(file), "\(file) should be kept") }
        }
        // Original, derivative and two rotations of 1000 bytes, and a 20-byte sidecar.
        #expect(pruned.first { $0.id == oldProd.id }?.bytes == 4_020)
        #expect(!fixture.exists(fixture.root.path + "/spool/prune/" + oldFailed.id + ".original"))
    }

    @Test func anEnvironmentWithoutARuleIsKeptForeverAndFailedJobsFollowTheirEnvironmentWithoutAFailedRule() throws {
        let fixture = try StateFixture()
        let ancientProd = try fixture.finishedJob(environment: "prod", daysAgo: 3_000)
        let betaFailed = try fixture.finishedJob(environment: "beta", daysAgo: 3, failed: true)
        let pruned = try pruneAll(pruner(fixture, .init(environments: ["beta": 2 * Self.day])), fixture)
        #expect(pruned.map(\.id) == [betaFailed.id])
        #expect(try fixture.rowExists(ancientProd.id))
    }

    @Test func eachBatchIsBoundedAndTakesTheOldestFirst() throws {
        let fixture = try StateFixture()
        var jobs: [FixtureJob] = []
        for age in [20.0, 40, 30, 50, 10] { jobs.append(try fixture.finishedJob(daysAgo: age)) }
        let pruner = pruner(fixture, .init(environments: ["prod": Self.day], batchSize: 2))
        let first = try pruner.pruneBatch(fixture.database, now: Timestamp.nowMilliseconds())
        #expect(first.map(\.id) == [jobs[3].id, jobs[1].id])
        let second = try pruner.pruneBatch(fixture.database, now: Timestamp.nowMilliseconds())
        #expect(second.map(\.id) == [jobs[2].id, jobs[0].id])
    }

    @Test func aDeadLetterSentBackByIntakeRetryIsLeftAlone() throws {
        let fixture = try StateFixture()
        let failed = try fixture.finishedJob(daysAgo: 40, failed: true)
        // What `intake retry` does: the original moves into spool/requeue; the daemon then requeues the row.
        let requeued = fixture.root.spoolRequeue + "/prod/\(failed.id)-photo 1.jpg"
        try fixture.write(requeued, bytes: 1)
        #expect(rename(failed.original, requeued) == 0)
        let pruned = try pruneAll(pruner(fixture, .init(failed: Self.day)), fixture)
        #expect(pruned.isEmpty)
        #expect(try fixture.rowExists(failed.id))
        #expect(fixture.exists(requeued))
    }

    /// A batch's worth of dead letters sent back, at the head of the line, does not stop pruning:
    /// the batch reads past them (it used to come back empty, as if nothing had expired).
    @Test func deadLettersSentBackAtTheHeadOfTheLineDoNotStopPruning() throws {
        let fixture = try StateFixture()
        let failed = try fixture.finishedJob(daysAgo: 41, failed: true)
        let younger = try fixture.finishedJob(daysAgo: 40)
        let requeued = fixture.root.spoolRequeue + "/prod/\(failed.id)-photo 1.jpg"
        try fixture.write(requeued, bytes: 1)
        #expect(rename(failed.original, requeued) == 0)
        let retention = IntakeConfiguration.Retention(environments: ["prod": Self.day], failed: Self.day, batchSize: 1)
        let pruned = try pruneAll(pruner(fixture, retention), fixture)
        #expect(pruned.map(\.id) == [younger.id])
        #expect(try fixture.rowExists(failed.id) && fixture.exists(requeued))
    }

    /// A finished job whose original could not be filed yet (processed/ unwritable for a while)
    /// waits in spool/active; under a short retention it may expire before the committer files
    /// it. Pruned then, the committer would file it with no row naming it, or a restart would take
    /// it for a claim never recorded and run it again.
    @Test func aFinishedJobWhoseOriginalWaitsInTheSpoolIsNotPrunedUntilItIsFiled() throws {
        let fixture = try StateFixture()
        let unfiled = try fixture.finishedJob(daysAgo: 41)
        let filed = try fixture.finishedJob(daysAgo: 40)
        let waiting = fixture.root.spoolActive + "/prod/\(unfiled.id)-photo 1.jpg"
        try fixture.write(waiting, bytes: 1)
        #expect(rename(unfiled.original, waiting) == 0)
        let retention = IntakeConfiguration.Retention(environments: ["prod": Self.day], batchSize: 1)
        #expect(try pruneAll(pruner(fixture, retention), fixture).map(\.id) == [filed.id])
        #expect(try fixture.rowExists(unfiled.id) && fixture.exists(waiting))
        // Filed at last: pruned like any other.
        #expect(rename(waiting, unfiled.original) == 0)
        #expect(try pruneAll(pruner(fixture, retention), fixture).map(\.id) == [unfiled.id])
        #expect(try !fixture.rowExists(unfiled.id))
    }

    @Test func keepingMeterReadingsKeepsTheReadingAndTheRowButNotTheFilesOrTheRowsThatNameThem() throws {
        let fixture = try StateFixture()
        let reading = try fixture.finishedJob(daysAgo: 40, meter: "MTR-1")
        let plain = try fixture.finishedJob(daysAgo: 40)
        let pruned = try pruneAll(pruner(fixture, .init(environments: ["prod": Self.day], keepMeterReadings: true)), fixture)
        #expect(Set(pruned.map(\.id)) == [reading.id, plain.id])
        #expect(try !fixture.rowExists(plain.id))
        let kept = try #require(try fixture.database.job(id: reading.id))
        #expect(kept.finalPath == nil)
        #expect(try fixture.database.outputs(jobID: reading.id).isEmpty)
        let meterRows = try fixture.database.query("SELECT value, verdict FROM meter_readings WHERE job_id = ?", [.text(reading.id)])
        #expect(meterRows.first?["value"] == .real(123.4))
        #expect(try fixture.database.query("SELECT pruned_at FROM jobs WHERE id = ?", [.text(reading.id)]).first?["pruned_at"] != .null)
        for file in reading.files { #expect(!fixture.exists(file)) }
        // Pruned once: never picked again.
        #expect(try pruneAll(pruner(fixture, .init(environments: ["prod": Self.day], keepMeterReadings: true)), fixture).isEmpty)
    }

    @Test func archivingMovesEachFileUnderItsMonthWithAManifestThatRestoresIt() throws {
        let fixture = try StateFixture()
        let done = try fixture.finishedJob(daysAgo: 40)
        let failed = try fixture.finishedJob(daysAgo: 40, failed: true)
        let pruned = try pruneAll(pruner(fixture, .init(environments: ["prod": Self.day], archiveFolder: "archive")), fixture)
        #expect(pruned.count == 2)
        let finished = Timestamp.nowMilliseconds() - 40 * 86_400_000
        let date = CalendarDate(unixMilliseconds: UInt64(finished))
        let month = "\(fixture.root.path)/archive/prod/\(date.year)/\(date.month < 10 ? "0" : "")\(date.month)"
        for job in [done, failed] {
            for file in job.files {
                #expect(!fixture.exists(file))
                #expect(fixture.exists(month + "/" + file.dropFirst(fixture.root.path.count + 1)), "\(file) not archived")
            }
        }
        let manifest = try #require(Fixtures.readFile(month + "/manifest.jsonl"))
        let lines = try String(decoding: manifest, as: UTF8.self).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(Set(lines.compactMap { $0["job"] as? String }) == [done.id, failed.id])
        let doneLine = try #require(lines.first { $0["job"] as? String == done.id })
        #expect(doneLine["sha256"] as? String == String(repeating: "a", count: 64))
        #expect((doneLine["files"] as? [String])?.count == done.files.count)
        #expect(doneLine["name"] as? String == "photo 1.jpg")
    }

    @Test func aBatchCutShortIsFinishedWhenItsRowsAreGoneAndLeftWholeWhenTheyRemain() throws {
        let fixture = try StateFixture()
        let removedRows = try fixture.finishedJob(daysAgo: 40)
        let keptRows = try fixture.finishedJob(daysAgo: 40, failed: true)
        let pruner = pruner(fixture, .init(environments: ["prod": Self.day]))
        // As a kill after step 2 leaves one job and before it the other: the journal names both,
        // one job's rows are gone; and a journal's temporary file a kill caught before its rename.
        let expired = try fixture.database.expiredJobs(pruner.expiryRules(now: Timestamp.nowMilliseconds()), limit: 10)
        #expect(expired.count == 2)
        try fixture.write(fixture.root.spoolPrune + "/.intake-tmp-1-2", bytes: 10)
        let file = fopen(fixture.root.spoolPrune + "/1-1.json", "wbe")
        _ = PruneJournal(entries: expired, archiveFolder: nil).encoded().withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        _ = try fixture.database.pruneJobs(expired.filter { $0.id == removedRows.id }, keepMeterReadings: false, at: 0)

        let finished = try pruner.finishInterrupted(fixture.database)

        #expect(finished.map(\.id) == [removedRows.id])
        for file in removedRows.files { #expect(!fixture.exists(file)) }
        #expect(try fixture.rowExists(keptRows.id))
        for file in keptRows.files { #expect(fixture.exists(file), "\(file) should be kept") }
        #expect(FolderListing.names(in: fixture.root.spoolPrune).isEmpty)
    }

    @Test func aHostSharingTheStorePrunesOnlyItsOwnJobsWhoseFilesAreOnItsDisk() throws {
        let fixture = try StateFixture(host: "alpha")
        let own = try fixture.finishedJob(daysAgo: 40)
        let others = try fixture.finishedJob(daysAgo: 40, host: "bravo")
        let pruned = try pruneAll(pruner(fixture, .init(environments: ["prod": Self.day])), fixture)
        #expect(pruned.map(\.id) == [own.id])
        #expect(try !fixture.rowExists(own.id))
        #expect(try fixture.rowExists(others.id), "alpha pruned bravo's job")
        for file in others.files { #expect(fixture.exists(file)) }
    }

    @Test func aBatchWhoseTransactionFailsKeepsItsJournalAndTheNextBatchFinishesIt() throws {
        let fixture = try StateFixture()
        let job = try fixture.finishedJob(daysAgo: 40)
        let pruner = pruner(fixture, .init(environments: ["prod": Self.day]))
        // A store that cannot take the delete: as a commit whose answer never came, the journal
        // must stay, for the transaction may have committed.
        let readOnly = try Database(path: fixture.root.database, readOnly: true)
        #expect(throws: RetentionError.self) { try pruner.pruneBatch(readOnly, now: Timestamp.nowMilliseconds()) }
        #expect(FolderListing.names(in: fixture.root.spoolPrune).filter { $0.hasSuffix(".json") }.count == 1)
        #expect(try fixture.rowExists(job.id))
        for file in job.files { #expect(fixture.exists(file)) }

        let pruned = try pruneAll(pruner, fixture)
        #expect(pruned.map(\.id) == [job.id])
        for file in job.files { #expect(!fixture.exists(file)) }
        #expect(FolderListing.names(in: fixture.root.spoolPrune).isEmpty)
    }

    @Test func intakeRetryAndPruningTakeTurnsSoADeadLetterIsEitherSentBackOrPrunedNeverHalfOfEach() throws {
        let fixture = try StateFixture()
        let failed = try fixture.finishedJob(daysAgo: 40, failed: true)
        // While `intake retry` holds the lock, a batch waits for it; once it is sent back, the batch leaves it alone.
        try fixture.write(fixture.root.spoolPrune + "/.keep", bytes: 0)
        let lock = try #require(FileLock(path: fixture.root.pruneLock))
        let requeued = fixture.root.spoolRequeue + "/prod/\(failed.id)-photo 1.jpg"
        let pruner = pruner(fixture, .init(failed: Self.day))
        let done = Mutex(false)
        let databasePath = fixture.root.database
        let batchError = Mutex<String?>(nil)
        let thread = Thread {
            do {
                _ = try pruner.pruneBatch(Database(path: databasePath), now: Timestamp.nowMilliseconds())
            } catch {
                batchError.withLock { $0 = "\(error)" }
            }
            done.withLock { $0 = true }
        }
        thread.start()
        usleep(200_000)
        #expect(!done.withLock { $0 }, "the batch did not wait for the lock")
        try fixture.write(requeued, bytes: 1)
        #expect(rename(failed.original, requeued) == 0)
        lock.release()
        while !done.withLock({ $0 }) { usleep(10_000) }
        #expect(batchError.withLock { $0 } == nil)
        #expect(try fixture.rowExists(failed.id))
        #expect(fixture.exists(requeued))
    }

    @Test func aJobThatChangedSinceItWasFoundExpiredKeepsItsRows() throws {
        let fixture = try StateFixture()
        let job = try fixture.finishedJob(daysAgo: 40, failed: true)
        let expired = try fixture.database.expiredJobs([ExpiryRule(environment: "prod", failed: true, cutoff: Timestamp.nowMilliseconds())], limit: 5)
        // Sent back, run again and failed again meanwhile: finished anew, not expired.
        _ = try fixture.database.query("UPDATE jobs SET finished_at = ? WHERE id = ?", [.text(Timestamp.string(fromMilliseconds: Timestamp.nowMilliseconds())), .text(job.id)])
        #expect(try fixture.database.pruneJobs(expired, keepMeterReadings: false, at: 0).isEmpty)
        #expect(try fixture.rowExists(job.id))
    }

    /// A file no later try could delete either (here a folder made where the derivative was) is
    /// left and named, and pruning goes on: thrown, it stopped every batch after it for good.
    @Test func aFileThatCannotBeDeletedIsLeftAndNamedAndPruningGoesOn() throws {
        let fixture = try StateFixture()
        let first = try fixture.finishedJob(daysAgo: 40), second = try fixture.finishedJob(daysAgo: 39)
        let blocked = try #require(first.files.first { $0.hasSuffix("_256x256.jpg") })
        unlink(blocked)
        mkdir(blocked, 0o755)
        mkdir(blocked + "/inside", 0o755)
        let retention = IntakeConfiguration.Retention(environments: ["prod": Self.day], batchSize: 1)
        let pruned = try pruneAll(pruner(fixture, retention), fixture)
        #expect(pruned.map(\.id) == [first.id, second.id])
        #expect(pruned.first?.leftBehind.count == 1 && pruned.first?.leftBehind.first?.hasPrefix(blocked) == true, "\(pruned)")
        #expect(try !fixture.rowExists(first.id) && !fixture.rowExists(second.id))
        #expect(FileManagerless.list(fixture.root.path + "/spool/prune").isEmpty, "a journal was left to finish")
    }

    @Test func aPathOutsideTheStateRootIsNeverDeletedWhateverARowSays() throws {
        let fixture = try StateFixture()
        let outside = try TemporaryFolder()
        let precious = outside.write("precious.jpg", [1, 2, 3])
        let job = try fixture.finishedJob(daysAgo: 40)
        _ = try fixture.database.query("INSERT INTO outputs (job_id, kind, path) VALUES (?, 'derivative', ?)", [.text(job.id), .text(precious)])
        // The same kind of file reached through the root with `..`: a path that starts inside only in its text.
        let alsoPrecious = outside.write("also precious.jpg", [4, 5, 6])
        let climbing = fixture.root.path + "/../" + String(outside.path.split(separator: "/").last!) + "/also precious.jpg"
        try #require(access(climbing, F_OK) == 0, "the two temporary folders do not share a parent")
        _ = try fixture.database.query("INSERT INTO outputs (job_id, kind, path) VALUES (?, 'derivative', ?)", [.text(job.id), .text(climbing)])
        let pruned = try pruneAll(pruner(fixture, .init(environments: ["prod": Self.day])), fixture)
        #expect(pruned.map(\.id) == [job.id])
        #expect(fixture.exists(precious))
        #expect(fixture.exists(alsoPrecious))
    }

    @Test func theDryRunCountsAndSizesWhatWouldGoAndChangesNothing() throws {
        let fixture = try StateFixture()
        let jobs = [try fixture.finishedJob(environment: "prod", daysAgo: 40), try fixture.finishedJob(environment: "beta", daysAgo: 40, failed: true),
                    try fixture.finishedJob(environment: "beta", daysAgo: 40)]
        let tallies = try pruner(fixture, .init(environments: ["prod": Self.day, "beta": Self.day])).preview(
            fixture.database, now: Timestamp.nowMilliseconds())
        #expect(tallies.map(\.environment) == ["beta", "prod"])
        #expect(tallies[0].done == 1 && tallies[0].failed == 1 && tallies[1].done == 1)
        #expect(tallies[1].bytes == 4_020)
        #expect(tallies[0].bytes == 4_020 + 2_020)  // a dead letter: original, error report, sidecar
        for job in jobs {
            #expect(try fixture.rowExists(job.id))
            for file in job.files { #expect(fixture.exists(file)) }
        }
    }
}
