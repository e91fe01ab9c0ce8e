import IntakePipeline
import IntakeStore
import Logging
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// The one writer of the database, and the one place a job becomes final. Events are taken in
/// batches, and each batch costs one `syncfs` and one fsync of the WAL however many jobs it
/// carries. At idle a finished job is committed at once; while more work is queued the batch is
/// held open for up to `groupCommitWindow` to gather the jobs finishing meanwhile (group commit,
/// as mail queues and databases do it). Each batch is made durable in this order:
///
/// 1. `syncfs`: the outputs and error reports the workers wrote reach the disk;
/// 2. one database transaction records every event of the batch;
/// 3. the originals move from spool/active to processed/ or failed/.
///
/// A crash before 2 leaves the original in the spool and the job unfinished: it runs again,
/// replacing its outputs. A crash between 2 and 3 leaves a finished row and its original in the
/// spool: start-up completes the move. Nothing is lost and nothing is done twice.
///
/// When the database cannot write (a full disk, a lock held by another writer, a read-only file)
/// the batch is kept and tried again until it goes in: no event is ever dropped for it. Meanwhile
/// events pile up to `backlogLimit`, after which `post` waits, holding the workers and the claim
/// back. An original that cannot be moved into place is tried again every second.
///
/// In a shared inbox every event is checked, in the batch's transaction, against this host's
/// claim on its job (see `ClaimBook`): the events of a job another host took over are dropped,
/// and the final one deletes the claim with host and generation in its `WHERE`, so that a job
/// is made final once whoever comes late.
final class Committer: Sendable {
    private let root: StateRoot
    /// The lease a claim made here starts with (a job `intake retry` sends back, in a shared inbox).
    private let claimLeaseSeconds: Double
    private let logger: Logger
    private let observer: @Sendable (FinishedJob) -> Void
    private let batchObserver: @Sendable (_ finishedJobs: Int) -> Void
    /// Whether more jobs are on their way (the queue is not empty): only then is waiting worth it.
    private let moreWorkQueued: @Sendable () -> Bool
    /// How long a batch may wait for company; bounds the latency group commit adds under load.
    static let groupCommitWindow = 0.02
    static let largestBatch = 64
    /// Events held while the database cannot take them, before posting waits for room.
    static let backlogLimit = 2_000
    /// The longest pause between tries while the database or the folders refuse.
    static let longestRetryDelay = 2.0
    private let condition = Condition()
    nonisolated(unsafe) private var events: [CommitEvent] = []  // guarded by `condition`
    nonisolated(unsafe) private var stopping = false  // guarded by `condition`
    /// Set when the daemon is asked to stop: from then on `post` never waits for room, so that
    /// nothing blocked on a long outage holds the shutdown up.
    nonisolated(unsafe) private var shuttingDown = false  // guarded by `condition`
    nonisolated(unsafe) private var thread: SystemThread?
    /// Originals of final jobs that could not be moved into place yet (committer thread only).
    nonisolated(unsafe) private var unmoved: [Filing] = []
    private let databaseOutage: Outage
    private let filingOutage: Outage
    /// The SQLite file the daemon opened at start (compared by device and inode), nil on PostgreSQL. A file
    /// removed or replaced under a running daemon would otherwise take every later record
    /// without an error (SQLite writes on into the unlinked inode), and lose them at the next
    /// start; so each batch first checks that the path still names this file (committer thread only).
    nonisolated(unsafe) private var databaseFile: FileVersion?

    /// `observer` hears of every job made final (for the log line and metrics), after its commit;
    /// `batchObserver` of how many jobs each durable commit carried.
    init(root: StateRoot, claimLeaseSeconds: Double = 30, logger: Logger, observer: @escaping @Sendable (FinishedJob) -> Void,
         batchObserver: @escaping @Sendable (_ finishedJobs: Int) -> Void = { _ in },
         moreWorkQueued: @escaping @Sendable () -> Bool = { false }) {
        self.root = root
        self.claimLeaseSeconds = claimLeaseSeconds
        self.logger = logger
        self.observer = observer
        self.batchObserver = batchObserver
        self.moreWorkQueued = moreWorkQueued
        databaseOutage = Outage(
            "the database cannot record", meanwhile: "events are held and recorded as soon as it can; nothing is dropped",
            logger: logger)
        filingOutage = Outage(
            "originals cannot be moved into processed/ or failed/", meanwhile: "they wait in the spool and are moved when they can",
            logger: logger)
    }

