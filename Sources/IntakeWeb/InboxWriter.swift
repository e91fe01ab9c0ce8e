internal import CLinux
import IntakeCodecs
import IntakeCore
import IntakePipeline
import Synchronization
import Hummingbird

#if canImport(Glibc)
import Glibc
#endif

/// What an upload became: the job id the daemon will run it under, and what was received.
struct UploadReceipt: Sendable, Equatable {
    let job: JobID
    let target: UploadTarget
    let sha256: String
    let bytes: Int
}

/// Writes uploads into the inbox as any careful producer does: the bytes go to a hidden folder on
/// the inbox's filesystem (`inbox/.intake-uploads/`, which the daemon never looks in), are synced,
/// then renamed into place in one step, so the daemon never sees half a file. The job id rides on
/// the image as its `user.intake.job` attribute (`UploadLabel`), set before its fsync, and the
/// daemon's claim takes the id from it: the id answered to the client is the one the job has from
/// its first row on. Where the filesystem keeps no user attributes, a sidecar `<name>.json`
/// naming the id goes in first instead. Nothing is replaced: a name already waiting in the inbox
/// is a conflict (409), and every refusal leaves nothing behind.
final class InboxWriter: Sendable {
    let root: StateRoot
    let maxBytes: Int
    let maxConcurrent: Int
    /// The least pace of an upload (see `UploadPace`).
    let pace: UploadPace

    /// Ids answered but not yet claimed by the daemon, so that asking for one says PENDING.
    private let pending = Mutex<[String: UploadReceipt]>([:])
    /// Uploads being received now.
    private let receiving = Mutex(0)

    init(root: StateRoot, maxBytes: Int, maxConcurrent: Int = 32,
         pace: UploadPace = UploadPace(minimumBytesPerSecond: 0, idleTimeoutSeconds: 30)) {
        self.root = root
        self.maxBytes = maxBytes
        self.maxConcurrent = maxConcurrent
        self.pace = pace
    }

    var uploadFolder: String { root.inbox + "/.intake-uploads" }

    /// The upload of `job`, if this process took it and the daemon may not have claimed it yet.
    func pendingUpload(_ job: JobID) -> UploadReceipt? { pending.withLock { $0[job.rawValue] } }

    /// Removes what uploads cut short by a crash of `intake serve` left behind (see `UploadFolder`).
    func sweepLeftovers() -> Int { UploadFolder.sweep(uploadFolder, olderThanSeconds: 3600) }

    /// Forgets an upload once the database knows its job.
    func claimed(_ job: JobID) { _ = pending.withLock { $0.removeValue(forKey: job.rawValue) } }

    /// Receives `body` into the inbox at `target`. The declared length, when given, is checked
    /// before anything is written.
    func receive<Body: AsyncSequence>(_ body: Body, declaredLength: Int?, into target: UploadTarget) async throws(APIError) -> UploadReceipt
    where Body.Element == ByteBuffer {
        if let declaredLength, declaredLength > maxBytes { throw Self.tooLarge(maxBytes) }
        try admit()
        defer { release() }
        do {
            try DurableFile.makeFolders(uploadFolder, stage: .claim)
        } catch {
            throw Self.refusal(error)
        }
        let job = JobID.make()
        let temporary = "\(uploadFolder)/\(job).part"
        var file = try PartFile(path: temporary)
        defer { file.discard() }

        var hash = SHA256.Stream()
        var head: [UInt8] = []
        var judged = false
        let watch = pace.start()
        do {
            for try await buffer in body {
                guard file.bytes + buffer.readableBytes <= maxBytes else { throw Self.tooLarge(maxBytes) }
                try watch.check(received: file.bytes + buffer.readableBytes)
                try buffer.withUnsafeReadableBytes { bytes throws(APIError) in
                    hash.update(bytes)
                    if !judged {
                        head.append(contentsOf: bytes.prefix(Sniffer.headerLength - head.count))
                        if head.count >= Sniffer.headerLength {
                            try Self.judge(head)
                            judged = true
                        }
                    }
                    try file.append(bytes)
                }
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "upload_broken", "the upload stopped before its end (\(error)); nothing was kept")
        }
        guard file.bytes > 0 else { throw APIError.badRequest("empty", "the body is empty: send the image's bytes") }
        if !judged { try Self.judge(head) }
        let labelled = try file.finish(labelling: job)
        let receipt = try place(
            temporary, as: UploadReceipt(job: job, target: target, sha256: hash.finish(), bytes: file.bytes), labelled: labelled)
        file.placed()
        return receipt
    }

