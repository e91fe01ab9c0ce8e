import IntakeStore
import IntakeTestSupport
import Testing
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// What systemd and monitoring see of the daemon: notifications, metrics, logs, reloads.
@Suite(.serialized) struct DaemonServiceTests {
    /// A datagram socket standing in for systemd's notify socket.
    final class NotifySocket {
        let fd: Int32
        let path: String

        init(in folder: TemporaryFolder) throws {
            path = folder.path + "/notify.sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0)
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        /// Messages received until `predicate` matches one, or `timeout` passes.
        func receive(until predicate: (String) -> Bool, timeout: Double) -> [String] {
            var messages: [String] = []
            let deadline = DaemonHarness.now() + timeout
            var buffer = [UInt8](repeating: 0, count: 4096)
            while DaemonHarness.now() < deadline {
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { continue }
                let message = String(decoding: buffer[0..<n], as: UTF8.self)
                messages.append(message)
                if predicate(message) { break }
            }
            return messages
        }
    }

    @Test func tellsSystemdWhenReadyAliveAndStopping() throws {
        let daemon = try DaemonHarness()
        let notify = try NotifySocket(in: daemon.folder)
        try daemon.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        // Generous waits: on a loaded machine start-up can take seconds; the messages must still come.
        let startup = notify.receive(until: { $0.contains("WATCHDOG=1") }, timeout: 60)
        #expect(startup.contains { $0.contains("READY=1") && $0.contains("STATUS=") }, "\(startup)")
        #expect(startup.contains { $0.contains("WATCHDOG=1") }, "\(startup)")
        daemon.signal(SIGTERM)
        let stopping = notify.receive(until: { $0.contains("STOPPING=1") }, timeout: 60)
        #expect(stopping.contains { $0.contains("STOPPING=1") })
        #expect(ChildProcess.waitFor(daemon.pid) == 0)
    }

    @Test func writesMetricsAndOneLogLinePerJob() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        daemon.drop("prod/a.jpg", Photos.jpeg(seed: 1))
        daemon.drop("beta/b.jpg", Photos.jpeg(seed: 2))
        daemon.drop("beta/c.jpg", Array("not an image".utf8))
        try daemon.waitForAll(3)
        try daemon.waitUntil("metrics show the jobs", timeout: 60) {
            let text = String(decoding: Fixtures.readFile(daemon.root + "/metrics.prom") ?? [], as: UTF8.self)
            return text.contains("intake_jobs_total{env=\"prod\",outcome=\"done\"} 1")
                && text.contains("intake_jobs_total{env=\"beta\",outcome=\"failed\"} 1")
        }
        let metrics = String(decoding: Fixtures.readFile(daemon.root + "/metrics.prom") ?? [], as: UTF8.self)
        for name in ["intake_stage_duration_seconds_bucket{stage=\"decode\",le=\"+Inf\"}", "intake_queue_depth{env=\"beta\"}", "intake_queue_oldest_wait_seconds",
                     "intake_inotify_overflows_total", "intake_inbox_scans_total"] {
            #expect(metrics.contains(name), "metrics.prom lacks \(name)")
        }
        daemon.stop()
        let outcomes = daemon.log.split(separator: "\n").filter { $0.contains("job done") || $0.contains("job failed") }
        #expect(outcomes.count == 3)
        for line in outcomes {
            for key in ["job=", "env=", "file=", "status=", "ms="] { #expect(line.contains(key), "\(line)") }
        }
    }

    @Test func reloadsItsConfigurationOnSIGHUPAndRefusesABadOne() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        daemon.signal(SIGHUP)
        try daemon.waitUntil("the reload is logged", timeout: 60) { daemon.log.contains("configuration reloaded") }
        let good = Fixtures.readFile(daemon.configPath)!
        _ = daemon.folder.write("intake.toml", good + Array("\n[limits]\nmax_pixelz = 3\n".utf8))
        daemon.signal(SIGHUP)
        try daemon.waitUntil("the bad reload is refused", timeout: 60) { daemon.log.contains("reload refused") }
        #expect(daemon.log.contains("max_pixelz"))
        daemon.drop("prod/still.jpg", Photos.jpeg(seed: 3))
        try daemon.waitForAll(1)
        #expect(daemon.stop() == 0)
    }

