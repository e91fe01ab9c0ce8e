import IntakeClassify
import IntakeMeter
import IntakePipeline
import IntakeCore

/// What happened to a job, posted to the committer, which records events in the order posted.
enum CommitEvent: Sendable {
    /// The job the event is about, and the generation of this host's claim on it in a shared inbox.
    var subject: (job: JobID, claimGeneration: Int?) {
        switch self {
        case .claimed(let job), .requeued(let job), .retried(let job, _, _, _), .waiting(let job, _, _): (job.id, job.claimGeneration)
        case .started(let id, _, _, let generation): (id, generation)
        case .finished(let finished): (finished.job.id, finished.job.claimGeneration)
        }
    }

    /// A file was renamed into the spool: its row is created.
    case claimed(QueuedJob)
    /// `intake retry` sent a failed job back: it is queued again, the requeue in its history.
    case requeued(QueuedJob)
    /// A worker began an attempt (of a job claimed at `claimGeneration` in a shared inbox).
    case started(JobID, attempt: Int, at: UInt64, claimGeneration: Int? = nil)
    /// An attempt failed for a reason that may pass; the job waits for another.
    case retried(QueuedJob, IntakeError, startedAt: UInt64, finishedAt: UInt64)
    /// The state root could not take the job's writes: it waits, no attempt spent.
    case waiting(QueuedJob, IntakeError, at: UInt64)
    /// The job reached its end: done, or failed for good.
    case finished(FinishedJob)
}

/// A job at its end, with everything the database and the folders need.
struct FinishedJob: Sendable {
    let job: QueuedJob
    /// nil when done.
    let error: IntakeError?
    let facts: ImageFacts
    let timings: [(stage: Stage, ms: Double)]
    /// What was recognised: the built-in labels, then the external classifier's.
    let labels: [Label]
    /// The meter read in the image and its verdict, when the image names a meter.
    var meter: MeterReport? = nil
    let outputs: JobOutputs?
    let errorReport: String?
    /// Where the original goes once the database has the result: processed/ or failed/.
    let destination: String
    let startedAt: UInt64
    let finishedAt: UInt64

    var succeeded: Bool { error == nil }
    var milliseconds: Double { timings.reduce(0) { $0 + $1.ms } }
}
