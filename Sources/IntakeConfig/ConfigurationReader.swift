extension IntakeConfiguration {
    /// Reads and validates a configuration file; a missing or unreadable file is an error naming it.
    /// A relative `[meters] profiles_dir` means relative to the file's own folder, so that profiles
    /// and models are found beside the configuration whatever the working directory (systemd's is /).
    public static func load(path: String) throws(ConfigurationError) -> IntakeConfiguration {
        let text = try TextFile.read(path: path)
        var configuration = try parse(text, fileName: path, isFile: true)
        if let slash = path.lastIndex(of: "/") {
            let folder = String(path[...slash])
            if !configuration.meters.profilesDir.hasPrefix("/") { configuration.meters.profilesDir = folder + configuration.meters.profilesDir }
            if !configuration.web.tokensFile.hasPrefix("/") { configuration.web.tokensFile = folder + configuration.web.tokensFile }
        }
        return configuration
    }

    /// Parses and validates configuration text; `fileName` labels error messages.
    ///
    /// Unknown keys are errors rather than warnings: a misspelt key would otherwise silently
    /// leave its default in force.
    /// `isFile`: the text is a file's, whose relative paths `load` puts beside it.
    public static func parse(_ text: String, fileName: String, isFile: Bool = false) throws(ConfigurationError) -> IntakeConfiguration {
        let document: TOMLTable
        do {
            document = try TOML.parse(text, fileName: fileName)
        } catch {
            throw ConfigurationError(error)
        }
        var root = SectionReader(table: document, path: [], fileName: fileName, line: nil)
        let daemon = try Daemon(reading: root.section("daemon"))
        let environments = try readEnvironments(from: &root)
        let queue = try Queue(reading: root.section("queue"))
        let limits = try Limits(reading: root.section("limits"))
        let retry = try Retry(reading: root.section("retry"))
        let derive = try Derive(reading: root.section("derive"))
        let watch = try Watch(reading: root.section("watch"))
        let meters = try Meters(reading: root.section("meters"), isFile: isFile)
        let classify = try Classify(reading: root.section("classify"))
        let web = try Web(reading: root.section("web"))
        let retention = try Retention(reading: root.section("retention"), environments: environments.map(\.name))
        let alerts = try Alerts(reading: root.section("alerts"))
        let store = try Store(reading: root.section("store"))
        try root.rejectUnknownKeys()
        return IntakeConfiguration(
            daemon: daemon, environments: environments, queue: queue, limits: limits,
            retry: retry, derive: derive, watch: watch, meters: meters, classify: classify, web: web,
            retention: retention, alerts: alerts, store: store)
    }

    /// `[environments.<name>]` tables; without an `[environments]` table, the default pair.
    private static func readEnvironments(from root: inout SectionReader) throws(ConfigurationError) -> [Environment] {
        let isGiven = root.table["environments"] != nil
        let section = try root.section("environments")
        guard isGiven else { return defaultEnvironments }
        let subsections = try section.subsections(mustBe: "a table with a weight, such as [environments.prod]")
        guard !subsections.isEmpty else {
            throw section.error("\"environments\" must list at least one environment, such as [environments.prod]")
        }
        var environments: [Environment] = []
        for var subsection in subsections {
            let name = subsection.name
            guard Self.isEnvironmentName(name) else {
                throw section.error(
                    at: name,
                    "\"\(section.fullKey(name))\": environment names may only use lower-case letters, digits, '_' and '-'")
            }
            let weight = try subsection.integer("weight", default: 1, mustBe: "a positive integer") { $0 >= 1 }
            try subsection.rejectUnknownKeys()
            environments.append(Environment(name: name, weight: weight))
        }
        return environments
    }

    /// Non-empty, of `[a-z0-9_-]`: environment names become folder names and metric labels.
    public static func isEnvironmentName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(isEnvironmentNameByte)
    }

    private static func isEnvironmentNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}

private let positiveInteger = "a positive integer"

extension IntakeConfiguration.Daemon {
    fileprivate init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        let defaults = Self()
        let logLevelNames = IntakeConfiguration.LogLevel.allCases.map(\.rawValue).joined(separator: ", ")
        let listenRequirement = "\"\" (off) or host:port with a port from 1 to 65535"

