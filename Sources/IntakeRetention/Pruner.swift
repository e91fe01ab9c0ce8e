public import IntakeConfig
public import IntakeCore
public import IntakeStore
import IntakePipeline

#if canImport(Glibc)
import Glibc
#endif

/// Applies `[retention]`: removes (or archives) finished jobs whose time is up, a bounded batch
/// at a time, oldest first, their files and rows together.
///
/// Each batch goes in this order, so that a kill at any instant leaves no job half-removed (the
/// files of a job whose rows remain are all there, and no row names a missing file):
///
/// 1. a journal naming every job and file of the batch is written and synced (`spool/prune/`);
/// 2. one database transaction removes the rows of the jobs still finished;
/// 3. their files are deleted, or moved to the archive;
/// 4. the filesystem is synced and the journal removed.
///
/// A journal found at the next run is finished from step 3, with the database as the judge of
/// which jobs went. The whole batch holds the state root's prune lock, which `intake retry` also
/// takes to send a dead letter back: so a job is never pruned while it is being sent back, and a
/// dead letter already on its way back (in spool/requeue or spool/active) is left alone, as is a
/// finished job whose original still waits in spool/active to be filed.
public struct Pruner: Sendable {
    public let root: StateRoot
    public let retention: IntakeConfiguration.Retention
    public let environments: [String]

    public init(root: StateRoot, retention: IntakeConfiguration.Retention, environments: [String]) {
        self.root = root
        self.retention = retention
        self.environments = environments
    }

    /// What the rules expire at `now` (Unix milliseconds), as the store applies them.
    public func expiryRules(now: Int64) -> [ExpiryRule] {
        environments.flatMap { environment in
            [false, true].compactMap { failed -> ExpiryRule? in
                retention.keepSeconds(environment: environment, failed: failed).map {
                    ExpiryRule(environment: environment, failed: failed, cutoff: now - Int64($0 * 1000))
                }
            }
        }
    }

    // MARK: dry run

    /// Everything the rules would remove now, counted per environment, without touching anything.
    public func preview(_ database: Database, now: Int64) throws(RetentionError) -> [PruneTally] {
        let expired: [ExpiredJob]
        do {
            expired = try database.expiredJobs(expiryRules(now: now), limit: Int(Int32.max), host: root.jobsHost)
        } catch {
            throw RetentionError("cannot read the expired jobs: \(error)")
        }
        var tallies: [String: PruneTally] = [:]
        for job in expired {
            let bytes = files(of: job).reduce(Int64(0)) { $0 + FileSize.regularFile($1) }
            tallies[job.environment, default: PruneTally(environment: job.environment)].add(failed: job.failed, bytes: bytes)
        }
        return tallies.values.sorted { $0.environment < $1.environment }
    }

    // MARK: pruning

    /// Prunes one batch of at most `retention.batchSize` jobs, after finishing any batch a crash
    /// cut short. Returns what went; an empty answer means nothing has expired.
    public func pruneBatch(_ database: Database, now: Int64) throws(RetentionError) -> [PrunedJob] {
        let lock = try PruneLock(root: root)
        defer { lock.release() }
        var pruned = try finishInterrupted(database)
        let expiring = try expiringJobs(database, now: now)
        guard !expiring.isEmpty else { return pruned }
        let journal = PruneJournal(entries: expiring, archiveFolder: archiveFolder)
        let journalPath = "\(root.spoolPrune)/\(Timestamp.nowMilliseconds())-\(getpid()).json"
        do {
            try DurableFile.write(journal.encoded(), to: journalPath)
            try DurableFile.syncFolder(root.spoolPrune)
        } catch {
            throw RetentionError("cannot write the prune journal \(journalPath): \(error.reason)")
        }
        let removed: [String]
        do {
            removed = try database.pruneJobs(expiring, keepMeterReadings: retention.keepMeterReadings, at: now)
        } catch {
            // The journal stays: the transaction may have committed with its answer lost (a
            // connection cut), and the next batch finishes it with the database as the judge.
            throw RetentionError("cannot remove the expired jobs' rows: \(error)")
        }
        pruned += try complete(journal, at: journalPath, removed: Set(removed))
        return pruned
    }

    /// Finishes the batches a crash (or a kill) cut short; the database says which jobs went.
    func finishInterrupted(_ database: Database) throws(RetentionError) -> [PrunedJob] {
        var pruned: [PrunedJob] = []
        // A journal a kill caught before its rename into place: its batch never began.
        for name in FolderListing.names(in: root.spoolPrune) where name.hasPrefix(WholeFile.temporaryPrefix) {
            unlink("\(root.spoolPrune)/\(name)")
        }
        for name in FolderListing.names(in: root.spoolPrune) where name.hasSuffix(".json") {
            let path = "\(root.spoolPrune)/\(name)"
            guard let journal = PruneJournal.read(path) else {
                // Written by rename from a temporary name, so never half-written: unreadable is foreign.
                throw RetentionError("cannot read the prune journal \(path); move it away to let pruning go on")
            }
            var removed: Set<String> = []
            for job in journal.entries {
                do {
                    if try !database.jobKeepsItsFiles(id: job.id) { removed.insert(job.id) }
                } catch {
                    throw RetentionError("cannot finish the interrupted prune \(path): \(error)")
                }
            }
            pruned += try complete(journal, at: path, removed: removed)
        }
        return pruned
    }

