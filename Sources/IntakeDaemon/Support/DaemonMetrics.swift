import IntakePipeline
import Prometheus
import Synchronization

/// The daemon's metrics, by name, in one swift-prometheus registry. intaked has no network: the
/// registry is written to `metrics.prom` for node_exporter's textfile collector, and `intake
/// serve` answers it on `/metrics` beside its own.
final class DaemonMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    // The labelled families, looked up by their labels at each update (the descriptor type is
    // not Sendable, so they are made when needed).
    private static var jobs: MetricNameDescriptor { named("intake_jobs_total", "Jobs made final, by environment and outcome (done, failed).") }
    private static var stageSeconds: MetricNameDescriptor { named("intake_stage_duration_seconds", "Time spent in each stage of a job.") }
    private static var jobSeconds: MetricNameDescriptor { named("intake_job_latency_seconds", "From claim to commit, by environment.") }
    private static var queueDepth: MetricNameDescriptor { named("intake_queue_depth", "Jobs waiting for a worker, by environment.") }
    private static var prunedJobs: MetricNameDescriptor {
        named("intake_pruned_jobs_total", "Jobs retention removed (or archived), by environment and outcome (done, failed).")
    }
    private static var prunedBytes: MetricNameDescriptor { named("intake_pruned_bytes_total", "Bytes of the files retention removed (or archived).") }
    private static var storageBytes: MetricNameDescriptor {
        named("intake_storage_bytes", "Bytes under each folder of the state root (as du counts them), and the database's.")
    }
    private static var storageGrowth: MetricNameDescriptor {
        named("intake_storage_growth_bytes_per_day", "How fast each folder grew per day over the last week (negative: shrank).")
    }
    private let retries: Counter
    private let commitBatchJobs: ValueHistogram
    private let oldestWait: Gauge
    private let overflows: Counter
    private let rescans: Counter
    /// The watcher's running totals at the last sample, to turn them into counter increments.
    private let lastWatcherTotals = Mutex((overflows: 0, rescans: 0))
    private let watches: Gauge
    private let watchDegraded: Gauge
    private let freeBytes: Gauge
    private let claimingPaused: Gauge
    private let databaseUnavailable: Gauge
    private let commitBacklog: Gauge
    private let alertsSent: Counter
    private let alertsFailed: Counter
    private let lastAlertTotals = Mutex((sent: 0, failed: 0))

    static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// A metric's full name and help; the names are intake's own, whole (`intake_jobs_total`).
    private static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    init() {
        retries = registry.makeCounter(descriptor: Self.named("intake_retries_total", "Attempts that failed for a passing reason and were retried."))
        commitBatchJobs = registry.makeValueHistogram(
            descriptor: Self.named("intake_commit_batch_jobs", "Jobs made final by one durable commit (one syncfs, one transaction)."),
            buckets: [1, 2, 4, 8, 16, 32, 64, 128])
        oldestWait = registry.makeGauge(descriptor: Self.named("intake_queue_oldest_wait_seconds", "How long the oldest waiting job has waited."))
        overflows = registry.makeCounter(
            descriptor: Self.named("intake_inotify_overflows_total", "inotify queue overflows since start (each forces a rescan)."))
        rescans = registry.makeCounter(
            descriptor: Self.named("intake_inbox_scans_total", "Full scans of the inboxes since start: at start, periodic, after overflows."))
        watches = registry.makeGauge(descriptor: Self.named("intake_inotify_watches", "Folders watched with inotify."))
        watchDegraded = registry.makeGauge(
            descriptor: Self.named("intake_inotify_degraded", "1 when the watch limit was hit and the inboxes are scanned instead."))
        freeBytes = registry.makeGauge(
            descriptor: Self.named("intake_state_root_free_bytes", "Free space on the state root's filesystem, for an unprivileged user."))
        claimingPaused = registry.makeGauge(
            descriptor: Self.named("intake_claiming_paused", "1 while free space is below min_free_bytes and new files are left in the inbox."))
        databaseUnavailable = registry.makeGauge(
            descriptor: Self.named(
                "intake_database_unavailable", "1 while the database refuses writes (locked, full, read-only) and events are held."))
        commitBacklog = registry.makeGauge(descriptor: Self.named("intake_commit_backlog_events", "Events waiting to be recorded in the database."))
        alertsSent = registry.makeCounter(descriptor: Self.named("intake_alerts_sent_total", "Runs of the alert command that succeeded."))
        alertsFailed = registry.makeCounter(
            descriptor: Self.named("intake_alerts_failed_total", "Runs of the alert command that failed, timed out or could not start."))
    }

    /// The environments' series exist from the start, at 0, so that a rate over them is defined
    /// before the first job ends.
    func prepare(environments: [String]) {
        for environment in environments {
            for outcome in ["done", "failed"] { _ = registry.makeCounter(descriptor: Self.jobs, labels: [("env", environment), ("outcome", outcome)]) }
            registry.makeGauge(descriptor: Self.queueDepth, labels: [("env", environment)]).set(to: 0)
            for outcome in ["done", "failed"] {
                _ = registry.makeCounter(descriptor: Self.prunedJobs, labels: [("env", environment), ("outcome", outcome)])
            }
            _ = registry.makeCounter(descriptor: Self.prunedBytes, labels: [("env", environment)])
        }
    }

    func recordPruned(environment: String, failed: Bool, bytes: Int64) {
        registry.makeCounter(descriptor: Self.prunedJobs, labels: [("env", environment), ("outcome", failed ? "failed" : "done")]).increment()
        registry.makeCounter(descriptor: Self.prunedBytes, labels: [("env", environment)]).increment(by: Double(bytes))
    }

    /// Sizes per folder, and growth per day: NaN (which Prometheus takes as a gap) until samples
    /// an hour apart exist.
    func recordStorage(folder: String, bytes: Int64, bytesPerDay: Double?) {
        registry.makeGauge(descriptor: Self.storageBytes, labels: [("folder", folder)]).set(to: Double(bytes))
        registry.makeGauge(descriptor: Self.storageGrowth, labels: [("folder", folder)]).set(to: bytesPerDay ?? .nan)
    }

    func sample(alerter: Alerter) {
        let counts = alerter.counts
        let (newSent, newFailed) = lastAlertTotals.withLock { last in
            defer { last = counts }
            return (counts.sent - last.sent, counts.failed - last.failed)
        }
        alertsSent.increment(by: Double(newSent))
        alertsFailed.increment(by: Double(newFailed))
    }

    func record(_ job: FinishedJob) {
        let environment = job.job.environment
        registry.makeCounter(descriptor: Self.jobs, labels: [("env", environment), ("outcome", job.succeeded ? "done" : "failed")]).increment()
        for (stage, ms) in job.timings {
            registry.makeValueHistogram(descriptor: Self.stageSeconds, labels: [("stage", stage.rawValue)], buckets: Self.latencyBuckets).record(ms / 1000)
        }
        let latency = Double(job.finishedAt &- job.job.createdAt) / 1000
        registry.makeValueHistogram(descriptor: Self.jobSeconds, labels: [("env", environment)], buckets: Self.latencyBuckets + [30, 60, 300])
            .record(max(0, latency))
    }

    func recordRetry() { retries.increment() }

    func recordCommitBatch(jobs: Int) { commitBatchJobs.record(Double(jobs)) }

    func sample(space: SpaceFloor, committer: Committer) {
        let free = space.freeBytes
        if free != .max { freeBytes.set(to: Double(free)) }
        claimingPaused.set(to: space.isPaused ? 1 : 0)
        databaseUnavailable.set(to: committer.databaseUnavailable ? 1 : 0)
        commitBacklog.set(to: Double(committer.backlog))
    }

    func sample(queue: JobQueue, watcher: InboxWatcher, environments: [String]) {
        let (depth, oldest) = queue.snapshot()
        for environment in environments {
            registry.makeGauge(descriptor: Self.queueDepth, labels: [("env", environment)]).set(to: Double(depth[environment] ?? 0))
        }
        oldestWait.set(to: oldest)
        let counters = watcher.counters
        let (newOverflows, newRescans) = lastWatcherTotals.withLock { last in
            defer { last = (counters.overflows, counters.rescans) }
            return (counters.overflows - last.overflows, counters.rescans - last.rescans)
        }
        overflows.increment(by: Double(newOverflows))
        rescans.increment(by: Double(newRescans))
        watches.set(to: Double(counters.watches))
        watchDegraded.set(to: counters.degraded ? 1 : 0)
    }

    /// The registry in the Prometheus text format.
    func render() -> String { registry.emitToString() }
}
