import FoundationEssentials
import Hummingbird
import IntakeCodecs
import IntakeCore
import IntakePipeline
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What is known of one resumable upload, kept beside its bytes as `<id>.tus` in the upload
/// folder: where it goes, how long it is, and how much of it is safely on disk.
struct ResumableUpload: Codable, Sendable, Equatable {
    var length: Int
    /// Bytes received and synced: the part file may be longer after a crash, never shorter.
    var offset: Int
    /// Where it goes; nil for an upload made first and given a destination later, with others,
    /// by `POST /v1/jobs` (it is then held when whole).
    var env: String?
    var meter: String?
    var name: String
    /// Whether the whole file has been moved into the inbox (the job then exists or will soon).
    var placed = false
}

/// Resumable uploads, the tus 1.0 core protocol with the creation extension: a client creates
/// an upload with its length and destination (`POST /v1/uploads`), appends at the offset the
/// server has (`PATCH`, 409 at any other), and after a broken connection asks where to go on
/// (`HEAD`). The bytes wait in the inbox's hidden upload folder, on the inbox's filesystem, with
/// their state beside them, so an upload survives a restart of `intake serve`; once whole they
/// are placed in the inbox exactly as a one-request upload is, under the upload's id as job id.
final class ResumableUploads: Sendable {
    static let version = "1.0.0"
    /// An upload not finished within this many seconds is dropped: the daemon takes an offered
    /// job id only within a day of its making, and the id is the upload's.
    static let lifetimeSeconds: UInt64 = 12 * 3600

    let writer: InboxWriter
    let rules: InboxRules
    /// Uploads being appended to now: one writer per upload.
    private let writing = Mutex<Set<String>>([])
    /// When expired uploads were last swept (Unix ms): each creation sweeps at most every
    /// `sweepIntervalSeconds`, so that uploads begun and abandoned do not hold the disk until
    /// the next restart.
    private let lastSweep = Mutex<UInt64>(0)
    static let sweepIntervalSeconds: UInt64 = 600

    init(writer: InboxWriter, rules: InboxRules) {
        self.writer = writer
        self.rules = rules
    }

    private func statePath(_ id: JobID) -> String { "\(writer.uploadFolder)/\(id).tus" }
    private func partPath(_ id: JobID) -> String { "\(writer.uploadFolder)/\(id).tus.part" }

