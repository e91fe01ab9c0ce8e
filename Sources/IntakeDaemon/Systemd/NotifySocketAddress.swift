import Glibc

/// Where `NOTIFY_SOCKET` points: a socket file (`/run/systemd/notify`) or a name in the abstract
/// namespace (`@name`, stored with the leading NUL byte the kernel expects).
struct NotifySocketAddress: Equatable, Sendable {
    /// The bytes of `sun_path`, without a terminating NUL.
    let pathBytes: [UInt8]

    /// Parses `NOTIFY_SOCKET`; nil for what sd_notify does not support here (`vsock:` addresses,
    /// relative paths) or what does not fit in `sun_path`.
    init?(_ text: String) {
        var bytes = Array(text.utf8)
        guard let first = bytes.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@"), bytes.count > 1 else {
            return nil
        }
        if first == UInt8(ascii: "@") { bytes[0] = 0 }
        // A path needs room for its NUL; an abstract name may fill sun_path (108 bytes) entirely.
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        guard bytes.count <= (first == UInt8(ascii: "@") ? capacity : capacity - 1), !bytes.dropFirst().contains(0) else {
            return nil
        }
        pathBytes = bytes
    }

    /// Whether the name is in the abstract namespace.
    var isAbstract: Bool { pathBytes.first == 0 }

    /// Calls `body` with the `sockaddr_un` and its length. For an abstract name the length ends
    /// exactly at the name's last byte: every byte up to the length is part of the name.
    func withSocketAddress<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path.copyBytes(from: pathBytes)
        }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let length = socklen_t(offset + pathBytes.count + (isAbstract ? 0 : 1))
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