    /// Hands an event to the committer. Waits while `backlogLimit` events are already held, unless
    /// `waitForRoom` is false: the few events an operator causes (a retry) must not hold the
    /// thread that posts them, which also answers signals and pings the watchdog.
    func post(_ event: CommitEvent, waitForRoom: Bool = true) {
        condition.locked {
            while waitForRoom && events.count >= Self.backlogLimit && !stopping && !shuttingDown { condition.wait() }
            events.append(event)
            condition.broadcast()
        }
    }

    /// Whether the database is refusing writes now, for metrics.
    var databaseUnavailable: Bool { databaseOutage.isGoingOn }

    /// Events waiting to be recorded, for metrics.
    var backlog: Int { condition.locked { events.count } }

    /// Ends every wait for room in `post`; call as soon as the daemon is asked to stop, before
    /// stopping the parts that post. What they post meanwhile is recorded if the database can.
    func beginShutdown() {
        condition.locked {
            shuttingDown = true
            condition.broadcast()
        }
    }

    /// Starts the committer's thread, which opens its own connection to the database.
    /// `unfiled` are originals start-up recovery could not move into place: tried again each second.
    func start(unfiled: [Filing] = []) throws(DaemonError) {
        unmoved = unfiled
        if !unfiled.isEmpty {
            filingOutage.failed("\(unfiled.count) originals could not be moved at start-up", metadata: [:])
        }
        let database: Database
        do {
            database = try root.openDatabase()
        } catch {
            throw DaemonError("cannot open the database \(root.database): \(error)")
        }
        databaseFile = database.engine == .sqlite ? FileVersion(root.database) : nil
        let connection = UncheckedTransfer(database)
        thread = SystemThread(name: "intake-commit") { [self] in
            loop(connection.value)
        }
    }

    /// Commits what is posted, then stops; call after the workers have stopped. If the database
    /// cannot write even then, what is unrecorded stays in the spool for the next start.
    func stop() {
        condition.locked {
            stopping = true
            condition.broadcast()
        }
        thread?.join()
    }

    private var isStopping: Bool { condition.locked { stopping } }

    private func loop(_ opened: Database) {
        var database: Database? = opened
        while let batch = nextBatch() {
            guard commit(batch, &database) else { break }
        }
        // Everything committed is on disk, including the last moves of originals.
        try? DurableFile.sync(filesystemOf: root.path, alsoOf: root.outputTrees)
    }

    private func nextBatch() -> [CommitEvent]? {
        retryUnmoved()
        return condition.locked {
            while events.isEmpty && !stopping {
                // An original waiting to be moved is tried again each second.
                condition.wait(seconds: unmoved.isEmpty ? nil : 1)
                if !unmoved.isEmpty && events.isEmpty { return [] }
            }
            if events.isEmpty { return nil }
            let deadline = monotonicSeconds() + Self.groupCommitWindow
            while !stopping && moreWorkQueued() && finishedCount < Self.largestBatch && monotonicSeconds() < deadline {
                condition.wait(seconds: deadline - monotonicSeconds())
            }
            defer {
                events.removeAll(keepingCapacity: true)
                condition.broadcast()  // room again for posters held back
            }
            return events
        }
    }

    /// Finished jobs among the pending events (called under the lock).
    private var finishedCount: Int {
        events.reduce(0) { count, event in
            if case .finished = event { return count + 1 }
            return count
        }
    }

    /// Records the batch, trying until it goes in. Returns false when the daemon stops while the
    /// database still refuses: the events are then left unrecorded, and their files in the spool.
    private func commit(_ batch: [CommitEvent], _ database: inout Database?) -> Bool {
        if batch.isEmpty { return true }
        let finished = batch.compactMap { event -> FinishedJob? in
            if case .finished(let job) = event { return job }
            return nil
        }
        var recorded = finished
        var delay = 0.05
        while true {
            switch record(batch, syncFirst: !finished.isEmpty, &database) {
            case .recorded(let fencedOff):
                recorded = finished.filter { !fencedOff.contains($0.job.id) }
                dropReports(of: finished.filter { fencedOff.contains($0.job.id) }, database)
            case .invalid:
                // The database works but refuses something in the batch: one event may be at
                // fault. Record them one by one, so that it cannot hold back the jobs behind it.
                guard let splitRecorded = commitOneByOne(batch, &database) else { return false }
                recorded = splitRecorded
            case .unavailable:
                guard pause(&delay) else {
                    logger.warning(
                        "stopping while the database cannot record; the next start recovers these jobs from the spool",
                        metadata: ["events": "\(batch.count)"])
                    return false
                }
                continue
            }
            break
        }
        if !recorded.isEmpty { batchObserver(recorded.count) }
        for job in recorded {
            // A job `intake retry` sent back leaves its old error report in failed/. A new failure
            // replaced it (by rename, with the new reason); a success removes it, only now that the
            // success is recorded. Removed when the requeue was, it could take the new report with
            // it: the new run may write that before the requeue's batch commits. Tried on every
            // success, not only on retried ones: three unlinks cost less than knowing for sure.
            if job.error == nil { root.removeFailureLeftovers(of: job.job) }
            let filing = Filing(job)
            if !moveOriginal(filing) { unmoved.append(filing) }
            observer(job)
        }
        return true
    }

