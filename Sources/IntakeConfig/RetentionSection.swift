public import IntakeCore

extension IntakeConfiguration {
    /// `[retention]`: how long finished jobs are kept, as the old buckets' lifecycle rules did.
    ///
    /// Absent, everything is kept forever. A job's files (original, derivative, rotations, error
    /// report, sidecar) and its rows go together, oldest first, a bounded batch at a time.
    public struct Retention: Sendable, Equatable {
        /// Seconds a finished job of each named environment is kept after it finished; an
        /// environment not named here is kept forever.
        public var environments: [String: Double]
        /// Seconds a dead-lettered (failed) job is kept, whatever its environment; nil: as long as
        /// its environment's jobs.
        public var failed: Double?
        /// Keeps a pruned job's meter reading and verdict (and the job row they hang on), so that a
        /// meter's history outlives its pictures.
        public var keepMeterReadings: Bool
        /// Where expired jobs are moved instead of deleted (`<folder>/<env>/<yyyy>/<mm>/`, with a
        /// manifest per month); relative to the state root. nil: deleted.
        public var archiveFolder: String?
        /// Jobs pruned in one transaction: bounds how long the database's write lock is held.
        public var batchSize: Int
        /// How often intaked looks for expired jobs.
        public var intervalSeconds: Double

        /// Keys of `[retention]` that are not environment names.
        public static let reservedKeys: Set<String> = ["failed", "keep_meter_readings", "archive", "batch", "interval_seconds"]

        public init(environments: [String: Double] = [:], failed: Double? = nil, keepMeterReadings: Bool = false,
                    archiveFolder: String? = nil, batchSize: Int = 100, intervalSeconds: Double = 60) {
            self.environments = environments
            self.failed = failed
            self.keepMeterReadings = keepMeterReadings
            self.archiveFolder = archiveFolder
            self.batchSize = batchSize
            self.intervalSeconds = intervalSeconds
        }

        /// Whether any rule can expire anything.
        public var isActive: Bool { !environments.isEmpty || failed != nil }

        /// How long a job of `environment` that ended `failed` or not is kept; nil for forever.
        public func keepSeconds(environment: String, failed isFailed: Bool) -> Double? {
            if isFailed, let failed { return failed }
            return environments[environment]
        }
    }

    /// `[alerts]`: a command run for each event worth a person's attention.
    public struct Alerts: Sendable, Equatable {
        /// The program and its leading arguments, run without a shell; empty: no alerts.
        public var command: [String]
        /// A run taking longer is killed, with its whole process group.
        public var timeoutSeconds: Double
        /// The first event of a kind waits this long for company, so a burst is one message.
        public var gatherSeconds: Double
        /// After a message, the next of the same kind waits at least this long; what comes
        /// meanwhile is summarised in it.
        public var minimumIntervalSeconds: Double
        /// A meter read `unreadable` this many times in a row raises `meter_unreadable`.
        public var unreadableStreak: Int
        /// The queue's oldest job waiting longer than this raises `queue_stale`.
        public var queueAgeSeconds: Double
        /// Free space on the state root below this raises `disk_low`.
        public var diskFreeBytes: Int
        /// The base URL of `intake serve`, for a link to the job in each message; "" for none.
        public var linkBase: String

        public init(command: [String] = [], timeoutSeconds: Double = 10, gatherSeconds: Double = 2,
                    minimumIntervalSeconds: Double = 300, unreadableStreak: Int = 3, queueAgeSeconds: Double = 600,
                    diskFreeBytes: Int = 1_073_741_824, linkBase: String = "") {
            self.command = command
            self.timeoutSeconds = timeoutSeconds
            self.gatherSeconds = gatherSeconds
            self.minimumIntervalSeconds = minimumIntervalSeconds
            self.unreadableStreak = unreadableStreak
            self.queueAgeSeconds = queueAgeSeconds
            self.diskFreeBytes = diskFreeBytes
            self.linkBase = linkBase
        }
    }
}

/// Durations as people write them in `[retention]`: a whole number and a unit, `"45s"`, `"30m"`,
/// `"12h"`, `"7d"`, `"2w"`.
public enum DurationText {
    /// The longest duration taken: a hundred years. Longer ones are typing mistakes, and in
    /// milliseconds they would overflow where they are used.
    public static let longestSeconds: Double = 100 * 366 * 86_400

    /// Seconds, or nil when `text` is not such a duration (or is zero, or over `longestSeconds`).
    public static func seconds(parsing text: String) -> Double? {
        guard let unit = text.last, let count = Int(text.dropLast()), count > 0, count <= Int(longestSeconds) else { return nil }
        let scale: Double? =
            switch unit {
            case "s": 1
            case "m": 60
            case "h": 3_600
            case "d": 86_400
            case "w": 604_800
            default: nil
            }
        return scale.map { Double(count) * $0 }.flatMap { $0 <= longestSeconds ? $0 : nil }
    }
}

private let durationRequirement = "a duration such as \"45s\", \"30m\", \"12h\", \"7d\" or \"2w\""

