import Hummingbird

/// On loopback, where no token is asked for, a request must be addressed to a loopback name
/// (`Host: 127.0.0.1:8080`, `localhost`, `[::1]`). A page on a domain an attacker points at
/// 127.0.0.1 (DNS rebinding) is, to the browser, the same origin as intake, so the origin check
/// lets it through; its `Host` still names the attacker's domain, and that is refused (403). A
/// request with no `Host` (HTTP/1.0) comes from no browser and goes on. Behind a reverse proxy,
/// have the proxy send the upstream's own address as `Host` (nginx does unless told otherwise),
/// or listen off loopback, where every request needs a token.
struct LoopbackHostMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let authority = request.head.authority, !Self.namesLoopback(authority) {
            throw APIError(
                .forbidden, "host_refused",
                "this intake listens on loopback and answers only requests addressed to it (127.0.0.1, localhost or [::1]), not to \(authority)")
        }
        return try await next(request, context)
    }

    /// Whether `authority` (`host[:port]`) names this machine's loopback address.
    static func namesLoopback(_ authority: String) -> Bool {
        var host = Substring(authority.lowercased())
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return WebServer.isLoopback(String(host))
    }
}