    /// `recorded` names the jobs whose events were refused because this host no longer holds
    /// their claim: another host took them over.
    private enum Outcome { case recorded(fencedOff: Set<JobID>), unavailable, invalid }

    /// One try at recording `events` in one transaction.
    private func record(_ events: [CommitEvent], syncFirst: Bool, _ database: inout Database?) -> Outcome {
        if let databaseFile, FileVersion(root.database).map(databaseFile.isSameFile) != true {
            databaseOutage.failed(
                "the database file \(root.database) was removed or replaced while intaked ran: put it back, or restart intaked to "
                    + "record in the file now there (the jobs wait in the spool, and the restart recovers them)",
                metadata: ["events": "\(events.count)"])
            return .unavailable
        }
        // A connection that failed for the file's sake (read-only, I/O, gone) is opened afresh.
        // Failing to open is always the machine's fault (the folder gone, a file in its place, no
        // memory), whatever SQLite's code: the events wait, never judged invalid.
        let connection: Database
        if let database {
            connection = database
        } else {
            do {
                connection = try root.openDatabase()
            } catch {
                databaseOutage.failed("cannot open the database: \(error)", metadata: ["events": "\(events.count)"])
                return .unavailable
            }
            database = connection
        }
        do {
            if syncFirst { try DurableFile.sync(filesystemOf: root.path, alsoOf: root.outputTrees) }
            var fenced: Set<JobID> = []
            try connection.transaction {
                fenced = []
                for event in events {
                    if try holdsClaim(for: event, in: connection) {
                        try record(event, in: connection)
                    } else {
                        fenced.insert(event.subject.job)
                    }
                }
            }
            for job in fenced {
                logger.warning("another host took this job over; what this host did with it is dropped", metadata: ["job": "\(job)"])
            }
            databaseOutage.recovered()
            return .recorded(fencedOff: fenced)
        } catch let error as StoreError where !error.isUnavailable {
            logger.error("the database refused a batch", metadata: ["error": "\(error)"])
            return .invalid
        } catch {
            databaseOutage.failed("\(error)", metadata: ["events": "\(events.count)"])
            if let error = error as? StoreError, error.needsNewConnection { database = nil }
            return .unavailable
        }
    }

    /// Removes the error reports this host wrote for failed runs of jobs another host has since
    /// done. A report is written before the commit that finds the job taken over, so it can land
    /// after the other host's success was recorded (which removed only the reports there then);
    /// left, it would stand in failed/ beside a job that is done. While the other host's run
    /// goes on, its success removes the report; if that run fails, its own report replaces it.
    private func dropReports(of fencedOff: [FinishedJob], _ database: Database?) {
        for job in fencedOff where job.errorReport != nil {
            guard let row = try? database?.job(id: job.job.id.rawValue), row.status == .done else { continue }
            root.removeFailureLeftovers(of: job.job)
            logger.info("removed this host's error report of a job another host did", metadata: ["job": "\(job.job.id)"])
        }
    }

    /// Waits before another try, doubling the wait up to `longestRetryDelay`; false when stopping.
    /// Every post wakes the condition, so the wait runs to its deadline, not to the first wake.
    private func pause(_ delay: inout Double) -> Bool {
        let deadline = monotonicSeconds() + delay
        delay = min(delay * 2, Self.longestRetryDelay)
        return condition.locked {
            while !stopping && monotonicSeconds() < deadline {
                condition.wait(seconds: deadline - monotonicSeconds())
            }
            return !stopping
        }
    }