    /// Steps 3 and 4: the files of the removed jobs go; a job whose rows stayed keeps them.
    private func complete(_ journal: PruneJournal, at path: String, removed: Set<String>) throws(RetentionError) -> [PrunedJob] {
        var pruned: [PrunedJob] = []
        var manifests: [String: [ArchiveManifestLine]] = [:]
        for job in journal.entries where removed.contains(job.id) {
            var bytes: Int64 = 0
            var kept: [String] = [], leftBehind: [String] = []
            for current in files(of: job) {
                let size = FileSize.regularFile(current)
                if let archive = journal.archiveFolder {
                    let relative = String(current.dropFirst(root.path.count + 1))
                    let target = "\(monthFolder(archive, job))/\(relative)"
                    if FileSize.exists(current) {
                        do {
                            try DurableFile.move(current, to: target)
                        } catch {
                            throw RetentionError("cannot archive \(current) to \(target): \(error.reason)")
                        }
                    }
                    if FileSize.exists(target) { kept.append(relative) }
                } else if unlink(current) != 0 && errno != ENOENT {
                    // What no later try will delete either (a folder made where the file was, a
                    // file made immutable) is left and said: thrown, it stopped every batch after
                    // this one, each finishing this journal first. A passing fault is thrown.
                    guard Self.deletedByNoRetry.contains(errno) else { throw RetentionError("cannot delete \(current): \(ErrnoText.current)") }
                    leftBehind.append("\(current) (\(ErrnoText.current))")
                }
                bytes += size
            }
            if let archive = journal.archiveFolder {
                manifests[monthFolder(archive, job), default: []].append(manifestLine(job, files: kept))
            }
            pruned.append(PrunedJob(id: job.id, environment: job.environment, failed: job.failed, bytes: bytes, leftBehind: leftBehind))
        }
        for (folder, lines) in manifests { try appendManifest(lines, in: folder) }
        do {
            try DurableFile.sync(filesystemOf: root.path, alsoOf: root.outputTrees)
            if let archive = journal.archiveFolder { try DurableFile.sync(filesystemOf: archive) }
        } catch {
            throw RetentionError("cannot sync the pruned files: \(error.reason)")
        }
        unlink(path)
        return pruned
    }

    /// The `unlink` errors a later try would meet again.
    static let deletedByNoRetry: Set<Int32> = [EISDIR, EPERM, EACCES, ENOTDIR]

    // MARK: files

    /// The files a job's rows name, with its original and filed sidecar: only those inside the
    /// state root, so that a row edited by hand (or a root moved) can never make pruning delete elsewhere.
    func files(of job: ExpiredJob) -> [String] {
        var paths = job.outputs
        if let original = job.finalPath { paths += [original, OutputLayout.filedSidecar(beside: original)] }
        var seen: Set<String> = []
        return paths.filter { isInsideRoot($0) && seen.insert($0).inserted }
    }

    /// Inside the root as the filesystem resolves both (links, `.`, `..`, a trailing slash), so
    /// that a root named another way than the daemon named it (`--root /srv/intake/`, through a
    /// link) still prunes the files with the rows: compared as text, every file seemed outside.
    /// A path is judged by its folder; one whose folder does not exist names no file to remove.
    private func isInsideRoot(_ path: String) -> Bool {
        guard let root = Self.resolved(root.path), let folder = Self.resolved(DurableFile.parent(of: path)) else {
            return path.hasPrefix(root.path + "/") && !path.contains("/../") && !path.hasSuffix("/..")
        }
        let name = PathText.lastComponent(path)
        return name != ".." && name != "." && (folder + "/").hasPrefix(root == "/" ? "/" : root + "/")
    }

