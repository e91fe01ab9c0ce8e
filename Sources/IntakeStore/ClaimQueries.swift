import IntakeCore
/// One host's claim on a file of a shared inbox.
public struct ClaimRecord: Sendable, Equatable {
    /// Below inbox/, as the spool names it.
    public let path: String
    public let identity: String
    public let jobID: String
    public let host: String
    public let generation: Int
    /// Below any host's spool/active: where the claimed file waits.
    public let spoolName: String

    public init(path: String, identity: String, jobID: String, host: String, generation: Int, spoolName: String) {
        self.path = path
        self.identity = identity
        self.jobID = jobID
        self.host = host
        self.generation = generation
        self.spoolName = spoolName
    }
}

/// A claim taken over from a host that stopped renewing it.
public struct TakenOverClaim: Sendable, Equatable {
    /// The claim as it is now: this host's, its generation raised.
    public let claim: ClaimRecord
    /// The host that held it, in whose spool the file still is.
    public let previousHost: String
}

/// Claims on a shared inbox: several hosts polling one network folder, each file taken by the
/// one host whose row is written first (`ON CONFLICT DO NOTHING` decides), held under a lease
/// the host renews, and fenced by a generation raised at each takeover.
extension Database {
    /// Claims the file at `path` with `identity` for `host` as job `jobID`; false when another
    /// claim on it exists (another host took it first).
    public func claim(path: String, identity: String, jobID: String, host: String, spoolName: String,
                      leaseUntil: Int64) throws(StoreError) -> Bool {
        try execute(
            """
            INSERT INTO claims (path, identity, job_id, host, generation, lease_until, spool_name)
            VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (path, identity) DO NOTHING
            """,
            [.text(path), .text(identity), .text(jobID), .text(host), SQLValue(timestamp: leaseUntil), .text(spoolName)])
        return changes == 1
    }

    /// Gives a claim up (its file could not be moved into the spool after all), if still held.
    public func releaseClaim(jobID: String, host: String, generation: Int) throws(StoreError) -> Bool {
        try execute("DELETE FROM claims WHERE job_id = ? AND host = ? AND generation = ?",
                    [.text(jobID), .text(host), .integer(Int64(generation))])
        return changes == 1
    }

    /// Whether `host` still holds the claim on job `jobID` at `generation`: a host whose claim was
    /// taken over must not write anything more about the job. On PostgreSQL the row is locked
    /// for the rest of the transaction (`FOR SHARE`), so that a takeover (which skips locked rows)
    /// cannot commit between this check and the writes it allows.
    public func holdsClaim(jobID: String, host: String, generation: Int) throws(StoreError) -> Bool {
        let locking = engine == .postgresql ? " FOR SHARE" : ""
        return try !rows("SELECT 1 FROM claims WHERE job_id = ? AND host = ? AND generation = ?\(locking)",
                         [.text(jobID), .text(host), .integer(Int64(generation))]) { _ throws(StoreError) in true }.isEmpty
    }

    /// The claim on job `jobID`, whoever holds it.
    public func claim(jobID: String) throws(StoreError) -> ClaimRecord? {
        try rows("SELECT \(ClaimRecord.columns) FROM claims WHERE job_id = ?", [.text(jobID)], ClaimRecord.init(row:)).first
    }

    /// Every claim `host` holds.
    public func claims(host: String) throws(StoreError) -> [ClaimRecord] {
        try rows("SELECT \(ClaimRecord.columns) FROM claims WHERE host = ? ORDER BY job_id", [.text(host)], ClaimRecord.init(row:))
    }

    /// The store's own clock, Unix milliseconds: on PostgreSQL the server's, which every host
    /// sharing it reads alike, so that leases written by one host are judged by another on the
    /// same clock whatever the hosts' own clocks say; with SQLite, this machine's.
    public func clockMilliseconds() throws(StoreError) -> Int64 {
        guard engine == .postgresql else { return Timestamp.nowMilliseconds() }
        guard let now = try query("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now").first?["now"]?.integerValue else {
            throw StoreError("the store did not say what time it is")
        }
        return now
    }

    /// Renews every claim of `host` until `leaseUntil`; returns how many it holds.
    @discardableResult
    public func renewClaims(host: String, until leaseUntil: Int64) throws(StoreError) -> Int {
        try execute("UPDATE claims SET lease_until = ? WHERE host = ?", [SQLValue(timestamp: leaseUntil), .text(host)])
        return changes
    }

    /// Takes over, for `host`, at most `limit` claims whose lease ran out before `now`, in one
    /// transaction: each gets `host`, a generation one higher and a lease until `leaseUntil`, and
    /// its job row (made from `job` when the old holder never recorded it) becomes `host`'s and
    /// queued. Rows another host is taking over at the same moment are skipped, not waited for.
    public func takeOverExpiredClaims(
        host: String, now: Int64, leaseUntil: Int64, limit: Int, job: (ClaimRecord) -> NewJob?
    ) throws(StoreError) -> [TakenOverClaim] {
        try atomically { () throws(StoreError) in
            // A job row a frozen host left locked in its open transaction must not hold this host
            // (and its claiming) up: waiting gives up after a second, and the next round tries again.
            if engine == .postgresql { try execute("SET LOCAL lock_timeout = '1s'") }
            let locking = engine == .postgresql ? " FOR UPDATE SKIP LOCKED" : ""
            let expired = try rows(
                "SELECT \(ClaimRecord.columns) FROM claims WHERE lease_until < ? AND host <> ? ORDER BY lease_until, job_id LIMIT ?\(locking)",
                [SQLValue(timestamp: now), .text(host), .integer(Int64(limit))], ClaimRecord.init(row:))
            var taken: [TakenOverClaim] = []
            for claim in expired {
                try execute("UPDATE claims SET host = ?, generation = generation + 1, lease_until = ? WHERE job_id = ?",
                            [.text(host), SQLValue(timestamp: leaseUntil), .text(claim.jobID)])
                try execute(
                    "UPDATE jobs SET host = ?, status = 'queued' WHERE id = ? AND status IN ('queued', 'processing')",
                    [.text(host), .text(claim.jobID)])
                if changes == 0, try self.job(id: claim.jobID) == nil, var row = job(claim) {
                    row.host = host
                    try insertJob(row)
                }
                taken.append(TakenOverClaim(
                    claim: ClaimRecord(path: claim.path, identity: claim.identity, jobID: claim.jobID, host: host,
                                       generation: claim.generation + 1, spoolName: claim.spoolName),
                    previousHost: claim.host))
            }
            return taken
        }
    }
}

extension ClaimRecord {
    static let columns = "path, identity, job_id, host, generation, spool_name"

    init(row: Row) throws(StoreError) {
        self.init(path: try row.requiredText(0), identity: try row.requiredText(1), jobID: try row.requiredText(2),
                  host: try row.requiredText(3), generation: try row.requiredInt(4), spoolName: try row.requiredText(5))
    }
}