    /// One more upload being received, or 503 when `maxConcurrent` are already; `release()` after.
    func admit() throws(APIError) {
        let admitted = receiving.withLock { count in
            guard count < maxConcurrent else { return false }
            count += 1
            return true
        }
        guard admitted else { throw Self.busy(maxConcurrent) }
    }

    func release() { receiving.withLock { $0 -= 1 } }

    /// Moves a whole, synced upload at `temporary` (in the upload folder) into the inbox as
    /// `receipt` says; the rename is made durable before this returns, for a 2xx promises the file
    /// is in the inbox. `labelled`: the job id is already on it and synced (see `UploadLabel`);
    /// else it is labelled here, or where it cannot be, its sidecar goes first. On a refusal
    /// `temporary` stays where it was.
    func place(_ temporary: String, as receipt: UploadReceipt, labelled: Bool = false) throws(APIError) -> UploadReceipt {
        let target = receipt.target, job = receipt.job
        // Only now, so that a refused upload leaves no folder behind either.
        guard let folder = try InboxFolder.open(inbox: root.inbox, target: target, create: true) else {
            throw Self.refusal(DurableFile.failure(.claim, "cannot make inbox/\(target.folder)"))
        }
        let sidecar = target.name + ".json"
        // Said before the sidecar goes in: a same-named image claimed meanwhile would take it along.
        if folder.holds(target.name) { throw Self.conflict(target) }
        var sidecarNeeded = false
        if !labelled { sidecarNeeded = try !Self.label(temporary, job: job, bytes: receipt.bytes) }
        if sidecarNeeded {
            try Self.place(sidecar: sidecar, in: folder, job: job, bytes: receipt.bytes, temporary: "\(uploadFolder)/\(job).json.part")
        }
        guard intake_renameat_noreplace(AT_FDCWD, temporary, folder.fd, target.name) == 0 else {
            let code = errno
            if sidecarNeeded { unlinkat(folder.fd, sidecar, 0) }
            if code == EEXIST { throw Self.conflict(target) }
            throw Self.refusal(DurableFile.failure(.claim, "cannot move the upload into inbox/\(target.folder)"))
        }
        remember(receipt)
        // The rename itself made durable: a 202 promises the file is in the inbox.
        try folder.sync()
        return receipt
    }

    /// One image of a job of several, received and waiting at `temporary` to be placed.
    struct HeldImage {
        let temporary: String
        let receipt: UploadReceipt
        /// Whether its job id is on the file already (see `UploadLabel`).
        var labelled = false
    }

    /// Why the images of one job could not all be placed, and which of them are jobs anyway.
    struct PlacementFailure: Error {
        let error: APIError
        /// Placed before the failure and claimed by the daemon before they could be taken back.
        let claimed: [UploadReceipt]

        /// The refusal to answer, saying which images became jobs, under which submission.
        func answer(submission: String) -> APIError {
            guard !claimed.isEmpty else { return error }
            let names = claimed.map(\.target.name).joined(separator: ", ")
            var answer = APIError(error.status, error.code, error.message
                + "; \(claimed.count) image(s) placed before that (\(names)) were claimed by intaked before they could be"
                + " taken back and are processed as job \(submission); the others were not kept")
            answer.headers = error.headers
            return answer
        }
    }

