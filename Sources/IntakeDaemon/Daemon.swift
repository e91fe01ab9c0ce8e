public import IntakeConfig
public import Logging
import IntakeMeter
import IntakePipeline
import IntakeStore
import IntakeRetention
import Synchronization
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// intaked: watch → claim → queue → work → commit, as one process. Build it with a configuration,
/// then `run()` blocks until SIGTERM or SIGINT; SIGHUP reloads the configuration; SIGUSR1 takes
/// the jobs `intake retry` sent back.
public final class Daemon {
    private var configuration: IntakeConfiguration
    private let configurationPath: String?
    private let rootOverride: String?
    private let logger: Logger
    private let notifier: SystemdNotifier

    /// `rootOverride` (`--root`) wins over the configuration's state root, also across reloads.
    public init(configuration: IntakeConfiguration, configurationPath: String?, rootOverride: String?, logger: Logger,
                environment: [String: String]) {
        self.configuration = configuration
        self.configurationPath = configurationPath
        self.rootOverride = rootOverride
        self.logger = logger
        notifier = SystemdNotifier(environment: environment)
    }

    /// Blocks the signals the daemon handles in the calling thread, and so in every thread it
    /// starts: they are then taken by `sigwait` in `run`. Call first thing in `main`.
    public static func blockSignals() {
        var signals = Self.handledSignals
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    private static var handledSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGUSR1] { sigaddset(&set, number) }
        return set
    }

    public func run() throws(DaemonError) {
        let root = configuration.stateRoot(path: AbsolutePath.resolving(rootOverride ?? configuration.daemon.root))
        let environments = configuration.environments.map(\.name)
        for folder in root.folders(environments: environments) {
            do { try DurableFile.makeFolders(folder, stage: .claim) } catch { throw DaemonError("cannot create \(folder): \(error.reason)") }
        }
        let lock = try Self.lock(root)
        defer { close(lock) }
        // Before recovery, which deletes this host's rows whose files it does not have.
        let hostName = Database.isPostgreSQL(root.database)
            ? HostNameLease(root: root, leaseSeconds: Double(configuration.store.claimLeaseSeconds), logger: logger) : nil
        try hostName?.take()
        let hostNameThread = hostName.map { lease in
            SystemThread(name: "intake-host") { lease.keep(lost: { kill(getpid(), SIGTERM) }) }
        }

        let settings = SharedSettings(WorkSettings(configuration))
        let queue = JobQueue(
            weights: Dictionary(uniqueKeysWithValues: configuration.environments.map { ($0.name, $0.weight) }),
            agingSeconds: configuration.queue.agingSeconds, capacity: configuration.daemon.queueCapacity)
        let claims = root.sharedInbox
            ? ClaimBook(root: root, leaseSeconds: Double(configuration.store.claimLeaseSeconds), logger: logger) : nil
        let (summary, unfiled) = try recover(root: root, claims: claims, settings: settings.current.settings, queue: queue)
        logger.info("recovered", metadata: ["summary": "\(summary)", "queued": "\(queue.count)"])

        let metrics = DaemonMetrics()
        metrics.prepare(environments: environments)
        let logger = self.logger
        let alerter = Alerter(settings: configuration.alerts, logger: logger)
        let alertWatch = AlertWatch(alerter: alerter, settings: configuration.alerts, host: root.host)
        alerter.start()
        let ledger = MeterLedger(root: root)
        let committer = Committer(
            root: root, claimLeaseSeconds: Double(configuration.store.claimLeaseSeconds), logger: logger,
            observer: { job in
                // The reading is history once it is committed, not before: workers judge by what is recorded.
                if let meter = job.meter, meter.verdict == .match, let value = meter.reading {
                    ledger.accept(meter: meter.meter, capturedAt: meter.capturedAt, value: value)
                }
                metrics.record(job)
                Self.logOutcome(job, logger: logger)
                alertWatch.observe(job)
            },
            batchObserver: { metrics.recordCommitBatch(jobs: $0) },
            moreWorkQueued: { queue.count > 0 })
        try committer.start(unfiled: unfiled)
        let meters = MeterStation(profilesFolder: AbsolutePath.resolving(configuration.meters.profilesDir))
        let workers = WorkerPool(
            root: root, queue: queue, committer: committer, settings: settings, meters: meters, ledger: ledger,
            meterPatterns: (configuration.meters.filenamePattern, configuration.meters.folderPattern), logger: logger,
            onRetry: { metrics.recordRetry() })
        let workerCount = configuration.daemon.resolvedWorkerCount(coreCount: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        workers.start(count: workerCount)

        let requeuer = Requeuer(root: root, queue: queue, committer: committer, logger: logger)
        requeuer.run()
        let space = SpaceFloor(path: root.path, minimumFreeBytes: UInt64(configuration.daemon.minFreeBytes), logger: logger, notifier: notifier)
        let rules = InboxRules(ignoredSuffixes: configuration.watch.ignoreSuffixes)
        let claimer = Claimer(
            root: root, claims: claims, queue: queue, committer: committer, space: space, rules: rules,
            sidecarWaitSeconds: Double(configuration.meters.sidecarWaitSeconds),
            settleSeconds: Double(configuration.watch.settleMilliseconds) / 1000, logger: logger)
        let watcher = try InboxWatcher(
            inboxRoot: root.inbox, environments: environments, rules: rules,
            scanInterval: configuration.daemon.reconcileIntervalSeconds,
            pollSeconds: configuration.watch.mode == .poll ? Double(configuration.watch.pollMilliseconds) / 1000 : nil,
            scanStart: root.sharedInbox ? StableHash.fnv1a(root.host) : 0,
            settleSeconds: Double(configuration.watch.settleMilliseconds) / 1000, logger: logger
        ) { candidate in claimer.claim(candidate) }
        queue.whenRoomAgain { watcher.requestScan() }
        space.whenResumed { watcher.requestScan() }
        let watcherThread = SystemThread(name: "intake-watch") { watcher.run() }
        let claimKeeper = claims.map { ClaimKeeper(book: $0, queue: queue) }
        let claimKeeperThread = claimKeeper.map { keeper in SystemThread(name: "intake-claims") { keeper.run() } }

        let ticker = Ticker(
            metrics: metrics, queue: queue, watcher: watcher, space: space, committer: committer, environments: environments,
            metricsPath: root.metrics,
            interval: configuration.daemon.metricsIntervalSeconds, notifier: notifier, logger: logger,
            everyTick: {
                requeuer.run()
                StrandedTemporaries.retry()
                alertWatch.observe(freeBytes: space.freeBytes)
                alertWatch.observe(oldestWait: queue.snapshot().oldestWait)
            },
            sampleOthers: { metrics.sample(alerter: alerter) })
        let tickerThread = SystemThread(name: "intake-tick") { ticker.run() }
        let retention = configuration.retention
        let keeper = RetentionKeeper(
            pruner: retention.isActive ? Pruner(root: root, retention: retention, environments: environments) : nil,
            root: root, metrics: metrics, logger: logger)
        let keeperThread = SystemThread(name: "intake-retain") { keeper.run() }
        if let listen = configuration.daemon.metricsListen {
            // intaked keeps no network: the key is read so that an older configuration still starts.
            logger.warning("metrics_listen is ignored: intaked serves nothing; intake serve answers its metrics on /metrics",
                           metadata: ["metrics_listen": "\(listen)"])
        }

        notifier.ready(status: "watching \(environments.map { "inbox/\($0)" }.joined(separator: ", ")) with \(workerCount) workers")
        logger.info("intaked started", metadata: ["root": "\(root.path)", "workers": "\(workerCount)", "pid": "\(getpid())"])

        waitForStopSignal(settings: settings, queue: queue, watcher: watcher, requeuer: requeuer)

        notifier.stopping()
        logger.info("stopping: finishing the jobs in hand")
        // First, so that no part waiting for the committer's room (a long outage) holds the stop up.
        committer.beginShutdown()
        watcher.stop()
        watcherThread.join()
        queue.close()
        let busy = workers.waitForStop(seconds: configuration.daemon.shutdownGraceSeconds)
        if busy > 0 {
            logger.warning("jobs still running at the end of the grace period will run again at the next start", metadata: ["jobs": "\(busy)"])
        }
        committer.stop()
        let stranded = StrandedTemporaries.retry()
        if stranded > 0 {
            logger.warning("temporary files of failed writes cannot be removed yet; the next start removes them", metadata: ["files": "\(stranded)"])
        }
        // After the last commit: the claims of jobs still unfinished stay this host's until
        // their lease runs out, so a quick restart takes them up again itself.
        claimKeeper?.stop()
        claimKeeperThread?.join()
        hostName?.stop()
        hostNameThread?.join()
        hostName?.release()
        keeper.stop()
        keeperThread.join()
        // After the last commit, so that the dead letters of the final jobs are told too.
        alerter.stop()
        ticker.stop()
        tickerThread.join()
        logger.info("intaked stopped", metadata: ["left_in_spool": "\(queue.count + busy)"])
    }

    // MARK: start-up

    private func recover(root: StateRoot, claims: ClaimBook?, settings: WorkSettings, queue: JobQueue) throws(DaemonError)
        -> (Reconciler.Summary, unfiled: [Filing])
    {
        do {
            let database = try root.openDatabase()
            let recovered = try Reconciler(root: root, settings: settings, logger: logger, claims: claims).run(database)
            for job in recovered.jobs { queue.push(job) }
            return (recovered.summary, recovered.unfiled)
        } catch let error as DaemonError {
            throw error
        } catch {
            throw DaemonError("start-up recovery failed: \(error)")
        }
    }

    /// One daemon per state root: a second would claim the same files.
    private static func lock(_ root: StateRoot) throws(DaemonError) -> Int32 {
        let fd = open(root.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DaemonError("cannot open \(root.lock): \(ErrnoText.current)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw DaemonError("another intaked is already running on \(root.path) (it holds \(root.lock))")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        return fd
    }

    // MARK: signals

    private func waitForStopSignal(settings: SharedSettings, queue: JobQueue, watcher: InboxWatcher, requeuer: Requeuer) {
        var signals = Self.handledSignals
        while true {
            var received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { continue }
            if received == SIGHUP {
                reload(settings: settings, queue: queue, watcher: watcher)
                continue
            }
            if received == SIGUSR1 {
                // `intake retry` moved files into spool/requeue: take them now.
                requeuer.run()
                continue
            }
            logger.info("signal received", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
            return
        }
    }

    /// SIGHUP: weights, limits, retries, intervals and the log level change at once; the state
    /// root, the environments and the number of workers need a restart, and the log says so.
    private func reload(settings: SharedSettings, queue: JobQueue, watcher: InboxWatcher) {
        notifier.reloading()
        defer { notifier.ready(status: "configuration reloaded") }
        let fresh: IntakeConfiguration
        do {
            fresh = try ConfigurationFile.load(explicitPath: configurationPath)
        } catch {
            logger.error("reload refused: the configuration has an error; keeping the current one", metadata: ["error": "\(error)"])
            return
        }
        if fresh.daemon.root != configuration.daemon.root || fresh.environments.map(\.name) != configuration.environments.map(\.name)
            || fresh.daemon.workers != configuration.daemon.workers
        {
            logger.warning("state root, environments and workers change only at restart")
        }
        settings.replace(with: WorkSettings(fresh))
        queue.reconfigure(
            weights: Dictionary(uniqueKeysWithValues: fresh.environments.map { ($0.name, $0.weight) }), agingSeconds: fresh.queue.agingSeconds)
        watcher.setScanInterval(fresh.daemon.reconcileIntervalSeconds)
        LogfmtHandler.sharedLevel.withLock { $0 = Logger.Level(fresh.daemon.logLevel) }
        configuration = fresh
        logger.info("configuration reloaded")
    }

    // MARK: outcome

    /// One line per job outcome: job, env, file, status, ms; stage and reason when it failed.
    static func logOutcome(_ job: FinishedJob, logger: Logger) {
        var metadata: Logger.Metadata = [
            "job": "\(job.job.id)", "env": "\(job.job.environment)", "file": "\(job.job.sourcePath)",
            "status": "\(job.succeeded ? "done" : "failed")", "ms": "\(Int(job.milliseconds.rounded()))",
        ]
        if let error = job.error {
            metadata["stage"] = "\(error.stage.rawValue)"
            metadata["reason"] = "\(error.reason)"
            logger.warning("job failed", metadata: metadata)
        } else {
            logger.info("job done", metadata: metadata)
        }
    }
}

extension Logger.Level {
    /// The configuration's level names are swift-log's.
    public init(_ level: IntakeConfiguration.LogLevel) {
        self = Logger.Level(rawValue: level.rawValue) ?? .info
    }
}
