import IntakePipeline
import IntakeStore
import Logging
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// Start-up recovery: makes the folders and the database agree again after whatever stopped the
/// last run, before any new file is claimed.
///
/// - spool/tmp is emptied: temporary files of unfinished writes never survive;
/// - a file in spool/active with no row is a claim the database never heard of: recorded, queued;
/// - a file whose row is final is a commit cut short before its move: the move is done;
/// - a file whose row is queued runs; one whose row says processing was interrupted: its partial
///   outputs are removed and it runs again — unless interruptions keep recurring, which means the
///   file itself stops the daemon, and then it is dead-lettered instead of crash-looping;
/// - a row still unfinished whose file is nowhere in the spool lost its claim (a power cut undid
///   the rename, returning the file to the inbox, where it will be claimed again): it is removed;
/// - sidecars follow their images: a job to run takes its sidecar from the inbox if the claim was
///   cut short between the two renames, and a finished job's sidecar is filed beside its original.
///
/// Only the database failing stops the start. An original that cannot be filed (processed/ or
/// failed/ unwritable, full, replaced by a file) is handed to the committer, which tries again
/// each second, as it does for the jobs it makes final itself.
struct Reconciler {
    let root: StateRoot
    let settings: WorkSettings
    let logger: Logger
    /// A shared inbox's claims (see `ClaimBook`); nil for a root's own inbox.
    var claims: ClaimBook? = nil

    struct Summary: CustomStringConvertible {
        var requeued = 0, interrupted = 0, unrecorded = 0, movesCompleted = 0, deadLettered = 0, lostClaims = 0, temporaryFiles = 0
        var sidecarsTaken = 0
        var description: String {
            "requeued=\(requeued) interrupted=\(interrupted) unrecorded=\(unrecorded) moves_completed=\(movesCompleted) "
                + "dead_lettered=\(deadLettered) lost_claims=\(lostClaims) temporary_files_removed=\(temporaryFiles) "
                + "sidecars_taken=\(sidecarsTaken)"
        }
    }

    /// Recovers, returning the jobs to queue, oldest first, and the originals still to file.
    func run(_ database: Database) throws -> (jobs: [QueuedJob], summary: Summary, unfiled: [Filing]) {
        var summary = Summary()
        var unfiled: [Filing] = []
        for folder in [root.spoolTemporary] + root.outputTrees.map(root.treeTemporary) {
            // Never through a link: emptied through one, any folder could be.
            guard BytePath(folder).linkStatus()?.isDirectory == true else { continue }
            for name in BytePath(folder).entries() {
                if BytePath(folder).appending(name).withCString({ unlink($0) }) == 0 { summary.temporaryFiles += 1 }
            }
        }

        var queued: [QueuedJob] = []
        var seen = Set<String>()
        // In a shared root: the files of this host's claims that a takeover cut short before
        // their move are fetched from the other hosts' spools first.
        if let claims {
            for claim in try database.claims(host: root.host) { _ = claims.fetch(claim) }
        }
        for relative in Self.files(under: root.spoolActive) {
            let path = root.spoolActive + "/" + relative
            guard let entry = SpoolEntry(relativePath: relative, root: root, createdAtFallback: JobID.nowMilliseconds()) else {
                logger.warning("foreign file in the spool; returning it to the inbox", metadata: ["file": "\(path)"])
                try? DurableFile.move(path, to: root.inbox + "/" + relative)
                continue
            }
            var job = entry.job
            let row = try database.job(id: job.id.rawValue)
            if let claims, row?.status != .done && row?.status != .failed {
                guard let generation = try claimGeneration(of: job, claims: claims, database: database) else { continue }
                job.claimGeneration = generation
            }
            seen.insert(job.id.rawValue)
            if row == nil || row?.status == .queued || row?.status == .processing, Sidecar.takeLeftInInbox(for: job, root: root) {
                summary.sidecarsTaken += 1
            }
            guard let row else {
                try database.insertJob(NewJob(job, host: root.host))
                summary.unrecorded += 1
                queued.append(job)
                continue
            }
            job.attempt = row.attempts + 1
            switch row.status {
            case .done, .failed:
                let destination = row.finalPath ?? (row.status == .done ? root.processedOriginal(job) : root.failedOriginal(job))
                // A retried job that succeeded: what failed/ kept of it, if a crash kept it (see `Committer`).
                if row.status == .done { root.removeFailureLeftovers(of: job) }
                if let filing = file(Filing(job: job.id, spoolPath: path, destination: destination)) {
                    unfiled.append(filing)
                } else {
                    summary.movesCompleted += 1
                }
            case .queued:
                summary.requeued += 1
                queued.append(job)
            case .processing:
                let interruptions = try database.attempts(jobID: job.id.rawValue).filter { $0.outcome == .interrupted }.count + 1
                try database.recordInterrupted(id: job.id.rawValue, attempt: max(1, row.attempts), at: Int64(JobID.nowMilliseconds()))
                for output in root.possibleOutputs(job, derivativeSize: settings.processing.derivativeSize, angles: settings.processing.angles) {
                    unlink(output)
                }
                job.interruptions = interruptions
                if interruptions >= settings.maxAttempts {
                    guard let filing = try deadLetter(job, interruptions: interruptions, database: database) else { continue }
                    if let unmoved = file(filing) { unfiled.append(unmoved) }
                    summary.deadLettered += 1
                } else {
                    summary.interrupted += 1
                    queued.append(job)
                }
            }
        }
        for row in try database.unfinishedJobs(host: root.jobsHost) where !seen.contains(row.id) {
            logger.warning("claimed file no longer in the spool; forgetting the claim", metadata: ["job": "\(row.id)", "file": "\(row.sourcePath)"])
            try database.deleteJob(id: row.id)
            summary.lostClaims += 1
        }
        try fileSidecarsWithoutJobs(seen: seen, database: database)
        // Each job takes its sidecar's claim along, as a claimed one does.
        let withClaims = queued.map { job in
            var job = job
            job.sidecar = Sidecar.claim(of: job.id, root: root)
            return job
        }
        return (withClaims.sorted { $0.id < $1.id }, summary, unfiled)
    }

