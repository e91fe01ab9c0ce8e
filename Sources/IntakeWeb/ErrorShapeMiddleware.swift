import Hummingbird
import IntakeStore

/// Every refusal in one shape, `{"error": {"code", "message"}}`: Hummingbird's own (a route that
/// does not exist, a method a route does not take), the database failing mid-answer for the
/// machine's sake (503, to be tried again, as when it cannot be opened), and any other unexpected
/// error (500), which would otherwise come back as plain text.
struct ErrorShapeMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            let code = switch error.status.code {
            case 404: "not_found"
            case 405: "method_not_allowed"
            case 413: "too_large"
            default: "http_\(error.status.code)"
            }
            var shaped = APIError(error.status, code, error.body ?? error.status.reasonPhrase)
            shaped.headers = error.headers
            throw shaped
        } catch let error as StoreError where error.isUnavailable {
            throw APIError.databaseUnavailable(error)
        } catch {
            throw APIError(.internalServerError, "internal", "\(error)")
        }
    }
}
