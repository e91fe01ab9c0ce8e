import Logging
import Synchronization

/// A fault that lasts (a full disk, a locked database, a folder gone): its start is logged once,
/// the failures during it are counted quietly, and its end is logged with how long it lasted and
/// how many tries it took. One line each way, not one per try: 281 identical lines hide the one
/// that matters.
final class Outage: Sendable {
    private struct State {
        var since: Double?
        var failures = 0
        var lastReason = ""
    }

    /// What is wrong while it lasts, e.g. "the database cannot record".
    let what: String
    private let consequence: String
    private let logger: Logger
    private let state = Mutex(State())

    /// `consequence` says what the daemon does meanwhile, e.g. "events are held until it can".
    init(_ what: String, meanwhile consequence: String, logger: Logger) {
        self.what = what
        self.consequence = consequence
        self.logger = logger
    }

    /// Notes a failure; the first of an outage is logged as an error. Returns whether it was the first.
    @discardableResult
    func failed(_ reason: String, metadata: Logger.Metadata = [:]) -> Bool {
        let first = state.withLock { state in
            state.failures += 1
            state.lastReason = reason
            if state.since != nil { return false }
            state.since = monotonicSeconds()
            return true
        }
        if first {
            logger.error("\(what); \(consequence)", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
        } else {
            logger.debug("\(what) still", metadata: ["reason": "\(reason)"])
        }
        return first
    }

    /// Notes that it works again; the end of an outage is logged. Returns whether one was going on.
    @discardableResult
    func recovered() -> Bool {
        let ended = state.withLock { state -> (seconds: Double, failures: Int)? in
            guard let since = state.since else { return nil }
            defer { state = State() }
            return (monotonicSeconds() - since, state.failures)
        }
        guard let ended else { return false }
        logger.notice(
            "over: \(what)",
            metadata: ["lasted_s": "\(Int(ended.seconds.rounded()))", "failed_tries": "\(ended.failures)"])
        return true
    }

    var isGoingOn: Bool { state.withLock { $0.since != nil } }

    /// How long the outage has lasted so far; 0 when there is none.
    var seconds: Double { state.withLock { $0.since.map { monotonicSeconds() - $0 } ?? 0 } }
}
