import Foundation
import Hummingbird
import HummingbirdTesting
import IntakeConfig
import IntakeCore
import IntakePipeline
import IntakeTestSupport
@testable import IntakeWeb
import Synchronization
import Testing

/// The token checks through HummingbirdTesting, on the spellings of a path the router treats as
/// one (`//v1/…`, a trailing `/`) and on an upload that expired.
@Suite struct TokenRouteTests {
    let folder = try! TemporaryFolder()
    var root: StateRoot { StateRoot(path: folder.path) }

    func app(tokens path: String) -> some ApplicationProtocol {
        let configuration = IntakeConfiguration.defaults
        let router = IntakeAPI.router(
            root: root, configuration: configuration, events: JobEvents(root: root, idleTimeoutSeconds: 1), tokens: TokenCheck(path: path))
        return Application(router: router)
    }

    @Test func everySpellingOfAnUploadRouteTakesTheRightToUpload() async throws {
        let tokens = folder.path + "/tokens"
        let reader = try TokenFile.add(name: "dashboard", environments: [], mayRead: true, to: tokens)
        let bearer: HTTPFields = [.authorization: "Bearer \(reader)"]
        var creation = bearer
        creation[HTTPFields.Element.Name("Tus-Resumable")!] = "1.0.0"
        creation[HTTPFields.Element.Name("Upload-Length")!] = "100"
        creation[HTTPFields.Element.Name("Upload-Metadata")!] = "filename \(Data("x.jpg".utf8).base64EncodedString()),env \(Data("prod".utf8).base64EncodedString())"
        let photo = ByteBuffer(bytes: Photos.jpeg(width: 16, height: 16, seed: 3))
        let headers = creation
        try await app(tokens: tokens).test(.router) { client in
            for uri in ["/v1/uploads", "/v1/uploads/", "//v1/uploads"] {
                try await client.execute(uri: uri, method: .post, headers: headers) { response in
                    #expect(response.status == .forbidden, "\(uri) let a read-only token begin an upload")
                }
            }
            for uri in ["/v1/inbox/prod?name=x.jpg", "//v1/inbox/prod?name=x.jpg", "/v1//inbox/prod/?name=x.jpg"] {
                try await client.execute(uri: uri, method: .post, headers: bearer, body: photo) { response in
                    #expect(response.status == .forbidden, "\(uri) let a read-only token upload")
                }
            }
            // The scheme's name in any case (RFC 9110): the token is known, and may read.
            for scheme in ["bearer", "BEARER"] {
                try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "\(scheme) \(reader)"]) { response in
                    #expect(response.status == .ok, "\(scheme)")
                }
            }
        }
        #expect(!FileManagerless.list(root.inbox).contains("prod"))
    }

    /// `/healthz` needs no token; off loopback it says what failed but not the paths behind it.
    /// Tokens added at once are all kept: each add read the file and wrote it back, and all but
    /// one of theirs were lost, though every one had been printed.
    @Test func tokensAddedAtOnceAreAllKept() throws {
        let path = folder.path + "/tokens"
        let secrets = Mutex<[String: String]>([:])
        DispatchQueue.concurrentPerform(iterations: 12) { index in
            let secret = try? TokenFile.add(name: "ci\(index)", environments: ["beta"], mayRead: false, to: path)
            secrets.withLock { $0["ci\(index)"] = secret }
        }
        let kept = try TokenFile.read(path)
        #expect(Set(kept.map(\.name)) == Set((0..<12).map { "ci\($0)" }))
        for (name, secret) in secrets.withLock({ $0 }) {
            #expect(kept.first { $0.name == name }?.hash == SHA256.hex(of: Array(secret.utf8)), "\(name)")
        }
    }

    /// A tokens file saved with CRLF line breaks holds the same tokens.
    @Test func aTokensFileWithCRLFLineBreaksIsReadTheSame() throws {
        let path = folder.path + "/tokens"
        _ = try TokenFile.add(name: "one", environments: ["beta"], mayRead: true, to: path)
        _ = try TokenFile.add(name: "two", environments: ["prod"], mayRead: false, to: path)
        let text = String(decoding: try #require(Fixtures.readFile(path)), as: UTF8.self)
        try DurableFile.write(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8), to: path)
        #expect(try TokenFile.read(path).map(\.name) == ["one", "two"])
        #expect(try TokenFile.read(path).map(\.mayRead) == [true, false])
    }

    /// A line that is no token (a hand edit gone wrong) is named, and a token added or removed
    /// does not write the file over it: it would be lost in silence.
    @Test func aLineThatIsNoTokenIsNamedAndNotWrittenOver() throws {
        let path = folder.path + "/tokens"
        _ = try TokenFile.add(name: "one", environments: ["beta"], mayRead: true, to: path)
        let text = String(decoding: try #require(Fixtures.readFile(path)), as: UTF8.self) + "\nci\tshort\tbeta\tupload\n# a note\n"
        try DurableFile.write(Array(text.utf8), to: path)
        let (tokens, malformed) = try TokenFile.parse(path)
        #expect(tokens.map(\.name) == ["one"])
        #expect(malformed == [4], "the line after a blank one")
        #expect(throws: TokenFileError.self) { _ = try TokenFile.add(name: "two", environments: ["beta"], mayRead: false, to: path) }
        #expect(throws: TokenFileError.self) { _ = try TokenFile.remove(name: "one", from: path) }
        #expect(String(decoding: try #require(Fixtures.readFile(path)), as: UTF8.self) == text, "the file was written over")
    }

    @Test func healthWithoutATokenNamesNoPath() async throws {
        let tokens = folder.path + "/tokens"
        _ = try TokenFile.add(name: "ci", environments: ["prod"], mayRead: false, to: tokens)
        let path = folder.path
        try await app(tokens: tokens).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = String(buffer: response.body)
                #expect(body.contains("cannot be read") && !body.contains(path), "\(body)")
            }
        }
    }

    @Test func anExpiredUploadIsGoneNotUnknown() async throws {
        let tokens = folder.path + "/tokens"
        let ci = try TokenFile.add(name: "ci", environments: ["prod"], mayRead: false, to: tokens)
        let uploads = root.inbox + "/.intake-uploads"
        let expired = JobID.make(milliseconds: JobID.nowMilliseconds() - (ResumableUploads.lifetimeSeconds + 60) * 1000)
        try await app(tokens: tokens).test(.router) { client in
            // Left after the server started (its start sweeps expired uploads away).
            try DurableFile.makeFolders(uploads)
            try DurableFile.write(Array(#"{"length":100,"offset":0,"env":"prod","name":"x.jpg","placed":false}"#.utf8), to: "\(uploads)/\(expired).tus")
            let headers: HTTPFields = [.authorization: "Bearer \(ci)", HTTPFields.Element.Name("Tus-Resumable")!: "1.0.0"]
            try await client.execute(uri: "/v1/uploads/\(expired)", method: .head, headers: headers) { response in
                #expect(response.status == .gone)
            }
        }
    }
}