    /// In a shared root, the generation of this host's claim on a job in its spool; nil when
    /// another host holds it (it took the job over while this one was down, and will fetch the
    /// file). A file here that no claim names is claimed anew, as it is this host's alone.
    private func claimGeneration(of job: QueuedJob, claims: ClaimBook, database: Database) throws -> Int? {
        if let claim = try database.claim(jobID: job.id.rawValue) {
            guard claim.host == root.host else {
                logger.info("a file in this spool is claimed by another host; left for it", metadata: ["job": "\(job.id)", "host": "\(claim.host)"])
                return nil
            }
            return claim.generation
        }
        _ = try database.claim(path: job.sourcePath, identity: "recovered \(job.id)", jobID: job.id.rawValue, host: root.host,
                               spoolName: root.spoolName(of: job.spoolPath), leaseUntil: Timestamp.nowMilliseconds() + Int64(claims.leaseSeconds * 1000))
        return 1
    }

    /// Files a final job's original and sidecar; returns the filing when it has to wait.
    private func file(_ filing: Filing) -> Filing? {
        do throws(IntakeError) {
            try Sidecar.file(of: filing.job, beside: filing.destination, root: root)
            try DurableFile.move(filing.spoolPath, to: filing.destination, temporaryFolder: root.temporaryFolder(for: filing.destination))
            return nil
        } catch {
            logger.warning(
                "cannot file an original at start-up; it waits in the spool and is tried again each second",
                metadata: ["job": "\(filing.job)", "error": "\(error.reason)"])
            return filing
        }
    }

    /// A sidecar in the spool whose image is not: its job was filed by a run that stopped between
    /// filing the two (which the order of the moves rules out, but a file put back by hand may not).
    private func fileSidecarsWithoutJobs(seen: Set<String>, database: Database) throws {
        for name in BytePath(root.spoolSidecars).entries() {
            let file = String(decoding: name, as: UTF8.self)
            guard file.hasSuffix(".json"), let id = JobID(String(file.dropLast(5))), !seen.contains(id.rawValue) else { continue }
            guard let row = try database.job(id: id.rawValue), row.status == .done || row.status == .failed, let original = row.finalPath else {
                continue
            }
            do throws(IntakeError) {
                try Sidecar.file(of: id, beside: original, root: root)
            } catch {
                logger.warning("cannot file a sidecar at start-up; it stays in the spool", metadata: ["job": "\(id)", "error": "\(error.reason)"])
            }
        }
    }

    /// A file that was being processed every time the daemon died goes to failed/ with that reason:
    /// its report is written and its row made final; returns the original to file. When the report
    /// cannot be written the job stays in the spool, unqueued, for the next start to try again.
    private func deadLetter(_ job: QueuedJob, interruptions: Int, database: Database) throws -> Filing? {
        let error = IntakeError.permanent(
            .recover, "the daemon stopped \(interruptions) times while processing this file; set aside so it cannot stop it again")
        let destination = root.failedOriginal(job)
        let now = JobID.nowMilliseconds()
        do throws(IntakeError) {
            try DurableFile.write(ErrorReport(job: job, error: error, sha256: nil, at: now).json(), to: destination + ".error.json",
                                  temporaryFolder: root.temporaryFolder(for: destination))
            try DurableFile.sync(filesystemOf: root.path, alsoOf: [root.failed])
        } catch {
            logger.error(
                "cannot set aside a file that stopped the daemon; it stays in the spool, not run, until the next start",
                metadata: ["job": "\(job.id)", "error": "\(error.reason)"])
            return nil
        }
        let finished = FinishedJob(
            job: job, error: error, facts: ImageFacts(bytes: 0), timings: [], labels: [], outputs: nil, errorReport: destination + ".error.json",
            destination: destination, startedAt: now, finishedAt: now)
        try database.transaction {
            try database.complete(JobCompletion(finished))
            // Final, so its claim goes with it, as the committer's final event removes it: kept, it
            // was renewed for as long as this host ran, and `intake retry` could not claim it again.
            if root.sharedInbox, let generation = job.claimGeneration {
                _ = try database.releaseClaim(jobID: job.id.rawValue, host: root.host, generation: generation)
            }
        }
        return Filing(job: job.id, spoolPath: job.spoolPath, destination: destination)
    }

    /// Paths of every file (not folder) below `folder`, relative to it.
    static func files(under folder: String, prefix: String = "") -> [String] {
        BytePath(folder).entries().flatMap { nameBytes -> [String] in
            let name = String(decoding: nameBytes, as: UTF8.self)
            let path = BytePath(folder).appending(nameBytes)
            if path.linkStatus()?.isDirectory == true { return files(under: path.description, prefix: prefix + name + "/") }
            return [prefix + name]
        }
    }
}
