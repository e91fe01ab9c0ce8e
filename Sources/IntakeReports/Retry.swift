public import IntakeStore
import IntakeCore
import IntakePipeline

#if canImport(Glibc)
import Glibc
#endif

/// `intake retry`: sends dead-lettered files back for another pass. The command only moves files:
/// each original goes from failed/ into spool/requeue/ under its job id, and intaked — the
/// database's one writer — takes it from there, recording the requeue in the job's history. If
/// the daemon is not running, the files wait in spool/requeue until it starts.
public struct Retry {
    public struct Outcome: Sendable {
        public let job: String
        public let file: String
        /// nil when it was sent back; else why not.
        public let refusal: String?
    }

    let source: ReportSource

    public init(source: ReportSource) { self.source = source }

    /// Jobs to retry: those named, or every failed one (of one environment).
    public func jobs(named ids: [String], allFailed: Bool, environment: String?) throws(ReportError) -> [JobRow] {
        do {
            if allFailed {
                return try source.database.jobs(status: .failed, host: source.host).filter { environment == nil || $0.environment == environment }
            }
            return try ids.map { id throws(ReportError) in
                guard let row = try? source.database.job(id: id) else { throw ReportError("no job \(id)") }
                return row
            }
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError("cannot read jobs: \(error)")
        }
    }

    public func send(_ job: JobRow) -> Outcome {
        // Retention takes this lock for each batch: a dead letter is never sent back while it is
        // being pruned, and pruning sees one on its way back.
        let root = source.stateRoot
        makeFolders(root.spoolPrune)
        guard let lock = FileLock(path: root.pruneLock) else {
            return Outcome(job: job.id, file: job.sourcePath, refusal: "cannot take \(root.pruneLock): \(ErrnoText.current)")
        }
        defer { lock.release() }
        // Read again under the lock: retention may have pruned it since it was listed.
        let current: JobRow?
        do {
            current = try source.database.job(id: job.id)
        } catch {
            return Outcome(job: job.id, file: job.sourcePath, refusal: "cannot read it again: \(error)")
        }
        guard let job = current else {
            return Outcome(job: job.id, file: job.sourcePath, refusal: "it no longer exists (removed by retention)")
        }
        guard job.status == .failed else {
            return Outcome(job: job.id, file: job.sourcePath, refusal: "it is \(job.status.rawValue), not failed")
        }
        guard let original = job.finalPath, access(original, F_OK) == 0 || isLink(original) else {
            return Outcome(job: job.id, file: job.sourcePath, refusal: "its original is no longer in failed/ (\(job.finalPath ?? "unknown"))")
        }
        var folders = PathText.components(job.sourcePath)
        folders.removeLast()
        let target = ([root.spoolRequeue] + folders + ["\(job.id)-\(job.name)"]).joined(separator: "/")
        makeFolders(PathText.folder(of: target))
        // The claimed reading goes back with its image (the daemon takes both together). Moves,
        // not renames: failed/ may be a filesystem of its own, and then a move is a copy whose
        // temporary file is made in spool/tmp, which the daemon empties at start. The sidecar goes
        // first, as a rename, so that the daemon never takes the image without it; a sidecar
        // waiting alone is not taken for a job (see `Requeuer`).
        let sidecar = OutputLayout.filedSidecar(beside: original)
        if access(sidecar, F_OK) == 0 {
            try? DurableFile.move(sidecar, to: OutputLayout.filedSidecar(beside: target), temporaryFolder: root.spoolTemporary)
        }
        do {
            try DurableFile.move(original, to: target, temporaryFolder: root.spoolTemporary)
        } catch {
            return Outcome(job: job.id, file: job.sourcePath, refusal: "cannot move it: \(error.reason)")
        }
        return Outcome(job: job.id, file: job.sourcePath, refusal: nil)
    }

    /// Nudges a running intaked to take the requeued files now (SIGUSR1); false when none runs
    /// or it cannot be signalled (another user): it will find them within seconds, or at start.
    public func nudgeDaemon() -> Bool {
        let lock = source.stateRoot.lock
        let fd = open(lock, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // The daemon holds an exclusive lock while it runs: if we can take a shared one, none does.
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = read(fd, &buffer, buffer.count - 1)
        // A pid of 0 or below would signal a whole process group, or every process we may signal.
        guard count > 0, let pid = Int32(String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").first ?? ""), pid > 0 else {
            return false
        }
        return kill(pid, SIGUSR1) == 0
    }

    private func isLink(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// Made as the daemon makes them; a folder that cannot be made is said by the step that needs it.
    private func makeFolders(_ path: String) { try? DurableFile.makeFolders(path) }
}
