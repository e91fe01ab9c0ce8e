import Glibc
import Testing

@testable import IntakeDaemon

@Suite("systemd notifier")
struct SystemdNotifierTests {
    @Test func withoutNotifySocketNothingIsSent() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogInterval == nil)
        #expect(!notifier.ready())
        #expect(!notifier.watchdog())
    }

    @Test(arguments: ["", "relative/notify", "vsock:2:1234", "@", "/" + String(repeating: "x", count: 107)])
    func unsupportedSocketsDisableTheNotifier(value: String) {
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": value]).isEnabled)
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsec() {
        let pid = String(getpid())
        let socket = "/run/systemd/notify"
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "30000000"]).watchdogInterval == 15)
        #expect(
            SystemdNotifier(environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": pid])
                .watchdogInterval == 1.5)
        // Meant for another process (inherited from a parent): not ours to ping.
        #expect(
            SystemdNotifier(environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"])
                .watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "0"]).watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "soon"]).watchdogInterval == nil)
    }

    @Test func sendsExactDatagramsToASocketFile() throws {
        let folder = try makeNotifyScratchFolder()
        let path = folder + "/notify"
        defer {
            unlink(path)
            rmdir(folder)
        }
        let receiver = try Receiver(address: #require(NotifySocketAddress(path)))
        defer { receiver.close() }
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        #expect(notifier.isEnabled)

        #expect(notifier.ready(status: "watching 2 inboxes"))
        #expect(receiver.receive() == "READY=1\nSTATUS=watching 2 inboxes\n")
        #expect(notifier.watchdog())
        #expect(receiver.receive() == "WATCHDOG=1\n")
        #expect(notifier.status("3 queued\nFAKE=1"))
        #expect(receiver.receive() == "STATUS=3 queued FAKE=1\n")
        #expect(notifier.stopping())
        #expect(receiver.receive() == "STOPPING=1\n")
        #expect(notifier.notify(["STATUS": "b", "ERRNO": "5"]))
        #expect(receiver.receive() == "ERRNO=5\nSTATUS=b\n")
        #expect(notifier.extendTimeout(seconds: 2.5))
        #expect(receiver.receive() == "EXTEND_TIMEOUT_USEC=2500000\n")

        #expect(notifier.reloading())
        let reload = try #require(receiver.receive())
        let lines = reload.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first == "RELOADING=1")
        #expect(lines.last?.hasPrefix("MONOTONIC_USEC=") == true)
        #expect(lines.last.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) } != nil)

        // A bad key refuses the whole message: nothing arrives.
        #expect(!notifier.notify([("READY", "1"), ("BAD=KEY", "x")]))
        #expect(receiver.receive() == nil)
    }

    @Test func sendsToTheAbstractNamespace() throws {
        let name = "@intake-notify-test-\(getpid())-\(UInt32.random(in: .min ... .max))"
        let address = try #require(NotifySocketAddress(name))
        #expect(address.isAbstract)
        let receiver = try Receiver(address: address)
        defer { receiver.close() }
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": name])
        #expect(notifier.ready())
        #expect(receiver.receive() == "READY=1\n")
    }

    @Test func nobodyListeningIsReportedNotThrown() {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent-intake-folder/notify"])
        #expect(notifier.isEnabled)
        #expect(!notifier.watchdog())
    }

    @Test func journalPrefixOnlyWhenStandardErrorIsTheJournalStream() throws {
        let folder = try makeNotifyScratchFolder()
        let path = folder + "/stream"
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        defer {
            close(fd)
            unlink(path)
            rmdir(folder)
        }
        var status = stat()
        #expect(fstat(fd, &status) == 0)
        let stream = "\(status.st_dev):\(status.st_ino)"
        #expect(SystemdNotifier.journalPriorityPrefix(environment: ["JOURNAL_STREAM": stream], standardError: fd))
        #expect(!SystemdNotifier.journalPriorityPrefix(environment: ["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino + 1)"], standardError: fd))
        #expect(!SystemdNotifier.journalPriorityPrefix(environment: ["JOURNAL_STREAM": "garbage"], standardError: fd))
        #expect(!SystemdNotifier.journalPriorityPrefix(environment: [:], standardError: fd))
    }

    @Test func systemdEnvironmentReadsOnlyItsVariables() {
        let environment = SystemdNotifier.systemdEnvironment()
        #expect(Set(environment.keys).isSubset(of: ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"]))
    }
}

// MARK: - Helpers

private struct NotifyTestFailure: Error {
    let operation: String
    let code: Int32
}

/// A datagram socket bound where the notifier sends, as systemd's own end of NOTIFY_SOCKET.
private struct Receiver {
    let fd: Int32

    init(address: NotifySocketAddress) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NotifyTestFailure(operation: "socket", code: errno) }
        let bound = address.withSocketAddress { bind(fd, $0, $1) }
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            throw NotifyTestFailure(operation: "bind", code: code)
        }
        // Long enough for a datagram that was sent, short for one that never will be.
        var timeout = timeval(tv_sec: 0, tv_usec: 300_000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram's exact bytes, or nil when none comes.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    func close() {
        Glibc.close(fd)
    }
}

private func makeNotifyScratchFolder() throws -> String {
    var template = Array("/tmp/intake-notify-test-XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { throw NotifyTestFailure(operation: "mkdtemp", code: errno) }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
