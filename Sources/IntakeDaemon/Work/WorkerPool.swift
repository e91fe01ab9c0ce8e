import FoundationEssentials
import IntakeClassify
import IntakeCodecs
import IntakeMeter
import IntakePipeline
import IntakeStore
import Logging
import Synchronization
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// N threads that take jobs from the queue and run the image stages on them. Image work is
/// CPU-bound and blocking, so it runs on system threads, never on Swift's cooperative pool.
final class WorkerPool: Sendable {
    private let root: StateRoot
    private let queue: JobQueue
    private let committer: Committer
    private let settings: SharedSettings
    private let logger: Logger
    private let running = Mutex(0)
    private let finished = Condition()
    private let threads = Mutex<[SystemThread]>([])
    private let meters: MeterStation
    /// Told of each attempt that failed for a passing reason and will run again (a metric).
    private let onRetry: @Sendable () -> Void
    private let ledger: MeterLedger
    /// `meters.filename_pattern` and `meters.folder_pattern`, which each worker compiles for itself.
    private let meterPatterns: (filename: String?, folder: String?)
    /// The state root refusing the workers' writes (full, read-only, a folder gone unwritable).
    private let writeOutage: Outage

    init(root: StateRoot, queue: JobQueue, committer: Committer, settings: SharedSettings, meters: MeterStation, ledger: MeterLedger,
         meterPatterns: (filename: String?, folder: String?), logger: Logger, onRetry: @escaping @Sendable () -> Void = {}) {
        self.onRetry = onRetry
        self.meters = meters
        self.ledger = ledger
        self.meterPatterns = meterPatterns
        self.root = root
        self.queue = queue
        self.committer = committer
        self.settings = settings
        self.logger = logger
        writeOutage = Outage(
            "outputs and error reports cannot be written", meanwhile: "jobs wait in the spool, no attempt spent, until they can",
            logger: logger)
    }

    func start(count: Int) {
        running.withLock { $0 = count }
        let started = (0..<count).map { index in
            SystemThread(name: "intake-work-\(index)") { [self] in
                work()
                finished.locked {
                    running.withLock { $0 -= 1 }
                    finished.broadcast()
                }
            }
        }
        threads.withLock { $0 = started }
    }

    /// Waits until every worker has stopped (the queue must be closed), at most `seconds`.
    /// Returns the number still busy when time ran out.
    func waitForStop(seconds: Double) -> Int {
        let deadline = monotonicSeconds() + seconds
        return finished.locked {
            while running.withLock({ $0 }) > 0 && monotonicSeconds() < deadline {
                finished.wait(seconds: deadline - monotonicSeconds())
            }
            return running.withLock { $0 }
        }
    }

    // MARK: one worker

    private func work() {
        var (version, current) = settings.current
        var runner: JobRunner
        do {
            runner = try JobRunner(options: current.processing, externalClassifier: current.externalClassifier)
        } catch {
            logger.critical("worker cannot start", metadata: ["error": "\(error)"])
            return
        }
        let meterStage = MeterStage(
            station: meters, naming: MeterNaming(pattern: meterPatterns.filename, folderPattern: meterPatterns.folder),
            ledger: ledger)
        while let job = queue.take() {
            let latest = settings.current
            if latest.version != version,
                let fresh = try? JobRunner(options: latest.settings.processing, externalClassifier: latest.settings.externalClassifier)
            {
                (version, current, runner) = (latest.version, latest.settings, fresh)
            }
            run(job, runner: runner, settings: current, meterStage: meterStage)
        }
    }

    private func run(_ job: QueuedJob, runner: JobRunner, settings: WorkSettings, meterStage: MeterStage) {
        let startedAt = JobID.nowMilliseconds()
        committer.post(.started(job.id, attempt: job.attempt, at: startedAt, claimGeneration: job.claimGeneration))
        let run: JobRunner.Run
        if Sidecar.isSidecarName(job.name) {
            run = JobRunner.Run(refused: Self.sidecarWithoutImage(job))
        } else {
            run = runner.run(JobRunner.Request(
                path: job.spoolPath, job: job.id, name: job.name, environment: job.environment,
                date: CalendarDate(unixMilliseconds: job.createdAt), followSymlinks: false, layout: root.outputs,
                temporaryFolder: { [root] in root.temporaryFolder(for: $0) }, meter: meterStage.step(for: job)))
        }
        let finishedAt = JobID.nowMilliseconds()
        guard var error = run.error else {
            if job.blockedSince != nil { writeOutage.recovered() }
            finish(job, error: nil, run: run, startedAt: startedAt, finishedAt: finishedAt)
            return
        }
        if error.kind == .blocked {
            wait(job, error)
            return
        }
        if error.kind == .transient {
            if job.attempt < settings.maxAttempts {
                var retry = job
                retry.attempt += 1
                committer.post(.retried(job, error, startedAt: startedAt, finishedAt: finishedAt))
                onRetry()
                let delay = settings.backoff(after: job.attempt)
                logger.notice(
                    "job will be retried",
                    metadata: ["job": "\(job.id)", "env": "\(job.environment)", "file": "\(job.sourcePath)",
                               "stage": "\(error.stage.rawValue)", "reason": "\(error.reason)", "in_s": "\(Int(delay.rounded()))"])
                queue.schedule(retry, after: delay)
                return
            }
            error = IntakeError(error.stage, .transient, "gave up after \(job.attempt) attempts: \(error.reason)")
        }
        finish(job, error: error, run: run, startedAt: startedAt, finishedAt: finishedAt)
    }