        let root = try section.string("root", default: defaults.root, mustBe: "a non-empty path") { !$0.isEmpty }
        let workers = try section.integer(
            "workers", default: defaults.workers, mustBe: "0 (one per core) or an integer from 1 to 256"
        ) { (0...256).contains($0) }
        let logLevel = try section.string(
            "log_level", default: defaults.logLevel, mustBe: "one of \(logLevelNames)",
            IntakeConfiguration.LogLevel.init(rawValue:))
        let reconcileInterval = try section.seconds("reconcile_interval_seconds", default: defaults.reconcileIntervalSeconds)
        let shutdownGrace = try section.seconds("shutdown_grace_seconds", default: defaults.shutdownGraceSeconds)
        let metricsInterval = try section.seconds("metrics_interval_seconds", default: defaults.metricsIntervalSeconds)
        let listen = try section.string(
            "metrics_listen", default: defaults.metricsListen?.description ?? "", mustBe: listenRequirement
        ) { $0.isEmpty || IntakeConfiguration.ListenAddress(parsing: $0) != nil }
        let queueCapacity = try section.integer("queue_capacity", default: defaults.queueCapacity, mustBe: positiveInteger) {
            $0 >= 1
        }
        let minFreeBytes = try section.integer(
            "min_free_bytes", default: defaults.minFreeBytes, mustBe: "a number of bytes, 0 (no floor) or more"
        ) { $0 >= 0 }
        let host = try section.string(
            "host", default: "", mustBe: "\"\" (the machine's host name) or a name of 1 to 64 letters, digits, '.', '_' and '-'"
        ) { $0.count <= 64 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) } }
        try section.rejectUnknownKeys()

        self.init(
            root: root, workers: workers, logLevel: logLevel,
            reconcileIntervalSeconds: reconcileInterval, shutdownGraceSeconds: shutdownGrace,
            metricsIntervalSeconds: metricsInterval,
            metricsListen: listen.isEmpty ? nil : IntakeConfiguration.ListenAddress(parsing: listen),
            queueCapacity: queueCapacity, minFreeBytes: minFreeBytes, host: host.isEmpty ? nil : host)
    }
}

extension IntakeConfiguration.Queue {
    fileprivate init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        let agingSeconds = try section.seconds("aging_seconds", default: Self().agingSeconds)
        try section.rejectUnknownKeys()
        self.init(agingSeconds: agingSeconds)
    }
}

extension IntakeConfiguration.Limits {
    fileprivate init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        let defaults = Self()
        let maxBytes = try section.integer("max_bytes", default: defaults.maxBytes, mustBe: positiveInteger) { $0 >= 1 }
        let maxPixels = try section.integer("max_pixels", default: defaults.maxPixels, mustBe: positiveInteger) { $0 >= 1 }
        let maxWidth = try section.integer("max_width", default: defaults.maxWidth, mustBe: positiveInteger) { $0 >= 1 }
        let maxHeight = try section.integer("max_height", default: defaults.maxHeight, mustBe: positiveInteger) { $0 >= 1 }
        try section.rejectUnknownKeys()
        self.init(maxBytes: maxBytes, maxPixels: maxPixels, maxWidth: maxWidth, maxHeight: maxHeight)
    }
}

extension IntakeConfiguration.Retry {
    fileprivate init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        let defaults = Self()
        let maxAttempts = try section.integer("max_attempts", default: defaults.maxAttempts, mustBe: positiveInteger) {
            $0 >= 1
        }
        let initial = try section.seconds("initial_backoff_seconds", default: defaults.initialBackoffSeconds)
        let maximum = try section.seconds("max_backoff_seconds", default: defaults.maxBackoffSeconds)
        if maximum < initial {
            // Blame whichever of the two the file actually sets; the other may be a default.
            if section.table["max_backoff_seconds"] != nil {
                throw section.error(
                    at: "max_backoff_seconds",
                    "\"\(section.fullKey("max_backoff_seconds"))\" must be at least initial_backoff_seconds (\(initial)), got \(maximum)")
            }
            throw section.error(
                at: "initial_backoff_seconds",
                "\"\(section.fullKey("initial_backoff_seconds"))\" must be at most max_backoff_seconds (\(maximum)), got \(initial)")
        }
        try section.rejectUnknownKeys()
        self.init(maxAttempts: maxAttempts, initialBackoffSeconds: initial, maxBackoffSeconds: maximum)
    }
}

extension IntakeConfiguration.Derive {
    fileprivate init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        let defaults = Self()
        let size = try section.integer("size", default: defaults.size, mustBe: "an integer from 16 to 4096") {
            (16...4096).contains($0)
        }
        let quality = try section.integer("quality", default: defaults.quality, mustBe: "an integer from 1 to 100") {
            (1...100).contains($0)
        }
        let angles = try section.array(
            "angles", default: defaults.angles, mustBe: "an array of angles, each 90, 180, 270 or 360"
        ) { element -> Int? in
            guard case .integer(let angle) = element, Self.allowedAngles.contains(angle) else { return nil }
            return angle
        }
        // A repeated angle would derive the same image twice under one name.
        for (index, angle) in angles.enumerated() where angles[..<index].contains(angle) {
            throw section.error(at: "angles", "\"\(section.fullKey("angles"))\" lists \(angle) more than once")
        }
        try section.rejectUnknownKeys()
        self.init(size: size, quality: quality, angles: angles)
    }
}

