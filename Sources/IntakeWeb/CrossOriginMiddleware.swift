import Hummingbird

/// Which web pages may call the API from a browser. Browsers send `Origin` with every
/// cross-origin request (and with a same-origin POST); curl, `intake submit` and CI scripts send
/// none, and are let through untouched.
///
/// - An `Origin` naming this server itself (its host and port are the request's `Host`) is the
///   page `intake serve` serves: let through.
/// - An `Origin` listed in `[web] cors_origins` (or `"*"` listed) is let through with the CORS
///   headers that let the page read the answer, errors included; its preflight (`OPTIONS` with
///   `Access-Control-Request-Method`) is answered here, before any token is asked for, since
///   browsers send no `Authorization` with a preflight.
/// - Any other `Origin` is refused (403) before the route runs. CORS alone only stops a page from
///   reading an answer: without this, a page on any site a user visits could send a "simple"
///   POST (text/plain, no preflight) to intake on loopback, where no token is needed, and drop a
///   file in the inbox.
struct CrossOriginMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    /// The origins allowed besides this server's own, as configured (`scheme://host[:port]`, or `*`).
    let allowed: [String]

    /// What a cross-origin page may send: the API's methods and the headers tus and tokens use.
    static let methods = "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
    static let requestHeaders = "Authorization, Content-Type, Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata"
    /// What it may read of an answer besides the basic headers.
    static let exposedHeaders = "Location, Retry-After, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Upload-Length, Upload-Offset"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        if Self.isSameOrigin(origin, host: request.head.authority) { return try await next(request, context) }
        guard let answered = allowedOrigin(origin) else {
            throw APIError(
                .forbidden, "origin_refused",
                "pages from \(origin) may not call this intake; list the origin in [web] cors_origins to allow it")
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers = corsHeaders(answered)
            headers[.accessControlAllowMethods] = Self.methods
            headers[.accessControlAllowHeaders] = Self.requestHeaders
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        do {
            var response = try await next(request, context)
            for field in corsHeaders(answered) { response.headers[field.name] = field.value }
            return response
        } catch var error as APIError {
            for field in corsHeaders(answered) { error.headers[field.name] = field.value }
            throw error
        }
    }

    /// The `Access-Control-Allow-Origin` to answer `origin` with, or nil when it is not allowed.
    func allowedOrigin(_ origin: String) -> String? {
        if allowed.contains("*") { return "*" }
        let normalised = origin.lowercased()
        return allowed.contains(normalised) ? normalised : nil
    }

    private func corsHeaders(_ origin: String) -> HTTPFields {
        var headers: HTTPFields = [.accessControlAllowOrigin: origin, .accessControlExposeHeaders: Self.exposedHeaders]
        // The answer depends on the Origin asked with: a cache must not hand it to another page.
        if origin != "*" { headers[.vary] = "Origin" }
        return headers
    }

    /// Whether `origin` (`scheme://host[:port]`) names the server the request was sent to.
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, !host.isEmpty else { return false }
        let lowered = origin.lowercased(), requested = host.lowercased()
        for (scheme, port) in [("http://", ":80"), ("https://", ":443")] where lowered.hasPrefix(scheme) {
            let authority = String(lowered.dropFirst(scheme.count))
            // The default port may be written or left out on either side.
            return authority == requested || authority + port == requested || authority == requested + port
        }
        return false
    }
}
