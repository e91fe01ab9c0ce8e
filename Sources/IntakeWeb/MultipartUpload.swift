import Hummingbird
import IntakeCodecs
import IntakeCore
import IntakePipeline

#if canImport(Glibc)
import Glibc
#endif

/// A `multipart/form-data` upload to `/v1/inbox/ENV[/METER]`: every file part is one image and
/// the request is one job of them all (a `Submission`), as a browser form or the cloud API's
/// multi-file upload sends them. Each file is streamed to the upload folder, judged by its first
/// bytes, and hashed once whole (read back while still in the page cache); the other fields are the job's metadata.
/// Nothing is placed until the whole body has arrived and every file is good; a refusal leaves
/// nothing behind.
struct MultipartUpload {
    /// The limits of `JobDescription`, which `POST /v1/jobs` holds its metadata to as well.
    static let maximumFields = JobDescription.maximumFields
    static let maximumFieldBytes = JobDescription.maximumFieldBytes
    /// What a form may hold besides its files' bytes: every field at its largest, and the part
    /// headers and boundaries of a hundred files and fifty fields, generously.
    static let formOverhead = maximumFields * maximumFieldBytes + (1 << 20)

    let writer: InboxWriter
    let submissions: Submissions
    let maxImages: Int

    /// One file received into the upload folder.
    private struct Received {
        let job: JobID
        let path: String
        let name: String
        var bytes = 0
        var sha256 = ""
        /// Whether the job id is on the file already (see `UploadLabel`).
        var labelled = false
    }

