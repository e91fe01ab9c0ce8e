internal import CLinux
import IntakePipeline
import IntakeStore
import Logging
import IntakeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Takes a candidate from the inbox into the spool: checks it is complete, renames it into
/// spool/active under a new job id, queues it and has its row recorded. The rename is the claim:
/// from then on the file is the daemon's, and a crash finds it in the spool. In a shared inbox a
/// row in the store claims it first (`ClaimBook`), so that no two hosts rename the same file.
final class Claimer: Sendable {
    /// How long a file must have been left alone when neither a lease nor inotify can say that
    /// its writer is done (`[watch] settle_milliseconds`).
    private let settleSeconds: Double

    private let root: StateRoot
    /// A shared inbox's claims, taken by row before the rename; nil for a root's own inbox.
    private let claims: ClaimBook?
    private let queue: JobQueue
    private let committer: Committer
    private let space: SpaceFloor
    private let logger: Logger
    /// The spool refusing renames (read-only, full, unwritable): said once, not once per file.
    private let spoolOutage: Outage
    /// How long a sidecar waits for its image before it is claimed alone, to be set aside.
    private let sidecarWaitSeconds: Double
    /// The watcher's: an image a sidecar would claim must be one the watcher would offer.
    private let rules: InboxRules
    /// The ids taken from sidecars by this process, newest last; bounded, as the database knows
    /// the older ones by the time this many more have come.
    private let adopted = Mutex<(set: Set<JobID>, order: [JobID])>(([], []))
    private static let adoptedRemembered = 50_000
    /// Files of an inbox on another filesystem that could be read but not removed, and when that
    /// was found (monotonic seconds): each is left alone for `unremovableRetrySeconds`, then
    /// tried again (its rights may have been given meanwhile). Bounded by `unremovableLimit`.
    private let unremovable = Mutex<[FileVersion: Double]>([:])
    /// Inbox folders the daemon may not write, said once each (until a claim from one works).
    private let unwritableFolders = Mutex<Set<BytePath>>([])
    /// Images claimed without a sidecar lately, by source path, oldest first: a sidecar that comes
    /// after its image is told which job ran without it. Bounded by `claimedRemembered`.
    private let claimedWithoutSidecar = Mutex<(jobs: [String: (name: String, job: JobID)], order: [String])>(([:], []))
    private static let claimedRemembered = 10_000
    private static let unremovableRetrySeconds = 600.0
    private static let unremovableLimit = 10_000

    init(root: StateRoot, claims: ClaimBook? = nil, queue: JobQueue, committer: Committer, space: SpaceFloor, rules: InboxRules,
         sidecarWaitSeconds: Double, settleSeconds: Double, logger: Logger) {
        self.root = root
        self.rules = rules
        self.claims = claims
        self.space = space
        self.settleSeconds = settleSeconds
        self.queue = queue
        self.committer = committer
        self.sidecarWaitSeconds = sidecarWaitSeconds
        self.logger = logger
        spoolOutage = Outage(
            "files cannot be claimed into the spool", meanwhile: "they stay in the inbox and are claimed when they can", logger: logger)
    }