extension IntakeConfiguration.Web {
    fileprivate init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        let defaults = Self()
        let listen = try section.string(
            "listen", default: defaults.listen, mustBe: "host:port with a port from 1 to 65535",
            IntakeConfiguration.ListenAddress.init(parsing:))
        let maxBytes = try section.integer("max_bytes", default: defaults.maxBytes, mustBe: "a positive integer") { $0 >= 1 }
        let idle = try section.seconds("idle_timeout_seconds", default: defaults.idleTimeoutSeconds)
        let tokens = try section.string("tokens_file", default: defaults.tokensFile, mustBe: "a non-empty path") { !$0.isEmpty }
        let concurrent = try section.integer(
            "max_concurrent_uploads", default: defaults.maxConcurrentUploads, mustBe: "a positive integer") { $0 >= 1 }
        let pace = try section.integer(
            "min_upload_bytes_per_second", default: defaults.minUploadBytesPerSecond, mustBe: "an integer, 0 or more") { $0 >= 0 }
        let origins = try section.array(
            "cors_origins", default: defaults.corsOrigins,
            mustBe: "an array of origins, each \"*\" or scheme://host[:port] with the scheme http or https and no path"
        ) { element -> String? in
            guard case .string(let origin) = element else { return nil }
            return Self.checkedOrigin(origin)
        }
        try section.rejectUnknownKeys()
        self.init(
            listen: listen, maxBytes: maxBytes, idleTimeoutSeconds: idle, tokensFile: tokens, maxConcurrentUploads: concurrent,
            minUploadBytesPerSecond: pace, corsOrigins: origins)
    }

    /// `origin` lowercased, as browsers send it in `Origin`: `*`, or `http`/`https`, `://`, a host
    /// and an optional port, nothing more; nil for anything else (a path, a trailing slash).
    static func checkedOrigin(_ origin: String) -> String? {
        if origin == "*" { return origin }
        let lowered = origin.lowercased()
        guard let scheme = ["http://", "https://"].first(where: { lowered.hasPrefix($0) }) else { return nil }
        let authority = lowered.dropFirst(scheme.count)
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-:[]")
        guard !authority.isEmpty, authority.allSatisfy({ allowed.contains($0) }) else { return nil }
        return lowered
    }
}

extension IntakeConfiguration.Watch {
    fileprivate init(reading section: SectionReader) throws(ConfigurationError) {
        var section = section
        let defaults = Self()
        // An empty suffix would match every file and stop all intake.
        let ignoreSuffixes = try section.array(
            "ignore_suffixes", default: defaults.ignoreSuffixes, mustBe: "an array of non-empty strings"
        ) { element -> String? in
            guard case .string(let suffix) = element, !suffix.isEmpty else { return nil }
            return suffix
        }
        let settle = try section.integer(
            "settle_milliseconds", default: defaults.settleMilliseconds, mustBe: "a non-negative integer"
        ) { $0 >= 0 }
        let mode = try section.string(
            "mode", default: defaults.mode.rawValue, mustBe: "\"inotify\" (a local inbox) or \"poll\" (a network folder)"
        ) { Mode(rawValue: $0) != nil }
        let poll = try section.integer(
            "poll_milliseconds", default: defaults.pollMilliseconds, mustBe: "an integer from 100 to 60000"
        ) { (100...60_000).contains($0) }
        try section.rejectUnknownKeys()
        self.init(ignoreSuffixes: ignoreSuffixes, settleMilliseconds: settle, mode: Mode(rawValue: mode)!, pollMilliseconds: poll)
    }
}

extension IntakeConfiguration.Meters {
    /// `profiles_dir` when a file leaves it out: relative, so beside the file.
    static let besideTheFile = "meters"

    fileprivate init(reading section: SectionReader, isFile: Bool) throws(ConfigurationError) {
        var section = section
        let defaults = Self()
        let pattern = try section.string(
            "filename_pattern", default: defaults.filenamePattern ?? "",
            mustBe: "a string: a regular expression with named groups, or \"\" for none", where: Self.isRegularExpression)
        // A file's relative paths are beside it: left out, the profiles are its folder's meters/
        // (etc/meters in a checkout, /etc/intake/meters installed), as the shipped file writes.
        // The built-in default, etc/meters, is for running with no file, from the checkout.
        let profilesDir = try section.string("profiles_dir", default: isFile ? Self.besideTheFile : defaults.profilesDir, mustBe: "a non-empty path") {
            !$0.isEmpty
        }
        let sidecarWait = try section.integer(
            "sidecar_wait_seconds", default: defaults.sidecarWaitSeconds, mustBe: "a non-negative integer"
        ) { $0 >= 0 }
        let folderPattern = try section.string(
            "folder_pattern", default: defaults.folderPattern ?? "",
            mustBe: "a string: a regular expression an inbox subfolder's whole name must match to name a meter, or \"\" for none",
            where: Self.isRegularExpression)
        try section.rejectUnknownKeys()
        self.init(
            filenamePattern: pattern.isEmpty ? nil : pattern, profilesDir: profilesDir, sidecarWaitSeconds: sidecarWait,
            folderPattern: folderPattern.isEmpty ? nil : folderPattern)
    }

    /// "" (none) or a pattern that compiles: one that does not is refused with the file, not
    /// dropped where it is used, which would quietly stop every folder naming a meter.
    private static func isRegularExpression(_ text: String) -> Bool {
        text.isEmpty || (try? Regex(text)) != nil
    }
}
