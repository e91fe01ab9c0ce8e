import IntakePipeline
import IntakeStore
import Logging
import IntakeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// This host's claims on a shared inbox (several hosts polling one network folder, one
/// PostgreSQL): the one owner of the rows in `claims` that say which host holds which file.
///
/// - A file is claimed by its row before its rename into this host's spool; the host whose row
///   goes in first has it, and every other host leaves it (`Claimer`).
/// - The host renews all its claims every third of `[store] claim_lease_seconds`; the job's
///   final transaction removes its claim (`Committer`).
/// - A claim whose lease ran out belongs to a host that stopped: another host takes it over with
///   a generation one higher, moves the file from the stopped host's spool into its own and runs
///   the job. Whatever the old holder writes later is refused, because it no longer holds the
///   claim at its generation (fencing), so a job is never recorded twice.
///
/// Claiming needs the database: while it is away, files stay in the inbox (no claim can be
/// proved), and the jobs already claimed go on into the spool and the committer's backlog.
final class ClaimBook: Sendable {
    let root: StateRoot
    let leaseSeconds: Double
    private let logger: Logger
    /// The book's own connection, used by the watcher's thread (claims) and the keeper's
    /// (renewals, takeovers) in turn.
    private let lock = Condition()
    nonisolated(unsafe) private var connection: Database?  // guarded by `lock`
    private let outage: Outage
    /// How many expired claims one round takes over: the rest wait for the next round, or for
    /// another host.
    static let takeoverBatch = 200

    init(root: StateRoot, leaseSeconds: Double, logger: Logger) {
        self.root = root
        self.leaseSeconds = leaseSeconds
        self.logger = logger
        outage = Outage("files cannot be claimed: the store does not answer",
                        meanwhile: "they stay in the inbox, for this host or another to claim when it answers", logger: logger)
    }

    enum Answer { case ours, another, unavailable }

    /// How far the store's clock is ahead of this machine's, in milliseconds, as the keeper last
    /// measured it (a round trip's error at most): claims made between rounds need no query of
    /// their own. Nil until first measured.
    private let clockOffset = Mutex<Int64?>(nil)

    /// Reads the store's clock; kept as it was when the store does not answer.
    private func measureClock() {
        guard let storeClock = withDatabase({ database throws(StoreError) in try database.clockMilliseconds() }) else { return }
        clockOffset.withLock { $0 = storeClock - Timestamp.nowMilliseconds() }
    }

    /// Now on the store's clock (this machine's, until the store has once said).
    private func storeNow() -> Int64 {
        if clockOffset.withLock({ $0 }) == nil { measureClock() }
        return Timestamp.nowMilliseconds() + (clockOffset.withLock { $0 } ?? 0)
    }

    /// Claims the file at `path` (below inbox/) with `identity` as job `job`, to wait at
    /// `spoolName` below spool/active.
    func claim(path: String, identity: String, job: JobID, spoolName: String) -> Answer {
        let leaseUntil = storeNow() + Int64(leaseSeconds * 1000)
        switch withDatabase({ database throws(StoreError) in
            try database.claim(path: path, identity: identity, jobID: job.rawValue, host: root.host, spoolName: spoolName,
                               leaseUntil: leaseUntil)
        }) {
        case .some(true): return .ours
        case .some(false): return .another
        case nil: return .unavailable
        }
    }

    /// Whether this host still holds its claim on `job` at `generation`; true when the store
    /// cannot say (the file is then kept, and the commit's fencing decides).
    func holds(job: JobID, generation: Int) -> Bool {
        withDatabase { database throws(StoreError) in
            try database.holdsClaim(jobID: job.rawValue, host: root.host, generation: generation)
        } ?? true
    }

    /// Gives up a claim whose file could not be moved into the spool after all.
    func release(job: JobID, generation: Int) {
        _ = withDatabase { database throws(StoreError) in
            try database.releaseClaim(jobID: job.rawValue, host: root.host, generation: generation)
        }
    }

    /// One round of the keeper: this host's claims renewed, then the claims of hosts that stopped
    /// renewing taken over, their files moved into this host's spool. Returns the jobs to queue.
    func renewAndTakeOver() -> [QueuedJob] {
        // Leases are written and judged on the store's clock: with each host's own, a host whose
        // clock ran a lease's length ahead took over healthy hosts' claims, round after round.
        measureClock()
        let now = storeNow()
        let leaseUntil = now + Int64(leaseSeconds * 1000)
        guard withDatabase({ database throws(StoreError) in try database.renewClaims(host: root.host, until: leaseUntil) }) != nil,
            let taken = withDatabase({ database throws(StoreError) in
                try database.takeOverExpiredClaims(host: root.host, now: now, leaseUntil: leaseUntil, limit: Self.takeoverBatch) { claim in
                    SpoolEntry(relativePath: claim.spoolName, root: root, createdAtFallback: JobID.nowMilliseconds())
                        .map { NewJob($0.job, host: root.host) }
                }
            })
        else { return [] }
        return taken.compactMap(adopt)
    }