extension IntakeConfiguration.Retention {
    init(reading section: SectionReader, environments: [String]) throws(ConfigurationError) {
        var section = section
        let defaults = Self()
        let failed = try section.string("failed", default: "", mustBe: durationRequirement) { text -> String? in
            DurationText.seconds(parsing: text) != nil ? text : nil
        }
        let keep = try section.boolean("keep_meter_readings", default: defaults.keepMeterReadings)
        let archive = try section.string(
            "archive", default: "", mustBe: "\"\" (delete what expires) or a folder to move it to, relative to the state root")
        let batch = try section.integer("batch", default: defaults.batchSize, mustBe: "an integer from 1 to 10000") {
            (1...10_000).contains($0)
        }
        let interval = try section.seconds("interval_seconds", default: defaults.intervalSeconds)
        var kept: [String: Double] = [:]
        for entry in section.table.entries where !Self.reservedKeys.contains(entry.key) {
            guard environments.contains(entry.key) else {
                throw section.error(
                    at: entry.key,
                    "\"\(section.fullKey(entry.key))\" is neither an environment (\(environments.joined(separator: ", "))) nor one of "
                        + Self.reservedKeys.sorted().joined(separator: ", "))
            }
            kept[entry.key] = try section.string(entry.key, default: 0, mustBe: durationRequirement, DurationText.seconds(parsing:))
        }
        try section.rejectUnknownKeys()
        self.init(
            environments: kept, failed: failed.isEmpty ? nil : DurationText.seconds(parsing: failed), keepMeterReadings: keep,
            archiveFolder: archive.isEmpty ? nil : archive, batchSize: batch, intervalSeconds: interval)
    }
}

extension IntakeConfiguration.Alerts {
    init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        let defaults = Self()
        let command = try section.array(
            "command", default: defaults.command,
            mustBe: "an array of non-empty strings: the program, then its leading arguments ([] for none)"
        ) { element -> String? in
            guard case .string(let word) = element, !word.isEmpty else { return nil }
            return word
        }
        let timeout = try section.seconds("timeout_seconds", default: defaults.timeoutSeconds)
        let gather = try section.seconds("gather_seconds", default: defaults.gatherSeconds)
        let interval = try section.seconds("min_interval_seconds", default: defaults.minimumIntervalSeconds)
        let streak = try section.integer("unreadable_streak", default: defaults.unreadableStreak, mustBe: "a positive integer") {
            $0 >= 1
        }
        let queueAge = try section.seconds("queue_age_seconds", default: defaults.queueAgeSeconds)
        let disk = try section.integer("disk_free_bytes", default: defaults.diskFreeBytes, mustBe: "a number of bytes, 0 (never) or more") {
            $0 >= 0
        }
        let link = try section.string("link", default: defaults.linkBase, mustBe: "\"\" or an http:// or https:// URL") {
            $0.isEmpty || $0.hasPrefix("http://") || $0.hasPrefix("https://")
        }
        try section.rejectUnknownKeys()
        self.init(
            command: command, timeoutSeconds: timeout, gatherSeconds: gather, minimumIntervalSeconds: interval,
            unreadableStreak: streak, queueAgeSeconds: queueAge, diskFreeBytes: disk,
            linkBase: link.hasSuffix("/") ? String(link.dropLast()) : link)
    }
}

extension SectionReader {
    /// `true` or `false`.
    mutating func boolean(_ key: String, default defaultValue: Bool) throws(ConfigurationError) -> Bool {
        let value = table[key]
        _ = try? integer(key, default: 0, mustBe: "") { _ in true }  // records the key as known
        guard let value else { return defaultValue }
        guard case .boolean(let flag) = value else {
            throw error(at: key, "\"\(fullKey(key))\" must be true or false, got \(TOMLSyntax.render(value: value))")
        }
        return flag
    }
}

extension IntakeConfiguration {
    /// `[store]`: where jobs are recorded.
    public struct Store: Sendable, Equatable {
        /// `postgresql://USER@HOST[:PORT]/DB` for a store shared by several hosts; nil for the
        /// SQLite file in the state root. The password never goes here: libpq reads it from
        /// `PGPASSFILE` or `~/.pgpass`.
        public var url: String?
        /// How long a host's claims on a shared inbox hold without renewal (it renews them every
        /// third of it): after that another host takes them over.
        public var claimLeaseSeconds: Int

        public init(url: String? = nil, claimLeaseSeconds: Int = 30) {
            self.url = url
            self.claimLeaseSeconds = claimLeaseSeconds
        }
    }
}

extension IntakeConfiguration.Store {
    init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        // A password is refused without quoting the value: the message goes to logs.
        if case .string(let text)? = section.table["url"], PostgresURLText.holdsPassword(text) {
            throw section.error(
                at: "url", "\"\(section.fullKey("url"))\" must not hold a password; put it in PGPASSFILE, ~/.pgpass or a file named by passfile=")
        }
        let url = try section.string(
            "url", default: "", mustBe: "\"\" (the SQLite file in the state root) or postgresql://USER@HOST[:PORT]/DB"
        ) { $0.isEmpty || $0.hasPrefix("postgresql://") || $0.hasPrefix("postgres://") }
        let lease = try section.integer(
            "claim_lease_seconds", default: Self().claimLeaseSeconds, mustBe: "an integer from 3 to 3600"
        ) { (3...3600).contains($0) }
        try section.rejectUnknownKeys()
        self.init(url: url.isEmpty ? nil : url, claimLeaseSeconds: lease)
    }
}

extension IntakeConfiguration {
    /// Whether several hosts share the inbox: polled (a network folder) and claimed by row in a
    /// PostgreSQL store.
    public var sharesInbox: Bool { watch.mode == .poll && store.url != nil }

    /// The state root this configuration describes, at `path` when given (a command's `--root`).
    public func stateRoot(path: String? = nil) -> StateRoot {
        StateRoot(
            path: path ?? daemon.root, store: store.url, host: daemon.host, sharedInbox: sharesInbox,
            storeAnswerSeconds: Double(store.claimLeaseSeconds))
    }
}
