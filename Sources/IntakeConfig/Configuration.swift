/// The daemon's settings, as read from `intake.toml`.
///
/// Every field has a default, so an empty file yields ``defaults``. The defaults live in one place:
/// the parameter defaults of each initializer. `etc/intake.toml` spells the same values out.
public struct IntakeConfiguration: Sendable, Equatable {
    /// `[daemon]`: process-wide settings.
    public var daemon: Daemon
    /// The environments jobs come from, in file order; the scheduler shares workers by weight.
    public var environments: [Environment]
    /// `[queue]`: scheduling of waiting jobs.
    public var queue: Queue
    /// `[limits]`: the largest inputs accepted.
    public var limits: Limits
    /// `[retry]`: retrying failed jobs.
    public var retry: Retry
    /// `[derive]`: the images made from each input.
    public var derive: Derive
    /// `[watch]`: deciding when an inbox file has arrived.
    public var watch: Watch
    /// `[meters]`: meter photo recognition.
    public var meters: Meters
    /// `[classify]`: the built-in labels' thresholds and the external classifier.
    public var classify: Classify
    /// `[web]`: `intake serve`, the upload and job API.
    public var web: Web
    /// `[retention]`: how long finished jobs are kept.
    public var retention: Retention
    /// `[alerts]`: the command told of events worth a person's attention.
    public var alerts: Alerts
    /// `[store]`: the SQLite file, or a PostgreSQL database shared by several hosts.
    public var store: Store

    /// The configuration used when the file sets nothing.
    public static let defaults = IntakeConfiguration()

    /// The environments used when the file has no `[environments]` table.
    public static let defaultEnvironments = [
        Environment(name: "prod", weight: 4),
        Environment(name: "beta", weight: 1),
    ]

    /// Creates a configuration; every omitted section takes its defaults.
    public init(
        daemon: Daemon = Daemon(),
        environments: [Environment] = IntakeConfiguration.defaultEnvironments,
        queue: Queue = Queue(),
        limits: Limits = Limits(),
        retry: Retry = Retry(),
        derive: Derive = Derive(),
        watch: Watch = Watch(),
        meters: Meters = Meters(),
        classify: Classify = Classify(),
        web: Web = Web(),
        retention: Retention = Retention(),
        alerts: Alerts = Alerts(),
        store: Store = Store()
    ) {
        self.daemon = daemon
        self.environments = environments
        self.queue = queue
        self.limits = limits
        self.retry = retry
        self.derive = derive
        self.watch = watch
        self.meters = meters
        self.classify = classify
        self.web = web
        self.retention = retention
        self.alerts = alerts
        self.store = store
    }

    /// `[web]`: `intake serve`, which takes uploads into the inbox and answers from the database.
    public struct Web: Sendable, Equatable {
        /// Where it listens; loopback by default, where no token is asked for.
        public var listen: ListenAddress
        /// The largest upload taken; a larger one is refused (413) before anything is kept.
        public var maxBytes: Int
        /// An upload that sends nothing for this long is cut off and its partial file removed.
        public var idleTimeoutSeconds: Double
        /// The bearer tokens (hashed) that any address but loopback asks for; relative to the
        /// configuration file's folder. `intake token add` writes it.
        public var tokensFile: String
        /// Uploads received at once; one more is refused (503, `Retry-After`) rather than queued,
        /// so that a burst cannot hold every connection and file descriptor.
        public var maxConcurrentUploads: Int
        /// The least average pace of an upload once twice `idleTimeoutSeconds` have passed; a
        /// slower one is cut off (408) and its partial file removed. 0: no least pace.
        public var minUploadBytesPerSecond: Int
        /// Web pages served elsewhere that may call the API from a browser (CORS), as
        /// `scheme://host[:port]`, lowercase, or `*` for any; empty for none, the default. A
        /// browser request from any other page is refused (403).
        public var corsOrigins: [String]

