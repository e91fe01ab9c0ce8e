import IntakePipeline
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// What the daemon does with the state root's layout for a job.
extension StateRoot {
    /// Where a claimed file waits: spool/active/<inbox subpath>/<job>-<name>.
    func spoolPath(directories: [String], job: JobID, name: String) -> String {
        ([spoolActive] + directories + ["\(job)-\(name)"]).joined(separator: "/")
    }

    /// A path in this host's spool/active as every host of a shared root names it (a claim's
    /// `spool_name`): the same below any host's spool/active.
    func spoolName(of spoolPath: String) -> String { String(spoolPath.dropFirst(spoolActive.count + 1)) }

    /// Where a job's original goes when it is done.
    func processedOriginal(_ job: QueuedJob) -> String {
        outputs.original(environment: job.environment, date: CalendarDate(unixMilliseconds: job.createdAt), job: job.id, name: job.name)
    }

    /// Where a job's original goes when it failed, and its error report beside it.
    func failedOriginal(_ job: QueuedJob) -> String {
        outputs.failed(environment: job.environment, job: job.id, name: job.name)
    }

    /// Removes what failed/ still holds of a job that has now succeeded: the error report of an
    /// earlier attempt that `intake retry` sent back, and, where that move across filesystems was
    /// cut short between its copy and its unlink, the original and its sidecar too. Every name
    /// there carries the job's id, so nothing of another job can go. Called only once the success
    /// is recorded; a new failure instead replaces the report by rename.
    func removeFailureLeftovers(of job: QueuedJob) {
        let original = failedOriginal(job)
        for path in [original + ".error.json", original, OutputLayout.filedSidecar(beside: original)] { unlink(path) }
    }

    /// Every output a job may have written, for removing those of an interrupted attempt.
    func possibleOutputs(_ job: QueuedJob, derivativeSize: Int, angles: [Int]) -> [String] {
        let date = CalendarDate(unixMilliseconds: job.createdAt)
        return [outputs.derivative(environment: job.environment, date: date, job: job.id, name: job.name, size: derivativeSize)]
            + angles.map { outputs.rotation(environment: job.environment, angle: $0, job: job.id, name: job.name) }
            + [failedOriginal(job) + ".error.json"]
    }
}

/// A file found in spool/active, read back into a job: the path below spool/active says the
/// environment, subfolders and `<job>-<name>`, so nothing is lost if the claim never reached the
/// database.
struct SpoolEntry {
    let job: QueuedJob

    init?(relativePath: String, root: StateRoot, createdAtFallback: UInt64) {
        var parts = PathText.components(relativePath)
        guard parts.count >= 2, let file = parts.popLast() else { return nil }
        // By bytes: as Characters, a name that starts with a combining mark (which a name may)
        // joins the '-' into one Character that is not "-", and the job's file was taken for a
        // foreign one and sent back to the inbox to run again under a new id.
        let bytes = Array(file.utf8)
        guard let (id, rest) = JobID.leading(bytes) else { return nil }
        let name = String(decoding: bytes[rest...], as: UTF8.self)
        let createdAt = JobID.milliseconds(of: id) ?? createdAtFallback
        job = QueuedJob(
            id: id, environment: parts[0], name: name, sourcePath: (parts + [name]).joined(separator: "/"),
            meter: parts.count >= 2 ? parts[1] : nil, spoolPath: root.spoolActive + "/" + relativePath, createdAt: createdAt)
    }
}
