import IntakeCore
import IntakeTestSupport
import Testing

@testable import IntakeConfig

private typealias Configuration = IntakeConfiguration

@Suite("Configuration values")
struct ConfigurationValueTests {
    @Test func emptyTextGivesTheDefaults() throws {
        let configuration = try Configuration.parse("", fileName: "intake.toml")
        #expect(configuration == .defaults)
        #expect(try Configuration.parse("# nothing set\n\n", fileName: "intake.toml") == .defaults)
    }

    /// Pins the documented defaults, so a changed default shows up here and not only in production.
    @Test func defaultsAreTheDocumentedValues() {
        let defaults = Configuration.defaults
        #expect(defaults.daemon.root == "./var")
        #expect(defaults.daemon.workers == 0)
        #expect(defaults.daemon.logLevel == .info)
        #expect(defaults.daemon.reconcileIntervalSeconds == 60)
        #expect(defaults.daemon.shutdownGraceSeconds == 10)
        #expect(defaults.daemon.metricsIntervalSeconds == 5)
        #expect(defaults.daemon.metricsListen == nil)
        #expect(defaults.daemon.queueCapacity == 10_000)
        #expect(defaults.daemon.minFreeBytes == 268_435_456)
        #expect(defaults.environments == [.init(name: "prod", weight: 4), .init(name: "beta", weight: 1)])
        #expect(defaults.queue.agingSeconds == 30)
        #expect(defaults.limits == .init(maxBytes: 52_428_800, maxPixels: 100_000_000, maxWidth: 65_500, maxHeight: 65_500))
        #expect(defaults.retry == .init(maxAttempts: 5, initialBackoffSeconds: 1, maxBackoffSeconds: 300))
        #expect(defaults.derive == .init(size: 256, quality: 90, angles: [90, 180, 270, 360]))
        #expect(defaults.watch == .init(ignoreSuffixes: [".tmp", ".part", "~"], settleMilliseconds: 2000))
        #expect(defaults.meters == .init(filenamePattern: nil, profilesDir: "etc/meters"))
        #expect(
            defaults.classify
                == .init(
                    thresholds: .init(
                        blur: 0.42, darkMean: 72, darkHighlights: 150, veryDarkMean: 40, overexposedFraction: 0.12, overexposedMidtones: 115,
                        lowContrastSpread: 75, minimumSide: 256, grayscaleChroma: 3, meterScore: 0.7, minimumConfidence: 0.5),
                    externalCommand: [], externalName: "external", externalTimeoutSeconds: 10))
    }

    @Test func fullFileSetsEveryKey() throws {
        let text = """
            [daemon]
            root = "/srv/intake"
            workers = 8
            log_level = "debug"
            reconcile_interval_seconds = 0.5
            shutdown_grace_seconds = 30
            metrics_interval_seconds = 2.5
            metrics_listen = "127.0.0.1:9464"
            queue_capacity = 500

            [environments.staging]
            weight = 2
            [environments.prod-eu]
            weight = 7
            [environments.dev_1]

            [queue]
            aging_seconds = 12.5

            [limits]
            max_bytes = 1_048_576
            max_pixels = 4_000_000
            max_width = 4000
            max_height = 3000

            [retry]
            max_attempts = 3
            initial_backoff_seconds = 2
            max_backoff_seconds = 2

            [derive]
            size = 512
            quality = 75
            angles = [180, 90]

            [watch]
            ignore_suffixes = [".crdownload"]
            settle_milliseconds = 250

            [meters]
            filename_pattern = '^(?<meter>[A-Z]+)-(?<reading>\\d+)\\.jpg$'
            profiles_dir = "/etc/intake/meters"
            sidecar_wait_seconds = 30
            folder_pattern = 'MTR-\\d+'

            [classify]
            blur = 0.2
            dark_mean = 35.5
            dark_highlights = 90
            very_dark_mean = 40
            overexposed_fraction = 0.4
            overexposed_midtones = 130
            low_contrast_spread = 25
            minimum_side = 0
            grayscale_chroma = 1.5
            meter_score = 0.9
            minimum_confidence = 0
            external_command = ["/usr/local/bin/yolo", "--json", "--model=small"]
            external_name = "yolo"
            external_timeout_seconds = 2.5
            """
        let expected = Configuration(
            daemon: .init(
                root: "/srv/intake", workers: 8, logLevel: .debug, reconcileIntervalSeconds: 0.5,
                shutdownGraceSeconds: 30, metricsIntervalSeconds: 2.5,
                metricsListen: .init(host: "127.0.0.1", port: 9464), queueCapacity: 500),
            environments: [
                .init(name: "staging", weight: 2), .init(name: "prod-eu", weight: 7), .init(name: "dev_1", weight: 1),
            ],
            queue: .init(agingSeconds: 12.5),
            limits: .init(maxBytes: 1_048_576, maxPixels: 4_000_000, maxWidth: 4000, maxHeight: 3000),
            retry: .init(maxAttempts: 3, initialBackoffSeconds: 2, maxBackoffSeconds: 2),
            derive: .init(size: 512, quality: 75, angles: [180, 90]),
            watch: .init(ignoreSuffixes: [".crdownload"], settleMilliseconds: 250),
            meters: .init(filenamePattern: #"^(?<meter>[A-Z]+)-(?<reading>\d+)\.jpg$"#, profilesDir: "/etc/intake/meters", sidecarWaitSeconds: 30,
                           folderPattern: #"MTR-\d+"#),
            classify: .init(
                thresholds: .init(
                    blur: 0.2, darkMean: 35.5, darkHighlights: 90, veryDarkMean: 40, overexposedFraction: 0.4, overexposedMidtones: 130,
                    lowContrastSpread: 25, minimumSide: 0, grayscaleChroma: 1.5, meterScore: 0.9, minimumConfidence: 0),
                externalCommand: ["/usr/local/bin/yolo", "--json", "--model=small"], externalName: "yolo", externalTimeoutSeconds: 2.5))
        let configuration = try Configuration.parse(text, fileName: "full.toml")
        #expect(configuration == expected)
    }

    @Test func partialSectionsKeepTheOtherDefaults() throws {
        let configuration = try Configuration.parse("[limits]\nmax_pixels = 10\n", fileName: "intake.toml")
        var expected = Configuration.defaults
        expected.limits.maxPixels = 10
        #expect(configuration == expected)
    }

    @Test func dottedKeysAndInlineTablesWorkLikeHeaders() throws {
        let text = """
            daemon.workers = 3
            environments = { only = { weight = 2 } }
            derive = { quality = 50 }
            """
        let configuration = try Configuration.parse(text, fileName: "intake.toml")
        #expect(configuration.daemon.workers == 3)
        #expect(configuration.environments == [.init(name: "only", weight: 2)])
        #expect(configuration.derive.quality == 50)
    }

    /// Thresholds are numbers: an integer is as good as a float, and the ends of each range are allowed.
    @Test func classifyThresholdsTakeIntegersAndRangeEnds() throws {
        let text = """
            [classify]
            blur = 0
            dark_mean = 255
            overexposed_fraction = 1
            meter_score = 0
            minimum_confidence = 1
            minimum_side = 65500
            """
        let classify = try Configuration.parse(text, fileName: "intake.toml").classify
        #expect(classify.thresholds.blur == 0)
        #expect(classify.thresholds.darkMean == 255)
        #expect(classify.thresholds.overexposedFraction == 1)
        #expect(classify.thresholds.meterScore == 0)
        #expect(classify.thresholds.minimumConfidence == 1)
        #expect(classify.thresholds.minimumSide == 65_500)
        #expect(classify.externalCommand == [])
    }

    /// blur_variance measured the other way round: a value kept from an old file would now mean
    /// its opposite, so it is refused by name with what replaced it, never read as blur.
    @Test func theOldBlurKeyIsRefusedSayingWhatReplacedIt() {
        #expect {
            try Configuration.parse("[classify]\nblur_variance = 0.3\n", fileName: "intake.toml")
        } throws: { error in
            let text = "\(error)"
            return text.contains("classify.blur_variance") && text.contains("\"blur\"") && text.contains("higher is blurrier")
        }
        #expect(throws: (any Error).self) { try Configuration.parse("[classify]\nblur = 1.5\n", fileName: "intake.toml") }
    }

    /// A meter pattern that does not compile is refused with the file: dropped where it is used,
    /// it quietly stopped every folder naming a meter.
    @Test func aMeterPatternThatDoesNotCompileIsRefused() throws {
        for key in ["folder_pattern", "filename_pattern"] {
            #expect {
                try Configuration.parse("[meters]\n\(key) = 'MTR-(\\d+'\n", fileName: "intake.toml")
            } throws: { error in "\(error)".contains("meters.\(key)") }
            #expect(try Configuration.parse("[meters]\n\(key) = ''\n", fileName: "intake.toml").meters.folderPattern == nil)
        }
    }

    @Test func emptyAngleListIsAllowed() throws {
        let configuration = try Configuration.parse("[derive]\nangles = []", fileName: "intake.toml")
        #expect(configuration.derive.angles == [])
    }

    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        ("localhost:1", "localhost", 1),
        ("[::1]:65535", "::1", 65535),
        ("0.0.0.0:80", "0.0.0.0", 80),
    ])
    func listenAddresses(text: String, host: String, port: Int) throws {
        let configuration = try Configuration.parse("[daemon]\nmetrics_listen = \"\(text)\"", fileName: "intake.toml")
        #expect(configuration.daemon.metricsListen == Configuration.ListenAddress(host: host, port: port))
        #expect(configuration.daemon.metricsListen?.description == text)
    }

    @Test func workerCountResolvesZeroToCores() {
        #expect(Configuration.Daemon(workers: 0).resolvedWorkerCount(coreCount: 12) == 12)
        #expect(Configuration.Daemon(workers: 3).resolvedWorkerCount(coreCount: 12) == 3)
    }
}

