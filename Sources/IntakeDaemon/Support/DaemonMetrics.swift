import IntakePipeline
import Synchronization

/// The daemon's metrics, by name, in one registry rendered for node_exporter's textfile collector.
final class DaemonMetrics: Sendable {
    let registry = MetricsRegistry()
    let jobs: Counter
    let retries: Counter
    let stageSeconds: Histogram
    let jobSeconds: Histogram
    let commitBatchJobs: Histogram
    let queueDepth: Gauge
    let oldestWait: Gauge
    let overflows: Counter
    let rescans: Counter
    /// The watcher's running totals at the last sample, to turn them into counter increments.
    private let lastWatcherTotals = Mutex((overflows: 0, rescans: 0))
    let watches: Gauge
    let watchDegraded: Gauge
    let freeBytes: Gauge
    let claimingPaused: Gauge
    let databaseUnavailable: Gauge
    let commitBacklog: Gauge

    init() {
        let latency: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        jobs = registry.counter("intake_jobs_total", help: "Jobs made final, by environment and outcome (done, failed).")
        retries = registry.counter("intake_retries_total", help: "Attempts that failed for a passing reason and were retried.")
        stageSeconds = registry.histogram("intake_stage_duration_seconds", help: "Time spent in each stage of a job.", buckets: latency)
        jobSeconds = registry.histogram(
            "intake_job_latency_seconds", help: "From claim to commit, by environment.", buckets: latency + [30, 60, 300])
        commitBatchJobs = registry.histogram(
            "intake_commit_batch_jobs", help: "Jobs made final by one durable commit (one syncfs, one transaction).",
            buckets: [1, 2, 4, 8, 16, 32, 64, 128])
        queueDepth = registry.gauge("intake_queue_depth", help: "Jobs waiting for a worker, by environment.")
        oldestWait = registry.gauge("intake_queue_oldest_wait_seconds", help: "How long the oldest waiting job has waited.")
        overflows = registry.counter("intake_inotify_overflows_total", help: "inotify queue overflows since start (each forces a rescan).")
        rescans = registry.counter("intake_inbox_scans_total", help: "Full scans of the inboxes since start: at start, periodic, after overflows.")
        watches = registry.gauge("intake_inotify_watches", help: "Folders watched with inotify.")
        watchDegraded = registry.gauge("intake_inotify_degraded", help: "1 when the watch limit was hit and the inboxes are scanned instead.")
        freeBytes = registry.gauge("intake_state_root_free_bytes", help: "Free space on the state root's filesystem, for an unprivileged user.")
        claimingPaused = registry.gauge(
            "intake_claiming_paused", help: "1 while free space is below min_free_bytes and new files are left in the inbox.")
        databaseUnavailable = registry.gauge(
            "intake_database_unavailable", help: "1 while the database refuses writes (locked, full, read-only) and events are held.")
        commitBacklog = registry.gauge("intake_commit_backlog_events", help: "Events waiting to be recorded in the database.")
    }

    func record(_ job: FinishedJob) {
        let environment = job.job.environment
        jobs.increment(labels: [("env", environment), ("outcome", job.succeeded ? "done" : "failed")])
        for (stage, ms) in job.timings { stageSeconds.observe(ms / 1000, labels: [("stage", stage.rawValue)]) }
        let latency = Double(job.finishedAt &- job.job.createdAt) / 1000
        jobSeconds.observe(max(0, latency), labels: [("env", environment)])
    }

    func sample(space: SpaceFloor, committer: Committer) {
        let free = space.freeBytes
        if free != .max { freeBytes.set(Double(free)) }
        claimingPaused.set(space.isPaused ? 1 : 0)
        databaseUnavailable.set(committer.databaseUnavailable ? 1 : 0)
        commitBacklog.set(Double(committer.backlog))
    }

    func sample(queue: JobQueue, watcher: InboxWatcher, environments: [String]) {
        let (depth, oldest) = queue.snapshot()
        for environment in environments { queueDepth.set(Double(depth[environment] ?? 0), labels: [("env", environment)]) }
        oldestWait.set(oldest)
        let counters = watcher.counters
        let (newOverflows, newRescans) = lastWatcherTotals.withLock { last in
            defer { last = (counters.overflows, counters.rescans) }
            return (counters.overflows - last.overflows, counters.rescans - last.rescans)
        }
        overflows.increment(by: Double(newOverflows))
        rescans.increment(by: Double(newRescans))
        watches.set(Double(counters.watches))
        watchDegraded.set(counters.degraded ? 1 : 0)
    }
}