    /// Records each event in its own transaction. An event the working database refuses on its
    /// own (a bug, not a fault of the machine) is logged with everything about it and left out;
    /// a finished job among them keeps its original in the spool, and the next start runs it
    /// again. Returns the finished jobs recorded, or nil when stopping while the database refuses.
    private func commitOneByOne(_ batch: [CommitEvent], _ database: inout Database?) -> [FinishedJob]? {
        var recorded: [FinishedJob] = []
        for event in batch {
            var delay = 0.05
            retrying: while true {
                switch record([event], syncFirst: false, &database) {
                case .recorded(let fencedOff):
                    if case .finished(let job) = event {
                        if fencedOff.contains(job.job.id) { dropReports(of: [job], database) } else { recorded.append(job) }
                    }
                case .invalid:
                    logger.critical("the database refused an event as invalid; this is a bug, please report it", metadata: ["event": "\(event)"])
                case .unavailable:
                    guard pause(&delay) else { return nil }
                    continue retrying
                }
                break
            }
        }
        return recorded
    }

    /// In a shared inbox, whether this host still holds the claim on the event's job at the
    /// generation it claimed it with: a host whose claim another took over must write nothing more
    /// about the job (fencing). The job's final event removes the claim in the same transaction;
    /// a job `intake retry` sends back is claimed afresh. In a root's own inbox, always.
    private func holdsClaim(for event: CommitEvent, in database: Database) throws -> Bool {
        let (job, generation) = event.subject
        guard root.sharedInbox, let generation else { return true }
        switch event {
        case .finished(let finished):
            if try database.releaseClaim(jobID: job.rawValue, host: root.host, generation: generation) { return true }
            // No claim to release: taken over, or released by this very batch already, committed
            // with its answer lost (a connection cut) and now tried again. Then the row is final,
            // this host's, at this attempt: recording it again changes nothing, and the original
            // must still be filed.
            guard let row = try database.job(id: job.rawValue) else { return false }
            return row.host == root.host && row.attempts == finished.job.attempt && (row.status == .done || row.status == .failed)
        case .requeued(let requeued):
            return try database.claim(
                path: "requeued/" + job.rawValue, identity: "attempt \(requeued.attempt)", jobID: job.rawValue, host: root.host,
                spoolName: root.spoolName(of: requeued.spoolPath), leaseUntil: Timestamp.nowMilliseconds() + Int64(claimLeaseSeconds * 1000))
        default:
            return try database.holdsClaim(jobID: job.rawValue, host: root.host, generation: generation)
        }
    }

    private func record(_ event: CommitEvent, in database: Database) throws {
        switch event {
        case .claimed(let job):
            try database.insertJob(NewJob(job, host: root.host))
        case .requeued(let job):
            try database.requeue(id: job.id.rawValue, spoolPath: job.spoolPath, at: Int64(JobID.nowMilliseconds()))
        case .started(let id, let attempt, let at, _):
            try database.markProcessing(id: id.rawValue, attempt: attempt, at: Int64(at))
        case .retried(let job, let error, let startedAt, let finishedAt):
            try database.recordRetry(
                id: job.id.rawValue, attempt: job.attempt, startedAt: Int64(startedAt), finishedAt: Int64(finishedAt),
                stage: error.stage.rawValue, error: error.reason)
        case .waiting(let job, let error, let at):
            try database.markWaiting(id: job.id.rawValue, stage: error.stage.rawValue, reason: error.reason, at: Int64(at))
        case .finished(let job):
            try database.complete(JobCompletion(job))
            if let meter = job.meter { try database.recordMeterReading(jobID: job.job.id.rawValue, MeterReadingRecord(meter)) }
        }
    }

    /// Files the original (and its sidecar) in processed/ or failed/; false if it must wait.
    private func moveOriginal(_ filing: Filing) -> Bool {
        do {
            try Sidecar.file(of: filing.job, beside: filing.destination, root: root)
            try DurableFile.move(filing.spoolPath, to: filing.destination, temporaryFolder: root.temporaryFolder(for: filing.destination))
            return true
        } catch {
            filingOutage.failed("\(error)", metadata: ["job": "\(filing.job)"])
            return false
        }
    }

    private func retryUnmoved() {
        guard !unmoved.isEmpty else { return }
        unmoved = unmoved.filter { !moveOriginal($0) }
        if unmoved.isEmpty { filingOutage.recovered() }
    }
}

/// The original of a job already final in the database, on its way from the spool to its place
/// in processed/ or failed/.
struct Filing: Sendable {
    let job: JobID
    let spoolPath: String
    let destination: String

    init(job: JobID, spoolPath: String, destination: String) {
        self.job = job
        self.spoolPath = spoolPath
        self.destination = destination
    }

    init(_ finished: FinishedJob) {
        self.init(job: finished.job.id, spoolPath: finished.job.spoolPath, destination: finished.destination)
    }
}

/// Hands a non-Sendable value to the one thread that will own it from then on.
struct UncheckedTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
