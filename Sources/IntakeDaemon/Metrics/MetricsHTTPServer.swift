import IntakeCore
import Glibc
import Synchronization

/// Serves the metrics over HTTP on a loopback address, for when the configuration sets
/// `metrics_listen` (off by default: the textfile collector needs no listener).
///
/// One pthread accepts and answers connections one at a time: a scrape every few seconds needs
/// no more, and a client that stalls is cut off by 2-second receive and send timeouts.
public final class MetricsHTTPServer: Sendable {
    /// What a running server holds; released by ``stop()``.
    private struct Running: Sendable {
        var listener: Int32
        /// Writing a byte to `wake[1]` makes the serving thread's poll return, to stop it.
        var wake: (Int32, Int32)
        var thread: SystemThread
    }

    private let metrics: @Sendable () -> String
    private let running = Mutex<Running?>(nil)

    /// A server that answers with `registry.render()`.
    public convenience init(registry: MetricsRegistry) {
        self.init { registry.render() }
    }

    /// A server that answers with `metrics()`, called on the serving thread for each scrape —
    /// for a caller that refreshes gauges (queue depth, oldest wait) before rendering.
    public init(metrics: @escaping @Sendable () -> String) {
        self.metrics = metrics
    }

    deinit {
        stop()
    }

    /// Whether the server is listening.
    public var isRunning: Bool {
        running.withLock { $0 != nil }
    }

    /// Starts listening on `host`:`port` and returns the port actually bound (the kernel picks
    /// one when `port` is 0). `host` must be loopback — 127.0.0.0/8, `::1` or `localhost` — and
    /// anything else is refused before a socket is made.
    @discardableResult
    public func start(host: String, port: Int) throws(MetricsServerError) -> Int {
        guard let address = LoopbackAddress(host: host) else { throw .notLoopback(host: host) }
        guard (0...65535).contains(port) else { throw .invalidPort(port) }
        let shown = address.family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
        return try running.withLock { running throws(MetricsServerError) -> Int in
            guard running == nil else { throw .alreadyRunning }
            let listener = try Self.listen(on: address, port: UInt16(port), shown: shown)
            let boundPort: Int
            let wake: (Int32, Int32)
            do throws(MetricsServerError) {
                boundPort = try Self.boundPort(of: listener, shown: shown)
                wake = try Self.wakePair(shown: shown)
            } catch {
                close(listener)
                throw error
            }
            let loop = UncheckedTransfer(ServingLoop(listener: listener, wake: wake.0, metrics: metrics))
            let thread = SystemThread(name: "intake-metrics") { loop.value.run() }
            running = Running(listener: listener, wake: wake, thread: thread)
            return boundPort
        }
    }

    /// Stops listening and waits for the serving thread to finish the request it is answering.
    /// Does nothing when the server is not running.
    public func stop() {
        guard let stopping = running.withLock({ running in
            defer { running = nil }
            return running
        }) else { return }
        var byte: UInt8 = 1
        _ = send(stopping.wake.1, &byte, 1, Int32(MSG_NOSIGNAL))
        stopping.thread.join()
        // Closed only after the join, so the thread never polls a number already reused.
        close(stopping.listener)
        close(stopping.wake.0)
        close(stopping.wake.1)
    }

    private static func listen(on address: LoopbackAddress, port: UInt16, shown: String) throws(MetricsServerError) -> Int32 {
        // Non-blocking, so that accept after poll never hangs on a connection already gone.
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw failure("create a socket for", shown) }
        var one: Int32 = 1
        // A restart must not wait for the previous process's connections to leave TIME_WAIT.
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            let error = failure("set SO_REUSEADDR on", shown)
            close(fd)
            throw error
        }
        let bound = address.withSocketAddress(port: port) { bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = failure("bind", shown)
            close(fd)
            throw error
        }
        guard Glibc.listen(fd, 16) == 0 else {
            let error = failure("listen on", shown)
            close(fd)
            throw error
        }
        return fd
    }

    private static func boundPort(of fd: Int32, shown: String) throws(MetricsServerError) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { throw failure("read the port of", shown) }
        // sin_port and sin6_port sit at the same offset, right after the family.
        let port = withUnsafeBytes(of: &storage) { $0.load(fromByteOffset: 2, as: UInt16.self) }
        return Int(UInt16(bigEndian: port))
    }

    private static func wakePair(shown: String) throws(MetricsServerError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw failure("create the stop signal for", shown)
        }
        return (fds[0], fds[1])
    }

    private static func failure(_ operation: String, _ address: String) -> MetricsServerError {
        let code = errno
        return .system(operation: operation, address: address, code: code, message: ErrnoText.describe(code))
    }
}

/// The serving thread's loop: wait for a connection or the stop signal, answer, repeat.
private final class ServingLoop: Sendable {
    /// Each request's whole head must arrive within this time, and each send make progress in it.
    static let timeoutSeconds = 2

    let listener: Int32
    let wake: Int32
    let metrics: @Sendable () -> String

    init(listener: Int32, wake: Int32, metrics: @escaping @Sendable () -> String) {
        self.listener = listener
        self.wake = wake
        self.metrics = metrics
    }

    func run() {
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let client = accept(listener, nil, nil)
            if client < 0 {
                // Out of descriptors: the pending connection stays queued and poll would return
                // at once, so pause instead of spinning.
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM { usleep(100_000) }
                continue
            }
            // intaked starts no child processes, so setting close-on-exec after accept is not a race.
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            serve(client)
            close(client)
        }
    }

    private func serve(_ client: Int32) {
        var timeout = timeval(tv_sec: Self.timeoutSeconds, tv_usec: 0)
        let size = socklen_t(MemoryLayout<timeval>.size)
        _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, size)
        _ = setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, size)
        guard let head = readHead(client) else { return }
        let answer = head.isEmpty
            ? MetricsHTTPExchange.tooLarge()
            : MetricsHTTPExchange.response(toHead: head, metrics: metrics)
        sendAll(answer, to: client)
        drain(client)
    }

    /// Closing with unread bytes makes the kernel send a reset, which can destroy the answer
    /// before the client reads it; so say we are done, and read what is left, briefly.
    private func drain(_ client: Int32) {
        _ = shutdown(client, Int32(SHUT_WR))
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 2048)
        for _ in 0..<32 {
            guard recv(client, &chunk, chunk.count, 0) > 0 else { return }
        }
    }

    /// The request head; empty when it outgrew the cap; nil on timeout, error or early close.
    private func readHead(_ client: Int32) -> [UInt8]? {
        // SO_RCVTIMEO bounds each recv; the deadline bounds them together, against a client that
        // trickles one byte at a time.
        let deadline = monotonicSeconds() + Double(Self.timeoutSeconds)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while monotonicSeconds() < deadline {
            let n = recv(client, &chunk, chunk.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            bytes += chunk[..<n]
            if let length = MetricsHTTPExchange.headLength(in: bytes) { return Array(bytes[..<length]) }
            if bytes.count > MetricsHTTPExchange.maximumHeadBytes { return [] }
        }
        return nil
    }

    private func sendAll(_ bytes: [UInt8], to client: Int32) {
        var sent = 0
        while sent < bytes.count {
            // MSG_NOSIGNAL: a client gone early must not raise SIGPIPE in the daemon.
            let n = bytes.withUnsafeBytes { send(client, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            sent += n
        }
    }

}
