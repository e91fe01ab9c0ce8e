/// Why ``MetricsHTTPServer/start(host:port:)`` refused or failed to listen.
public enum MetricsServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The host is not a loopback address; the hardened unit has no network, and metrics are not
    /// meant to leave the machine except through node_exporter.
    case notLoopback(host: String)
    /// The port is outside 0...65535.
    case invalidPort(Int)
    /// `start` was called on a server that is already listening.
    case alreadyRunning
    /// A system call failed: which one, for which address, `errno` and its text.
    case system(operation: String, address: String, code: Int32, message: String)

    /// One line for the log.
    public var description: String {
        switch self {
        case .notLoopback(let host):
            "metrics_listen: \(host) is not a loopback address; use 127.0.0.1 (or another 127.x.y.z), ::1 or localhost"
        case .invalidPort(let port):
            "metrics_listen: port \(port) is outside 0...65535"
        case .alreadyRunning:
            "metrics listener is already running"
        case .system(let operation, let address, _, let message):
            "metrics listener: cannot \(operation) \(address): \(message)"
        }
    }
}
