import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// Reads a file to be processed, safely: never through a symbolic link when asked not to,
/// only regular files, and never more than the byte limit (checked before reading).
public enum ImageFile {
    /// The whole file as a new array (for one-off reads: crops, the meter evaluation).
    public static func read(path: String, maxBytes: Int, followSymlinks: Bool) throws(IntakeError) -> [UInt8] {
        let fd = try open(path, followSymlinks: followSymlinks)
        defer { close(fd) }
        let size = try checkedSize(fd, maxBytes: maxBytes)
        var failure: IntakeError?
        // Uninitialised, then filled by read(2): zeroing first would touch every page twice.
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            do throws(IntakeError) { initialized = try fill(UnsafeMutableRawBufferPointer(buffer), from: fd) } catch { failure = error }
        }
        if let failure { throw failure }
        return bytes
    }

    /// The whole file, read into `buffer`, which a worker keeps from file to file: no allocation,
    /// no page faults and no heap growth per file. Valid until the buffer's next read.
    public static func read(path: String, maxBytes: Int, followSymlinks: Bool, into buffer: ReadBuffer)
        throws(IntakeError) -> UnsafeRawBufferPointer
    {
        let fd = try open(path, followSymlinks: followSymlinks)
        defer { close(fd) }
        let storage = buffer.storage(for: try checkedSize(fd, maxBytes: maxBytes))
        let filled = try fill(storage, from: fd)
        return UnsafeRawBufferPointer(rebasing: storage[0..<filled])
    }

    private static func open(_ path: String, followSymlinks: Bool) throws(IntakeError) -> Int32 {
        // What it is, before it is opened: opening a device can act on the device (a tape
        // rewinds), and a socket cannot be opened at all, which would read as a passing fault.
        var status = stat()
        if (followSymlinks ? stat(path, &status) : lstat(path, &status)) == 0, let kind = notRegular(status) {
            throw .permanent(.sniff, "not a regular file: \(kind)")
        }
        // O_NONBLOCK: a FIFO put in the file's place since must not hang a worker.
        let flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followSymlinks ? 0 : O_NOFOLLOW)
        let fd = Glibc.open(path, flags)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ELOOP: throw .permanent(.sniff, "is a symbolic link; intake never follows links")
            case ENOENT: throw .permanent(.sniff, "no such file")
            case EACCES, EPERM: throw .permanent(.sniff, "permission denied")
            default: throw .transient(.sniff, "cannot open: \(ErrnoText.describe(code))")
            }
        }
        return fd
    }

    /// The size of a regular file within the byte limit, checked before anything is read.
    private static func checkedSize(_ fd: Int32, maxBytes: Int) throws(IntakeError) -> Int {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .transient(.sniff, "cannot stat: \(ErrnoText.current)") }
        if let kind = notRegular(status) { throw .permanent(.sniff, "not a regular file: \(kind)") }
        let size = Int(status.st_size)
        if size > maxBytes {
            throw .permanent(.sniff, "file is \(ByteCount(size)), over the limit of \(ByteCount(maxBytes))")
        }
        return size
    }

    /// What a file that is not a regular file is, said as a person would; nil for a regular file
    /// and for a symbolic link (which `open` refuses in its own words).
    private static func notRegular(_ status: stat) -> String? {
        switch status.st_mode & S_IFMT {
        case S_IFREG, S_IFLNK: nil
        case S_IFDIR: "a folder"
        case S_IFIFO: "a pipe (FIFO)"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "of an unknown kind"
        }
    }

    /// Reads until `destination` is full or the file ends (it shrank while being read: the
    /// decoder judges what is there); returns the bytes read.
    private static func fill(_ destination: UnsafeMutableRawBufferPointer, from fd: Int32) throws(IntakeError) -> Int {
        var filled = 0
        while filled < destination.count {
            let n = Glibc.read(fd, destination.baseAddress! + filled, destination.count - filled)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .transient(.sniff, "read failed: \(ErrnoText.current)") }
            if n == 0 { break }
            filled += n
        }
        return filled
    }
}

/// A worker's buffer for the files it reads, kept between files. It grows to the largest file
/// seen, and is given back after a file larger than `keptBytes`, so that one huge upload does not
/// pin its size for the daemon's lifetime.
public final class ReadBuffer {
    public static let keptBytes = 32 << 20
    private var memory = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    public init() {}

    /// At least `size` bytes (uninitialised).
    func storage(for size: Int) -> UnsafeMutableRawBufferPointer {
        if memory.count < max(size, 1) {
            memory.deallocate()
            memory = .allocate(byteCount: max(size, 1), alignment: 64)
        }
        return UnsafeMutableRawBufferPointer(rebasing: memory[0..<size])
    }

    /// Gives the memory back if it grew past `keptBytes`.
    public func trim() {
        guard memory.count > Self.keptBytes else { return }
        memory.deallocate()
        memory = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }

    deinit { memory.deallocate() }
}

/// A byte count in the unit a person reads best.
public struct ByteCount: CustomStringConvertible, Sendable {
    public let bytes: Int
    public init(_ bytes: Int) { self.bytes = bytes }
    public var description: String {
        if bytes >= 1 << 30 { return String(format1: Double(bytes) / Double(1 << 30)) + " GiB" }
        if bytes >= 1 << 20 { return String(format1: Double(bytes) / Double(1 << 20)) + " MiB" }
        if bytes >= 1 << 10 { return String(format1: Double(bytes) / Double(1 << 10)) + " KiB" }
        return "\(bytes) bytes"
    }
}

extension String {
    /// One decimal place, without Foundation's formatter.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
