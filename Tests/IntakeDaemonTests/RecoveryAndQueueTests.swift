@testable import IntakeDaemon
import IntakeConfig
import IntakePipeline
import IntakeStore
import IntakeTestSupport
import Logging
import Testing
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// Start-up recovery on state roots left in each way a crash can leave them.
@Suite struct ReconcilerTests {
    let folder = try! TemporaryFolder()
    var root: StateRoot { StateRoot(path: folder.path) }
    let settings = WorkSettings(IntakeConfiguration.defaults)

    func reconciler() -> Reconciler { Reconciler(root: root, settings: settings, logger: Logger(label: "test")) }

    /// A file claimed into the spool, as the claimer leaves it.
    func spooled(_ name: String, environment: String = "prod") throws -> QueuedJob {
        let id = JobID.make()
        let path = root.spoolPath(directories: [environment], job: id, name: name)
        try DurableFile.write(Array("bytes of \(name)".utf8), to: path)
        return QueuedJob(id: id, environment: environment, name: name, sourcePath: "\(environment)/\(name)", meter: nil,
                         spoolPath: path, createdAt: JobID.milliseconds(of: id)!)
    }

    @Test func aClaimTheDatabaseNeverHeardOfIsRecordedAndQueued() throws {
        let database = try Database(path: root.database)
        let job = try spooled("unrecorded.jpg")
        let (jobs, summary, _) = try reconciler().run(database)
        #expect(jobs.map(\.id) == [job.id])
        #expect(summary.unrecorded == 1)
        #expect(try database.job(id: job.id.rawValue)?.status == .queued)
    }

    /// A name may start with a combining mark; read as Characters, the mark joined the '-' after
    /// the job id into one Character that is not "-", and the job's file was taken for a foreign
    /// one and sent back to the inbox, to run again under a new id.
    @Test func aNameThatStartsWithACombiningMarkIsStillThisJobsFile() throws {
        let database = try Database(path: root.database)
        let job = try spooled("\u{301}accent.jpg")
        let (jobs, summary, _) = try reconciler().run(database)
        #expect(jobs.map(\.id) == [job.id] && summary.unrecorded == 1)
        #expect(jobs.first?.name.unicodeScalars.elementsEqual("\u{301}accent.jpg".unicodeScalars) == true)
        #expect(access(job.spoolPath, F_OK) == 0, "the file stays in the spool")
        // A subfolder whose name starts with one: the '/' before it joined the mark as well.
        let nested = try spooled("x.jpg", environment: "prod/\u{301}sub")
        let again = try reconciler().run(database)
        #expect(again.jobs.contains { $0.id == nested.id && $0.environment == "prod" }, "\(again.jobs.map(\.sourcePath))")
        #expect(access(nested.spoolPath, F_OK) == 0)
    }

    @Test func aCommitCutShortBeforeItsMoveIsCompleted() throws {
        let database = try Database(path: root.database)
        let job = try spooled("committed.jpg")
        try database.insertJob(NewJob(job, host: root.host))
        let destination = root.processedOriginal(job)
        try database.complete(JobCompletion(id: job.id.rawValue, status: .done, attempts: 1, startedAt: 1, finishedAt: 2,
                                            finalPath: destination, bytes: 20))
        let (jobs, summary, _) = try reconciler().run(database)
        #expect(jobs.isEmpty)
        #expect(summary.movesCompleted == 1)
        #expect(access(destination, F_OK) == 0 && access(job.spoolPath, F_OK) != 0)
    }

    @Test func anOriginalThatCannotBeFiledAtStartUpIsHandedOnInsteadOfStoppingTheStart() throws {
        let database = try Database(path: root.database)
        let job = try spooled("blocked.jpg")
        try database.insertJob(NewJob(job, host: root.host))
        let destination = root.processedOriginal(job)
        try database.complete(JobCompletion(id: job.id.rawValue, status: .done, attempts: 1, startedAt: 1, finishedAt: 2,
                                            finalPath: destination, bytes: 20))
        // processed/ replaced by a file: nothing can be filed under it.
        _ = root.processed.withCString { rmdir($0) }
        try DurableFile.write(Array("not a folder".utf8), to: root.processed)
        let (jobs, summary, unfiled) = try reconciler().run(database)
        #expect(jobs.isEmpty)
        #expect(summary.movesCompleted == 0)
        #expect(unfiled.map(\.job) == [job.id])
        #expect(unfiled.first?.destination == destination)
        #expect(access(job.spoolPath, F_OK) == 0)
    }

