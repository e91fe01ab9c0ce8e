public import IntakeConfig
import AsyncHTTPClient
import FoundationEssentials
import Hummingbird
import IntakeCore
import IntakeStore
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// `intake submit`: hands files to intake and, when asked, waits for their outcomes — through a
/// running `intake serve` (`--url`), or straight into the local inbox the way `intake serve`
/// writes it (the same checks, the same sidecar carrying the job id), reading the outcome from
/// the database. What a CI job needs after its uploads: the jobs, and whether any failed.
public final class Submitter: Sendable {
    public enum Destination: Sendable {
        case local(root: String, configuration: IntakeConfiguration)
        /// `http://host:port` of an `intake serve`, and the bearer token it asks for, if any.
        case remote(String, token: String?)
    }

    /// A job's state as the API shows it, with the whole JSON.
    public struct JobState: Sendable {
        public let id: String
        /// PENDING, PROCESSING, COMPLETED or FAILED.
        public let status: String
        public let json: String
        public var isFinal: Bool { status == "COMPLETED" || status == "FAILED" }
    }

    private let destination: Destination
    private let writer: InboxWriter?

    public init(_ destination: Destination) {
        self.destination = destination
        if case .local(let root, let configuration) = destination {
            writer = InboxWriter(root: configuration.stateRoot(path: root), maxBytes: configuration.web.maxBytes)
        } else {
            writer = nil
        }
    }

    /// Hands `path` to intake as `environment`[/`meter`]; returns the job id it will run under.
    public func submit(_ path: String, environment: String, meter: String?) async throws(SubmitError) -> String {
        let name = PathText.lastComponent(path)
        switch destination {
        case .local(let root, let configuration):
            do {
                let rules = InboxRules(configuration, root: configuration.stateRoot(path: root))
                let target = try UploadTarget(environment: environment, meter: meter, name: name, rules: rules)
                let chunks = try FileChunks(path: path)
                return try await writer!.receive(chunks, declaredLength: chunks.length, into: target).job.rawValue
            } catch let error as APIError {
                throw SubmitError("\(path): \(error.message)", stopsAll: !Self.isTheFilesOwn(Int(error.status.code)))
            } catch {
                throw SubmitError("\(path): \(error)")
            }
        case .remote(let base, let token):
            let url = base + "/v1/inbox/" + URLQuery.escaped(environment) + (meter.map { "/" + URLQuery.escaped($0) } ?? "")
                + "?name=" + URLQuery.escaped(name)
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            do {
                let bytes = try WholeFile.read(path)
                request.body = .bytes(ByteBuffer(bytes: bytes))
            } catch {
                throw SubmitError("\(path): \(error)")
            }
            let (status, body) = try await Self.execute(request, timeout: .seconds(60))
            guard status == 202 else {
                throw SubmitError("\(path): \(Self.errorMessage(body, status: status))", stopsAll: !Self.isTheFilesOwn(status))
            }
            struct Accepted: Decodable { let jobId: String }
            guard let accepted = try? JSONDecoder().decode(Accepted.self, from: Data(body.utf8)) else {
                throw SubmitError("\(path): the server answered 202 without a job id: \(body)")
            }
            return accepted.jobId
        }
    }

    /// Whether a refusal of that status is about the file (its name, its size, its content), not
    /// what would refuse every file (a token, an unknown environment or meter, a full disk, the
    /// server failing), which stops the rest.
    static func isTheFilesOwn(_ status: Int) -> Bool { [400, 409, 413, 415].contains(status) }

    /// How the job stands now, asked for at most `timeoutSeconds`.
    public func state(of id: String, timeoutSeconds: Double = 60) async throws(SubmitError) -> JobState {
        switch destination {
        case .local(let root, let configuration):
            guard let job = JobID(id) else { throw SubmitError("\(id) is not a job id") }
            do {
                let database = try Database(path: configuration.stateRoot(path: root).database, readOnly: true)
                if let row = try database.job(id: id) {
                    let view = try JobView(row, from: database)
                    return JobState(id: id, status: view.status, json: try Self.encode(view))
                }
            } catch {
                // Not written yet (the daemon has not started), or not readable now: pending if we wrote it.
                if writer?.pendingUpload(job) == nil { throw SubmitError("cannot read the database: \(error)") }
            }
            guard let upload = writer?.pendingUpload(job) else { throw SubmitError("no job \(id)") }
            return JobState(id: id, status: "PENDING", json: (try? Self.encode(JobView(pending: upload))) ?? "{}")
        case .remote(let base, let token):
            var request = HTTPClientRequest(url: base + "/v1/jobs/" + id)
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            let (status, body) = try await Self.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
            guard status == 200 else { throw SubmitError("job \(id): \(Self.errorMessage(body, status: status))") }
            struct Status: Decodable { let status: String }
            guard let state = try? JSONDecoder().decode(Status.self, from: Data(body.utf8)) else {
                throw SubmitError("job \(id): an answer without a status: \(body)")
            }
            return JobState(id: id, status: state.status, json: body)
        }
    }