        /// Creates web settings; each omitted value takes its default.
        public init(listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8080), maxBytes: Int = 268_435_456,
                    idleTimeoutSeconds: Double = 30, tokensFile: String = "tokens", maxConcurrentUploads: Int = 32,
                    minUploadBytesPerSecond: Int = 1024, corsOrigins: [String] = []) {
            self.listen = listen
            self.maxBytes = maxBytes
            self.idleTimeoutSeconds = idleTimeoutSeconds
            self.tokensFile = tokensFile
            self.maxConcurrentUploads = maxConcurrentUploads
            self.minUploadBytesPerSecond = minUploadBytesPerSecond
            self.corsOrigins = corsOrigins
        }
    }

    /// `[daemon]`: process-wide settings.
    public struct Daemon: Sendable, Equatable {
        /// State root as written in the file; a relative path is meant relative to the daemon's working directory.
        public var root: String
        /// Worker count; 0 means one per core (see ``resolvedWorkerCount(coreCount:)``).
        public var workers: Int
        /// Least severe level that gets logged.
        public var logLevel: LogLevel
        /// How often the daemon rescans the folders for work it may have missed.
        public var reconcileIntervalSeconds: Double
        /// How long in-flight jobs get to finish after a stop request.
        public var shutdownGraceSeconds: Double
        /// How often metrics are sampled.
        public var metricsIntervalSeconds: Double
        /// Where to serve metrics; nil (written `""`) turns the listener off.
        public var metricsListen: ListenAddress?
        /// Jobs held in memory; the folders themselves are the durable backlog.
        public var queueCapacity: Int
        /// Below this much free space on the state root's filesystem no file is claimed; 0 = no floor.
        public var minFreeBytes: Int
        /// The name this host's jobs are recorded under (`jobs.host`); nil: the machine's host name.
        public var host: String?

        /// Creates daemon settings; each omitted value takes its default.
        public init(
            root: String = "./var",
            workers: Int = 0,
            logLevel: LogLevel = .info,
            reconcileIntervalSeconds: Double = 60,
            shutdownGraceSeconds: Double = 10,
            metricsIntervalSeconds: Double = 5,
            metricsListen: ListenAddress? = nil,
            queueCapacity: Int = 10_000,
            minFreeBytes: Int = 256 * 1_048_576,
            host: String? = nil
        ) {
            self.root = root
            self.workers = workers
            self.logLevel = logLevel
            self.reconcileIntervalSeconds = reconcileIntervalSeconds
            self.shutdownGraceSeconds = shutdownGraceSeconds
            self.metricsIntervalSeconds = metricsIntervalSeconds
            self.metricsListen = metricsListen
            self.queueCapacity = queueCapacity
            self.minFreeBytes = minFreeBytes
            self.host = host
        }

        /// The number of workers to start: ``workers``, or one per core when it is 0.
        public func resolvedWorkerCount(coreCount: Int) -> Int {
            workers == 0 ? max(1, coreCount) : workers
        }
    }

    /// How much the daemon logs, from most to least verbose.
    public enum LogLevel: String, Sendable, Equatable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    /// A `host:port` to listen on; IPv6 hosts are written in brackets (`[::1]:9464`) and stored without.
    public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
        /// Host name or address, without IPv6 brackets.
        public var host: String
        /// TCP port, 1...65535.
        public var port: Int

        /// Creates an address from its parts.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `host:port` with a port in 1...65535, or returns nil.
        public init?(parsing text: String) {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            var host = Substring(text[..<colon])
            let portText = text[text.index(after: colon)...]
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                let port = Int(portText), (1...65535).contains(port)
            else { return nil }
            if host.hasPrefix("[") {
                guard host.hasSuffix("]"), host.count > 2 else { return nil }
                host = host.dropFirst().dropLast()
            } else if host.contains(":") {
                // An unbracketed IPv6 address is ambiguous: which colon starts the port?
                return nil
            }
            guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "[" || $0 == "]" }) else { return nil }
            self.host = String(host)
            self.port = port
        }

        /// `host:port`, with brackets around an IPv6 host.
        public var description: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    /// `[environments.<name>]`: one source of jobs and its share of the workers.
    public struct Environment: Sendable, Equatable {
        /// Lower-case letters, digits, `_` and `-`; used in folder names.
        public var name: String
        /// Relative share of workers when several environments have work waiting.
        public var weight: Int

        /// Creates an environment; the weight defaults to 1.
        public init(name: String, weight: Int = 1) {
            self.name = name
            self.weight = weight
        }
    }

    /// `[queue]`: scheduling of waiting jobs.
    public struct Queue: Sendable, Equatable {
        /// A waiting job gains one weight step per this many seconds, so light environments never starve.
        public var agingSeconds: Double

        /// Creates queue settings; each omitted value takes its default.
        public init(agingSeconds: Double = 30) {
            self.agingSeconds = agingSeconds
        }
    }

    /// `[limits]`: inputs larger than these are rejected before decoding.
    public struct Limits: Sendable, Equatable {
        /// Largest accepted file size, in bytes.
        public var maxBytes: Int
        /// Largest accepted width × height; guards memory before a full decode.
        public var maxPixels: Int
        /// Widest accepted image, in pixels.
        public var maxWidth: Int
        /// Tallest accepted image, in pixels.
        public var maxHeight: Int

        /// Creates limits; each omitted value takes its default (50 MiB, 100 MP, 65500 × 65500).
        public init(maxBytes: Int = 52_428_800, maxPixels: Int = 100_000_000, maxWidth: Int = 65_500, maxHeight: Int = 65_500) {
            self.maxBytes = maxBytes
            self.maxPixels = maxPixels
            self.maxWidth = maxWidth
            self.maxHeight = maxHeight
        }
    }

    /// `[retry]`: how failed jobs are retried, with exponential backoff.
    public struct Retry: Sendable, Equatable {
        /// Attempts in total, the first one included.
        public var maxAttempts: Int
        /// Wait before the first retry; doubled for each one after.
        public var initialBackoffSeconds: Double
        /// Cap on the doubling backoff; never below ``initialBackoffSeconds``.
        public var maxBackoffSeconds: Double

        /// Creates retry settings; each omitted value takes its default.
        public init(maxAttempts: Int = 5, initialBackoffSeconds: Double = 1, maxBackoffSeconds: Double = 300) {
            self.maxAttempts = maxAttempts
            self.initialBackoffSeconds = initialBackoffSeconds
            self.maxBackoffSeconds = maxBackoffSeconds
        }
    }

    /// `[derive]`: the derived images made from each input.
    public struct Derive: Sendable, Equatable {
        /// Longest side of the derived image, in pixels.
        public var size: Int
        /// JPEG quality, 1...100.
        public var quality: Int
        /// Rotations to derive, each one of 90, 180, 270, 360, in file order.
        public var angles: [Int]

        /// The rotations ``angles`` may contain.
        public static let allowedAngles = [90, 180, 270, 360]

        /// Creates derive settings; each omitted value takes its default.
        public init(size: Int = 256, quality: Int = 90, angles: [Int] = [90, 180, 270, 360]) {
            self.size = size
            self.quality = quality
            self.angles = angles
        }
    }

    /// `[watch]`: which files in the inbox folders count as arrived.
    public struct Watch: Sendable, Equatable {
        /// Files ending in one of these are still being written and are left alone.
        public var ignoreSuffixes: [String]
        /// How long a file must have stayed unchanged before it is claimed when nothing else can
        /// tell that its writer is done: no lease (a network filesystem) and no close-after-write
        /// event from inotify (a file found by a scan). 0 takes such a file at once.
        public var settleMilliseconds: Int
        /// How the inboxes are watched: inotify (a local filesystem), or a scan every
        /// `pollMilliseconds` (a network folder, where inotify sees no other machine's writes).
        /// Polling with a PostgreSQL store is a shared inbox: every claim is a row there first.
        public var mode: Mode
        public var pollMilliseconds: Int

        public enum Mode: String, Sendable, Equatable, CaseIterable {
            case inotify, poll
        }

        /// Creates watch settings; each omitted value takes its default.
        public init(ignoreSuffixes: [String] = [".tmp", ".part", "~"], settleMilliseconds: Int = 2000, mode: Mode = .inotify,
                    pollMilliseconds: Int = 1000) {
            self.ignoreSuffixes = ignoreSuffixes
            self.settleMilliseconds = settleMilliseconds
            self.mode = mode
            self.pollMilliseconds = pollMilliseconds
        }
    }

    /// `[meters]`: recognising meter photos and the per-meter profiles.
    public struct Meters: Sendable, Equatable {
        /// A regular expression with named groups matched against file names; nil (written `""`) for none.
        /// Stored as written: compiling it is the pipeline's job.
        public var filenamePattern: String?
        /// Folder of per-meter profiles, as written in the file.
        public var profilesDir: String
        /// How long a JSON sidecar (`<name>.json`, the uploader's claimed reading) waits in the inbox
        /// for its image; after that it is set aside in failed/ with the reason, never left forever.
        public var sidecarWaitSeconds: Int
        /// A regular expression that an inbox subfolder's whole name must match to name a meter
        /// that has neither a profile nor manual readings yet (`MTR-\\d+`); nil (written `""`)
        /// for none. Without a match, a profile or readings, a subfolder is just a folder.
        public var folderPattern: String?

        /// Creates meter settings; each omitted value takes its default.
        public init(
            filenamePattern: String? = nil, profilesDir: String = "etc/meters", sidecarWaitSeconds: Int = 600, folderPattern: String? = nil
        ) {
            self.filenamePattern = filenamePattern
            self.profilesDir = profilesDir
            self.sidecarWaitSeconds = sidecarWaitSeconds
            self.folderPattern = folderPattern
        }
    }
}
