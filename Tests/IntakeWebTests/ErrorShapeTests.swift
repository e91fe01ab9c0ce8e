import Foundation
import Hummingbird
import HummingbirdTesting
import IntakeStore
@testable import IntakeWeb
import Testing

/// What a client is told when a handler fails in a way no route foresaw. A database that fails
/// mid-answer for the machine's sake (SQLite busy behind a writer past its timeout, the disk
/// failing, a PostgreSQL server gone or silent) is a 503 to try again, as one that cannot be
/// opened is; anything else is a 500. Both in the one error shape.
@Suite struct ErrorShapeTests {
    /// A router with the API's error middleware and one route that fails with `error`.
    func app(failingWith error: StoreError) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ErrorShapeMiddleware())
        router.get("/v1/jobs") { _, _ -> Response in throw error }
        return Application(router: router)
    }

    func refusal(_ buffer: ByteBuffer) throws -> [String: Any] {
        let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
        return try #require(body["error"] as? [String: Any])
    }

    @Test(arguments: [
        StoreError("database is locked", code: 5),  // SQLITE_BUSY
        StoreError("disk I/O error", code: 10 | 3 << 8),  // SQLITE_IOERR_WRITE
        StoreError("the server has not answered for 30 s", sqlState: "08006"),
        StoreError("the database system is shutting down", sqlState: "57P03"),
    ])
    func aDatabaseThatCannotAnswerNowIsA503ToTryAgain(_ error: StoreError) async throws {
        try await app(failingWith: error).test(.router) { client in
            try await client.execute(uri: "/v1/jobs", method: .get) { response in
                #expect(response.status == .serviceUnavailable, "\(error)")
                #expect(response.headers[.retryAfter] == "5")
                let refusal = try refusal(response.body)
                #expect(refusal["code"] as? String == "database_unavailable")
                #expect((refusal["message"] as? String)?.contains(error.message) == true, "\(refusal)")
            }
        }
    }

    @Test func aStatementTheDatabaseRefusesIsAnInternalError() async throws {
        let error = StoreError("no such column: colour", code: 1)  // SQLITE_ERROR: a fault in intake, not an outage
        try await app(failingWith: error).test(.router) { client in
            try await client.execute(uri: "/v1/jobs", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(response.headers[.retryAfter] == nil)
                let code = try refusal(response.body)["code"] as? String
                #expect(code == "internal")
            }
        }
    }
}
