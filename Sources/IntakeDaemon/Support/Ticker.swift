import Logging
import Synchronization

/// The daemon's clock: every few seconds it takes in retried jobs, samples gauges and writes
/// metrics.prom; it pings the systemd watchdog at half its timeout. On its own thread, so a slow
/// disk delays only itself.
final class Ticker: Sendable {
    private let metrics: DaemonMetrics
    private let queue: JobQueue
    private let watcher: InboxWatcher
    private let space: SpaceFloor
    private let committer: Committer
    private let environments: [String]
    private let metricsPath: String
    private let interval: Double
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let condition = Condition()
    private let stopping = Mutex(false)
    private let everyTick: @Sendable () -> Void
    /// Samples the parts the ticker does not know of, before each write of metrics.prom.
    private let sampleOthers: @Sendable () -> Void
    private let metricsOutage: Outage

    init(metrics: DaemonMetrics, queue: JobQueue, watcher: InboxWatcher, space: SpaceFloor, committer: Committer,
         environments: [String], metricsPath: String,
         interval: Double, notifier: SystemdNotifier, logger: Logger, everyTick: @escaping @Sendable () -> Void = {},
         sampleOthers: @escaping @Sendable () -> Void = {}) {
        self.everyTick = everyTick
        self.sampleOthers = sampleOthers
        self.metrics = metrics
        self.queue = queue
        self.watcher = watcher
        self.space = space
        self.committer = committer
        self.environments = environments
        self.metricsPath = metricsPath
        self.interval = interval
        self.notifier = notifier
        self.logger = logger
        metricsOutage = Outage("metrics.prom cannot be written", meanwhile: "intake serve's /metrics shows the last metrics written", logger: logger)
    }

    func run() {
        let watchdog = notifier.watchdogInterval
        var nextMetrics = 0.0, nextWatchdog = 0.0
        var databaseWasAway = false
        while !stopping.withLock({ $0 }) {
            let now = monotonicSeconds()
            if now >= nextMetrics {
                space.check()
                tellDatabaseState(&databaseWasAway)
                everyTick()
                writeMetrics()
                nextMetrics = now + interval
            }
            if let watchdog, now >= nextWatchdog {
                notifier.watchdog()
                nextWatchdog = now + watchdog
            }
            let next = min(nextMetrics, watchdog == nil ? .infinity : nextWatchdog)
            condition.locked { if !stopping.withLock({ $0 }) { condition.wait(seconds: next - monotonicSeconds()) } }
        }
        writeMetrics()
    }

    func stop() {
        condition.locked {
            stopping.withLock { $0 = true }
            condition.broadcast()
        }
    }

    /// Says in `systemctl status` when the database stops recording and when it records again
    /// (the log says so through the committer's outage, the metrics by a gauge).
    private func tellDatabaseState(_ wasAway: inout Bool) {
        let away = committer.databaseUnavailable
        guard away != wasAway else { return }
        wasAway = away
        notifier.status(away
            ? "the database cannot record: \(committer.backlog) events held, work goes on into the spool; retrying"
            : "the database records again")
    }

    private func writeMetrics() {
        metrics.sample(queue: queue, watcher: watcher, environments: environments)
        metrics.sample(space: space, committer: committer)
        sampleOthers()
        do {
            try MetricsFile.write(metrics.render(), to: metricsPath)
            metricsOutage.recovered()
        } catch {
            metricsOutage.failed("\(error)")
        }
    }
}
