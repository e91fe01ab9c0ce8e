import Hummingbird

/// On any address but loopback, every request but `/healthz` and the page's own files (which
/// hold no data) needs `Authorization: Bearer TOKEN`:
/// a token it does not know is a 401 that does not say what was wrong; a known token is a 403
/// for what it may not do (an environment it may not upload to, reading when it may only upload).
struct TokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let check: TokenCheck

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/healthz" || (request.method == .get && Page.paths.contains(path)) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            let token = check.token(String(header.dropFirst("Bearer ".count)))
        else {
            var error = APIError(.unauthorized, "unauthorized", "this needs a valid bearer token (intake token add NAME --env ENV)")
            error.headers[.wwwAuthenticate] = "Bearer"
            throw error
        }
        if request.method == .post, path.hasPrefix("/v1/inbox/") {
            let environment = path.dropFirst("/v1/inbox/".count).split(separator: "/").first.map(String.init) ?? ""
            guard token.environments.contains(environment) else {
                throw APIError(.forbidden, "forbidden", "token \(token.name) may not upload to \(environment)")
            }
        } else if !token.mayRead {
            throw APIError(.forbidden, "forbidden", "token \(token.name) may upload but not read")
        }
        return try await next(request, context)
    }
}
