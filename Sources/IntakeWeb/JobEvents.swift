import FoundationEssentials
import IntakeCore
import IntakeStore
import ServiceLifecycle
import Synchronization

/// Follows the database for job outcomes and hands each, as one Server-Sent Event, to every
/// listener of `GET /v1/events`. intaked and this process share nothing but the database, so it
/// asks SQLite every `interval` whether anyone committed (`PRAGMA data_version`, a few
/// microseconds) and reads the new outcomes only then, through an index in the order they happened.
///
/// A service of the server's group: at a graceful shutdown it ends every listener's stream, so
/// that open event connections do not hold the shutdown up.
final class JobEvents: Service, Sendable {
    private let root: StateRoot
    private let interval: Duration
    private let listeners = Mutex<[Int: AsyncStream<String>.Continuation]>([:])
    private let nextListener = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// A comment sent after this long without an event: proxies and idle timers close silent connections.
    private let keepAlive: Duration

    /// Events a slow listener may fall behind by before the oldest are dropped for it.
    static let backlog = 1_000

    /// `idleTimeoutSeconds` is the server's: the keep-alive comes well within it (every 10 s at most).
    init(root: StateRoot, idleTimeoutSeconds: Double = 30, interval: Duration = .milliseconds(20)) {
        self.root = root
        self.interval = interval
        keepAlive = .milliseconds(Int64(min(10, idleTimeoutSeconds / 2) * 1000))
    }

    /// A new listener's stream of events, each a whole `event:`/`id:`/`data:` block, and what ends it.
    func listen() -> (AsyncStream<String>, end: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(Self.backlog))
        let key = nextListener.wrappingAdd(1, ordering: .relaxed).oldValue
        listeners.withLock { $0[key] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.listeners.withLock { $0.removeValue(forKey: key) } }
        return (stream, { continuation.finish() })
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await follow()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        listeners.withLock { listeners in
            for continuation in listeners.values { continuation.finish() }
            listeners.removeAll()
        }
    }

    /// Follows outcomes until stopped; a database that cannot be read is tried again each interval.
    private func follow() async {
        var follower: Follower?
        let clock = ContinuousClock()
        var lastSent = clock.now
        while !Task.isCancelled && !stopping.load(ordering: .relaxed) {
            if follower == nil { follower = try? Follower(root: root) }
            if let current = follower {
                do {
                    for event in try current.newOutcomes() {
                        broadcast(event)
                        lastSent = clock.now
                    }
                } catch {
                    follower = nil  // reopened at the next look
                }
            }
            if clock.now - lastSent >= keepAlive {
                broadcast(": still listening\n\n")
                lastSent = clock.now
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func broadcast(_ event: String) {
        let continuations = listeners.withLock { Array($0.values) }
        for continuation in continuations { continuation.yield(event) }
    }
}

/// The reading side of `JobEvents`: its own connection and where it got to. Used by one task only.
private final class Follower {
    private let database: Database
    private var dataVersion: Int
    /// The last outcome seen: (finished at, id).
    private var cursor: (Int64, String)

    init(root: StateRoot) throws {
        database = try root.openDatabase(readOnly: true)
        dataVersion = try database.dataVersion()
        // Only what happens from now on: a listener wants outcomes, not history.
        let last = try database.lastFinishedJob()
        cursor = (last?.finishedAt ?? 0, last?.id ?? "")
    }

    func newOutcomes() throws -> [String] {
        let version = try database.dataVersion()
        guard version != dataVersion else { return [] }
        dataVersion = version
        var events: [String] = []
        while true {
            let rows = try database.jobsFinished(after: cursor.0, id: cursor.1, limit: 200)
            for row in rows {
                let view = try JobView(row, from: database)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                let json = String(decoding: try encoder.encode(view), as: UTF8.self)
                events.append("event: job\nid: \(row.id)\ndata: \(json)\n\n")
                cursor = (row.finishedAt ?? cursor.0, row.id)
            }
            if rows.count < 200 { return events }
        }
    }
}
