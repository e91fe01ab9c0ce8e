public import Hummingbird
import FoundationEssentials
import ServiceLifecycle
public import IntakeConfig
public import IntakeCore
import IntakeStore

#if canImport(Glibc)
import Glibc
#endif

/// The routes of `intake serve`. It never processes an image and never writes the database:
/// uploads go into the inbox like any producer's, and every answer is read from the database
/// intaked writes, read-only.
public enum IntakeAPI {
    /// The router for a state root; what uploads may go where comes from the configuration (see `InboxRules`).
    public static func router(root: StateRoot, configuration: IntakeConfiguration) -> Router<BasicRequestContext> {
        router(root: root, configuration: configuration, events: JobEvents(root: root, idleTimeoutSeconds: configuration.web.idleTimeoutSeconds))
    }

    /// `tokens`, when given, are asked of every request (see `TokenMiddleware`).
    static func router(root: StateRoot, configuration: IntakeConfiguration, events: JobEvents, tokens: TokenCheck? = nil,
                       metrics: ServeMetrics = ServeMetrics()) -> Router<BasicRequestContext>
    {
        let writer = InboxWriter(
            root: root, maxBytes: configuration.web.maxBytes, maxConcurrent: configuration.web.maxConcurrentUploads,
            pace: UploadPace(minimumBytesPerSecond: configuration.web.minUploadBytesPerSecond, idleTimeoutSeconds: configuration.web.idleTimeoutSeconds))
        _ = writer.sweepLeftovers()
        let rules = InboxRules(configuration, root: root)
        let environments = rules.environments
        let uploads = ResumableUploads(writer: writer, rules: rules)
        // HEAD wherever GET is (uptime checkers ask it), answered by the GET route without its body.
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: MetricsMiddleware())
        // Outside the error shaping, so that refusals carry the CORS headers a page needs to read them.
        router.add(middleware: CrossOriginMiddleware(allowed: configuration.web.corsOrigins))
        router.add(middleware: ErrorShapeMiddleware())
        router.add(middleware: OneHostMiddleware())
        if let tokens {
            router.add(middleware: TokenMiddleware(check: tokens, uploads: uploads))
        } else {
            // No token asked for means loopback: only requests addressed to it (see the middleware).
            router.add(middleware: LoopbackHostMiddleware())
        }

        let submissions = Submissions(root: root)
        submissions.sweep(force: true)
        let multipart = MultipartUpload(writer: writer, submissions: submissions, maxImages: Self.maxImagesPerJob)

        addInboxUploads(to: router, writer: writer, multipart: multipart, metrics: metrics, rules: rules)

        addResumableUploads(to: router, uploads, metrics: metrics)

        /// A job as the database, or failing that this server's pending uploads, know it; nil when neither does.
        @Sendable func view(_ id: JobID, _ database: Result<Database, APIError>) throws -> JobView? {
            if case .success(let database) = database, let row = try database.job(id: id.rawValue) {
                writer.claimed(id)
                return try JobView(row, from: database)
            }
            // Uploaded here and not claimed yet: pending, whether or not the database can be read.
            return writer.pendingUpload(id).map(JobView.init(pending:))
        }

        router.get("/v1/jobs/:id") { _, context -> Response in
            let text = context.parameters.get("id") ?? ""
            guard let id = JobID(text) else { throw APIError.notFound("no job \(text)") }
            let database = Result { () throws(APIError) in try openDatabase(root) }
            if let job = try view(id, database) { return try json(job) }
            if let submission = submissions.load(text) {
                if case .success(let database) = database, (try? submissions.isExpired(submission, in: database)) == true {
                    submissions.forget(text)
                    throw APIError.notFound("no job \(text): none of its images is in the database any more")
                }
                let images = try zip(submission.jobs, submission.names).map { job, name in
                    let image = JobID(job) ?? id
                    return try view(image, database) ?? JobView(waiting: image, environment: submission.env, meter: submission.meter, name: name)
                }
                return try json(SubmissionView(submission, images: images))
            }
            // A resumable upload still arriving: its id is the job's to be.
            if let (_, upload) = try? uploads.state(text), !upload.placed { return try json(JobView(receiving: id, upload)) }
            if case .failure(let error) = database { throw error }
            throw APIError.notFound("no job \(text)")
        }