    /// Claims `candidate` if it is ready; false when it must wait (queue full, still being written).
    func claim(_ candidate: Candidate) -> Bool {
        guard queue.hasRoom, space.allowsClaiming() else { return false }
        guard let status = candidate.path.linkStatus() else { return true }  // gone: claimed or removed already
        // Said once already: it stays where it is until it changes (see `moveAcrossFilesystems`).
        if let foundAt = unremovable.withLock({ $0[FileVersion(status)] }), monotonicSeconds() - foundAt < Self.unremovableRetrySeconds {
            return true
        }
        if status.isDirectory { return true }
        if status.isRegularFile && !isComplete(candidate.path, reportedComplete: candidate.reportedComplete, status: status) { return false }
        if status.isRegularFile && Sidecar.isSidecarName(candidate.path.name) {
            // Its image is there already (it waited for this sidecar to be written): the image is
            // claimed now, taking it along. Nothing else would offer the image again before the
            // next scan, and a sidecar past its wait was set aside as one whose image never came.
            if let image = Sidecar.image(for: candidate.path, ignoring: { rules.reasonToIgnore($0) != nil }) {
                return claim(Candidate(path: image, components: candidate.components.dropLast() + [image.name], reportedComplete: false))
            }
            // A sidecar waits for its image, which takes it along; the scans offer it again meanwhile.
            if secondsSinceChange(status) < sidecarWaitSeconds { return true }
        }
        // The image waits for a sidecar still being written, so that the claim it carries counts.
        let sidecar = Sidecar.beside(candidate.path)
        if let sidecar, let sidecarStatus = sidecar.linkStatus(), !isComplete(sidecar, reportedComplete: false, status: sidecarStatus) {
            return false
        }

        let job = jobID(offeredBy: offer(on: candidate.path, orIn: sidecar), imageBytes: Int64(status.st_size))
        let environment = SafeName.from(bytes: candidate.components[0])
        // Folders are fitted as names are: escaped, 100 Latin-1 bytes (an SMB client's "é"s) are
        // 300, and every claim into such a folder failed with "File name too long", for good.
        let directories = candidate.components.dropLast().map { SafeName.fitted(SafeName.from(bytes: $0)) }
        let name = SafeName.fitted(SafeName.from(bytes: candidate.components.last!))
        let spoolPath = root.spoolPath(directories: directories, job: job, name: name)
        let sourcePath = (directories + [name]).joined(separator: "/")
        // In a shared inbox the row comes first: the host whose row goes in has the file.
        var generation: Int?
        let claimedAt = monotonicSeconds()
        if let claims {
            let identity = "\(status.st_ino):\(status.st_size):\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)"
            switch claims.claim(path: sourcePath, identity: identity, job: job, spoolName: root.spoolName(of: spoolPath)) {
            case .ours: generation = 1
            case .another: return true
            case .unavailable: return false
            }
        }
        switch move(candidate.path, to: spoolPath) {
        case .moved: break
        case .gone:
            if let generation { claims?.release(job: job, generation: generation) }
            return true
        case .failed:
            if let generation { claims?.release(job: job, generation: generation) }
            return false
        }
        // A host stalled between its row and its rename (a frozen VM) may have lost the claim
        // meanwhile: another host, finding the file in no spool, gave it up to be claimed afresh.
        // The file then goes back, rather than wait in a spool no claim names.
        if let claims, let generation, monotonicSeconds() - claimedAt > claims.leaseSeconds / 3,
           !claims.holds(job: job, generation: generation) {
            let returned = candidate.path.withCString { intake_rename_noreplace(spoolPath, $0) } == 0
            logger.warning("this host stalled while claiming and lost the claim; the file goes back to the inbox",
                           metadata: ["file": "\(candidate.path)", "returned": "\(returned)"])
            return true
        }
        // After the image: a crash between the two renames leaves the sidecar in the inbox, where
        // start-up recovery looks for it again (Sidecar.takeLeftInInbox).
        if let sidecar { takeSidecar(sidecar, job: job) }

        var queued = QueuedJob(
            id: job, environment: environment, name: name, sourcePath: sourcePath,
            meter: directories.count >= 2 ? directories[1] : nil, spoolPath: spoolPath, createdAt: JobID.milliseconds(of: job)!)
        queued.claimGeneration = generation
        if sidecar != nil { queued.sidecar = Sidecar.claim(of: job, root: root) }
        if Sidecar.isSidecarName(name) {
            queued.imageThatCameFirst = imageClaimed(before: sourcePath)
        } else if sidecar == nil {
            rememberClaimedWithoutSidecar(sourcePath, name: name, job: job)
        }
        // The row first, then the queue: the committer records events in the order they are posted.
        committer.post(.claimed(queued))
        queue.push(queued)
        return true
    }

    private func rememberClaimedWithoutSidecar(_ sourcePath: String, name: String, job: JobID) {
        claimedWithoutSidecar.withLock { recent in
            if recent.jobs.updateValue((name, job), forKey: sourcePath) == nil { recent.order.append(sourcePath) }
            if recent.order.count > Self.claimedRemembered {
                let dropped = recent.order.prefix(recent.order.count / 2)
                for path in dropped { recent.jobs[path] = nil }
                recent.order.removeFirst(dropped.count)
            }
        }
    }

    /// The image that the sidecar at `sidecarPath` (a source path) belongs to, if it was claimed
    /// lately without a sidecar: `<name>` for `<name>.json`, else a `<stem>.<ext>` for `<stem>.json`.
    private func imageClaimed(before sidecarPath: String) -> (name: String, job: JobID)? {
        let base = String(sidecarPath.dropLast(Sidecar.suffix.count))
        return claimedWithoutSidecar.withLock { recent in
            if let exact = recent.jobs[base] { return exact }
            return recent.order.last { $0.hasPrefix(base + ".") && !Sidecar.isSidecarName($0) }.flatMap { recent.jobs[$0] }
        }
    }

    /// What offers the image a job id: its `user.intake.job` label (`intake serve`'s way, see
    /// `UploadLabel`), else its sidecar's `"job"` (where the filesystem keeps no labels); with
    /// where it came from, for the log.
    private func offer(on image: BytePath, orIn sidecar: BytePath?) -> (claim: SidecarClaim, source: String)? {
        if let label = image.withCString({ UploadLabel.read($0) }), case .success(let claim) = SidecarClaim.parse(label), claim.job != nil {
            return (claim, "\(image) (\(UploadLabel.name))")
        }
        guard let sidecar, case .success(let claim)? = SidecarClaim.read(sidecar.description), claim.job != nil else { return nil }
        return (claim, sidecar.description)
    }