    /// A sidecar is claimed alone only once it has waited `meters.sidecar_wait_seconds` for its image.
    private static func sidecarWithoutImage(_ job: QueuedJob) -> IntakeError {
        let image = String(job.name.dropLast(5))
        if let first = job.imageThatCameFirst {
            return .permanent(
                .sniff,
                "a JSON sidecar that came after its image: \(first.name) came first and ran as job \(first.job) without what this "
                    + "sidecar claims; a sidecar is taken with the image dropped after it, so drop both again, the sidecar first")
        }
        return .permanent(
            .sniff,
            "a JSON sidecar whose image never came: a sidecar is taken with the image \(image) (or \(image).*) dropped "
                + "after it into the same folder; drop the image, then retry this job, or drop both again")
    }

    /// Hands the job to the committer; a failure first gets its error report beside its place in
    /// failed/, and keeps none of the outputs or labels an attempt may have made.
    private func finish(_ job: QueuedJob, error: IntakeError?, run: JobRunner.Run, startedAt: UInt64, finishedAt: UInt64) {
        var report: String?
        var error = error
        var destination = root.processedOriginal(job)
        if let failure = error {
            destination = root.failedOriginal(job)
            let path = destination + ".error.json"
            let content = ErrorReport(job: job, error: failure, sha256: run.facts.sha256, at: finishedAt)
            do {
                try DurableFile.write(content.json(), to: path, temporaryFolder: root.temporaryFolder(for: path))
                report = path
                if job.blockedSince != nil { writeOutage.recovered() }
            } catch let writeError where writeError.kind == .blocked {
                // The folders refuse writes for now: the job waits for them, no attempt spent.
                wait(job, writeError)
                return
            } catch let writeError {
                // Refused for good (a name too long once ".error.json" is added, say): waiting would
                // never end, so the failure is recorded without its report, and says why.
                logger.error(
                    "cannot write an error report; the failure is recorded without it",
                    metadata: ["job": "\(job.id)", "file": "\(job.sourcePath)", "error": "\(writeError.reason)"])
                error = IntakeError(failure.stage, failure.kind, "\(failure.reason) (no error report: \(writeError.reason))")
            }
        }
        committer.post(.finished(FinishedJob(
            job: job, error: error, facts: run.facts, timings: run.clock.milliseconds, labels: error == nil ? run.labels : [],
            meter: error == nil ? run.meter : nil, outputs: error == nil ? run.outputs : nil, errorReport: report,
            destination: destination, startedAt: startedAt, finishedAt: finishedAt)))
    }
}

extension WorkerPool {
    /// Puts a job whose writes the state root refused back in the queue, without spending an
    /// attempt: it is tried again after a pause that grows with how long this job has waited, up
    /// to 15 s, so that a long outage costs little CPU and a short one little delay. The pause is
    /// the job's own: one job's success or failure does not reset another's.
    private func wait(_ job: QueuedJob, _ error: IntakeError) {
        let now = JobID.nowMilliseconds()
        var waiting = job
        waiting.blockedSince = job.blockedSince ?? now
        writeOutage.failed(error.reason, metadata: ["job": "\(job.id)", "file": "\(job.sourcePath)"])
        committer.post(.waiting(job, error, at: now))
        let waitedSeconds = Double(now - waiting.blockedSince!) / 1000
        queue.schedule(waiting, after: min(15, max(1, waitedSeconds / 2)))
    }
}

/// The `.error.json` beside a dead-lettered file: what a person needs to act on it.
struct ErrorReport: Encodable {
    let job: String
    let file: String
    let environment: String
    let sourcePath: String
    let stage: String
    let kind: String
    let reason: String
    let attempts: Int
    let time: String
    let sha256: String?

    init(job: QueuedJob, error: IntakeError, sha256: String?, at milliseconds: UInt64) {
        self.job = job.id.rawValue
        file = job.name
        environment = job.environment
        sourcePath = job.sourcePath
        stage = error.stage.rawValue
        kind = error.kind.rawValue
        reason = error.reason
        attempts = job.attempt
        time = Timestamp.string(fromMilliseconds: Int64(milliseconds))
        self.sha256 = sha256
    }

    enum CodingKeys: String, CodingKey {
        case job, file, environment, stage, kind, reason, attempts, time, sha256
        case sourcePath = "source_path"
    }

    func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8)) + [0x0A]
    }
}