        // A job of several images, uploaded first (`/v1/uploads` without an environment), given
        // their destination together.
        router.post("/v1/jobs") { request, _ -> Response in
            struct Submitted: Decodable {
                let uploads: [String]
                let env: String
                let meter: String?
                let metadata: [String: String]?
            }
            var request = request
            let body = try await JobDescription.body(of: &request)
            let submitted: Submitted
            do { submitted = try JSONDecoder().decode(Submitted.self, from: Data(body.readableBytesView)) } catch {
                throw APIError.badRequest("bad_json", "the body is {\"uploads\": [ID…], \"env\": ENV, \"meter\"?: METER, \"metadata\"?: {…strings}}: \(error)")
            }
            if let metadata = submitted.metadata { try JobDescription.check(metadata) }
            guard (1...Self.maxImagesPerJob).contains(submitted.uploads.count) else {
                throw APIError.badRequest("bad_uploads", "a job has 1 to \(Self.maxImagesPerJob) uploads")
            }
            let job = JobID.make().rawValue
            var recorded: Submission?
            let receipts: [UploadReceipt]
            do {
                // Recorded once every upload is checked and before any is placed, so that none is
                // ever a job its submission does not know.
                receipts = try uploads.placeHeld(submitted.uploads, environment: submitted.env, meter: submitted.meter) { names throws(APIError) in
                    let submission = Submission(
                        id: job, env: submitted.env, meter: submitted.meter, metadata: submitted.metadata, jobs: submitted.uploads,
                        names: names, createdAt: Int64(JobID.nowMilliseconds()))
                    try submissions.record(submission)
                    recorded = submission
                }
            } catch let failure as InboxWriter.PlacementFailure {
                if let recorded { submissions.settle(recorded, after: failure) }
                throw failure.answer(submission: job)
            } catch {
                if recorded != nil { submissions.forget(job) }
                throw error
            }
            for receipt in receipts { metrics.tookUpload("resumable", bytes: receipt.bytes) }
            struct Accepted: Encodable {
                let jobId, status, env: String
                let meter: String?
                let imageCount: Int
                let images: [String]
            }
            var response = try json(
                Accepted(jobId: job, status: "PENDING", env: submitted.env, meter: submitted.meter, imageCount: receipts.count,
                         images: receipts.map(\.job.rawValue)),
                status: .accepted)
            response.headers[.location] = "/v1/jobs/\(job)"
            return response
        }

        router.get("/v1/jobs") { request, _ -> Response in
            let query = try JobListQuery(request.uri.queryParameters, environments: environments)
            let database = try openDatabase(root)
            let rows = try database.jobs(
                environment: query.environment, status: query.status, since: query.since, before: query.before, limit: query.limit)
            let jobs = try rows.map { row in
                try JobView(row, from: database)
            }
            struct Page: Encodable {
                let jobs: [JobView]
                /// The next page's address, while this one is full.
                let next: String?
            }
            return try json(Page(jobs: jobs, next: rows.count == query.limit ? query.next(after: rows.last!.id) : nil))
        }

        router.get("/v1/files/:job/:name") { _, context -> Response in
            let job = context.parameters.get("job") ?? "", name = context.parameters.get("name") ?? ""
            guard let id = JobID(job) else { throw APIError.notFound("no job \(job)") }
            let database = try openDatabase(root)
            guard try database.job(id: id.rawValue) != nil else { throw APIError.notFound("no job \(job)") }
            return try JobFiles.response(job: id.rawValue, name: name, root: root, outputs: try database.outputs(jobID: id.rawValue))
        }