    /// The id `intake serve` already answered the upload with, when it is fresh (given within the
    /// last day), unused, and offered for an image of this size; otherwise a new one. A label or
    /// sidecar copied from an old upload, or a sidecar taken by another image of the same name
    /// dropped meanwhile, cannot make two jobs share an id.
    private func jobID(offeredBy offer: (claim: SidecarClaim, source: String)?, imageBytes: Int64) -> JobID {
        guard let offer, let offered = offer.claim.job, let issuedAt = JobID.milliseconds(of: offered) else { return JobID.make() }
        let claim = offer.claim
        let now = JobID.nowMilliseconds()
        let fresh = issuedAt + 86_400_000 >= now && issuedAt <= now + 60_000
        let sameImage = claim.bytes.map { $0 == imageBytes } ?? true
        // Ids taken moments ago may not be committed yet: the database alone would not know them.
        // Read only when an id is offered (uploads through `intake serve`). A database that cannot
        // be read is no reason to break the uploader's id: a copied sidecar is the rare case.
        let used = adopted.withLock { $0.set.contains(offered) }
            || ((try? root.openDatabase(readOnly: true).job(id: offered.rawValue)) ?? nil) != nil
        guard fresh, sameImage, !used else {
            logger.warning("the job id offered is old, already used or given for another image; the file gets a new one",
                           metadata: ["from": "\(offer.source)", "offered": "\(offered)"])
            return JobID.make()
        }
        adopted.withLock { adopted in
            adopted.set.insert(offered)
            adopted.order.append(offered)
            if adopted.order.count > Self.adoptedRemembered {
                adopted.set.remove(adopted.order.removeFirst())
            }
        }
        return offered
    }

    /// Moves the sidecar of the image just claimed as `job` into the spool. Failing leaves it in
    /// the inbox, and the job runs without its claim: the sidecar is set aside later, with the reason.
    private func takeSidecar(_ sidecar: BytePath, job: JobID) {
        switch move(sidecar, to: root.outputs.spooledSidecar(job: job)) {
        case .moved: logger.debug("sidecar taken with its image", metadata: ["job": "\(job)", "sidecar": "\(sidecar)"])
        case .gone, .failed: logger.warning("cannot take the sidecar with its image", metadata: ["job": "\(job)", "sidecar": "\(sidecar)"])
        }
    }

    /// Whether nobody is still writing the file. A read lease is refused while any writer has it
    /// open; where leases are unavailable, inotify's word (closed after writing, moved in) is
    /// trusted, and any other file must have been left alone for a moment.
    private func isComplete(_ path: BytePath, reportedComplete: Bool, status: stat) -> Bool {
        let fd = path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        if fd >= 0 {
            defer { close(fd) }
            switch intake_has_writers(fd) {
            case 0: return true
            case 1: return false
            default: break
            }
        }
        return reportedComplete || secondsSinceChange(status) >= settleSeconds
    }

    /// To the nanosecond: in whole seconds, a sidecar written at 12.999 s was a second old at
    /// 13.001 s and set aside as one whose image never came, while its image was still arriving.
    private func secondsSinceChange(_ status: stat) -> Double {
        func seconds(_ time: timespec) -> Double { Double(time.tv_sec) + Double(time.tv_nsec) / 1e9 }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return seconds(now) - max(seconds(status.st_mtim), seconds(status.st_ctim))
    }

    private enum MoveResult { case moved, gone, failed }

