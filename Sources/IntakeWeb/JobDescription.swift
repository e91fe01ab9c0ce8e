import Hummingbird
import NIOCore

/// What a job carries besides its images, the same however it is submitted: a form's fields or
/// `POST /v1/jobs`'s `metadata`, up to 50 fields of up to 4 KB (name and value each), and the
/// JSON body of `POST /v1/jobs`, up to 256 KiB (100 upload ids and the largest metadata fit).
enum JobDescription {
    static let maximumFields = 50
    static let maximumFieldBytes = 4 << 10
    static let maximumBodyBytes = 256 << 10

    /// The metadata of `POST /v1/jobs`, held to the limits a form's fields are held to.
    static func check(_ metadata: [String: String]) throws(APIError) {
        guard metadata.count <= maximumFields else {
            throw APIError.badRequest("too_many_fields", "a job holds at most \(maximumFields) metadata fields; this has \(metadata.count)")
        }
        for (name, value) in metadata where name.utf8.count > maximumFieldBytes || value.utf8.count > maximumFieldBytes {
            let shown = name.utf8.count > 64 ? String(decoding: name.utf8.prefix(64), as: UTF8.self) + "…" : name
            throw APIError.badRequest("field_too_large", "the metadata field \(shown) is over \(maximumFieldBytes / 1024) KB")
        }
    }

    /// The whole of a small JSON body, or 413 when it is over `maximumBodyBytes` (said by its
    /// declared length before any of it is read).
    static func body(of request: inout Request) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maximumBodyBytes { throw tooLarge }
        do {
            return try await request.collectBody(upTo: maximumBodyBytes)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    private static var tooLarge: APIError {
        APIError(.contentTooLarge, "too_large", "the job's description is over \(maximumBodyBytes >> 10) KiB: up to 100 upload ids and \(maximumFields) metadata fields of \(maximumFieldBytes >> 10) KB")
    }
}
