import Glibc

/// Tells systemd how the daemon is doing — ready, reloading, stopping, alive for the watchdog,
/// a status line — by the sd_notify protocol, without linking libsystemd.
///
/// Each message is one datagram of `KEY=VALUE` lines to the AF_UNIX socket in `NOTIFY_SOCKET`.
/// Outside systemd (no `NOTIFY_SOCKET`) every call does nothing and returns false. Sending never
/// throws: a daemon must not stop because its supervisor is not listening.
public struct SystemdNotifier: Sendable {
    let address: NotifySocketAddress?

    /// How often to call ``watchdog()``: half of `WATCHDOG_USEC`, as systemd recommends, in
    /// seconds; nil when the watchdog is off or meant for another process (`WATCHDOG_PID`).
    public let watchdogInterval: Double?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment` (see
    /// ``systemdEnvironment()`` for the process's own).
    public init(environment: [String: String]) {
        address = environment["NOTIFY_SOCKET"].flatMap(NotifySocketAddress.init)
        watchdogInterval = Self.watchdogInterval(environment, pid: Int(getpid()))
    }

    /// Whether messages go anywhere: the process runs under systemd with a notify socket.
    public var isEnabled: Bool { address != nil }

    /// Sends `fields` in one datagram, one `KEY=VALUE` line each, keys sorted so that the bytes
    /// are the same from run to run. Returns whether the datagram was sent.
    @discardableResult
    public func notify(_ fields: [String: String]) -> Bool {
        notify(fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// Sends `fields` in one datagram in the order given. A key that is empty or holds `=` or a
    /// line break refuses the whole message; line breaks in values become spaces, so a status
    /// text cannot smuggle in a field. Returns whether the datagram was sent.
    @discardableResult
    public func notify(_ fields: [(String, String)]) -> Bool {
        guard let address, !fields.isEmpty else { return false }
        var message = ""
        for (key, value) in fields {
            guard !key.isEmpty, !key.contains(where: { $0 == "=" || $0.isNewline }) else { return false }
            message += key
            message += "="
            message += value.contains(where: \.isNewline) ? String(value.map { $0.isNewline ? " " : $0 }) : value
            message += "\n"
        }
        return Self.send(Array(message.utf8), to: address)
    }

    /// Start-up is done and the daemon serves: `READY=1`, with an optional status line.
    @discardableResult
    public func ready(status: String? = nil) -> Bool {
        notify([("READY", "1")] + (status.map { [("STATUS", $0)] } ?? []))
    }

    /// A free-form line that `systemctl status` shows: `STATUS=…`.
    @discardableResult
    public func status(_ text: String) -> Bool {
        notify([("STATUS", text)])
    }

    /// The watchdog ping, `WATCHDOG=1`; call it every ``watchdogInterval`` from the loop whose
    /// progress it vouches for.
    @discardableResult
    public func watchdog() -> Bool {
        notify([("WATCHDOG", "1")])
    }

    /// Shutdown has begun: `STOPPING=1`, with an optional status line.
    @discardableResult
    public func stopping(status: String? = nil) -> Bool {
        notify([("STOPPING", "1")] + (status.map { [("STATUS", $0)] } ?? []))
    }

    /// A reload (SIGHUP) has begun: `RELOADING=1` with `MONOTONIC_USEC`, which `Type=notify-reload`
    /// requires and plain `Type=notify` ignores. Send ``ready(status:)`` when the reload is done.
    @discardableResult
    public func reloading(status: String? = nil) -> Bool {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        let microseconds = UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1_000
        return notify([("RELOADING", "1"), ("MONOTONIC_USEC", String(microseconds))] + (status.map { [("STATUS", $0)] } ?? []))
    }

    /// Asks for `seconds` more before systemd's start or stop timeout fires — for a long first
    /// scan of a full inbox, or a long drain at shutdown: `EXTEND_TIMEOUT_USEC=…`.
    @discardableResult
    public func extendTimeout(seconds: Double) -> Bool {
        guard seconds.isFinite, seconds > 0 else { return false }
        return notify([("EXTEND_TIMEOUT_USEC", String(UInt64(seconds * 1_000_000)))])
    }

    /// Half of `WATCHDOG_USEC` in seconds, when it is set, positive, and `WATCHDOG_PID` (if set)
    /// names this process.
    private static func watchdogInterval(_ environment: [String: String], pid: Int) -> Double? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"] {
            guard Int(owner) == pid else { return nil }
        }
        return Double(microseconds) / 2 / 1_000_000
    }

    /// One datagram on a fresh socket, as libsystemd does: nothing stays open between messages.
    private static func send(_ message: [UInt8], to address: NotifySocketAddress) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let sent = address.withSocketAddress { socketAddress, length in
            message.withUnsafeBytes { bytes in
                sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
        return sent == message.count
    }
}