        router.get("/v1/events") { _, _ -> Response in
            let body = ResponseBody { writer in
                // Listening begins here, not in the handler: a client gone before the response's
                // head is written never gets this far, and a listener made for it would be kept
                // and fed for good. Ended however the body ends.
                let (stream, end) = events.listen()
                defer { end() }
                // A comment first, so that the client knows it is listening (JobEvents sends one
                // more after each quiet spell).
                try await writer.write(ByteBuffer(string: ": listening for job outcomes\n\n"))
                // Until the client goes or the server is asked to stop: an open stream must not
                // hold a graceful shutdown up.
                try await withGracefulShutdownHandler {
                    for await event in stream {
                        try await writer.write(ByteBuffer(string: event))
                    }
                } onGracefulShutdown: {
                    end()
                }
                try await writer.finish(nil)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
        }

        router.get("/v1/summary") { request, _ -> Response in
            let environment = request.uri.queryParameters.get("env")
            if let environment, !environments.contains(environment) { throw APIError.notFound("no environment \(environment)") }
            let counts = try openDatabase(root).statusCounts(environment: environment)
            struct Summary: Encodable { let counts: [String: Int] }
            return try json(Summary(counts: Dictionary(uniqueKeysWithValues: counts.compactMap { status, count in
                JobStatus(rawValue: status).map { (JobView.apiStatus($0), count) }
            })))
        }

        // The page is served without a token: where tokens are asked for, it holds no names, and
        // asks this route for them with the token it is given.
        Page.add(to: router, environments: tokens == nil ? environments : [])
        router.get("/v1/environments") { _, _ -> Response in
            struct Environments: Encodable { let environments: [String] }
            return try json(Environments(environments: environments))
        }

        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.text(daemonMetricsAt: root.metrics))))
        }

        // Asked without a token: on an address other than loopback it says what failed, not
        // why, for the why names the server's own paths.
        let saysWhy = tokens == nil
        router.get("/healthz") { _, _ -> Response in
            struct Health: Encodable { let database: String, inbox: String }
            var problems: [String] = []
            var database = "readable"
            do { _ = try openDatabase(root).job(id: "0") } catch {
                database = saysWhy ? "\(error)" : "cannot be read"
                problems.append("database")
            }
            var inbox = "writable"
            if access(root.inbox, W_OK) != 0 {
                inbox = saysWhy ? "not writable: \(ErrnoText.current)" : "not writable"
                problems.append("inbox")
            }
            return try json(Health(database: database, inbox: inbox), status: problems.isEmpty ? .ok : .serviceUnavailable)
        }
        return router
    }

    /// `POST /v1/inbox/ENV[/METER]`: one image as the body (`?name=FILE`), or several as a form.
    private static func addInboxUploads(
        to router: Router<BasicRequestContext>, writer: InboxWriter, multipart: MultipartUpload, metrics: ServeMetrics,
        rules: InboxRules
    ) {
        /// Several files in one `multipart/form-data` body: one job of them all.
        @Sendable func uploadForm(_ request: Request, _ context: BasicRequestContext, _ reader: MultipartReader) async throws -> Response {
            let environment = URLQuery.decoded(context.parameters.get("env") ?? ""), meter = context.parameters.get("meter").map(URLQuery.decoded)
            let declared = request.headers[.contentLength].flatMap { Int($0) }
            let (submission, receipts) = try await multipart.receive(
                request.body, declaredLength: declared, reader: reader, environment: environment, meter: meter, rules: rules)
            for receipt in receipts { metrics.tookUpload("form", bytes: receipt.bytes) }
            struct Image: Encodable {
                let jobId, name, sha256: String
                let bytes: Int
            }
            struct Accepted: Encodable {
                let jobId, status, env: String
                let meter: String?
                let imageCount: Int
                let images: [Image]
            }
            var response = try json(
                Accepted(jobId: submission.id, status: "PENDING", env: environment, meter: meter, imageCount: receipts.count,
                         images: receipts.map { Image(jobId: $0.job.rawValue, name: $0.target.name, sha256: $0.sha256, bytes: $0.bytes) }),
                status: .accepted)
            response.headers[.location] = "/v1/jobs/\(submission.id)"
            return response
        }

        @Sendable func upload(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
            if let contentType = request.headers[.contentType], contentType.lowercased().hasPrefix("multipart/") {
                guard let reader = MultipartReader(contentType: contentType) else {
                    throw APIError.badRequest("bad_multipart", "a multipart body is multipart/form-data with a boundary of 1 to 70 characters")
                }
                return try await uploadForm(request, context, reader)
            }
            let target = try UploadTarget(
                environment: URLQuery.decoded(context.parameters.get("env") ?? ""), meter: context.parameters.get("meter").map(URLQuery.decoded),
                name: try URLQuery.name(inQuery: request.uri.query), rules: rules)
            let declared = request.headers[.contentLength].flatMap { Int($0) }
            let receipt = try await writer.receive(request.body, declaredLength: declared, into: target)
            metrics.tookUpload("body", bytes: receipt.bytes)
            struct Accepted: Encodable {
                let jobId, status, env, name, sha256: String
                let meter: String?
                let bytes: Int
            }
            var response = try json(
                Accepted(jobId: receipt.job.rawValue, status: "PENDING", env: target.environment, name: target.name, sha256: receipt.sha256,
                         meter: target.meter, bytes: receipt.bytes),
                status: .accepted)
            response.headers[.location] = "/v1/jobs/\(receipt.job)"
            return response
        }
        router.post("/v1/inbox/:env", use: upload)
        router.post("/v1/inbox/:env/:meter", use: upload)
    }

    /// tus 1.0 (core and creation) on `/v1/uploads`: see `ResumableUploads`.
    private static func addResumableUploads(to router: Router<BasicRequestContext>, _ uploads: ResumableUploads, metrics: ServeMetrics) {
        @Sendable func tusHeaders(_ upload: ResumableUpload? = nil) -> HTTPFields {
            var headers: HTTPFields = [.tusResumable: ResumableUploads.version, .cacheControl: "no-store"]
            if let upload {
                headers[.uploadOffset] = String(upload.offset)
                headers[.uploadLength] = String(upload.length)
            }
            return headers
        }
        /// A client speaking another version of tus, or not saying which (tus asks every request but
        /// OPTIONS to), is told which one this is (412), as tusd does.
        @Sendable func checkVersion(_ request: Request) throws(APIError) {
            let version = request.headers[.tusResumable]
            guard version != ResumableUploads.version else { return }
            var error = APIError(
                .preconditionFailed, "tus_version",
                version.map { "this server speaks tus \(ResumableUploads.version), not \($0)" }
                    ?? "a tus request says which version it speaks: Tus-Resumable: \(ResumableUploads.version)")
            error.headers[.tusVersion] = ResumableUploads.version
            throw error
        }
        /// Every answer of the tus routes names the version, refusals too (tus asks it of all but OPTIONS).
        @Sendable func speakingTus(_ respond: () async throws -> Response) async throws -> Response {
            do {
                return try await respond()
            } catch var error as APIError {
                error.headers[.tusResumable] = ResumableUploads.version
                throw error
            }
        }
        router.on("/v1/uploads", method: .options) { _, _ -> Response in
            var headers = tusHeaders()
            headers[.tusVersion] = ResumableUploads.version
            headers[.tusExtension] = "creation"
            headers[.tusMaxSize] = String(uploads.writer.maxBytes)
            return Response(status: .noContent, headers: headers)
        }
        router.post("/v1/uploads") { request, _ -> Response in try await speakingTus {
            try checkVersion(request)
            let (id, upload) = try uploads.create(
                length: request.headers[.uploadLength], metadata: request.headers[.uploadMetadata])
            struct Created: Encodable {
                let uploadId, uploadUrl, jobUrl: String
                let offset, length: Int
            }
            var response = try json(
                Created(uploadId: id.rawValue, uploadUrl: "/v1/uploads/\(id)", jobUrl: "/v1/jobs/\(id)", offset: upload.offset, length: upload.length),
                status: .created)
            response.headers.append(contentsOf: tusHeaders(upload))
            response.headers[.location] = "/v1/uploads/\(id)"
            return response
        } }
        router.head("/v1/uploads/:id") { request, context -> Response in try await speakingTus {
            try checkVersion(request)
            let (_, upload) = try uploads.state(context.parameters.get("id") ?? "")
            return Response(status: .ok, headers: tusHeaders(upload))
        } }
        router.patch("/v1/uploads/:id") { request, context -> Response in try await speakingTus {
            try checkVersion(request)
            let id = context.parameters.get("id") ?? ""
            let offset = request.headers[.uploadOffset]
            let upload = try await uploads.append(id, offset: offset, contentType: request.headers[.contentType], body: request.body)
            // Counted once: by the request that brought its last byte (and placed it).
            if upload.placed, let sent = offset.flatMap({ Int($0) }), sent < upload.length { metrics.tookUpload("resumable", bytes: upload.length) }
            var headers = tusHeaders(upload)
            // Once whole, the file is in the inbox and the job is known by the upload's id.
            if upload.placed { headers[.location] = "/v1/jobs/\(id)" }
            return Response(status: .noContent, headers: headers)
        } }
    }

    /// Images in one job of several.
    static let maxImagesPerJob = 100

    private static func openDatabase(_ root: StateRoot) throws(APIError) -> Database {
        do {
            // A server that stopped answering fails the request (503) after a lease, never holds it.
            return try root.openDatabase(readOnly: true)
        } catch {
            throw .databaseUnavailable(error)
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
