import Hummingbird
import IntakeStore
import Logging

/// Every refusal in one shape, `{"error": {"code", "message"}}`: Hummingbird's own (a route that
/// does not exist, a method a route does not take), the database failing mid-answer for the
/// machine's sake (503, to be tried again, as when it cannot be opened), and any other unexpected
/// error (500), which would otherwise come back as plain text.
struct ErrorShapeMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let shaped = Self.shaped(error)
            Self.log(shaped, of: request, to: context.logger)
            throw shaped
        }
    }

    static func shaped(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            let code = switch error.status.code {
            case 404: "not_found"
            case 405: "method_not_allowed"
            case 413: "too_large"
            default: "http_\(error.status.code)"
            }
            var shaped = APIError(error.status, code, error.body ?? error.status.reasonPhrase)
            shaped.headers = error.headers
            return shaped
        case let error as StoreError where error.isUnavailable:
            return APIError.databaseUnavailable(error)
        default:
            return APIError(.internalServerError, "internal", "\(error)")
        }
    }

    /// A failure on the server's side (5xx: the database away, the disk full, a fault no route
    /// foresaw) goes to the log, to the journal under systemd: the client's answer is not the
    /// only trace of it. Refusals of what a client sent are the client's to read (at debug
    /// level here: a client sending junk would otherwise fill the journal).
    static func log(_ error: APIError, of request: Request, to logger: Logger) {
        let metadata: Logger.Metadata = [
            "status": "\(error.status.code)", "code": "\(error.code)", "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
        ]
        if error.status.code >= 500 {
            logger.error("\(error.message)", metadata: metadata)
        } else {
            logger.debug("\(error.message)", metadata: metadata)
        }
    }
}
