import IntakePipeline
import IntakeStore
import Logging
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// Takes the files `intake retry` put in spool/requeue back into the spool under their job ids,
/// has the requeue recorded in each job's history, and queues them. Runs at start, on SIGUSR1
/// and on every tick, so a retry is picked up within seconds even if the signal could not be sent.
struct Requeuer: Sendable {
    let root: StateRoot
    let queue: JobQueue
    let committer: Committer
    let logger: Logger

    var requeueFolder: String { root.spoolRequeue }

    func run() {
        let files = Reconciler.files(under: requeueFolder)
        guard !files.isEmpty else { return }
        let database: Database
        do {
            database = try root.openDatabase(readOnly: true)
        } catch {
            logger.error("cannot read the database to requeue jobs", metadata: ["error": "\(error)"])
            return
        }
        let waitingFiles = Set(files)
        // A job's sidecar travels beside it as `<job>-<name>.json` and is taken with it.
        for relative in files where !(Sidecar.isSidecarName(relative) && waitingFiles.contains(String(relative.dropLast(5)))) {
            let waiting = requeueFolder + "/" + relative
            guard var job = SpoolEntry(relativePath: relative, root: root, createdAtFallback: JobID.nowMilliseconds())?.job,
                let row = try? database.job(id: job.id.rawValue), row.status == .failed || row.status == .done, row.name == job.name
            else {
                // A sidecar whose image `intake retry` is still moving waits for it, unremarked.
                if Sidecar.isSidecarName(relative) { continue }
                logger.warning("not a job that can be retried; left in spool/requeue", metadata: ["file": "\(waiting)"])
                continue
            }
            Sidecar.requeue(besideWaiting: waiting, job: job.id, root: root)
            do {
                try DurableFile.move(waiting, to: job.spoolPath, stage: .claim)
            } catch {
                continue  // taken meanwhile by another run
            }
            // The requeue itself takes the next attempt number; the new run the one after.
            job.attempt = row.attempts + 2
            job.sidecar = Sidecar.claim(of: job.id, root: root)
            // In a shared inbox the committer claims it afresh for this host (see `Committer`).
            if root.sharedInbox { job.claimGeneration = 1 }
            // The old error report stays until the new run replaces it or succeeds (see `Committer`).
            committer.post(.requeued(job), waitForRoom: false)
            queue.push(job)
            logger.info("job sent back for another pass", metadata: ["job": "\(job.id)", "file": "\(job.sourcePath)"])
        }
    }
}
