import Hummingbird
import IntakeCodecs
import IntakeCore
import Synchronization
import IntakeStore

#if canImport(Glibc)
import Glibc
#endif

/// `GET /v1/files/JOB/NAME`: a job's original, derivative, rotations and error report, found
/// through the database's record of its outputs — never through a path the client sends, so no
/// name can reach outside the state root. A symbolic link (an original someone dropped as one) is
/// never followed.
enum JobFiles {
    /// The name a file of a job is asked for by: `original`, `derivative`, `rotation-90`, `error`.
    static func name(of output: OutputRecord) -> String {
        output.kind == "rotation" ? "rotation-\(output.angle ?? 0)" : output.kind
    }

    static func url(job: String, output: OutputRecord) -> String { "/v1/files/\(job)/\(name(of: output))" }

    /// The response streaming the file `name` of `job`.
    static func response(job: String, name: String, root: StateRoot, outputs: [OutputRecord]) throws(APIError) -> Response {
        guard let output = outputs.first(where: { Self.name(of: $0) == name }) else {
            throw APIError.notFound("job \(job) has no file \"\(name)\" (it has \(outputs.map(Self.name(of:)).joined(separator: ", ")))")
        }
        // Written by the daemon under the state root; checked all the same, so that a database
        // from elsewhere or edited by hand cannot make this serve any other file.
        let path = output.path.hasPrefix("/") ? output.path : root.path + "/" + output.path
        let components = PathText.components(path)
        guard path.utf8.starts(with: (root.path + "/").utf8), !components.contains(".."), !components.contains(".") else {
            throw APIError(.internalServerError, "bad_record", "the database names a file outside the state root for job \(job)")
        }
        let below = PathText.components(String(decoding: path.utf8.dropFirst(root.path.utf8.count + 1), as: UTF8.self))
        let fd: Int32
        switch LinkFreeWalk.open(below, below: root.path, lastIsFile: true) {
        case .success(let opened):
            fd = opened
        case .failure(let failure):
            // A link met as a folder on the way gives ENOTDIR on some kernels: the same refusal as ELOOP.
            let code = failure.code == ENOTDIR && failure.component < below.count - 1 ? ELOOP : failure.code
            if code == ELOOP {
                throw APIError(.forbidden, "symbolic_link", "the \(name) of job \(job), or a folder on its way, is a symbolic link, which is never followed")
            }
            if code == ENOENT { throw APIError.notFound("the \(name) of job \(job) is no longer there (removed or pruned)") }
            throw APIError(.internalServerError, "cannot_read", "cannot open the \(name) of job \(job): \(ErrnoText.describe(code))")
        }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw APIError(.forbidden, "not_a_file", "the \(name) of job \(job) is not a regular file")
        }
        let length = Int(status.st_size)
        let file = FileDescriptor(fd)
        let body = ResponseBody(contentLength: length) { writer in
            defer { file.close() }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var left = length
            while left > 0 {
                let count = buffer.withUnsafeMutableBytes { read(file.fd, $0.baseAddress, min($0.count, left)) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                try await writer.write(ByteBuffer(bytes: buffer[0..<count]))
                left -= count
            }
            try await writer.finish(nil)
        }
        var headers: HTTPFields = [.contentType: contentType(kind: output.kind, fd: fd), .contentLength: "\(length)"]
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        return Response(status: .ok, headers: headers, body: body)
    }

    /// What the file is, by its first bytes for originals (whatever their name says), read from
    /// the descriptor already open without moving its offset.
    private static func contentType(kind: String, fd: Int32) -> String {
        switch kind {
        case "error": return "application/json; charset=utf-8"
        case "derivative", "rotation": return "image/jpeg"
        default:
            var head = [UInt8](repeating: 0, count: Sniffer.headerLength)
            let count = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            return head.prefix(max(count, 0)).withUnsafeBytes { Sniffer.sniff($0) }.mediaType ?? "application/octet-stream"
        }
    }
}

/// A file descriptor handed to the response body, which closes it when done. Closed also when
/// the body never runs: a client gone before the response's head is written makes writing the
/// head throw, and the body closure is then dropped without being called.
private final class FileDescriptor: Sendable {
    let fd: Int32
    private let isClosed = Atomic<Bool>(false)

    init(_ fd: Int32) { self.fd = fd }

    deinit { close() }

    func close() {
        if !isClosed.exchange(true, ordering: .relaxed) { _ = Glibc.close(fd) }
    }
}