    /// A new upload of `length` bytes to where `metadata` (tus `Upload-Metadata`: `env`,
    /// `filename` or `name`, `meter`) says; its destination is checked now, not at the end.
    func create(length: String?, metadata: String?) throws(APIError) -> (id: JobID, upload: ResumableUpload) {
        guard let length else { throw APIError.badRequest("length_missing", "give the upload's size in bytes in Upload-Length") }
        guard let bytes = Int(length), bytes >= 0 else {
            throw APIError.badRequest("bad_length", "Upload-Length is the upload's size, a whole number of bytes; not \(APIError.quoted(length))")
        }
        guard bytes > 0 else { throw APIError.badRequest("empty", "an upload of 0 bytes is no image") }
        sweepExpired()
        guard bytes <= writer.maxBytes else { throw InboxWriter.tooLarge(writer.maxBytes) }
        let fields = try Self.metadata(metadata ?? "")
        let name = fields["filename"] ?? fields["name"]
        let upload: ResumableUpload
        if let environment = fields["env"] {
            let target = try UploadTarget(environment: environment, meter: fields["meter"], name: name, rules: rules, askedAs: UploadTarget.askedInMetadata)
            upload = ResumableUpload(length: bytes, offset: 0, env: target.environment, meter: target.meter, name: target.name)
        } else {
            if let meter = fields["meter"] { try rules.checkMeter(meter) }
            upload = ResumableUpload(
                length: bytes, offset: 0, env: nil, meter: fields["meter"], name: try UploadTarget.checkedName(name, ignoredSuffixes: rules.ignoredSuffixes, askedAs: UploadTarget.askedInMetadata))
        }
        do { try DurableFile.makeFolders(writer.uploadFolder, stage: .claim) } catch { throw InboxWriter.refusal(error) }
        let id = JobID.make()
        let fd = open(partPath(id), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot create \(partPath(id))")) }
        close(fd)
        do { try save(upload, id) } catch {
            unlink(partPath(id))
            throw error
        }
        return (id, upload)
    }

    /// Removes the uploads past their lifetime, unless that was done in the last
    /// `sweepIntervalSeconds`.
    private func sweepExpired() {
        let now = JobID.nowMilliseconds()
        let due = lastSweep.withLock { last in
            guard now >= last + Self.sweepIntervalSeconds * 1000 else { return false }
            last = now
            return true
        }
        // Never one a request is writing: started within its lifetime, it may finish.
        if due {
            _ = UploadFolder.sweep(writer.uploadFolder, olderThanSeconds: Self.lifetimeSeconds, resumableOnly: true) { path, job in
                writing.withLock { $0.contains(job) ? false : unlink(path) == 0 }
            }
        }
    }

    /// The upload's state; 404 for one never made here, finished long ago, or expired.
    func state(_ text: String) throws(APIError) -> (id: JobID, upload: ResumableUpload) {
        guard let id = JobID(text), let bytes = try? WholeFile.read(statePath(id)),
              var upload = try? JSONDecoder().decode(ResumableUpload.self, from: Data(bytes))
        else { throw APIError.notFound("no upload \(text)") }
        // Placed, with its new state unsaved (the disk filled just after the rename into the
        // inbox): the part file leaves the upload folder only by being placed, or removed with
        // its state. Without this, HEAD would say a byte is missing and its PATCH find no file.
        if !upload.placed, upload.offset >= upload.length - 1, access(partPath(id), F_OK) != 0 {
            (upload.placed, upload.offset) = (true, upload.length)
        }
        if !upload.placed, let madeAt = JobID.milliseconds(of: id), madeAt + Self.lifetimeSeconds * 1000 < JobID.nowMilliseconds() {
            // Not from under a request writing it (as the sweep does not): that one finds it gone when it next looks.
            if !writing.withLock({ $0.contains(id.rawValue) }) { remove(id) }
            throw APIError(.gone, "expired", "upload \(text) was not finished within \(Self.lifetimeSeconds / 3600) hours and was dropped; start again")
        }
        return (id, upload)
    }

    /// Appends `body` at `offset`, which must be what the server has. What arrives is kept even
    /// when the connection breaks (that is the point), and synced before the offset moves. The
    /// last byte places the file in the inbox.
    func append<Body: AsyncSequence>(_ text: String, offset: String?, contentType: String?, body: Body) async throws(APIError) -> ResumableUpload
    where Body.Element == ByteBuffer {
        guard contentType?.lowercased().hasPrefix("application/offset+octet-stream") == true else {
            throw APIError(.unsupportedMediaType, "wrong_content_type", "a PATCH carries Content-Type: application/offset+octet-stream")
        }
        guard let offset else { throw APIError.badRequest("offset_missing", "give the offset the bytes start at in Upload-Offset (HEAD says it)") }
        guard let at = Int(offset), at >= 0 else {
            throw APIError.badRequest("bad_offset", "Upload-Offset is a whole number of bytes (HEAD says it); not \(APIError.quoted(offset))")
        }
        var (id, upload) = try state(text)
        let taken = writing.withLock { $0.insert(id.rawValue).inserted }
        guard taken else {
            throw APIError(HTTPResponse.Status(code: 423, reasonPhrase: "Locked"), "upload_busy", "upload \(id) is being written by another request")
        }
        defer { _ = writing.withLock { $0.remove(id.rawValue) } }
        // Read again under the lock: another request may have moved it on meanwhile.
        (id, upload) = try state(text)
        guard at == upload.offset else {
            var error = APIError(.conflict, "wrong_offset", "upload \(id) has \(upload.offset) bytes; send from there (you sent from \(at))")
            error.headers[.uploadOffset] = String(upload.offset)
            throw error
        }
        if upload.offset < upload.length {
            try writer.admit()
            defer { writer.release() }
            upload.offset = try await receive(body, into: id, upload)
        } else {
            // Whole already: a byte more is past its length, refused as it is with the last ones.
            do {
                for try await buffer in body where buffer.readableBytes > 0 {
                    throw APIError.badRequest("beyond_length", "upload \(id) is whole, all \(upload.length) bytes; nothing more can be appended")
                }
            } catch let error as APIError {
                throw error
            } catch {
                // A body cut short adds nothing to an upload that is whole.
            }
        }
        // Whole: placed now when it knows where it goes, else held for `POST /v1/jobs`.
        if upload.offset == upload.length && !upload.placed, let environment = upload.env {
            do throws(APIError) {
                upload = try place(id, upload, environment: environment, meter: upload.meter).upload
            } catch {
                holdBackLastByte(id, upload)
                throw error
            }
        }
        return upload
    }

    /// Moves a whole upload into the inbox; the caller holds its writer's place.
    private func place(_ id: JobID, _ upload: ResumableUpload, environment: String, meter: String?) throws(APIError)
        -> (upload: ResumableUpload, receipt: UploadReceipt)
    {
        let target = try UploadTarget(environment: environment, meter: meter, name: upload.name, rules: rules.alreadyChecked)
        let receipt = try writer.place(partPath(id), as: UploadReceipt(job: id, target: target, sha256: try FileDigest.sha256(partPath(id), length: upload.length), bytes: upload.length))
        return (markPlaced(id, upload, environment: environment, meter: meter), receipt)
    }

    /// Saves the state of an upload now in the inbox. Its job is under way: a state that cannot
    /// be saved now does not make that a refusal (`state` reads a placed upload from the missing
    /// part file).
    private func markPlaced(_ id: JobID, _ upload: ResumableUpload, environment: String, meter: String?) -> ResumableUpload {
        var placed = upload
        (placed.env, placed.meter, placed.placed) = (environment, meter, true)
        try? save(placed, id)
        return placed
    }

    /// After a whole upload could not be placed (a file of its name waiting in the inbox, a full
    /// disk): its last byte is counted as not received. A tus client takes an upload whose offset
    /// is its length for finished, so HEAD must not say so of one that is in no inbox; sending that
    /// byte again (its PATCH truncates the file back to the offset) tries the placing again.
    private func holdBackLastByte(_ id: JobID, _ upload: ResumableUpload) {
        guard access(partPath(id), F_OK) == 0 else { return }  // placed after all, its answer lost
        var held = upload
        held.offset = upload.length - 1
        try? save(held, id)
    }

    /// Places uploads that were made without a destination, each whole and not yet placed, into
    /// `environment[/meter]`: the images of one job (`POST /v1/jobs`). Everything is checked
    /// before the first is placed, and `beforePlacing` is told the uploads' file names between
    /// the two (to record the job that groups them); the receipts come back in the order given.
    /// Throws an `APIError`, or an `InboxWriter.PlacementFailure` once placing has begun.
    func placeHeld(_ texts: [String], environment: String, meter: String?,
                   beforePlacing: (_ names: [String]) throws(APIError) -> Void) throws -> [UploadReceipt] {
        try rules.checkEnvironment(environment)
        if let meter { try rules.checkMeter(meter) }
        guard Set(texts).count == texts.count else { throw APIError.badRequest("duplicate_upload", "an upload is named twice") }
        let taken = writing.withLock { writing -> Bool in
            guard writing.isDisjoint(with: texts) else { return false }
            writing.formUnion(texts)
            return true
        }
        guard taken else {
            throw APIError(HTTPResponse.Status(code: 423, reasonPhrase: "Locked"), "upload_busy", "one of the uploads is being written by another request")
        }
        defer { writing.withLock { $0.subtract(texts) } }
        // Placing hashes every file (up to 100 of `max_bytes` each): counted as an upload being
        // received, so that a few such requests cannot take every thread from the other routes.
        try writer.admit()
        defer { writer.release() }
        var held: [(id: JobID, upload: ResumableUpload)] = []
        for text in texts {
            let (id, upload) = try state(text)
            guard !upload.placed else {
                throw APIError(.conflict, "upload_placed", "upload \(text) is placed already: it is job \(text) (GET /v1/jobs/\(text))")
            }
            guard upload.env == nil else {
                throw APIError(.conflict, "upload_placed", "upload \(text) was made with its own destination: it becomes a job of its own when whole")
            }
            guard upload.offset == upload.length else {
                throw APIError(.conflict, "upload_incomplete", "upload \(text) has \(upload.offset) of its \(upload.length) bytes; finish it first")
            }
            held.append((id, upload))
        }
        guard Set(held.map { Array($0.upload.name.utf8) }).count == held.count else {  // by bytes, as in a form
            throw APIError.badRequest("duplicate_name", "two of the uploads have the same file name, which one folder cannot hold")
        }
        for (_, upload) in held {
            try writer.checkFree(UploadTarget(environment: environment, meter: meter, name: upload.name, rules: rules.alreadyChecked))
        }
        let images = try held.map { id, upload throws(APIError) in
            InboxWriter.HeldImage(temporary: partPath(id), receipt: UploadReceipt(
                job: id, target: try UploadTarget(environment: environment, meter: meter, name: upload.name, rules: rules.alreadyChecked),
                sha256: try FileDigest.sha256(partPath(id), length: upload.length), bytes: upload.length))
        }
        try beforePlacing(held.map(\.upload.name))
        // Those taken back after a failure wait as they were, for the job to be sent again.
        func placed(_ receipts: [UploadReceipt]) {
            for (id, upload) in held where receipts.contains(where: { $0.job == id }) {
                _ = markPlaced(id, upload, environment: environment, meter: meter)
            }
        }
        do {
            let receipts = try writer.placeAll(images)
            placed(receipts)
            return receipts
        } catch {
            placed(error.claimed)
            throw error
        }
    }

    /// Writes the body at the upload's offset and returns the new, synced offset.
    private func receive<Body: AsyncSequence>(_ body: Body, into id: JobID, _ upload: ResumableUpload) async throws(APIError) -> Int
    where Body.Element == ByteBuffer {
        let path = partPath(id)
        // Read and write: its first bytes are read back to judge them.
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot open \(path)")) }
        defer { close(fd) }
        // Bytes past the recorded offset were never confirmed (a crash before the state was saved).
        guard ftruncate(fd, off_t(upload.offset)) == 0, lseek(fd, off_t(upload.offset), SEEK_SET) >= 0 else {
            throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot rewind \(path)"))
        }
        var offset = upload.offset
        var writeback = EarlyWriteback(from: upload.offset)
        var failure: APIError?
        let watch = writer.pace.start()
        do {
            for try await buffer in body {
                do throws(APIError) { try watch.check(received: offset - upload.offset + buffer.readableBytes) } catch {
                    // Too slow for this request; what arrived stays, for the client to go on from.
                    failure = APIError(.requestTimeout, error.code, error.message + "; \(offset) bytes are kept: ask HEAD and go on")
                    break
                }
                guard offset + buffer.readableBytes <= upload.length else {
                    failure = APIError.badRequest("beyond_length", "the bytes go past the upload's length of \(upload.length); nothing of this request was kept")
                    offset = upload.offset
                    break
                }
                guard buffer.withUnsafeReadableBytes({ WholeFile.writeAll($0, to: fd) }) == nil else {
                    failure = InboxWriter.refusal(DurableFile.failure(.claim, "cannot write \(path)"))
                    break
                }
                offset += buffer.readableBytes
                writeback.wrote(to: fd, end: offset)
            }
        } catch {
            // The connection broke: what arrived stays, for the client to resume after.
            failure = APIError(.badRequest, "upload_broken", "the request stopped before its end (\(error)); \(offset) bytes are kept: ask HEAD and go on")
        }
        guard fsync(fd) == 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot sync \(path)")) }
        // Judged by its first bytes as soon as there are enough: a file intake cannot take goes now.
        if upload.offset < Sniffer.headerLength, offset >= min(Sniffer.headerLength, upload.length) {
            var head = [UInt8](repeating: 0, count: min(Sniffer.headerLength, offset))
            let read = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            do throws(APIError) {
                guard read == head.count else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot read \(path)")) }
                try InboxWriter.judge(head)
            } catch {
                remove(id)
                throw error
            }
        }
        var saved = upload
        // A whole upload that is placed at once is recorded one byte short until it is placed: a
        // HEAD meanwhile (placing hashes the whole file), or after a crash before the placing,
        // must not tell the client it is done (see `holdBackLastByte`).
        saved.offset = offset == upload.length && upload.env != nil && !upload.placed ? offset - 1 : offset
        try save(saved, id)
        if let failure { throw failure }
        return offset
    }

    private func save(_ upload: ResumableUpload, _ id: JobID) throws(APIError) {
        do {
            let encoded = try JSONEncoder().encode(upload)
            try WholeFile.write(Array(encoded), to: statePath(id), through: statePath(id) + ".tmp", sync: true)
        } catch let error as WholeFile.Failure {
            throw InboxWriter.refusal(DurableFile.failure(.claim, error))
        } catch {
            throw APIError(.internalServerError, "cannot_write", "the upload's state cannot be saved: \(error)")
        }
    }

    /// The state first: a state left without its part file is read as placed (see `state`).
    private func remove(_ id: JobID) {
        unlink(statePath(id))
        unlink(partPath(id))
    }

    /// tus `Upload-Metadata`: comma-separated `key base64value` pairs (a key alone has no value).
    static func metadata(_ header: String) throws(APIError) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in header.split(separator: ",") {
            let parts = pair.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard let key = parts.first else { continue }
            guard parts.count == 2 else {
                fields[String(key)] = ""
                continue
            }
            guard let data = Data(base64Encoded: String(parts[1])) else {
                throw APIError.badRequest("bad_metadata", "Upload-Metadata's value for \(key) is not base64")
            }
            // Not repaired: two names with different stray bytes would become one.
            guard let text = String(validating: data, as: UTF8.self) else {
                throw APIError.badRequest("bad_metadata", "Upload-Metadata's value for \(key) is not UTF-8 text")
            }
            fields[String(key)] = text
        }
        return fields
    }
}

/// The tus protocol's headers.
extension HTTPFields.Element.Name {
    static let tusResumable = Self("Tus-Resumable")!
    static let tusVersion = Self("Tus-Version")!
    static let tusExtension = Self("Tus-Extension")!
    static let tusMaxSize = Self("Tus-Max-Size")!
    static let uploadOffset = Self("Upload-Offset")!
    static let uploadLength = Self("Upload-Length")!
    static let uploadMetadata = Self("Upload-Metadata")!
}

/// The SHA-256 of a file written in pieces (a resumable upload over several requests, or a part
/// of a multipart body), read back once it is whole.
enum FileDigest {
    static func sha256(_ path: String, length: Int) throws(APIError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot open \(path)")) }
        defer { close(fd) }
        var stream = SHA256.Stream()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while total < length {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot read \(path)")) }
            buffer.withUnsafeBytes { stream.update(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
            total += count
        }
        return stream.finish()
    }
}
