import Hummingbird

/// A request with more than one `Host` field is refused (400), as HTTP/1.1 requires (RFC 9112,
/// 3.2): which one names the server would be the reader's guess, and the loopback check reads the
/// first while something in front of intake may have read the other. (The codec makes the first
/// the request's authority and leaves the others among its fields.)
struct OneHostMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    static let host = HTTPFields.Element.Name("Host")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.headers[values: Self.host].isEmpty else {
            throw APIError.badRequest("two_hosts", "a request has one Host field; this one has \(request.headers[values: Self.host].count + 1)")
        }
        return try await next(request, context)
    }
}