    @Test func aSidecarLeftInTheInboxByACutShortClaimIsTakenWithItsImage() throws {
        let database = try Database(path: root.database)
        let job = try spooled("meter.jpg")
        // The image was renamed into the spool; the power went before its sidecar followed.
        let sidecar = root.inbox + "/prod/meter.json"
        try DurableFile.write(Array(#"{"reading": 12.5}"#.utf8), to: sidecar)
        let (jobs, summary, _) = try reconciler().run(database)
        #expect(jobs.map(\.id) == [job.id])
        #expect(summary.sidecarsTaken == 1)
        #expect(access(sidecar, F_OK) != 0)
        #expect(Fixtures.readFile(root.outputs.spooledSidecar(job: job.id)) == Array(#"{"reading": 12.5}"#.utf8))
    }

    @Test func aFinishedJobsSidecarIsFiledBesideItsOriginal() throws {
        let database = try Database(path: root.database)
        let job = try spooled("filed.jpg")
        try DurableFile.write(Array("{}".utf8), to: root.outputs.spooledSidecar(job: job.id))
        try database.insertJob(NewJob(job, host: root.host))
        let destination = root.processedOriginal(job)
        try database.complete(JobCompletion(id: job.id.rawValue, status: .done, attempts: 1, startedAt: 1, finishedAt: 2,
                                            finalPath: destination, bytes: 20))
        _ = try reconciler().run(database)
        #expect(access(destination, F_OK) == 0)
        #expect(access(OutputLayout.filedSidecar(beside: destination), F_OK) == 0)
        #expect(access(root.outputs.spooledSidecar(job: job.id), F_OK) != 0)
    }

    @Test func anInterruptedJobLosesItsPartialOutputsAndRunsAgain() throws {
        let database = try Database(path: root.database)
        let job = try spooled("half.jpg")
        try database.insertJob(NewJob(job, host: root.host))
        try database.markProcessing(id: job.id.rawValue, attempt: 1, at: 5)
        let partial = root.possibleOutputs(job, derivativeSize: 256, angles: [90])
        for path in partial { try DurableFile.write([1, 2, 3], to: path) }
        let (jobs, summary, _) = try reconciler().run(database)
        #expect(jobs.map(\.id) == [job.id])
        #expect(jobs.first?.attempt == 2)
        #expect(summary.interrupted == 1)
        for path in partial { #expect(access(path, F_OK) != 0, "\(path) survived") }
    }

    @Test func aFileThatKeepsStoppingTheDaemonIsSetAside() throws {
        let database = try Database(path: root.database)
        let job = try spooled("poison.jpg")
        try database.insertJob(NewJob(job, host: root.host))
        // Each start finds it mid-processing again: the file itself kills the daemon.
        for attempt in 1..<settings.maxAttempts {
            try database.markProcessing(id: job.id.rawValue, attempt: attempt, at: Int64(attempt))
            try database.recordInterrupted(id: job.id.rawValue, attempt: attempt, at: Int64(attempt))
        }
        try database.markProcessing(id: job.id.rawValue, attempt: settings.maxAttempts, at: 99)
        let (jobs, summary, _) = try reconciler().run(database)
        #expect(jobs.isEmpty)
        #expect(summary.deadLettered == 1)
        let row = try #require(try database.job(id: job.id.rawValue))
        #expect(row.status == .failed)
        #expect(row.error?.contains("stopped \(settings.maxAttempts) times") == true)
        #expect(access(root.failedOriginal(job), F_OK) == 0)
        #expect(access(root.failedOriginal(job) + ".error.json", F_OK) == 0)
    }

    @Test func aClaimLostToAPowerCutIsForgottenAndTemporaryFilesGo() throws {
        let database = try Database(path: root.database)
        let job = try spooled("gone.jpg")
        try database.insertJob(NewJob(job, host: root.host))
        unlink(job.spoolPath)  // the rename never reached the disk: the file is back in the inbox
        try DurableFile.write([0], to: root.spoolTemporary + "/.intake-tmp-123")
        let (_, summary, _) = try reconciler().run(database)
        #expect(summary.lostClaims == 1 && summary.temporaryFiles == 1)
        #expect(try database.job(id: job.id.rawValue) == nil)
        #expect(FileManagerless.list(root.spoolTemporary).isEmpty)
    }
}

@Suite struct JobQueueTests {
    func job(_ environment: String, attempt: Int = 1) -> QueuedJob {
        let id = JobID.make()
        var job = QueuedJob(id: id, environment: environment, name: "x", sourcePath: "x", meter: nil, spoolPath: "x", createdAt: 0)
        job.attempt = attempt
        return job
    }

    @Test func heavierEnvironmentsFirstThenArrival() {
        let queue = JobQueue(weights: ["prod": 4, "beta": 1], agingSeconds: 30, capacity: 100)
        let beta = job("beta"), prod1 = job("prod"), prod2 = job("prod")
        queue.push(beta)
        queue.push(prod1)
        queue.push(prod2)
        #expect([queue.take(), queue.take(), queue.take()].map { $0?.id } == [prod1.id, prod2.id, beta.id])
    }

    @Test func agingLiftsAWaitingJobOverLaterArrivals() {
        // Aging of 10 ms: beta waiting 40 ms outranks prod arriving now (3 weight steps apart).
        let queue = JobQueue(weights: ["prod": 4, "beta": 1], agingSeconds: 0.01, capacity: 100)
        let beta = job("beta")
        queue.push(beta)
        usleep(40_000)
        let prod = job("prod")
        queue.push(prod)
        #expect(queue.take()?.id == beta.id)
    }

    @Test func retriesWaitTheirBackoffAndGoBehindFirstTries() {
        let queue = JobQueue(weights: ["prod": 1], agingSeconds: 30, capacity: 100)
        let retry = job("prod", attempt: 2)
        queue.schedule(retry, after: 0.05)
        let first = job("prod")
        queue.push(first)
        #expect(queue.take()?.id == first.id)
        #expect(queue.take()?.id == retry.id)

        // A retry not yet due is not handed out, even to a worker with nothing else to do.
        let later = job("prod", attempt: 2)
        queue.schedule(later, after: 3600)
        let second = job("prod")
        queue.push(second)
        #expect(queue.take()?.id == second.id)
        #expect(queue.count == 1)
    }

    @Test func closingWakesWaitingWorkersEmptyHanded() {
        let queue = JobQueue(weights: ["prod": 1], agingSeconds: 30, capacity: 1)
        queue.push(job("prod"))
        #expect(!queue.hasRoom)
        queue.close()
        #expect(queue.take() == nil)
    }
}

/// The committer against events the database refuses.
@Suite struct CommitterTests {
    @Test func oneEventTheDatabaseRefusesDoesNotHoldBackTheRest() throws {
        let folder = try TemporaryFolder()
        let root = StateRoot(path: folder.path)
        for path in root.folders(environments: ["prod"]) { try DurableFile.makeFolders(path) }
        let done = Condition()
        nonisolated(unsafe) var committed: [JobID] = []
        let committer = Committer(root: root, logger: Logger(label: "test"), observer: { job in
            done.locked {
                committed.append(job.job.id)
                done.broadcast()
            }
        })
        try committer.start()
        let id = JobID.make()
        let spool = root.spoolPath(directories: ["prod"], job: id, name: "a.jpg")
        try DurableFile.write([1, 2, 3], to: spool)
        let job = QueuedJob(id: id, environment: "prod", name: "a.jpg", sourcePath: "prod/a.jpg", meter: nil, spoolPath: spool,
                            createdAt: JobID.milliseconds(of: id)!)
        // A start for a job that was never claimed: the store refuses it, every time.
        committer.post(.started(JobID.make(), attempt: 1, at: 1))
        committer.post(.claimed(job))
        committer.post(.finished(FinishedJob(
            job: job, error: nil, facts: ImageFacts(bytes: 3), timings: [], labels: [], outputs: nil, errorReport: nil,
            destination: root.processedOriginal(job), startedAt: 2, finishedAt: 3)))
        let deadline = monotonicSeconds() + 20
        done.locked {
            while committed.isEmpty && monotonicSeconds() < deadline { done.wait(seconds: deadline - monotonicSeconds()) }
        }
        committer.stop()
        #expect(committed == [id])
        #expect(try Database(path: root.database, readOnly: true).job(id: id.rawValue)?.status == .done)
        #expect(access(root.processedOriginal(job), F_OK) == 0)
    }

    /// Whether `parent` has a child process whose command is `name` (read from /proc).
    static func hasChild(of parent: pid_t, named name: String) -> Bool {
        FileManagerless.list("/proc").contains { entry in
            guard Int32(entry) != nil, let stat = Fixtures.readFile("/proc/\(entry)/stat") else { return false }
            let text = String(decoding: stat, as: UTF8.self)
            guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return false }
            let fields = text[text.index(after: close)...].split(separator: " ")
            return text[text.index(after: open)..<close] == name && fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    @Test(.enabled(if: access("/usr/bin/sqlite3", X_OK) == 0, "needs the sqlite3 shell (scripts/install-deps.sh --test installs it)"))
    func postersHeldBackByALongOutageAreLetGoWhenTheDaemonStops() throws {
        let folder = try TemporaryFolder()
        let root = StateRoot(path: folder.path)
        for path in root.folders(environments: ["prod"]) { try DurableFile.makeFolders(path) }
        let committer = Committer(root: root, logger: Logger(label: "test"), observer: { _ in })
        try committer.start()
        // Another writer holds the write lock for longer than the test lasts.
        let shell = try ChildProcess.spawn(
            "/usr/bin/sqlite3", [root.database, "-cmd", ".timeout 20000", "-cmd", "BEGIN IMMEDIATE;", "-cmd", ".shell sleep 60", "COMMIT;"],
            standardOutput: folder.path + "/sqlite3.out", standardError: folder.path + "/sqlite3.err")
        defer {
            kill(shell, SIGKILL)
            _ = ChildProcess.waitFor(shell)
        }
        // The lock is held once the shell has gone on to its `sleep` (run after BEGIN IMMEDIATE):
        // a fixed pause was too short on a loaded machine, and the first events went in.
        let locked = monotonicSeconds() + 20
        while !Self.hasChild(of: shell, named: "sleep") && monotonicSeconds() < locked { usleep(10_000) }
        let posted = Condition()
        nonisolated(unsafe) var postedAll = false
        let poster = SystemThread(name: "test-poster") {
            // The committer holds its first batch aside while it waits for the lock, and on a
            // loaded machine that batch may be anything up to a full backlog: enough is posted to
            // fill the backlog behind it whatever its size.
            for _ in 0..<(2 * Committer.backlogLimit + 200) { committer.post(.started(JobID.make(), attempt: 1, at: 1)) }
            posted.locked {
                postedAll = true
                posted.broadcast()
            }
        }
        // The poster fills the backlog and is held back.
        let filled = monotonicSeconds() + 20
        while committer.backlog < Committer.backlogLimit && monotonicSeconds() < filled { usleep(10_000) }
        #expect(committer.backlog == Committer.backlogLimit)
        #expect(posted.locked { !postedAll })
        // A retry an operator asked for never waits, whatever the backlog.
        committer.post(.started(JobID.make(), attempt: 1, at: 1), waitForRoom: false)

        committer.beginShutdown()
        let released = monotonicSeconds() + 5
        posted.locked {
            while !postedAll && monotonicSeconds() < released { posted.wait(seconds: released - monotonicSeconds()) }
        }
        #expect(posted.locked { postedAll }, "the poster is still held after the shutdown began")
        poster.join()
        let stopStarted = monotonicSeconds()
        committer.stop()
        #expect(monotonicSeconds() - stopStarted < 30, "stop waited for the database lock to go")
    }
}