    @Test func aSecondDaemonOnTheSameRootRefusesToStart() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let second = try ChildProcess.run(ChildProcess.built("intaked"), ["--config", daemon.configPath])
        #expect(second.status != 0)
        #expect(second.standardError.contains("already running"))
        daemon.stop()
    }

    @Test func aDroppedFileIsTakenByItsEventNotTheNextScan() throws {
        // The periodic scan is an hour away: only inotify can be that quick.
        let daemon = try DaemonHarness()
        let config = String(decoding: Fixtures.readFile(daemon.configPath)!, as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("reconcile_interval_seconds") ? "reconcile_interval_seconds = 3600" : String($0) }
            .joined(separator: "\n")
        _ = daemon.folder.write("intake.toml", Array(config.utf8))
        try daemon.start()
        usleep(300_000)
        daemon.drop("prod/quick.jpg", Photos.jpeg(seed: 8))
        try daemon.waitForAll(1, timeout: 60)  // still far below the hour the scan would take
        daemon.stop()
    }
}


/// Labels from the built-in classifier and a configured external one, end to end.
@Suite(.serialized) struct DaemonLabelTests {
    func script(_ folder: TemporaryFolder, _ name: String, _ body: String) -> String {
        let path = folder.write(name, Array("#!/bin/sh\n\(body)\n".utf8))
        chmod(path, 0o755)
        return path
    }

