import IntakeConfig
import IntakeCore
import Logging
import Synchronization

/// Runs `[alerts] command` for events worth a person's attention, on a thread of its own, so
/// that a slow, failing or hanging command never slows the daemon: `raise` only appends to a
/// bounded list and returns.
///
/// Rate limits are per kind of event. The first event of a kind waits `gatherSeconds` for
/// company, then the command runs once for all of them; after that the kind is quiet for
/// `minimumIntervalSeconds`, and what comes meanwhile goes in one message at its end. A run that
/// takes longer than `timeoutSeconds` is killed with its process group; every failure is logged.
final class Alerter: Sendable {
    private struct Pending {
        var events: [AlertEvent] = []
        /// Events beyond `heldLimit`, counted only.
        var dropped = 0
        var firstAt = 0.0
    }

    private struct State {
        var pending: [AlertEvent.Kind: Pending] = [:]
        var lastSentAt: [AlertEvent.Kind: Double] = [:]
        var stopping = false
    }

    /// Events of one kind held for the next message; a flood beyond it is counted, not kept.
    static let heldLimit = 1_000

    private let settings: IntakeConfiguration.Alerts
    private let logger: Logger
    private let condition = Condition()
    nonisolated(unsafe) private var state = State()  // guarded by `condition`
    private let sent = Atomic<Int>(0)
    private let failures = Atomic<Int>(0)
    nonisolated(unsafe) private var thread: SystemThread?

    init(settings: IntakeConfiguration.Alerts, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    var isEnabled: Bool { !settings.command.isEmpty }

    /// Messages the command took, and runs that failed (for metrics).
    var counts: (sent: Int, failed: Int) { (sent.load(ordering: .relaxed), failures.load(ordering: .relaxed)) }

    func start() {
        guard isEnabled else { return }
        thread = SystemThread(name: "intake-alert") { [self] in run() }
    }

    /// Sends what is held at once (no rate limit at the end), then stops.
    func stop() {
        condition.locked {
            state.stopping = true
            condition.broadcast()
        }
        thread?.join()
    }

    /// Takes an event for the next message of its kind; never waits.
    func raise(_ event: AlertEvent) {
        guard isEnabled else { return }
        condition.locked {
            var pending = state.pending[event.event] ?? Pending()
            if pending.events.isEmpty && pending.dropped == 0 { pending.firstAt = monotonicSeconds() }
            if pending.events.count < Self.heldLimit { pending.events.append(event) } else { pending.dropped += 1 }
            state.pending[event.event] = pending
            condition.broadcast()
        }
    }

    private func run() {
        while let (kind, pending) = nextDue() {
            send(kind, pending)
        }
    }

    /// Waits until a kind's message is due and takes its events; nil once stopped with nothing held.
    private func nextDue() -> (AlertEvent.Kind, Pending)? {
        condition.locked {
            while true {
                let now = monotonicSeconds()
                var earliest: (kind: AlertEvent.Kind, due: Double)?
                for (kind, pending) in state.pending where !pending.events.isEmpty {
                    let due =
                        state.stopping
                        ? now
                        : max(pending.firstAt + settings.gatherSeconds, (state.lastSentAt[kind] ?? -.infinity) + settings.minimumIntervalSeconds)
                    if earliest == nil || due < earliest!.due { earliest = (kind, due) }
                }
                if let earliest, earliest.due <= now {
                    let pending = state.pending.removeValue(forKey: earliest.kind)!
                    state.lastSentAt[earliest.kind] = now
                    return (earliest.kind, pending)
                }
                if state.stopping { return nil }
                condition.wait(seconds: earliest.map { $0.due - now })
            }
        }
    }

    private func send(_ kind: AlertEvent.Kind, _ pending: Pending) {
        let message = AlertMessage(first: pending.events[0], count: pending.events.count + pending.dropped, others: Array(pending.events.dropFirst()))
        let program = settings.command[0]
        let result = ChildRun.run(
            program: program, arguments: Array(settings.command.dropFirst()), standardInput: message.json(),
            timeoutSeconds: settings.timeoutSeconds, outputLimit: 4 << 10, errorLimit: 2 << 10, overOutputLimit: .discard)
        var metadata: Logger.Metadata = ["event": "\(kind.rawValue)", "count": "\(message.count)", "command": "\(program)"]
        switch result {
        case .failure(let failure):
            metadata["reason"] = "\(failure.reason)"
        case .success(let run):
            switch run.ending {
            case .exited(0):
                sent.add(1, ordering: .relaxed)
                logger.info("alert sent", metadata: metadata)
                return
            case .exited(let status): metadata["reason"] = "exited with status \(status)"
            case .signalled(let signal): metadata["reason"] = "killed by signal \(signal)"
            case .timedOut: metadata["reason"] = "took longer than \(settings.timeoutSeconds) s and was killed"
            case .outputTooLarge: metadata["reason"] = "wrote too much on standard output and was killed"
            }
            let errors = String(decoding: run.standardErrorTail, as: UTF8.self).trimmingTrailingNewlines
            if !errors.isEmpty { metadata["stderr"] = "\(errors)" }
        }
        failures.add(1, ordering: .relaxed)
        logger.error("the alert command failed; the alert is lost", metadata: metadata)
    }
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = Substring(self)
        while text.last == "\n" { text = text.dropLast() }
        return String(text)
    }
}
