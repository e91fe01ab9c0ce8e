#if canImport(Glibc)
import Glibc
#endif

/// A path as the kernel sees it: bytes, which need not be UTF-8. Inbox names arrive this way
/// and are only turned into text (SafeName) once a file is claimed.
struct BytePath: Hashable, Sendable, CustomStringConvertible {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ text: String) { bytes = Array(text.utf8) }

    func appending(_ name: [UInt8]) -> BytePath { BytePath(bytes + [UInt8(ascii: "/")] + name) }
    func appending(_ name: String) -> BytePath { appending(Array(name.utf8)) }

    /// The last component.
    var name: [UInt8] {
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return bytes }
        return Array(bytes[(slash + 1)...])
    }

    /// The folder it is in: the path without its last component.
    var folder: BytePath { BytePath(Array(bytes.dropLast(name.count + 1))) }

    /// Calls `body` with the path as a NUL-terminated C string.
    func withCString<T>(_ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    /// The status of what the path names, following a final link (an environment's folder may be one).
    func status() -> stat? {
        var status = stat()
        return withCString { fstatat(AT_FDCWD, $0, &status, 0) } == 0 ? status : nil
    }

    /// The file's status without following a final symbolic link; nil when it is gone.
    func linkStatus() -> stat? {
        var status = stat()
        return withCString { lstat($0, &status) } == 0 ? status : nil
    }

    /// Names in the folder at this path, without "." and "..".
    func entries() -> [[UInt8]] {
        var failure: Int32 = 0
        return entries(failure: &failure)
    }

    /// The same, and in `failure` the errno that kept the folder from being read (0 when read).
    func entries(failure: inout Int32) -> [[UInt8]] {
        guard let dir = withCString({ opendir($0) }) else {
            failure = errno
            return []
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names
    }

    /// Shown in logs: SafeName escapes make any byte printable.
    var description: String { String(decoding: bytes, as: UTF8.self) }
}

extension stat {
    var isDirectory: Bool { st_mode & S_IFMT == S_IFDIR }
    var isRegularFile: Bool { st_mode & S_IFMT == S_IFREG }
    var isSymbolicLink: Bool { st_mode & S_IFMT == S_IFLNK }
}