    /// Places the images of one job all or none, as far as the daemon allows. When one cannot be
    /// placed (its name taken since `checkFree`, the disk failing), those placed before it are
    /// taken back to their temporaries — unless the daemon claimed one first (it claims within
    /// milliseconds): that one is a job now, and the failure says so.
    func placeAll(_ images: [HeldImage]) throws(PlacementFailure) -> [UploadReceipt] {
        var placed: [(image: HeldImage, inode: ino_t)] = []
        for image in images {
            var status = stat()
            let inode = lstat(image.temporary, &status) == 0 ? status.st_ino : 0
            do {
                _ = try place(image.temporary, as: image.receipt, labelled: image.labelled)
                placed.append((image, inode))
            } catch {
                let claimed = placed.filter { !withdraw($0.image, inode: $0.inode) }.map(\.image.receipt)
                throw PlacementFailure(error: error, claimed: claimed)
            }
        }
        return images.map(\.receipt)
    }

    /// Moves a placed image back to its temporary, with its sidecar if it has one: true when it
    /// was still waiting in the inbox. The inode tells it from a file of the same name another
    /// producer dropped after the daemon claimed this one (a window of microseconds remains,
    /// between the check and the rename).
    func withdraw(_ image: HeldImage, inode: ino_t) -> Bool {
        let target = image.receipt.target
        guard let folder = try? InboxFolder.open(inbox: root.inbox, target: target, create: false),
              folder.inode(of: target.name) == inode,
              intake_renameat_noreplace(folder.fd, target.name, AT_FDCWD, image.temporary) == 0 else { return false }
        _ = pending.withLock { $0.removeValue(forKey: image.receipt.job.rawValue) }
        let sidecar = target.name + ".json"
        // Ours only if it names the job (a sidecar is a line of a few dozen bytes).
        let sidecarFD = openat(folder.fd, sidecar, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if sidecarFD >= 0 {
            var head = [UInt8](repeating: 0, count: 512)
            let count = head.withUnsafeMutableBytes { read(sidecarFD, $0.baseAddress, $0.count) }
            close(sidecarFD)
            if count > 0, String(decoding: head[..<count], as: UTF8.self).contains("\"\(image.receipt.job)\"") {
                unlinkat(folder.fd, sidecar, 0)
            }
        }
        try? folder.sync()
        return true
    }

    /// 409 when a file of `target`'s name already waits in its inbox folder. A job of several
    /// images asks this of every image before placing the first, so that a name taken refuses
    /// the whole job instead of leaving its first images behind as jobs of their own. (`place`
    /// checks again: a producer may drop the same name in between.)
    func checkFree(_ target: UploadTarget) throws(APIError) {
        guard let folder = try InboxFolder.open(inbox: root.inbox, target: target, create: false) else { return }
        if folder.holds(target.name) { throw Self.conflict(target) }
    }

    /// Notes an upload as pending. Past `pendingLimit` the ones over a day old go (the daemon
    /// would no longer take their id), then the oldest: memory stays bounded if nobody asks.
    private func remember(_ receipt: UploadReceipt) {
        pending.withLock { pending in
            pending[receipt.job.rawValue] = receipt
            guard pending.count > Self.pendingLimit else { return }
            let dayAgo = JobID.nowMilliseconds() - 86_400_000
            pending = pending.filter { (JobID.milliseconds(of: $0.value.job) ?? 0) >= dayAgo }
            if pending.count > Self.pendingLimit {
                let newest = Set(pending.keys.sorted().suffix(Self.pendingLimit / 2))
                pending = pending.filter { newest.contains($0.key) }
            }
        }
    }

    static let pendingLimit = 10_000

    private static func conflict(_ target: UploadTarget) -> APIError {
        APIError(.conflict, "name_waiting",
                 "a file named \(target.name) is waiting in inbox/\(target.folder); send it again in a moment or under another name")
    }

    /// Labels the open upload at `path` with its job id, before its fsync (see `UploadLabel`);
    /// false where the filesystem keeps no user attributes (a sidecar is then needed).
    static func label(_ fd: Int32, path: String, job: JobID, bytes: Int) throws(APIError) -> Bool {
        switch UploadLabel.set(on: fd, job: job.rawValue, bytes: bytes) {
        case 0: return true
        case ENOTSUP, EOPNOTSUPP: return false
        default: throw refusal(DurableFile.failure(.claim, "cannot label \(path) with its job id"))
        }
    }

    /// Labels the file at `path` with its job id and syncs it; false where the filesystem keeps
    /// no user attributes.
    private static func label(_ path: String, job: JobID, bytes: Int) throws(APIError) -> Bool {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw refusal(DurableFile.failure(.claim, "cannot open \(path)")) }
        defer { close(fd) }
        guard try label(fd, path: path, job: job, bytes: bytes) else { return false }
        guard fsync(fd) == 0 else { throw refusal(DurableFile.failure(.claim, "cannot sync \(path)")) }
        return true
    }