    private func move(_ source: BytePath, to target: String) -> MoveResult {
        var status = source.withCString { rename($0, target) }
        if status != 0 && errno == ENOENT && source.linkStatus() != nil {
            // The spool folder is missing: made, then the rename tried again. Failing to make it
            // is the spool's fault, never a sign that the file is gone.
            do {
                try DurableFile.makeFolders(DurableFile.parent(of: target), stage: .claim)
            } catch {
                return refused(source, error.reason, blocking: error.kind == .blocked)
            }
            status = source.withCString { rename($0, target) }
        }
        guard status != 0 else {
            spoolOutage.recovered()
            if unwritableFolders.withLock({ !$0.isEmpty && $0.remove(source.folder) != nil }) {
                logger.notice("files move out of the inbox folder again", metadata: ["folder": "\(source.folder)"])
            }
            return .moved
        }
        let code = errno
        if code == EXDEV { return moveAcrossFilesystems(source, to: target) }
        // Taken meanwhile by a scan racing an event, or removed by its writer.
        if code == ENOENT && source.linkStatus() == nil { return .gone }
        // The inbox folder's rights, not the spool's: a folder a producer made without group
        // write (its umask) lets the daemon read its files but not move them. Said per folder,
        // not as the spool's outage, which the next file's success would call over.
        if code == EACCES || code == EPERM, case let folder = source.folder, access(folder.description, W_OK) != 0 {
            if unwritableFolders.withLock({ $0.count < Self.unremovableLimit && $0.insert(folder).inserted }) {
                logger.error(
                    "cannot move files out of an inbox folder: intaked may not write it; they stay there until it may (group-writable, see Installing)",
                    metadata: ["folder": "\(folder)", "error": "\(ErrnoText.describe(code))"])
            }
            return .failed
        }
        if code == EACCES || code == EPERM, let file = othersFileInStickyFolder(source) {
            // One file's owner, not the spool: said for the file (as the spool's outage, the
            // next file's success called it over, and the next scan said it again).
            setAside(file)
            logger.error(
                "cannot move a file out of a sticky inbox folder: it belongs to another user (only its owner, the folder's owner or root may move it); it stays there, and is tried again every 10 minutes or when it changes. Clear the folder's sticky bit (chmod -t), or have the producer run as intaked's user or group",
                metadata: ["file": "\(source)", "owner": "\(file.st_uid)"])
            return .failed
        }
        return refused(source, ErrnoText.describe(code), blocking: DurableFile.blockingCodes.contains(code))
    }

    /// The status of `source` when its folder is sticky (`chmod +t`, as /tmp is) and neither the
    /// file nor the folder is this process's: such a file may not be moved by us.
    private func othersFileInStickyFolder(_ source: BytePath) -> stat? {
        guard let folder = source.folder.status(), folder.st_mode & S_ISVTX != 0, folder.st_uid != geteuid(),
              let file = source.linkStatus(), file.st_uid != geteuid() else { return nil }
        return file
    }

    /// Leaves the file of `status` alone until it changes or `unremovableRetrySeconds` pass.
    private func setAside(_ status: stat) {
        unremovable.withLock { files in
            if files.count >= Self.unremovableLimit { files.removeAll() }
            files[FileVersion(status)] = monotonicSeconds()
        }
    }

    /// A claim the spool refused: a blocking reason (full, read-only, unwritable) is one outage,
    /// said once; any other is said for the file. Either way the file stays in the inbox.
    private func refused(_ source: BytePath, _ reason: String, blocking: Bool) -> MoveResult {
        if blocking {
            spoolOutage.failed(reason, metadata: ["file": "\(source)"])
        } else {
            logger.warning("cannot claim file", metadata: ["file": "\(source)", "error": "\(reason)"])
        }
        return .failed
    }

    /// An inbox on another filesystem: copy into spool/tmp, fsync, rename into the spool, then
    /// unlink the original — the file is never in neither place. A crash between the rename and
    /// the unlink leaves it in both, and the second claim is recorded as a duplicate.
    private func moveAcrossFilesystems(_ source: BytePath, to target: String) -> MoveResult {
        guard let status = source.linkStatus() else { return .gone }
        do {
            if status.isSymbolicLink {
                // Never followed: the link itself is recreated in the spool, as rename would have moved it.
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = source.withCString { readlink($0, &buffer, buffer.count - 1) }
                guard length >= 0 else { throw DurableFile.failure(.claim, "cannot read link \(source)") }
                try DurableFile.makeFolders(DurableFile.parent(of: target), stage: .claim)
                guard symlink(buffer, target) == 0 else { throw DurableFile.failure(.claim, "cannot link \(target)") }
                try DurableFile.syncFolder(DurableFile.parent(of: target), stage: .claim)
            } else {
                guard status.isRegularFile else {
                    logger.warning("cannot claim a special file across filesystems; leaving it", metadata: ["file": "\(source)"])
                    return .failed
                }
                let fd = source.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
                guard fd >= 0 else { throw DurableFile.failure(.claim, "cannot open \(source)") }
                defer { close(fd) }
                // Durable in the spool before the original goes: the copy is synced, not batched.
                try DurableFile.copy(from: fd, to: target, temporaryFolder: root.spoolTemporary, stage: .claim)
            }
            guard source.withCString({ unlink($0) }) == 0 || errno == ENOENT else {
                // Read but not removed (a read-only share, a folder the daemon may not write):
                // kept, the copy would run again at every scan, a new job each time. The copy is
                // given up and the file left alone, said once per `unremovableRetrySeconds`.
                let reason = ErrnoText.describe(errno)
                unlink(target)
                setAside(status)
                logger.error(
                    "cannot remove a file from the inbox, so it is not claimed: it stays there, and is tried again every 10 minutes or when it changes",
                    metadata: ["file": "\(source)", "error": "\(reason)"])
                return .failed
            }
            return .moved
        } catch {
            logger.warning("cannot claim file across filesystems", metadata: ["file": "\(source)", "error": "\(error)"])
            return .failed
        }
    }
}
