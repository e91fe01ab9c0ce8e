public import Hummingbird
import FoundationEssentials

/// An answer that refuses a request: its status, a stable code a client can branch on, and a
/// message a person can act on. Sent as `{"error": {"code": …, "message": …}}`.
public struct APIError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Extra headers, such as `Retry-After`.
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let json = try JSONEncoder().encode(ErrorBody(error: .init(code: code, message: message)))
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
    }

    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }

    /// The database cannot answer now (not there yet, locked, its server gone or silent, the disk
    /// failing): 503 with `Retry-After`, for the same request may well succeed in a few seconds.
    static func databaseUnavailable(_ error: some Error) -> APIError {
        var refusal = APIError(
            .serviceUnavailable, "database_unavailable", "the database cannot be read (is intaked running on this root?): \(error)")
        refusal.headers[.retryAfter] = "5"
        return refusal
    }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }

    /// What a client sent, quoted and cut to 40 characters, for a refusal that shows it.
    static func quoted(_ value: String) -> String { "\"\(value.prefix(40))\(value.count > 40 ? "…" : "")\"" }
}

/// `{"error": {"code": …, "message": …}}`.
private struct ErrorBody: Encodable {
    struct Detail: Encodable {
        let code: String
        let message: String
    }

    let error: Detail
}