    /// `[web] max_bytes` bounds the form's files together, as it bounds a single upload: the
    /// form is one upload of several files. `declaredLength` (Content-Length) over that and the
    /// form's overhead is refused before anything is written.
    func receive<Body: AsyncSequence>(
        _ body: Body, declaredLength: Int?, reader: MultipartReader, environment: String, meter: String?, rules: InboxRules
    ) async throws(APIError) -> (submission: Submission, receipts: [UploadReceipt]) where Body.Element == ByteBuffer {
        try rules.checkEnvironment(environment)
        if let meter { try rules.checkMeter(meter) }
        let maximumBody = writer.maxBytes.addingReportingOverflow(Self.formOverhead)
        let bodyLimit = maximumBody.overflow ? Int.max : maximumBody.partialValue
        if let declaredLength, declaredLength > bodyLimit { throw InboxWriter.tooLarge(writer.maxBytes) }
        try writer.admit()
        defer { writer.release() }
        do { try DurableFile.makeFolders(writer.uploadFolder, stage: .claim) } catch { throw InboxWriter.refusal(error) }

        var reader = reader
        var files: [Received] = []
        var metadata: [String: String] = [:]
        var field: (name: String, value: [UInt8])?
        var file: (fd: Int32, head: [UInt8], writeback: EarlyWriteback)?
        var filesBytes = 0
        // Whatever was received goes unless every file is placed.
        var placed = false
        defer {
            if let file { close(file.fd) }
            if !placed { for received in files { unlink(received.path) } }
        }

        func handle(_ event: MultipartReader.Event) throws(APIError) {
            switch event {
            case .part(_, let filename?):
                guard files.count < maxImages else { throw APIError.badRequest("too_many_files", "a request holds at most \(maxImages) files") }
                let checked = try UploadTarget.checkedName(filename, ignoredSuffixes: rules.ignoredSuffixes, askedAs: UploadTarget.askedInForm)
                // By bytes, as the file system tells names apart: Swift's == takes "é" composed and
                // decomposed for one name, which a folder holds as two.
                guard !files.contains(where: { $0.name.utf8.elementsEqual(checked.utf8) }) else {
                    throw APIError.badRequest("duplicate_name", "two files are named \(checked), which one folder cannot hold")
                }
                let job = JobID.make()
                let path = "\(writer.uploadFolder)/\(job).part"
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot create \(path)")) }
                files.append(Received(job: job, path: path, name: checked))
                file = (fd, [], EarlyWriteback())
            case .part(let name, nil):
                guard metadata.count < Self.maximumFields else { throw APIError.badRequest("too_many_fields", "a request holds at most \(Self.maximumFields) fields") }
                field = (name, [])
            case .content(let bytes):
                if field != nil {
                    field!.value += bytes
                    guard field!.value.count <= Self.maximumFieldBytes else {
                        throw APIError.badRequest("field_too_large", "the field \(field!.name) is over \(Self.maximumFieldBytes / 1024) KB")
                    }
                } else if file != nil {
                    let index = files.count - 1
                    guard filesBytes + bytes.count <= writer.maxBytes else {
                        throw APIError(.contentTooLarge, "too_large", "the form's files together are over the limit of \(writer.maxBytes) bytes ([web] max_bytes)")
                    }
                    if file!.head.count < Sniffer.headerLength {
                        file!.head += bytes.prefix(Sniffer.headerLength - file!.head.count)
                        if file!.head.count == Sniffer.headerLength { try InboxWriter.judge(file!.head) }
                    }
                    guard bytes.withUnsafeBytes({ WholeFile.writeAll($0, to: file!.fd) }) == nil else {
                        throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot write \(files[index].path)"))
                    }
                    files[index].bytes += bytes.count
                    file!.writeback.wrote(to: file!.fd, end: files[index].bytes)
                    filesBytes += bytes.count
                }
            case .partEnd:
                if let ended = field {
                    metadata[ended.name] = String(decoding: ended.value, as: UTF8.self)
                    field = nil
                } else if let ended = file {
                    file = nil
                    let index = files.count - 1
                    defer { close(ended.fd) }
                    guard files[index].bytes > 0 else { throw APIError.badRequest("empty", "the file \(files[index].name) is empty") }
                    if ended.head.count < Sniffer.headerLength { try InboxWriter.judge(ended.head) }
                    files[index].labelled = try InboxWriter.label(ended.fd, path: files[index].path, job: files[index].job, bytes: files[index].bytes)
                    guard fsync(ended.fd) == 0 else { throw InboxWriter.refusal(DurableFile.failure(.claim, "cannot sync \(files[index].path)")) }
                    files[index].sha256 = try FileDigest.sha256(files[index].path, length: files[index].bytes)
                }
            }
        }

        let watch = writer.pace.start()
        var received = 0
        do {
            for try await buffer in body {
                received += buffer.readableBytes
                guard received <= bodyLimit else { throw InboxWriter.tooLarge(writer.maxBytes) }
                try watch.check(received: received)
                let events: [MultipartReader.Event]
                do { events = try buffer.withUnsafeReadableBytes { bytes throws(MultipartReader.Malformed) in try reader.feed(bytes) } } catch {
                    throw APIError.badRequest("bad_multipart", "the multipart body is malformed: \(error)")
                }
                for event in events { try handle(event) }
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "upload_broken", "the upload stopped before its end (\(error)); nothing was kept")
        }
        guard reader.isComplete else { throw APIError.badRequest("bad_multipart", "the multipart body ends before its closing boundary") }
        guard !files.isEmpty else { throw APIError.badRequest("no_files", "the form holds no file") }

        let targets = try files.map { received throws(APIError) in
            // Every part of the destination was checked as the form arrived.
            try UploadTarget(environment: environment, meter: meter, name: received.name, rules: rules.alreadyChecked)
        }
        for target in targets { try writer.checkFree(target) }
        let submission = Submission(
            id: JobID.make().rawValue, env: environment, meter: meter, metadata: metadata.isEmpty ? nil : metadata,
            jobs: files.map(\.job.rawValue), names: files.map(\.name), createdAt: Int64(JobID.nowMilliseconds()))
        // Recorded before the images are placed, so that none is ever a job its submission does not know.
        try submissions.record(submission)
        let receipts: [UploadReceipt]
        do {
            receipts = try writer.placeAll(zip(files, targets).map { received, target in
                InboxWriter.HeldImage(
                    temporary: received.path, receipt: UploadReceipt(job: received.job, target: target, sha256: received.sha256, bytes: received.bytes),
                    labelled: received.labelled)
            })
        } catch {
            // Those taken back are at their temporaries again, which the deferred clean-up removes.
            submissions.settle(submission, after: error)
            throw error.answer(submission: submission.id)
        }
        placed = true
        return (submission, receipts)
    }
}