    private static func resolved(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The oldest expired jobs, at most a batch, less those whose original is still in the spool
    /// (see `isStillInTheSpool`). Read past those, so that a batch's worth of them at the head of
    /// the line does not look like "nothing has expired" and stop pruning.
    private func expiringJobs(_ database: Database, now: Int64) throws(RetentionError) -> [ExpiredJob] {
        var stillInTheSpool: Set<String> = []
        while true {
            let limit = retention.batchSize + stillInTheSpool.count
            let expired: [ExpiredJob]
            do {
                expired = try database.expiredJobs(expiryRules(now: now), limit: limit, host: root.jobsHost)
            } catch {
                throw RetentionError("cannot read the expired jobs: \(error)")
            }
            var expiring: [ExpiredJob] = []
            for job in expired where !stillInTheSpool.contains(job.id) {
                if isStillInTheSpool(job) { stillInTheSpool.insert(job.id) } else { expiring.append(job) }
            }
            // Some to prune, or nothing more to read.
            if !expiring.isEmpty || expired.count < limit { return Array(expiring.prefix(retention.batchSize)) }
        }
    }

    /// Whether the job's original is in the spool rather than where its row says: a dead letter
    /// `intake retry` sent back (in spool/requeue, or already in spool/active with the requeue not
    /// yet recorded: about to run again), or a finished job whose filing is waiting out an outage
    /// (processed/ or failed/ unwritable, in spool/active). Neither is ours to remove: pruned, its
    /// row would go and its original be filed later with no row naming it, or be taken at the
    /// next start for a claim never recorded, and run again.
    private func isStillInTheSpool(_ job: ExpiredJob) -> Bool {
        guard let original = job.finalPath, !FileSize.exists(original) else { return false }
        return FolderListing.containsJob(job.id, under: root.spoolRequeue) || FolderListing.containsJob(job.id, under: root.spoolActive)
    }

    // MARK: archive

    /// The archive folder, absolute; nil when expired files are deleted.
    public var archiveFolder: String? {
        retention.archiveFolder.map { $0.hasPrefix("/") ? $0 : "\(root.path)/\($0)" }
    }

    /// `<archive>/<env>/<yyyy>/<mm>`, by the month the job finished.
    private func monthFolder(_ archive: String, _ job: ExpiredJob) -> String {
        let date = CalendarDate(unixMilliseconds: UInt64(max(0, job.finishedAt)))
        let month = date.month < 10 ? "0\(date.month)" : "\(date.month)"
        return "\(archive)/\(job.environment)/\(date.year)/\(month)"
    }

    private func manifestLine(_ job: ExpiredJob, files: [String]) -> ArchiveManifestLine {
        ArchiveManifestLine(
            job: job.id, environment: job.environment, status: job.failed ? "failed" : "done", name: job.name,
            sha256: job.sha256, bytes: job.bytes, finishedAt: Timestamp.string(fromMilliseconds: job.finishedAt), files: files)
    }

    /// Appends to the month's `manifest.jsonl` and syncs it. A batch finished again after a crash
    /// may repeat a job's line; readers take the last line of each job.
    private func appendManifest(_ lines: [ArchiveManifestLine], in folder: String) throws(RetentionError) {
        let path = "\(folder)/manifest.jsonl"
        let text = lines.map(ArchiveManifestLine.jsonLine).joined()
        try? DurableFile.makeFolders(folder)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RetentionError("cannot open \(path): \(ErrnoText.current)") }
        defer { close(fd) }
        let failure = Array(text.utf8).withUnsafeBytes { WholeFile.writeAll($0, to: fd) }
        if let failure { throw RetentionError("cannot write \(path): \(ErrnoText.describe(failure))") }
        guard fsync(fd) == 0 else { throw RetentionError("cannot sync \(path): \(ErrnoText.current)") }
    }
}

/// A job retention removed.
public struct PrunedJob: Sendable, Equatable {
    public let id: String
    public let environment: String
    public let failed: Bool
    /// The bytes of its files.
    public let bytes: Int64
    /// Its files that could not be deleted, with why (see `Pruner.deletedByNoRetry`): a person's to remove.
    public var leftBehind: [String] = []

    public init(id: String, environment: String, failed: Bool, bytes: Int64, leftBehind: [String] = []) {
        self.id = id
        self.environment = environment
        self.failed = failed
        self.bytes = bytes
        self.leftBehind = leftBehind
    }
}

/// What the rules expire (or expired) in one environment.
public struct PruneTally: Sendable, Equatable {
    public let environment: String
    public var done = 0
    public var failed = 0
    public var bytes: Int64 = 0

    public init(environment: String) { self.environment = environment }

    mutating func add(failed isFailed: Bool, bytes: Int64) {
        if isFailed { failed += 1 } else { done += 1 }
        self.bytes += bytes
    }

    /// Counts a pruned job in.
    public mutating func add(_ job: PrunedJob) { add(failed: job.failed, bytes: job.bytes) }

    /// One tally per environment, sorted by name.
    public static func per(environmentOf jobs: [PrunedJob]) -> [PruneTally] {
        var tallies: [String: PruneTally] = [:]
        for job in jobs { tallies[job.environment, default: PruneTally(environment: job.environment)].add(job) }
        return tallies.values.sorted { $0.environment < $1.environment }
    }
}

/// Why pruning could not go on; the next run tries again.
public struct RetentionError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
