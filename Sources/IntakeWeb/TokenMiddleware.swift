import FoundationEssentials
import Hummingbird

/// On any address but loopback, every request but `/healthz` and the page's own files (which
/// hold no data) needs `Authorization: Bearer TOKEN`:
/// a token it does not know is a 401 that does not say what was wrong; a known token is a 403
/// for what it may not do (an environment it may not upload to, reading when it may only upload).
struct TokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let check: TokenCheck
    /// Where each resumable upload goes: its environment is the one the token must have.
    let uploads: ResumableUploads

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The path as the router resolves it: it drops empty segments, so `//v1/inbox/prod`,
        // `/v1/uploads/` and `/v1/uploads/ID/` reach the routes their plain spellings do, and
        // must meet the same checks.
        let path = "/" + request.uri.path.split(separator: "/").joined(separator: "/")
        if path == "/healthz" || (request.method == .get && Page.paths.contains(path)) { return try await next(request, context) }
        // The scheme's name in any case, as HTTP has it (RFC 9110, 11.1).
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "),
            let token = check.token(String(header.dropFirst("Bearer ".count)))
        else {
            var error = APIError(.unauthorized, "unauthorized", "this needs a valid bearer token (intake token add NAME --env ENV)")
            error.headers[.wwwAuthenticate] = "Bearer"
            throw error
        }
        /// `nil`: an upload that goes nowhere yet (its job gives it a destination), which takes the
        /// right to upload somewhere.
        func mayUpload(to environment: String?) throws(APIError) {
            guard let environment else {
                guard !token.environments.isEmpty else { throw APIError(.forbidden, "forbidden", "token \(token.name) may not upload") }
                return
            }
            guard token.environments.contains(environment) else {
                throw APIError(.forbidden, "forbidden", "token \(token.name) may not upload to \(environment)")
            }
        }
        if request.method == .post, path.hasPrefix("/v1/inbox/") {
            try mayUpload(to: path.dropFirst("/v1/inbox/".count).split(separator: "/").first.map(String.init) ?? "")
        } else if path == "/v1/uploads" {
            // Creating an upload names its environment in its metadata; asking what the server speaks needs no more.
            if request.method == .post {
                let metadata = (try? ResumableUploads.metadata(request.headers[.uploadMetadata] ?? "")) ?? [:]
                try mayUpload(to: metadata["env"])
            }
        } else if path.hasPrefix("/v1/uploads/") {
            // Appending to an upload, or asking how far it is, takes the right to upload where it goes
            // (one that does not exist is answered 404 by its route); one that goes nowhere yet, the
            // right to upload somewhere.
            // Asking drops an expired upload: its 410 is said here, for the route would find nothing.
            let known: ResumableUpload?
            do { known = try uploads.state(String(path.dropFirst("/v1/uploads/".count))).upload } catch {
                if error.status == .gone { throw error }
                known = nil
            }
            if let known { try mayUpload(to: known.env) }
        } else if request.method == .post, path == "/v1/jobs" {
            // The destination is in the body: read here (it is small) and handed on whole.
            var request = request
            let body = try await JobDescription.body(of: &request)
            struct Destination: Decodable { let env: String }
            // A body without one is refused by the route, after this says what the token may do.
            try mayUpload(to: (try? JSONDecoder().decode(Destination.self, from: Data(body.readableBytesView)))?.env ?? "")
            return try await next(request, context)
        } else if request.method == .get, path == "/v1/environments" {
            // Any token: the page needs the names to upload with an upload-only token too.
        } else if !token.mayRead {
            throw APIError(.forbidden, "forbidden", "token \(token.name) may upload but not read")
        }
        return try await next(request, context)
    }
}