@Suite("Configuration errors")
struct ConfigurationErrorTests {
    /// The error a configuration must produce.
    private func configurationError(
        _ text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> ConfigurationError? {
        do {
            let configuration = try Configuration.parse(text, fileName: "etc/intake.toml")
            Issue.record("expected an error, got \(configuration)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func theWebSectionIsReadAndABadAddressIsRefused() throws {
        let error = try #require(configurationError("[web]\nlisten = \"everywhere\"\n"))
        #expect(error.key == "web.listen")
        let folder = try TemporaryFolder()
        let path = folder.write("w.toml", Array("[web]\nlisten = \"127.0.0.1:9000\"\nmax_bytes = 1000\n".utf8))
        let web = try Configuration.load(path: path).web
        #expect(web.listen == IntakeConfiguration.ListenAddress(host: "127.0.0.1", port: 9000))
        #expect(web.maxBytes == 1000)
        #expect(web.idleTimeoutSeconds == 30)
        #expect(web.corsOrigins.isEmpty)
        let origins = try Configuration.parse("[web]\ncors_origins = [\"https://Field.Example\", \"http://[::1]:3000\", \"*\"]\n", fileName: "c.toml")
        #expect(origins.web.corsOrigins == ["https://field.example", "http://[::1]:3000", "*"])
    }

    @Test func retentionTakesDurationsPerEnvironmentAndRefusesWhatIsNot() throws {
        let configuration = try Configuration.parse(
            """
            [retention]
            beta = "7d"
            prod = "400d"
            failed = "12h"
            keep_meter_readings = true
            archive = "/mnt/cold"
            batch = 10
            """, fileName: "r.toml")
        let retention = configuration.retention
        #expect(retention.environments == ["beta": 7 * 86_400, "prod": 400 * 86_400])
        #expect(retention.failed == 43_200)
        #expect(retention.keepMeterReadings && retention.archiveFolder == "/mnt/cold" && retention.batchSize == 10)
        #expect(retention.keepSeconds(environment: "beta", failed: true) == 43_200)
        #expect(retention.keepSeconds(environment: "prod", failed: false) == Double(400 * 86_400))
        #expect(!Configuration.defaults.retention.isActive)
        #expect(DurationText.seconds(parsing: "45s") == 45 && DurationText.seconds(parsing: "30m") == 1_800)
        #expect(DurationText.seconds(parsing: "2w") == 1_209_600)
        // A hundred years at most: longer is a typing mistake that would overflow in milliseconds.
        #expect(DurationText.seconds(parsing: "36000d") != nil)
        #expect(DurationText.seconds(parsing: "200000000000d") == nil)
        #expect(throws: (any Error).self) { try Configuration.parse("[retention]\nprod = \"200000000000d\"\n", fileName: "r.toml") }

        let unknownEnvironment = try #require(configurationError("[retention]\nstaging = \"7d\"\n"))
        #expect(unknownEnvironment.key == "retention.staging")
        #expect(unknownEnvironment.description.contains("neither an environment (prod, beta)"))
        for bad in ["\"7 days\"", "\"0d\"", "\"-1d\"", "7", "\"d\""] {
            let error = try #require(configurationError("[retention]\nbeta = \(bad)\n"))
            #expect(error.description.contains("must be a duration such as"), "\(bad): \(error)")
        }
        let badFlag = try #require(configurationError("[retention]\nkeep_meter_readings = \"yes\"\n"))
        #expect(badFlag.description.contains("must be true or false"))
    }

    /// A NUL cuts a path or a command short where the system reads it: refused, with its key.
    @Test func aStringSettingHoldingANULIsRefused() throws {
        let root = try #require(configurationError("[daemon]\nroot = \"/srv/x\\u0000junk\"\n"))
        #expect(root.key == "daemon.root" && root.description.contains("NUL"), "\(root)")
        let command = try #require(configurationError("[classify]\nexternal_command = [\"run\", \"a\\u0000b\"]\n"))
        #expect(command.key == "classify.external_command" && command.description.contains("NUL"), "\(command)")
    }

    @Test func theStoreIsTheFileOrAPostgreSQLURLWithoutAPassword() throws {
        #expect(Configuration.defaults.store.url == nil)
        let url = "postgresql://intake@db.example:5433/intake"
        #expect(try Configuration.parse("[store]\nurl = \"\(url)\"\n", fileName: "s.toml").store.url == url)
        for bad in ["postgresql://intake:hunter2@db/intake", "mysql://db/intake", "postgresql://db/intake?password=x",
                    // libpq decodes its keywords: this is password=x too.
                    "postgresql://db/intake?%70assword=x", "postgresql://db/intake?sslmode=require&PASSWORD=x"] {
            let error = try #require(configurationError("[store]\nurl = \"\(bad)\"\n"))
            #expect(error.key == "store.url")
            #expect(!error.description.contains("hunter2") && !error.description.contains("password=x"), "\(error)")
        }
        // Odd but no password: refused or taken for what they are, never a crash (an `@` alone
        // as the authority trapped every command, and a daemon reloading the file).
        #expect(!PostgresURLText.holdsPassword("postgresql://@/db"))
        #expect((try? Configuration.parse("[store]\nurl = \"postgresql://@/db\"\n", fileName: "s.toml")) != nil)
        #expect(!PostgresURLText.holdsPassword("postgresql://127.0.0.1:1/db?application_name=a@b"))
        #expect(!PostgresURLText.holdsPassword("postgresql://intake@db:5432/intake"))
        #expect(PostgresURLText.redacted("postgresql://intake:hunter2@db/x?password=y") == "postgresql://intake:…@db/x?…")
        // A password may hold '?' or '#': libpq's user part runs to the first '@' before any '/'.
        for url in ["postgresql://intake:pa#ss@db/intake", "postgresql://intake:pa?ss@db/intake"] {
            #expect(PostgresURLText.holdsPassword(url), "\(url)")
        }
        #expect(PostgresURLText.redacted("postgresql://intake:pa?ss@db/intake") == "postgresql://intake:…@db/intake")
        #expect(PostgresURLText.redacted("postgresql://intake:pa#ss@db/intake") == "postgresql://intake:…@db/intake")
    }

    @Test func pollingWithAPostgreSQLStoreSharesTheInboxAndKeepsEachHostsOwnFilesApart() throws {
        #expect(Configuration.defaults.watch.mode == .inotify && !Configuration.defaults.sharesInbox)
        let text = """
            [daemon]
            root = "/mnt/intake"
            host = "site-2"
            [store]
            url = "postgresql://intake@db/intake"
            claim_lease_seconds = 12
            [watch]
            mode = "poll"
            poll_milliseconds = 250
            """
        let shared = try Configuration.parse(text, fileName: "s.toml")
        #expect(shared.sharesInbox && shared.store.claimLeaseSeconds == 12 && shared.watch.pollMilliseconds == 250)
        let root = shared.stateRoot()
        #expect(root.spoolActive == "/mnt/intake/hosts/site-2/spool/active" && root.lock == "/mnt/intake/hosts/site-2/intaked.lock")
        #expect(root.metrics == "/mnt/intake/hosts/site-2/metrics.prom" && root.inbox == "/mnt/intake/inbox")
        #expect(root.processed == "/mnt/intake/processed" && root.jobsHost == "site-2")
        // Polling alone (one host on a network folder) keeps the usual layout.
        let polling = try Configuration.parse("[daemon]\nroot = \"/mnt/intake\"\n[watch]\nmode = \"poll\"\n", fileName: "p.toml")
        #expect(!polling.sharesInbox && polling.stateRoot().spoolActive == "/mnt/intake/spool/active")
        for bad in ["[watch]\nmode = \"fanotify\"\n", "[watch]\npoll_milliseconds = 5\n", "[store]\nclaim_lease_seconds = 1\n"] {
            #expect(configurationError(bad) != nil, "\(bad)")
        }
    }

    @Test func alertsTakeACommandAndLimitsAndRefuseAShellString() throws {
        let alerts = try Configuration.parse(
            "[alerts]\ncommand = [\"/usr/bin/notify\", \"--to\", \"ops\"]\nmin_interval_seconds = 60\nlink = \"http://h:8080/\"\n",
            fileName: "a.toml"
        ).alerts
        #expect(alerts.command == ["/usr/bin/notify", "--to", "ops"])
        #expect(alerts.minimumIntervalSeconds == 60 && alerts.timeoutSeconds == 10)
        #expect(alerts.linkBase == "http://h:8080")
        let shell = try #require(configurationError("[alerts]\ncommand = \"notify --to ops\"\n"))
        #expect(shell.key == "alerts.command")
        let link = try #require(configurationError("[alerts]\nlink = \"ftp://x\"\n"))
        #expect(link.key == "alerts.link")
    }

    @Test func unknownTopLevelKeyNamesKeyAndLine() throws {
        let error = try #require(configurationError("[daemon]\nworkers = 2\n\n[deamon]\nworkers = 3\n"))
        #expect(error.key == "deamon")
        #expect(error.line == 4)
        #expect(error.file == "etc/intake.toml")
        #expect(
            error.message
                == #"unknown key "deamon" (known: daemon, environments, queue, limits, retry, derive, watch, meters, classify, web, retention, alerts, store)"#)
    }

    @Test func unknownNestedKeyNamesDottedPath() throws {
        let error = try #require(configurationError("# settings\n[daemon]\nroot = \"/srv\"\n\n\n\nworker = 4\n"))
        #expect(error.key == "daemon.worker")
        #expect(error.line == 7)
        #expect(
            error.description
                == #"etc/intake.toml:7: unknown key "daemon.worker" (known: root, workers, log_level, reconcile_interval_seconds, shutdown_grace_seconds, metrics_interval_seconds, metrics_listen, queue_capacity, min_free_bytes, host)"#
        )
    }

    @Test func unknownKeyInsideAnEnvironment() throws {
        let error = try #require(configurationError("[environments.prod]\nwieght = 4\n"))
        #expect(error.key == "environments.prod.wieght")
        #expect(error.line == 2)
        #expect(error.message == #"unknown key "environments.prod.wieght" (known: weight)"#)
    }

    @Test func unknownKeyInClassifyListsTheKnownOnes() throws {
        let error = try #require(configurationError("[classify]\nblur = 0.3\nblur_threshold = 0.3\n"))
        #expect(error.key == "classify.blur_threshold")
        #expect(error.line == 3)
        #expect(
            error.message
                == #"unknown key "classify.blur_threshold" (known: blur, dark_mean, dark_highlights, very_dark_mean, overexposed_fraction, overexposed_midtones, low_contrast_spread, minimum_side, grayscale_chroma, meter_score, minimum_confidence, external_command, external_name, external_timeout_seconds)"#
        )
    }

    @Test func agingSecondsBelongsUnderQueueNotEnvironments() throws {
        let error = try #require(configurationError("[environments.prod]\nweight = 4\n[environments]\naging_seconds = 30\n"))
        #expect(error.key == "environments.aging_seconds")
        #expect(error.line == 4)
        #expect(error.message.hasPrefix(#""environments.aging_seconds" must be a table"#))
    }

    @Test func valueErrorMatchesTheDocumentedFormat() throws {
        let error = try #require(configurationError("[limits]\nmax_bytes = 10\nmax_pixels = \"lots\"\n"))
        #expect(error.description == #"etc/intake.toml:3: "limits.max_pixels" must be a positive integer, got "lots""#)
        #expect(error.key == "limits.max_pixels")
    }

    @Test func syntaxErrorsBecomeConfigurationErrors() throws {
        let error = try #require(configurationError("[daemon]\nworkers 4\n"))
        #expect(error.line == 2)
        #expect(error.column == 9)
        #expect(error.key == nil)
        #expect(error.description == #"etc/intake.toml:2:9: expected '=' after key "workers", found '4'"#)
    }

    @Test(arguments: [
        // Wrong types.
        ("[daemon]\nworkers = \"4\"", "daemon.workers", "must be 0 (one per core) or an integer from 1 to 256, got \"4\""),
        ("[daemon]\nroot = 5", "daemon.root", "must be a non-empty path, got 5"),
        ("[daemon]\nreconcile_interval_seconds = \"1m\"", "daemon.reconcile_interval_seconds", "must be a positive number of seconds, at most a hundred years, got \"1m\""),
        ("[limits]\nmax_width = 1.5", "limits.max_width", "must be a positive integer, got 1.5"),
        ("[derive]\nangles = 90", "derive.angles", "must be an array of angles, each 90, 180, 270 or 360, got 90"),
        ("[watch]\nignore_suffixes = [\".tmp\", 3]", "watch.ignore_suffixes", "must be an array of non-empty strings, got 3"),
        ("[meters]\nfilename_pattern = true", "meters.filename_pattern", "got true"),
        ("daemon = 4", "daemon", "must be a table ([daemon]), got 4"),
        // Out of range.
        ("[daemon]\nworkers = 257", "daemon.workers", "got 257"),
        ("[daemon]\nworkers = -1", "daemon.workers", "got -1"),
        ("[daemon]\nlog_level = \"verbose\"", "daemon.log_level", "must be one of trace, debug, info, notice, warning, error, critical, got \"verbose\""),
        ("[daemon]\nshutdown_grace_seconds = 0", "daemon.shutdown_grace_seconds", "must be a positive number of seconds, at most a hundred years, got 0"),
        ("[alerts]\nmin_interval_seconds = 1e300", "alerts.min_interval_seconds", "at most a hundred years, got 1e+300"),
        ("[daemon]\nmetrics_interval_seconds = -0.5", "daemon.metrics_interval_seconds", "got -0.5"),
        ("[daemon]\nreconcile_interval_seconds = inf", "daemon.reconcile_interval_seconds", "got inf"),
        ("[daemon]\nqueue_capacity = 0", "daemon.queue_capacity", "must be a positive integer, got 0"),
        ("[daemon]\nroot = \"\"", "daemon.root", "must be a non-empty path, got \"\""),
        ("[queue]\naging_seconds = 0", "queue.aging_seconds", "got 0"),
        ("[limits]\nmax_bytes = 0", "limits.max_bytes", "must be a positive integer, got 0"),
        ("[limits]\nmax_height = -3", "limits.max_height", "got -3"),
        ("[retry]\nmax_attempts = 0", "retry.max_attempts", "must be a positive integer, got 0"),
        ("[retry]\ninitial_backoff_seconds = 0", "retry.initial_backoff_seconds", "got 0"),
        ("[derive]\nsize = 15", "derive.size", "must be an integer from 16 to 4096, got 15"),
        ("[derive]\nsize = 4097", "derive.size", "got 4097"),
        ("[derive]\nquality = 0", "derive.quality", "must be an integer from 1 to 100, got 0"),
        ("[derive]\nquality = 101", "derive.quality", "got 101"),
        ("[derive]\nangles = [90, 45]", "derive.angles", "each 90, 180, 270 or 360, got 45"),
        ("[derive]\nangles = [90, 180, 90]", "derive.angles", "lists 90 more than once"),
        ("[watch]\nignore_suffixes = [\"\"]", "watch.ignore_suffixes", "got \"\""),
        ("[watch]\nsettle_milliseconds = -1", "watch.settle_milliseconds", "must be a non-negative integer, got -1"),
        ("[meters]\nprofiles_dir = \"\"", "meters.profiles_dir", "must be a non-empty path"),
        ("[meters]\nsidecar_wait_seconds = -5", "meters.sidecar_wait_seconds", "must be a non-negative integer, got -5"),
        ("[environments.prod]\nweight = 0", "environments.prod.weight", "must be a positive integer, got 0"),
        ("[classify]\nblur = -0.1", "classify.blur", "must be a number from 0 to 1, got -0.1"),
        ("[classify]\nblur = \"soft\"", "classify.blur", "got \"soft\""),
        ("[classify]\ndark_mean = 256", "classify.dark_mean", "must be a number from 0 to 255, got 256"),
        ("[classify]\noverexposed_fraction = 1.5", "classify.overexposed_fraction", "must be a fraction from 0 to 1, got 1.5"),
        ("[classify]\nlow_contrast_spread = nan", "classify.low_contrast_spread", "got nan"),
        ("[classify]\nminimum_side = -1", "classify.minimum_side", "must be an integer from 0 (no minimum) to 65500, got -1"),
        ("[classify]\nminimum_side = 256.0", "classify.minimum_side", "got 256.0"),
        ("[classify]\ngrayscale_chroma = true", "classify.grayscale_chroma", "must be a number from 0 to 255, got true"),
        ("[classify]\nmeter_score = 2", "classify.meter_score", "must be a number from 0 to 1, got 2"),
        ("[classify]\nminimum_confidence = -0.5", "classify.minimum_confidence", "must be a number from 0 to 1, got -0.5"),
        ("[classify]\nexternal_command = \"yolo --json\"", "classify.external_command", "must be an array of non-empty strings"),
        ("[classify]\nexternal_command = [\"yolo\", \"\"]", "classify.external_command", "got \"\""),
        ("[classify]\nexternal_command = [\"yolo\", 3]", "classify.external_command", "got 3"),
        ("[classify]\nexternal_name = \"\"", "classify.external_name", "must be a name of 1 to 100 characters"),
        ("[classify]\nexternal_name = \"intake\"", "classify.external_name", "which names the built-in labels, got \"intake\""),
        ("[classify]\nexternal_timeout_seconds = 0", "classify.external_timeout_seconds", "must be a positive number of seconds, at most a hundred years, got 0"),
        ("[web]\ncors_origins = [\"https://field.example/app\"]", "web.cors_origins", "and no path, got \"https://field.example/app\""),
        ("[web]\ncors_origins = [\"field.example\"]", "web.cors_origins", "got \"field.example\""),
        ("[retry]\nmax_backoff_seconds = 0.5", "retry.max_backoff_seconds", "must be at least initial_backoff_seconds (1.0), got 0.5"),
        ("[retry]\ninitial_backoff_seconds = 500", "retry.initial_backoff_seconds", "must be at most max_backoff_seconds (300.0), got 500.0"),
    ])
    func badValuesNameKeyAndLine(text: String, key: String, fragment: String) throws {
        let error = try #require(configurationError("# line 1\n" + text))
        let lastLine = 1 + text.split(separator: "\n").count  // every case puts the bad key last
        #expect(error.key == key)
        #expect(error.line == lastLine)
        #expect(error.file == "etc/intake.toml")
        #expect(error.message.contains(fragment), "message: \(error.message)")
        #expect(error.message.contains("\"\(key)\""), "message should quote the key: \(error.message)")
    }

    @Test(arguments: [
        ("[environments.Prod]\nweight = 1", "environments.Prod"),
        ("[environments.\"prod eu\"]\nweight = 1", #"environments."prod eu""#),
        ("environments.beta.weight = 1\n[environments.UPPER]", "environments.UPPER"),
    ])
    func badEnvironmentNames(text: String, key: String) throws {
        let error = try #require(configurationError(text))
        let headerLine = text.split(separator: "\n").firstIndex { $0.contains("[environments.") }.map { $0 + 1 }
        #expect(error.key == key)
        #expect(error.line == headerLine)
        #expect(error.message == "\"\(key)\": environment names may only use lower-case letters, digits, '_' and '-'")
    }

    @Test(arguments: ["localhost", ":9464", "host:0", "host:65536", "host:", "host:80x", "::1:80", "[]:80", "a b:80"])
    func badListenAddresses(text: String) throws {
        let error = try #require(configurationError("[daemon]\nmetrics_listen = \"\(text)\""))
        #expect(error.key == "daemon.metrics_listen")
        #expect(error.line == 2)
        #expect(error.message.contains("host:port with a port from 1 to 65535"))
    }

    @Test func emptyEnvironmentsTableIsAnError() throws {
        let error = try #require(configurationError("[daemon]\nworkers = 1\n[environments]\n"))
        #expect(error.line == 3)
        #expect(error.key == "environments")
        #expect(error.message.contains("at least one environment"))
    }

    @Test func missingFileIsAnErrorNamingIt() throws {
        let path = "/nonexistent/intake-test/intake.toml"
        do {
            let configuration = try Configuration.load(path: path)
            Issue.record("expected an error, got \(configuration)")
        } catch {
            #expect(error.file == path)
            #expect(error.line == nil)
            #expect(error.description == "\(path): configuration file not found")
        }
    }
}

@Suite("Shipped configuration")
struct ShippedConfigurationTests {
    /// `etc/intake.toml` in the package root: three levels up from this file.
    private static let shippedPath: String = {
        // Drop <file>.swift, IntakeConfigTests and Tests. SwiftPM's #filePath is absolute; a compiler
        // given relative paths leaves nothing, which means the working directory.
        let packageRoot = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3)
            .joined(separator: "/")
        return (packageRoot.isEmpty ? "." : packageRoot) + "/etc/intake.toml"
    }()

    @Test func shippedFileSpellsOutTheDefaults() throws {
        var configuration = try Configuration.load(path: Self.shippedPath)
        // The one difference: its profiles are beside it (etc/meters), wherever it is run from.
        #expect(configuration.meters.profilesDir == String(Self.shippedPath.dropLast("intake.toml".count)) + "meters")
        configuration.meters.profilesDir = Configuration.defaults.meters.profilesDir
        // And so is its tokens file.
        #expect(configuration.web.tokensFile == String(Self.shippedPath.dropLast("intake.toml".count)) + "tokens")
        configuration.web.tokensFile = Configuration.defaults.web.tokensFile
        #expect(configuration == .defaults)
    }

    @Test func aRelativeProfilesFolderIsBesideTheFileAnAbsoluteOneIsKept() throws {
        let folder = try TemporaryFolder()
        let relative = folder.write("a.toml", Array("[meters]\nprofiles_dir = \"profiles\"\n".utf8))
        #expect(try Configuration.load(path: relative).meters.profilesDir == folder.path + "/profiles")
        let absolute = folder.write("b.toml", Array("[meters]\nprofiles_dir = \"/srv/meters\"\n".utf8))
        #expect(try Configuration.load(path: absolute).meters.profilesDir == "/srv/meters")
        // Left out, the profiles are the file's folder's meters/, as the shipped file writes (the
        // built-in etc/meters is for running from a checkout with no file at all): installed as
        // /etc/intake/intake.toml, that is /etc/intake/meters, not /etc/intake/etc/meters.
        let silent = folder.write("c.toml", Array("[daemon]\nworkers = 1\n".utf8))
        #expect(try Configuration.load(path: silent).meters.profilesDir == folder.path + "/meters")
    }

    /// The shipped file documents every key, so each one must be present in it.
    @Test func shippedFileSetsEveryKey() throws {
        let text = try TextFile.read(path: Self.shippedPath)
        let document = try TOML.parse(text, fileName: Self.shippedPath)
        let expectedKeys: [String: [String]] = [
            "daemon": [
                "root", "workers", "log_level", "reconcile_interval_seconds", "shutdown_grace_seconds",
                "metrics_interval_seconds", "metrics_listen", "queue_capacity", "min_free_bytes", "host",
            ],
            "environments": ["prod", "beta"],
            "queue": ["aging_seconds"],
            "limits": ["max_bytes", "max_pixels", "max_width", "max_height"],
            "retry": ["max_attempts", "initial_backoff_seconds", "max_backoff_seconds"],
            "derive": ["size", "quality", "angles"],
            "watch": ["ignore_suffixes", "settle_milliseconds", "mode", "poll_milliseconds"],
            "meters": ["filename_pattern", "profiles_dir", "sidecar_wait_seconds", "folder_pattern"],
            "classify": [
                "blur", "dark_mean", "dark_highlights", "very_dark_mean", "overexposed_fraction", "overexposed_midtones", "low_contrast_spread",
                "minimum_side", "grayscale_chroma",
                "meter_score", "minimum_confidence", "external_command", "external_name", "external_timeout_seconds",
            ],
            "web": [
                "listen", "max_bytes", "idle_timeout_seconds", "max_concurrent_uploads", "min_upload_bytes_per_second", "tokens_file", "cors_origins",
            ],
            "retention": ["keep_meter_readings", "archive", "batch", "interval_seconds"],
            "store": ["url", "claim_lease_seconds"],
            "alerts": [
                "command", "timeout_seconds", "gather_seconds", "min_interval_seconds", "unreadable_streak", "queue_age_seconds",
                "disk_free_bytes", "link",
            ],
        ]
        #expect(Set(document.keys) == Set(expectedKeys.keys))
        for (section, keys) in expectedKeys {
            guard case .table(let table)? = document[section] else {
                Issue.record("[\(section)] is missing or not a table")
                continue
            }
            #expect(table.keys == keys, "[\(section)]")
        }
    }
}
