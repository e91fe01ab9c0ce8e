import IntakeConfig
import IntakeCore
import IntakeRetention
import IntakeStore
import Logging
import Synchronization

/// intaked's housekeeping thread: applies `[retention]` a bounded batch at a time, and samples
/// the bytes under the state root for growth per day. On its own thread and its own database
/// connection; each batch is one short transaction, so the committer waits at most for that.
final class RetentionKeeper: Sendable {
    private let pruner: Pruner?
    private let root: StateRoot
    private let archive: String?
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let condition = Condition()
    private let stopping = Mutex(false)
    private let outage: Outage
    /// How often the folders are measured: walking them costs a little, and growth is per day.
    static let storageInterval = 600.0
    /// How often a sample is kept in the database: hourly is plenty for a trend per day.
    static let storageRecordInterval = 3_600.0
    /// The pause between batches while a backlog of expired jobs drains, so that the committer
    /// and the disk are never held for long.
    static let backlogPause = 1.0

    init(pruner: Pruner?, root: StateRoot, metrics: DaemonMetrics, logger: Logger) {
        self.pruner = pruner
        self.root = root
        archive = pruner?.archiveFolder
        self.metrics = metrics
        self.logger = logger
        outage = Outage("expired jobs cannot be pruned", meanwhile: "they are kept and pruning is tried again", logger: logger)
    }

    func run() {
        var nextStorage = 0.0, nextPrune = 0.0, nextRecord = 0.0
        while !stopping.withLock({ $0 }) {
            let now = monotonicSeconds()
            if now >= nextStorage {
                sampleStorage(record: now >= nextRecord)
                if now >= nextRecord { nextRecord = now + Self.storageRecordInterval }
                nextStorage = now + Self.storageInterval
            }
            if let pruner, now >= nextPrune {
                let full = pruneOnce(pruner)
                nextPrune = now + (full ? Self.backlogPause : pruner.retention.intervalSeconds)
            }
            let next = min(nextStorage, pruner == nil ? .infinity : nextPrune)
            condition.locked { if !stopping.withLock({ $0 }) { condition.wait(seconds: next - monotonicSeconds()) } }
        }
    }

    func stop() {
        condition.locked {
            stopping.withLock { $0 = true }
            condition.broadcast()
        }
    }

    /// One batch; true when it was full (more are probably waiting).
    private func pruneOnce(_ pruner: Pruner) -> Bool {
        do {
            let database = try root.openDatabase()
            let pruned = try pruner.pruneBatch(database, now: Timestamp.nowMilliseconds())
            outage.recovered()
            guard !pruned.isEmpty else { return false }
            for job in pruned { metrics.recordPruned(environment: job.environment, failed: job.failed, bytes: job.bytes) }
            for job in pruned where !job.leftBehind.isEmpty {
                logger.error("pruned a job whose files could not all be deleted; remove them by hand",
                             metadata: ["job": "\(job.id)", "files": "\(job.leftBehind.joined(separator: "; "))"])
            }
            let environments = Set(pruned.map(\.environment)).sorted()
            logger.info(
                pruner.archiveFolder == nil ? "pruned expired jobs" : "archived expired jobs",
                metadata: [
                    "jobs": "\(pruned.count)", "bytes": "\(pruned.reduce(0) { $0 + $1.bytes })",
                    "env": "\(environments.joined(separator: ","))",
                    // Every id, so that "where did job X go?" is answered by the journal.
                    "ids": "\(pruned.map(\.id).joined(separator: ","))",
                ])
            return pruned.count >= pruner.retention.batchSize
        } catch {
            outage.failed("\(error)")
            return false
        }
    }

    private func sampleStorage(record: Bool) {
        var sizes = StorageSizes.measure(root, archive: archive)
        var growth: [String: Double] = [:]
        do {
            let database = try root.openDatabase()
            if let serverBytes = try database.serverDatabaseBytes() { sizes["database"] = serverBytes }
            let now = Timestamp.nowMilliseconds()
            let host = root.jobsHost ?? ""
            if record { try database.recordStorageSample(sizes, host: host, at: now) }
            for folder in try database.storageGrowth(host: host, now: now) { growth[folder.folder] = folder.bytesPerDay }
        } catch {
            logger.warning("cannot record the storage sample", metadata: ["error": "\(error)"])
        }
        for (folder, bytes) in sizes { metrics.recordStorage(folder: folder, bytes: bytes, bytesPerDay: growth[folder]) }
    }
}
