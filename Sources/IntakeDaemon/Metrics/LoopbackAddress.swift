import Glibc

/// A host the metrics listener may bind: an address in 127.0.0.0/8, `::1`, or `localhost`.
/// Parsed from the literal text only — never resolved, so `/etc/hosts` cannot widen it.
enum LoopbackAddress: Equatable, Sendable {
    /// An IPv4 address, network byte order.
    case v4(UInt32)
    /// `::1`.
    case v6

    /// Parses `host` (IPv6 with or without brackets), or returns nil when it is not loopback.
    init?(host: String) {
        var host = host
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2 { host = String(host.dropFirst().dropLast()) }
        if host.lowercased() == "localhost" {
            self = .v4(UInt32(INADDR_LOOPBACK).bigEndian)
            return
        }
        var v4 = in_addr()
        // inet_pton takes only the full dotted quad, not `127.1` or `0x7f.1` which inet_aton would.
        if inet_pton(AF_INET, host, &v4) == 1 {
            guard UInt32(bigEndian: v4.s_addr) >> 24 == 127 else { return nil }
            self = .v4(v4.s_addr)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            guard bytes == Array(repeating: 0, count: 15) + [1] else { return nil }
            self = .v6
            return
        }
        return nil
    }

    /// The address family for `socket`.
    var family: Int32 {
        switch self {
        case .v4: AF_INET
        case .v6: AF_INET6
        }
    }

    /// Calls `body` with a `sockaddr` for this address and `port`, and its length.
    func withSocketAddress<T>(port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        switch self {
        case .v4(let address):
            var storage = sockaddr_in()
            storage.sin_family = sa_family_t(AF_INET)
            storage.sin_port = port.bigEndian
            storage.sin_addr.s_addr = address
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6:
            var storage = sockaddr_in6()
            storage.sin6_family = sa_family_t(AF_INET6)
            storage.sin6_port = port.bigEndian
            storage.sin6_addr = in6addr_loopback
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}