    /// The sidecar naming the job id, renamed into place before the image so that the claim sees it.
    private static func place(sidecar: String, in folder: borrowing InboxFolder, job: JobID, bytes: Int, temporary: String) throws(APIError) {
        do {
            // Synced before the rename, as the image is: after a power cut the sidecar is whole or absent.
            try WholeFile.write(Array("{\"job\": \"\(job)\", \"bytes\": \(bytes)}\n".utf8), to: temporary, through: temporary + ".tmp", sync: true)
        } catch {
            throw refusal(DurableFile.failure(.claim, error))
        }
        guard intake_renameat_noreplace(AT_FDCWD, temporary, folder.fd, sidecar) == 0 else {
            let code = errno
            unlink(temporary)
            if code == EEXIST {
                throw APIError(.conflict, "name_waiting", "a sidecar \(sidecar) is waiting in the inbox; send the image again in a moment")
            }
            throw refusal(DurableFile.failure(.claim, "cannot place the upload's sidecar"))
        }
    }

    /// Refuses, by its first bytes, what intake cannot decode: nothing of it is kept.
    static func judge(_ head: [UInt8]) throws(APIError) {
        let type = head.withUnsafeBytes { Sniffer.sniff($0) }
        guard type.isDecodable else {
            throw APIError(.unsupportedMediaType, "not_an_image", "intake takes \(ImageType.decodableNames); this is \(type)")
        }
    }

    /// Refused rather than queued: a client told to come back in a second loses nothing.
    private static func busy(_ limit: Int) -> APIError {
        var error = APIError(.serviceUnavailable, "busy", "\(limit) uploads are being received already; try again in a moment")
        error.headers[.retryAfter] = "1"
        return error
    }

    static func tooLarge(_ maxBytes: Int) -> APIError {
        APIError(.contentTooLarge, "too_large", "the upload is over the limit of \(maxBytes) bytes ([web] max_bytes)")
    }

    /// A write the state root refused: full is 507, anything else 500; the reason is the system's.
    static func refusal(_ error: IntakeError) -> APIError {
        if error.reason.contains(ErrnoText.describe(ENOSPC)) || error.reason.contains(ErrnoText.describe(EDQUOT)) {
            return APIError(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "disk_full", "the inbox's disk is full; nothing was kept (\(error.reason))")
        }
        return APIError(.internalServerError, "cannot_write", "the inbox cannot take the upload: \(error.reason)")
    }
}

/// The upload's bytes on their way to disk: removed unless `placed()` is called.
private struct PartFile: ~Copyable {
    let path: String
    private let fd: Int32
    private(set) var bytes = 0
    private var writeback = EarlyWriteback()
    private var isPlaced = false
    private var isClosed = false

    init(path: String) throws(APIError) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        self.path = path
        guard fd >= 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot create \(path)")) }
    }

    mutating func append(_ data: UnsafeRawBufferPointer) throws(APIError) {
        guard WholeFile.writeAll(data, to: fd) == nil else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot write \(path)")) }
        bytes += data.count
        writeback.wrote(to: fd, end: bytes)
    }

    /// Labelled with `job` where the filesystem allows (returns whether it did), synced and
    /// closed: ready to be renamed into the inbox.
    mutating func finish(labelling job: JobID) throws(APIError) -> Bool {
        let labelled = try InboxWriter.label(fd, path: path, job: job, bytes: bytes)
        guard fsync(fd) == 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot sync \(path)")) }
        close(fd)
        isClosed = true
        return labelled
    }

    mutating func placed() { isPlaced = true }

    /// Closes and removes the partial file, unless it was placed in the inbox.
    mutating func discard() {
        if !isClosed { close(fd) }
        isClosed = true
        if !isPlaced { unlink(path) }
    }
}
