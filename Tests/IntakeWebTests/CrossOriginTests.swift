import Foundation
import Hummingbird
import HummingbirdTesting
import IntakeConfig
import IntakeCore
import IntakeTestSupport
@testable import IntakeWeb
import Testing

/// Browsers' cross-origin calls: refused from any page but intake's own unless `[web]
/// cors_origins` lists the page's origin, which then gets the CORS headers, preflight included.
/// Clients that send no `Origin` (curl, CI, `intake submit`) are not touched. (Unchecked: the
/// temporary folder is made once and only read while a test runs.)
@Suite struct CrossOriginTests: @unchecked Sendable {
    let folder = try! TemporaryFolder()
    var root: StateRoot { StateRoot(path: folder.path) }
    let jpeg = Photos.jpeg(width: 16, height: 16, seed: 41)

    func app(origins: [String] = []) -> some ApplicationProtocol {
        var configuration = IntakeConfiguration.defaults
        configuration.web.corsOrigins = origins
        return Application(router: IntakeAPI.router(root: root, configuration: configuration))
    }

    func header(_ response: TestResponse, _ name: String) -> String? { response.headers[HTTPFields.Element.Name(name)!] }
    var inboxImages: [String] { FileManagerless.files(under: root.inbox).filter { !$0.hasPrefix(".intake-uploads") }.sorted() }

    /// A page on another site posting a "simple" request (no preflight) to intake on loopback,
    /// where no token is asked for, is refused before anything is written.
    @Test func aPageFromAnotherSiteIsRefusedAndNothingIsWritten() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/v1/inbox/prod?name=drive-by.jpg", method: .post,
                headers: [.origin: "https://evil.example", .contentType: "text/plain"], body: ByteBuffer(bytes: jpeg)
            ) { response in
                #expect(response.status == .forbidden)
                let error = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: [String: String]])
                #expect(error["error"]?["code"] == "origin_refused")
                #expect(header(response, "Access-Control-Allow-Origin") == nil)
            }
            try await client.execute(uri: "/v1/inbox/prod?name=curl.jpg", method: .post, body: ByteBuffer(bytes: jpeg)) { response in
                #expect(response.status == .accepted)
                #expect(header(response, "Access-Control-Allow-Origin") == nil)
            }
        }
        #expect(inboxImages == ["prod/curl.jpg"])
    }

    /// A listed origin's preflight is answered (no token is sent with one), and its requests,
    /// refusals included, carry the headers that let the page read them.
    @Test func aListedOriginIsAnsweredWithCORSHeadersRefusalsIncluded() async throws {
        try await app(origins: ["https://field.example"]).test(.router) { client in
            try await client.execute(
                uri: "/v1/uploads", method: .options,
                headers: [.origin: "https://Field.Example", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "upload-length, tus-resumable"]
            ) { response in
                #expect(response.status == .noContent)
                #expect(header(response, "Access-Control-Allow-Origin") == "https://field.example")
                #expect(header(response, "Access-Control-Allow-Headers")?.contains("Upload-Length") == true)
                #expect(header(response, "Access-Control-Allow-Methods")?.contains("PATCH") == true)
                #expect(header(response, "Vary") == "Origin")
            }
            try await client.execute(
                uri: "/v1/inbox/prod?name=field.jpg", method: .post, headers: [.origin: "https://field.example"], body: ByteBuffer(bytes: jpeg)
            ) { response in
                #expect(response.status == .accepted)
                #expect(header(response, "Access-Control-Allow-Origin") == "https://field.example")
                #expect(header(response, "Access-Control-Expose-Headers")?.contains("Location") == true)
            }
            try await client.execute(
                uri: "/v1/inbox/nowhere?name=x.jpg", method: .post, headers: [.origin: "https://field.example"], body: ByteBuffer(bytes: jpeg)
            ) { response in
                #expect(response.status == .notFound)
                #expect(header(response, "Access-Control-Allow-Origin") == "https://field.example")
            }
            try await client.execute(
                uri: "/v1/inbox/prod?name=other.jpg", method: .post, headers: [.origin: "https://other.example"], body: ByteBuffer(bytes: jpeg)
            ) { response in
                #expect(response.status == .forbidden)
            }
        }
        #expect(inboxImages == ["prod/field.jpg"])
    }

    @Test func aStarLetsAnyPageIn() async throws {
        try await app(origins: ["*"]).test(.router) { client in
            try await client.execute(uri: "/v1/jobs", method: .get, headers: [.origin: "https://anywhere.example"]) { response in
                #expect(header(response, "Access-Control-Allow-Origin") == "*")
                #expect(header(response, "Vary") == nil)
            }
        }
    }

    /// The page intake serves itself calls the API from its own origin: the same host and port.
    @Test func theServersOwnOriginIsItself() {
        #expect(CrossOriginMiddleware.isSameOrigin("http://127.0.0.1:8080", host: "127.0.0.1:8080"))
        #expect(CrossOriginMiddleware.isSameOrigin("http://intake.local", host: "intake.local:80"))
        #expect(CrossOriginMiddleware.isSameOrigin("https://intake.example:443", host: "intake.example"))
        #expect(!CrossOriginMiddleware.isSameOrigin("http://127.0.0.1:8081", host: "127.0.0.1:8080"))
        #expect(!CrossOriginMiddleware.isSameOrigin("http://evil.example", host: "127.0.0.1:8080"))
        #expect(!CrossOriginMiddleware.isSameOrigin("null", host: "127.0.0.1:8080"))
        #expect(!CrossOriginMiddleware.isSameOrigin("http://127.0.0.1:8080", host: nil))
    }
}

/// On loopback, only requests addressed to a loopback name are answered (DNS rebinding).
@Suite struct LoopbackHostTests {
    @Test func onlyLoopbackNamesAreThisServer() {
        for name in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:8080", "127.0.0.1"] {
            #expect(LoopbackHostMiddleware.namesLoopback(name), "\(name)")
        }
        for name in ["rebind.example:8080", "127.0.0.2:8080", "localhost.evil.example", "[::2]:8080", "[::1", "10.0.0.1"] {
            #expect(!LoopbackHostMiddleware.namesLoopback(name), "\(name)")
        }
    }
}