    /// The file of a claim taken over, moved from the old holder's spool into this host's, as a
    /// job to run; nil when it is not there (see `fetch`). Looked for in the old holder's spool
    /// first, then in every other host's: a holder that took the claim over itself may have died
    /// before it moved the file from the host before it.
    private func adopt(_ taken: TakenOverClaim) -> QueuedJob? {
        guard var job = fetch(taken.claim, preferring: taken.previousHost) else { return nil }
        logger.warning(
            "took over a claim whose host stopped renewing it",
            metadata: ["job": "\(job.id)", "file": "\(job.sourcePath)", "from": "\(taken.previousHost)", "generation": "\(taken.claim.generation)"])
        if let row = withDatabase({ database throws(StoreError) in try database.job(id: job.id.rawValue) }) ?? nil {
            job.attempt = row.attempts + 1
        }
        return job
    }

    /// Brings a claim's file into this host's spool from wherever a host of the shared root left
    /// it (any other host's spool, `preferring`'s first), with its sidecar. When it is in none — the old
    /// holder's rename never happened, and it is still in the inbox — the claim and its row go,
    /// so that the file is claimed afresh.
    func fetch(_ claim: ClaimRecord, preferring preferred: String? = nil) -> QueuedJob? {
        guard var job = SpoolEntry(relativePath: claim.spoolName, root: root, createdAtFallback: JobID.nowMilliseconds())?.job else {
            logger.error("a claim names no spool file intake could have made; left alone", metadata: ["job": "\(claim.jobID)"])
            return nil
        }
        job.claimGeneration = claim.generation
        if BytePath(job.spoolPath).linkStatus() != nil { return job }
        let others = BytePath(root.path + "/hosts").entries().map { String(decoding: $0, as: UTF8.self) }.filter { $0 != root.host }
        let candidates = others.sorted { ($0 == preferred ? 0 : 1, $0) < ($1 == preferred ? 0 : 1, $1) }
        for host in candidates {
            let there = root.spoolActive(ofHost: host) + "/" + claim.spoolName
            guard BytePath(there).linkStatus() != nil else { continue }
            do {
                try DurableFile.makeFolders(DurableFile.parent(of: job.spoolPath), stage: .claim)
                rename(root.spoolSidecars(ofHost: host) + "/\(job.id).json", root.spoolSidecars + "/\(job.id).json")
                try DurableFile.move(there, to: job.spoolPath, temporaryFolder: root.spoolTemporary, stage: .claim)
                job.sidecar = Sidecar.claim(of: job.id, root: root)
                return job
            } catch {
                logger.error("cannot move a claimed file from another host's spool", metadata: ["job": "\(job.id)", "error": "\(error.reason)"])
                return nil
            }
        }
        logger.warning("a claim's file is in no host's spool: forgotten, so the file is claimed afresh from the inbox",
                       metadata: ["job": "\(job.id)", "file": "\(claim.path)"])
        _ = withDatabase { database throws(StoreError) in
            if try database.releaseClaim(jobID: claim.jobID, host: root.host, generation: claim.generation) {
                if let row = try database.job(id: claim.jobID), row.status == .queued || row.status == .processing {
                    try database.deleteJob(id: claim.jobID)
                }
            }
        }
        return nil
    }

    /// Runs `body` on this book's connection, opening it when needed; nil when the store fails
    /// (said once per outage), and the connection is opened afresh next time if it may be spoilt.
    private func withDatabase<T>(_ body: (Database) throws(StoreError) -> T) -> T? {
        lock.locked {
            do throws(StoreError) {
                let database: Database
                if let connection {
                    database = connection
                } else {
                    database = try root.openDatabase()
                    connection = database
                }
                let result = try body(database)
                outage.recovered()
                return result
            } catch {
                outage.failed("\(error)")
                if error.needsNewConnection || error.isUnavailable { connection = nil }
                return nil
            }
        }
    }
}

/// The thread that keeps this host's claims alive and takes over those of stopped hosts, every
/// third of the lease: a host that misses two rounds in a row still holds its claims.
final class ClaimKeeper: Sendable {
    private let book: ClaimBook
    private let queue: JobQueue
    private let stopSignal = StopSignal()

    init(book: ClaimBook, queue: JobQueue) {
        self.book = book
        self.queue = queue
    }

    func run() {
        repeat {
            for job in book.renewAndTakeOver() { queue.push(job) }
        } while stopSignal.pause(seconds: book.leaseSeconds / 3)
    }

    func stop() { stopSignal.stop() }
}
