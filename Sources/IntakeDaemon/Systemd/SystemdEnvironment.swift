import Glibc

extension SystemdNotifier {
    /// The variables systemd passes a service that this module reads, from the process's own
    /// environment: the input for ``init(environment:)`` and ``journalPriorityPrefix(environment:standardError:)``.
    public static func systemdEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        // getenv rather than walking `environ`, a global mutable variable Swift 6 will not share.
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return environment
    }
}