    @Test func labelsAreStoredWithTheirSourceAndAFailingClassifierNeverFailsTheJob() throws {
        let tools = try TemporaryFolder()
        // It is told the upright size its boxes are measured in; a box outside the image is dropped.
        let good = script(tools, "good.sh", #"""
            printf '{"labels": [{"name": "gauge", "confidence": 0.91, "box": [1, 2, 30, 40]}, {"name": "size-%sx%s", "confidence": 0.5}, {"name": "far", "confidence": 0.7, "box": [250, 100, 100, 50]}]}' "$INTAKE_IMAGE_WIDTH" "$INTAKE_IMAGE_HEIGHT"
            """#)
        let daemon = try DaemonHarness(settings: "[classify]\nexternal_command = [\"\(good)\"]\nexternal_name = \"yolo\"\n")
        try daemon.start()
        daemon.drop("prod/wide.jpg", Photos.jpeg(width: 300, height: 120, seed: 5))
        try daemon.waitForAll(1)
        let database = try daemon.database()
        let job = try #require(try database.jobs().first)
        let labels = try database.labels(jobID: job.id)
        #expect(labels.contains { $0.name == "landscape" && $0.source == "intake" && $0.confidence == 1 })
        let external = try #require(labels.first { $0.source == "yolo" })
        #expect(external.name == "gauge" && external.confidence == 0.91 && external.box == LabelBox(x: 1, y: 2, w: 30, h: 40))
        #expect(labels.contains { $0.name == "size-300x120" && $0.source == "yolo" }, "\(labels)")
        let far = try #require(labels.first { $0.name == "far" })
        #expect(far.box == nil)
        let firstWarnings = try database.image(jobID: job.id)?.warnings ?? ""
        #expect(firstWarnings.contains("yolo's label far has a box [250.0, 100.0, 100.0, 50.0] outside the 300×120 image"), "\(firstWarnings)")
        let view = try database.query("SELECT filename, labels, label_count FROM prod_results")
        #expect(view.first?["filename"] == .text("wide.jpg"))
        #expect(view.first?["labels"]?.textValue?.contains("\"gauge\"") == true)
        #expect(view.first?["label_count"] == .integer(Int64(labels.count)))
        daemon.stop()

        // The same daemon with a classifier that crashes: the job is done all the same, the error noted.
        let crashing = script(tools, "crash.sh", "echo oops >&2; exit 3")
        let config = String(decoding: Fixtures.readFile(daemon.configPath)!, as: UTF8.self).replacing(good, with: crashing)
        _ = daemon.folder.write("intake.toml", Array(config.utf8))
        try daemon.start()
        daemon.drop("prod/second.jpg", Photos.jpeg(width: 120, height: 300, seed: 6))
        try daemon.waitForAll(2)
        let second = try #require(try daemon.database().jobs().first { $0.name == "second.jpg" })
        #expect(second.status == .done)
        let warnings = try daemon.database().image(jobID: second.id)?.warnings ?? ""
        #expect(warnings.contains("exited with status 3") && warnings.contains("oops"), "\(warnings)")
        #expect(try daemon.database().labels(jobID: second.id).contains { $0.name == "portrait" })
        daemon.stop()
    }
}

/// The demo meter's photos through a running daemon, judged against manual readings.
@Suite(.serialized) struct DaemonMeterTests {
    @Test(.enabled(if: Fixtures.corpus != nil, "needs ../shared/corpus beside the checkout"))
    func demoMeterPhotosAreReadAndJudged() throws {
        let corpus = try #require(Fixtures.corpus)
        let daemon = try DaemonHarness(settings: "[meters]\nprofiles_dir = \"\(Fixtures.packageRoot)/etc/meters\"\n")
        try daemon.start()
        // Manual readings an hour either side of now, when the dropped photos get their times.
        let now = Timestamp.nowMilliseconds()
        let csv = "meter_id,read_at,value,unit\ndemo-meter,\(Timestamp.string(fromMilliseconds: now - 3_600_000)),530.0,m3\n"
            + "demo-meter,\(Timestamp.string(fromMilliseconds: now + 3_600_000)),532.0,m3\n"
        let readings = daemon.folder.write("manual.csv", Array(csv.utf8))
        let imported = try ChildProcess.run(ChildProcess.built("intake"), ["readings", "import", "--root", daemon.root, readings])
        #expect(imported.status == 0, "\(imported.standardError)")

        let folder = corpus + "/meters/demo-meter"
        let photos = FileManagerless.list(folder).filter { $0.hasPrefix("5") && $0.hasSuffix(".jpg") }.sorted()
        #expect(photos.count == 12)
        for photo in photos { daemon.drop("prod/demo-meter/" + photo, Fixtures.readFile(folder + "/" + photo)!) }
        try daemon.waitForAll(photos.count, timeout: 300)

        let rows = try daemon.database().query(
            "SELECT j.name, m.meter_id, m.value, m.verdict, m.reason, m.digits FROM meter_readings m JOIN jobs j ON j.id = m.job_id ORDER BY j.name")
        #expect(rows.count == 12)
        var matched = 0
        for row in rows {
            let name = row["name"]?.textValue ?? "?"
            #expect(row["meter_id"] == .text("demo-meter"))
            switch row["verdict"]?.textValue {
            case "match":
                matched += 1
                // What the photo shows, to the dials' resolution: within a few litres of its name.
                let value = try #require(row["value"]?.realValue)
                let named = try #require(Double(name.dropLast(4)))
                #expect(abs(value - named) < 0.005, "\(name) read \(value)")
            case "unreadable":
                #expect(row["reason"]?.textValue?.isEmpty == false, "\(name) unreadable without a reason")
            default:
                Issue.record("\(name): \(row["verdict"]?.textValue ?? "no verdict") — \(row["reason"]?.textValue ?? "")")
            }
            #expect(row["digits"]?.textValue?.contains("\"kind\":\"dial\"") == true)
        }
        #expect(matched >= 11, "only \(matched) of 12 matched")
        let report = try ChildProcess.run(ChildProcess.built("intake"), ["report", "meters", "--root", daemon.root, "--verdict", "match"])
        #expect(report.standardOutput.contains("demo-meter"))
        daemon.stop()
    }
}
