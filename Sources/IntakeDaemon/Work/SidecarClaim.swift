import FoundationEssentials
import IntakeMeter
import IntakeStore
package import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// What an uploader claims in a JSON sidecar: `{"reading": 530.488, "meter": "demo-meter",
/// "time": "2026-11-21T09:30:00Z"}`, every key optional and others ignored. The reading may be a
/// number or a string ("530.488"); the time is ISO 8601. `intake serve` adds `"job"`: the id it
/// answered the upload with, which the claim then takes (see `Claimer`), and `"bytes"`: the
/// image's size, so that only the image it was written for takes that id.
package struct SidecarClaim: Equatable {
    package var reading: Double?
    package var meter: String?
    /// Unix milliseconds.
    package var time: Int64?
    /// The job id an uploader was already given for the image.
    package var job: JobID?
    /// The size of the image the job id was given for.
    package var bytes: Int64?

    /// Sidecars are a few lines; anything larger is not one.
    static let largestSidecar = 64 * 1024

    /// The claim in the sidecar at `path`; nil when there is none; a problem a person can act on
    /// when it cannot be used (the image is still processed, without the claim).
    /// Whatever is at the path: a link is never followed, a FIFO never waited on, and no more
    /// than `largestSidecar` bytes are read even from a file that grows meanwhile.
    static func read(_ path: String) -> Result<SidecarClaim, SidecarProblem>? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP { return .failure(SidecarProblem("the sidecar is a symbolic link, which is never followed")) }
            return .failure(SidecarProblem("the sidecar cannot be opened (\(ErrnoText.describe(code)))"))
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.isRegularFile else { return .failure(SidecarProblem("the sidecar is not a regular file")) }
        let tooLarge = SidecarProblem("the sidecar is over \(largestSidecar / 1024) KB")
        guard status.st_size <= largestSidecar else { return .failure(tooLarge) }
        var bytes = [UInt8](repeating: 0, count: largestSidecar + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                return .failure(SidecarProblem("the sidecar cannot be read (\(ErrnoText.current))"))
            }
            count += got
        }
        guard count <= largestSidecar else { return .failure(tooLarge) }
        return parse(Array(bytes[..<count]))
    }

    /// The claim in a sidecar's bytes, or the problem with them.
    package static func parse(_ bytes: [UInt8]) -> Result<SidecarClaim, SidecarProblem> {
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(bytes))
        } catch {
            return .failure(SidecarProblem("the sidecar is not a JSON object with reading, meter and time (\(Self.describe(error)))"))
        }
        if let meter = fields.meter, !meter.isEmpty, let refusal = SafeName.refusal(ofComponent: meter) {
            // The same rule as a meter's folder or an upload's: a name no profile can have.
            return .failure(SidecarProblem("the sidecar's meter name \(refusal)"))
        }
        var claim = SidecarClaim(meter: fields.meter?.isEmpty == false ? fields.meter : nil)
        if let job = fields.job {
            guard let id = JobID(job) else { return .failure(SidecarProblem("the sidecar's job \"\(job)\" is not a job id")) }
            claim.job = id
        }
        claim.bytes = fields.bytes
        switch fields.reading {
        case .number(let value)?: claim.reading = value
        case .text(let text)?:
            guard let value = Double(text.filter { $0 != " " }), value.isFinite else {
                return .failure(SidecarProblem("the sidecar's reading \"\(text)\" is not a number"))
            }
            claim.reading = value
        case nil: break
        }
        if let time = fields.time {
            guard let milliseconds = ISOTime.milliseconds(time) else {
                return .failure(SidecarProblem("the sidecar's time \"\(time)\" is not an ISO 8601 time"))
            }
            claim.time = milliseconds
        }
        return .success(claim)
    }

    private struct Fields: Decodable {
        var reading: NumberOrText?
        var meter: String?
        var time: String?
        var job: String?
        var bytes: Int64?
    }

    private enum NumberOrText: Decodable {
        case number(Double), text(String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else {
                self = .text(try container.decode(String.self))
            }
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            return key.isEmpty ? context.debugDescription : "\(key): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context): return context.debugDescription
        default: return "\(error)"
        }
    }
}

package struct SidecarProblem: Error, Equatable {
    package let reason: String
    init(_ reason: String) { self.reason = reason }
}
