import IntakePipeline
import IntakeStore
import Logging

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
final class Committer: Sendable {
    private let root: StateRoot
    private let logger: Logger
    private let observer: @Sendable (FinishedJob) -> Void
    private let batchObserver: @Sendable (_ finishedJobs: Int) -> Void
    /// Whether more jobs are on their way (the queue is not empty): only then is waiting worth it.
    private let moreWorkQueued: @Sendable () -> Bool
    /// How long a batch may wait for company; bounds the latency group commit adds under load.
    static let groupCommitWindow = 0.02
    static let largestBatch = 64
    private let condition = Condition()
    nonisolated(unsafe) private var events: [CommitEvent] = []  // guarded by `condition`
    nonisolated(unsafe) private var stopping = false  // guarded by `condition`
    nonisolated(unsafe) private var thread: SystemThread?

    /// `observer` hears of every job made final (for the log line and metrics), after its commit;
    /// `batchObserver` of how many jobs each durable commit carried.
    init(root: StateRoot, logger: Logger, observer: @escaping @Sendable (FinishedJob) -> Void,
         batchObserver: @escaping @Sendable (_ finishedJobs: Int) -> Void = { _ in },
         moreWorkQueued: @escaping @Sendable () -> Bool = { false }) {
        self.root = root
        self.logger = logger
        self.observer = observer
        self.batchObserver = batchObserver
        self.moreWorkQueued = moreWorkQueued
    }

    func post(_ event: CommitEvent) {
        condition.locked {
            events.append(event)
            condition.signal()
        }
    }

    /// Starts the committer's thread, which opens its own connection to the database.
    func start() throws(DaemonError) {
        let database: Database
        do {
            database = try Database(path: root.database)
        } catch {
            throw DaemonError("cannot open the database \(root.database): \(error)")
        }
        let connection = UncheckedTransfer(database)
        thread = SystemThread(name: "intake-commit") { [self] in
            loop(connection.value)
        }
    }

    /// Commits what is posted, then stops; call after the workers have stopped.
    func stop() {
        condition.locked {
            stopping = true
            condition.broadcast()
        }
        thread?.join()
    }

    private func loop(_ database: Database) {
        while let batch = nextBatch() {
            commit(batch, database)
        }
        // Everything committed is on disk, including the last moves of originals.
        try? DurableFile.sync(filesystemOf: root.path)
    }

    private func nextBatch() -> [CommitEvent]? {
        condition.locked {
            while events.isEmpty && !stopping { condition.wait() }
            if events.isEmpty { return nil }
            let deadline = monotonicSeconds() + Self.groupCommitWindow
            while !stopping && moreWorkQueued() && finishedCount < Self.largestBatch && monotonicSeconds() < deadline {
                condition.wait(seconds: deadline - monotonicSeconds())
            }
            defer { events.removeAll(keepingCapacity: true) }
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

    private func commit(_ batch: [CommitEvent], _ database: Database) {
        let finished = batch.compactMap { event -> FinishedJob? in
            if case .finished(let job) = event { return job }
            return nil
        }
        var delay = 0.05
        var attempts = 0
        var recorded = finished
        while true {
            do {
                if !finished.isEmpty { try DurableFile.sync(filesystemOf: root.path) }
                try database.transaction {
                    for event in batch { try record(event, in: database) }
                }
                break
            } catch {
                attempts += 1
                if attempts >= Self.attemptsBeforeSplitting, !(error is IntakeError) {
                    // The database keeps refusing: one event may be the cause. Record them one by
                    // one, so that a single bad event cannot hold back every job behind it.
                    recorded = commitOneByOne(batch, database)
                    break
                }
                // A busy or full disk, a locked database: nothing is lost while the batch is kept.
                logger.error("commit failed; retrying", metadata: ["error": "\(error)", "in_s": "\(delay)"])
                usleep(UInt32(delay * 1_000_000))
                delay = min(delay * 2, 5)
            }
        }
        if !recorded.isEmpty { batchObserver(recorded.count) }
        for job in recorded {
            moveOriginal(job)
            observer(job)
        }
    }

    static let attemptsBeforeSplitting = 5

    /// Records each event in its own transaction; an event the database refuses on its own is
    /// logged and dropped. A finished job whose result could not be recorded keeps its original
    /// in the spool, so the next start runs it again. Returns the finished jobs recorded.
    private func commitOneByOne(_ batch: [CommitEvent], _ database: Database) -> [FinishedJob] {
        var recorded: [FinishedJob] = []
        for event in batch {
            do {
                try database.transaction { try record(event, in: database) }
                if case .finished(let job) = event { recorded.append(job) }
            } catch {
                logger.critical("the database refused an event; dropping it", metadata: ["event": "\(event)", "error": "\(error)"])
            }
        }
        return recorded
    }

    private func record(_ event: CommitEvent, in database: Database) throws {
        switch event {
        case .claimed(let job):
            try database.insertJob(NewJob(job))
        case .requeued(let job):
            try database.requeue(id: job.id.rawValue, spoolPath: job.spoolPath, at: Int64(JobID.nowMilliseconds()))
        case .started(let id, let attempt, let at):
            try database.markProcessing(id: id.rawValue, attempt: attempt, at: Int64(at))
        case .retried(let job, let error, let startedAt, let finishedAt):
            try database.recordRetry(
                id: job.id.rawValue, attempt: job.attempt, startedAt: Int64(startedAt), finishedAt: Int64(finishedAt),
                stage: error.stage.rawValue, error: error.reason)
        case .finished(let job):
            try database.complete(JobCompletion(job))
            if let meter = job.meter { try database.recordMeterReading(jobID: job.job.id.rawValue, MeterReadingRecord(meter)) }
        }
    }

    private func moveOriginal(_ job: FinishedJob) {
        do {
            try root.fileSidecar(of: job.job.id, beside: job.destination)
            try DurableFile.move(job.job.spoolPath, to: job.destination)
        } catch {
            // Left in the spool with a final row: the next start completes the move(s).
            logger.error("cannot move original into place", metadata: ["job": "\(job.job.id)", "error": "\(error)"])
        }
    }
}

/// Hands a non-Sendable value to the one thread that will own it from then on.
struct UncheckedTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
