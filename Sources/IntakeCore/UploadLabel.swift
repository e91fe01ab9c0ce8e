internal import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// The job id `intake serve` answered an upload with, carried on the image itself: the extended
/// attribute `user.intake.job`, holding what a sidecar would (`{"job": "…", "bytes": N}`). Set
/// before the image's one fsync, it costs no second file, no second fsync and no second rename;
/// the daemon's claim reads it from the image it claims. Where the inbox's filesystem keeps no
/// user attributes (ENOTSUP: some network filesystems), `intake serve` writes a sidecar instead.
public enum UploadLabel {
    public static let name = "user.intake.job"

    /// The attribute's value: the same JSON a sidecar holds.
    public static func value(job: String, bytes: Int) -> [UInt8] {
        Array("{\"job\": \"\(job)\", \"bytes\": \(bytes)}".utf8)
    }

    /// Labels the open file; 0, or the error number (ENOTSUP where the filesystem has no user attributes).
    public static func set(on fd: Int32, job: String, bytes: Int) -> Int32 {
        let text = value(job: job, bytes: bytes)
        let status = text.withUnsafeBytes { intake_set_attribute(fd, name, $0.baseAddress, UInt($0.count)) }
        return status == 0 ? 0 : errno
    }

    /// The label on the file at `path` (never followed through a link); nil when it has none.
    public static func read(_ path: String) -> [UInt8]? { path.withCString { read($0) } }

    /// The label on the file at the C string `path` (a name that may not be UTF-8).
    public static func read(_ path: UnsafePointer<CChar>) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = buffer.withUnsafeMutableBytes { intake_get_attribute(path, name, $0.baseAddress, UInt($0.count)) }
        guard length > 0 else { return nil }
        return Array(buffer.prefix(length))
    }
}