    /// Waits until every job is final, at most `timeout` seconds; returns their last states.
    public func wait(for ids: [String], timeout: Double) async throws(SubmitError) -> [JobState] {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var states: [String: JobState] = [:]
        while true {
            // Each question within what is left of the wait: a server gone silent ends it on time.
            for id in ids where states[id]?.isFinal != true {
                let left = (deadline - ContinuousClock.now).components
                let seconds = Double(left.seconds) + Double(left.attoseconds) * 1e-18
                states[id] = try await state(of: id, timeoutSeconds: min(max(seconds, 1), 60))
            }
            if states.values.allSatisfy(\.isFinal) { return ids.map { states[$0]! } }
            guard ContinuousClock.now < deadline else {
                let waiting = ids.filter { states[$0]?.isFinal != true }
                throw SubmitError("gave up after \(Int(timeout)) s waiting for \(waiting.joined(separator: ", "))")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private static func execute(_ request: HTTPClientRequest, timeout: TimeAmount) async throws(SubmitError) -> (Int, String) {
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
            return (Int(response.status.code), String(buffer: body))
        } catch {
            throw SubmitError("\(request.url): \(error)", stopsAll: true)
        }
    }

    /// A connection refused fails at once, and one that is not answered within 10 s fails then:
    /// the shared client tried again and again until each request's own timeout, so a wrong port
    /// took a minute to say so. (Lives as long as the command: never shut down.)
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    private static func errorMessage(_ body: String, status: Int) -> String {
        struct Failure: Decodable {
            struct Detail: Decodable { let message: String }
            let error: Detail
        }
        let message = (try? JSONDecoder().decode(Failure.self, from: Data(body.utf8)))?.error.message ?? body
        return "\(status) \(message)"
    }

    private static func encode(_ view: JobView) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(view), as: UTF8.self)
    }
}

/// Why a submission failed.
public struct SubmitError: Error, CustomStringConvertible {
    public let description: String
    /// Whether it would be the same for every file (the server out of reach, a token refused),
    /// not only this one's: the files after it are then not tried.
    public let stopsAll: Bool
    init(_ description: String, stopsAll: Bool = false) {
        self.description = description
        self.stopsAll = stopsAll
    }
}

/// A local file read in pieces, as an upload's body would arrive.
private struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let length: Int

    init(path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { throw SubmitError("cannot read \(path): \(ErrnoText.current)") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw SubmitError("\(path) is not a regular file") }
        self.path = path
        length = Int(status.st_size)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let fd: Int32
        var done = false

        mutating func next() async throws -> ByteBuffer? {
            guard !done else { return nil }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else {
                close(fd)
                done = true
                if count < 0 { throw SubmitError("read failed: \(ErrnoText.current)") }
                return nil
            }
            return ByteBuffer(bytes: buffer[0..<count])
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(fd: open(path, O_RDONLY | O_CLOEXEC))
    }
}

/// Query and path components, percent-encoded: unreserved characters stay, every other byte is %XX.
enum URLQuery {
    /// The text `escaped` gave, or `text` itself when it holds no well-formed escape (its '%' is
    /// then refused by the name checks). The router leaves path parameters encoded.
    static func decoded(_ text: String) -> String { String(validating: bytes(of: text), as: UTF8.self) ?? text }

    /// The bytes `text`'s escapes stand for; a '%' not followed by two hex digits stays as it is.
    static func bytes(of text: String) -> [UInt8] {
        var bytes: [UInt8] = [], input = Array(text.utf8), index = 0
        while index < input.count {
            // Two hex digits, no more: UInt8("+5", radix: 16) would take a sign.
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count,
                input[(index + 1)...(index + 2)].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }),
                let value = UInt8(String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return bytes
    }

    /// The `name` parameter of a raw query, its escapes undone; nil when there is none. Hummingbird's
    /// own decoding puts U+FFFD for bytes that are not UTF-8, so that `%FF.jpg` and `%FE.jpg` would
    /// both become one name: such a name is refused instead, saying so.
    static func name(inQuery query: String?) throws(APIError) -> String? {
        guard let query else { return nil }
        for parameter in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == "name" else { continue }
            let raw = parts.count == 2 ? String(parts[1]) : ""
            guard let name = String(validating: bytes(of: raw), as: UTF8.self) else {
                throw APIError.badRequest(
                    "name_refused", "the file name \(APIError.quoted(raw)) is not UTF-8 text once its escapes are undone: name files in UTF-8")
            }
            return name
        }
        return nil
    }

    static func escaped(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let unreserved = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            let digits = Array("0123456789ABCDEF")
            out += unreserved ? String(UnicodeScalar(byte)) : "%\(digits[Int(byte >> 4)])\(digits[Int(byte & 15)])"
        }
        return out
    }
}
