import Foundation
import IntakeCodecs
import IntakeReports
import IntakeStore
import IntakeTestSupport
import Testing
import IntakeCore

/// A state root that a real intaked produced: done and failed jobs in both environments.
final class ReportFixture: @unchecked Sendable {
    static let shared = try! ReportFixture()

    let daemon: DaemonHarness
    var root: String { daemon.root }
    let failedNames = ["beta/not-an-image.jpg", "prod/empty.png", "prod/too-big.jpg"]

    init() throws {
        // A low pixel limit makes one real photo fail; the retry test raises it later on its own copy.
        daemon = try DaemonHarness(settings: "[limits]\nmax_pixels = 50000\n")
        try daemon.start()
        for n in 0..<4 { daemon.drop("prod/p\(n).jpg", Photos.jpeg(seed: 60 + n)) }
        for n in 0..<2 { daemon.drop("beta/MTR-7/b\(n).jpg", Photos.jpeg(seed: 70 + n)) }
        daemon.drop("beta/not-an-image.jpg", Array("GIF89a and nothing else".utf8))
        daemon.drop("prod/empty.png", [])
        daemon.drop("prod/too-big.jpg", Photos.jpeg(width: 400, height: 300, seed: 80))
        try daemon.waitForAll(9)
        daemon.stop()
    }

    func run(_ arguments: [String]) throws -> ChildProcess.Result {
        try ChildProcess.run(ChildProcess.built("intake"), arguments)
    }

    func json(_ arguments: [String]) throws -> [[String: Any]] {
        let result = try run(arguments + ["--format", "json"])
        #expect(result.status == 0, "\(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
    }
}

@Suite(.serialized) struct ReportCommandTests {
    let fixture = ReportFixture.shared

    @Test func summaryCountsWhatTheDaemonDid() throws {
        let rows = try fixture.json(["report", "--root", fixture.root])
        let prod = try #require(rows.first { $0["section"] as? String == "Jobs by environment and status" && $0["environment"] as? String == "prod" })
        #expect(prod["done"] as? Int == 4 && prod["failed"] as? Int == 2 && prod["total"] as? Int == 6)
        let reasons = rows.filter { $0["section"] as? String == "Top failure reasons" }.compactMap { $0["reason"] as? String }
        #expect(reasons.contains { $0.contains("GIF") } && reasons.contains { $0.contains("empty file") })
        let table = try fixture.run(["report", "--root", fixture.root])
        #expect(table.standardOutput.contains("Jobs by environment and status"))
        #expect(table.standardOutput.contains("Throughput") && table.standardOutput.contains("last hour"))
    }

    @Test func jobsCanBeFilteredAndLimited() throws {
        let beta = try fixture.json(["report", "jobs", "--root", fixture.root, "--env", "beta"])
        #expect(beta.count == 3 && beta.allSatisfy { $0["env"] as? String == "beta" })
        let failed = try fixture.json(["report", "jobs", "--root", fixture.root, "--status", "failed"])
        #expect(Set(failed.compactMap { $0["file"] as? String }) == Set(fixture.failedNames))
        #expect(try fixture.json(["report", "jobs", "--root", fixture.root, "--limit", "2"]).count == 2)
        #expect(try fixture.json(["report", "jobs", "--root", fixture.root, "--since", "1h"]).count == 9)
        #expect(try fixture.json(["report", "jobs", "--root", fixture.root, "--since", "2099-01-01"]).isEmpty)
        let bad = try fixture.run(["report", "jobs", "--root", fixture.root, "--since", "yesterday"])
        #expect(bad.status == 1 && bad.standardError.contains("--since yesterday"))
        let done = try fixture.json(["report", "jobs", "--root", fixture.root, "--status", "done"])
        #expect(done.allSatisfy { ($0["width"] as? Int) == 96 && ($0["ms"] as? Double ?? 0) > 0 })
    }

    @Test func failedJobsComeWithTheirReasonsAsCSV() throws {
        let result = try fixture.run(["report", "failed", "--root", fixture.root, "--format", "csv"])
        #expect(result.status == 0)
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.first == "job,env,file,stage,kind,reason,attempts,finished,kept_at")
        #expect(lines.count == 1 + fixture.failedNames.count)
        #expect(lines.contains { $0.contains("too-big.jpg") && $0.contains("over the limit") })
    }

    @Test func stagesReportOrderedPercentiles() throws {
        let stages = try fixture.json(["report", "stages", "--root", fixture.root])
        let decode = try #require(stages.first { $0["stage"] as? String == "decode" })
        let p50 = try #require(decode["p50_ms"] as? Double), p95 = try #require(decode["p95_ms"] as? Double)
        let p99 = try #require(decode["p99_ms"] as? Double)
        #expect(p50 > 0 && p50 <= p95 && p95 <= p99)
        #expect(stages.map { $0["stage"] as? String }.first == "sniff")
    }

    @Test func oneJobIsShownInTheCloudAPIShape() throws {
        let database = try Database(path: fixture.root + "/intake.db", readOnly: true)
        let done = try #require(try database.jobs(status: .done).first)
        let result = try fixture.run(["job", "--root", fixture.root, done.id])
        #expect(result.status == 0)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(document["jobId"] as? String == done.id)
        #expect(document["status"] as? String == "done")
        #expect(document["imageCount"] as? Int == 1)
        for key in ["createdAt", "updatedAt", "environment", "outputs", "attempts", "image", "sha256"] { #expect(document[key] != nil, "\(key)") }
        let detections = try #require(document["detections"] as? [[String: Any]])
        #expect(detections.first?["imageUrl"] as? String == done.finalPath)
        #expect(detections.first?["imageIndex"] as? Int == 0)
        let missing = try fixture.run(["job", "--root", fixture.root, "0000000000000z"])
        #expect(missing.status == 1 && missing.standardError.contains("no job"))
    }

    @Test func aMissingDatabaseSaysWhatToDo() throws {
        let folder = try TemporaryFolder()
        let result = try fixture.run(["report", "--root", folder.path])
        #expect(result.status == 1)
        #expect(result.standardError.contains("no database at \(folder.path)/intake.db"))
        #expect(result.standardError.contains("--root"))
        let byPath = try fixture.run(["report", "labels", "--db", fixture.root + "/intake.db", "--format", "csv"])
        #expect(byPath.status == 0)
        // The fixture's 96×64 photos are landscape, and too small for a 256 derivative.
        #expect(byPath.standardOutput.contains("landscape,intake,6,1"), "\(byPath.standardOutput)")
    }

    @Test func aDatabaseFromANewerIntakeIsRefusedPlainly() throws {
        let folder = try TemporaryFolder()
        do {
            let newer = try Database(path: folder.path + "/intake.db")
            _ = try newer.query("PRAGMA user_version = 99")
        }
        let result = try fixture.run(["report", "--root", folder.path])
        #expect(result.status == 1)
        #expect(result.standardError.contains("schema version 99 is newer than this intake"), "\(result.standardError)")
    }

    /// Writes meter verdicts as the meter stage would, one of them a mismatch on a real job.
    func recordMeterReadings() throws -> JobRow {
        let writer = try Database(path: fixture.root + "/intake.db")
        let job = try #require(try writer.jobs(status: .done).first { $0.meter == "MTR-7" })
        _ = try writer.query("DELETE FROM meter_readings")
        _ = try writer.query(
            """
            INSERT INTO meter_readings (job_id, meter_id, captured_at, value, unit, confidence, digits, manual_value, manual_read_at, delta, verdict, reason)
            VALUES (?1, 'MTR-7', '2026-11-20T10:00:00.000Z', 531.82, 'm3', 0.62, '[{"value": 5, "confidence": 0.99}, {"value": 1.5, "confidence": 0.62}]',
                    530.1, '2026-11-20T09:00:00.000Z', 1.72, 'mismatch', 'read 531.820 m3, expected 530.100 to 530.300')
            """, [.text(job.id)])
        return job
    }

    @Test func meterVerdictsAreReportedAndFiltered() throws {
        let job = try recordMeterReadings()
        let rows = try fixture.json(["report", "meters", "--root", fixture.root, "--verdict", "mismatch"])
        #expect(rows.count == 1)
        #expect(rows.first?["job"] as? String == job.id && rows.first?["delta"] as? Double == 1.72)
        #expect(try fixture.json(["report", "meters", "--root", fixture.root, "--verdict", "match"]).isEmpty)
    }

    @Test func aMeterPhotoWithNoMeterNamedIsListed() throws {
        let writer = try Database(path: fixture.root + "/intake.db")
        let job = try #require(try writer.jobs(status: .done).first { $0.meter == nil })
        _ = try writer.query("DELETE FROM meter_readings")
        _ = try writer.query("INSERT INTO labels (job_id, name, confidence, source) VALUES (?1, 'meter', 0.93, 'intake')", [.text(job.id)])
        defer { _ = try? writer.query("DELETE FROM labels WHERE name = 'meter' AND job_id = ?1", [.text(job.id)]) }
        let rows = try fixture.json(["report", "meters", "--root", fixture.root, "--verdict", "unnamed"])
        #expect(rows.count == 1)
        #expect(rows.first?["job"] as? String == job.id)
        #expect(rows.first?["reason"] as? String == "a meter photo with no meter named")
        // A meter filter names a meter: the unnamed ones are not among its photos.
        #expect(try fixture.json(["report", "meters", "--root", fixture.root, "--meter", "MTR-7"]).allSatisfy { $0["verdict"] as? String != "unnamed" })
    }

    @Test func theHTMLPageRendersInARealBrowser() throws {
        let job = try recordMeterReadings()
        let folder = try TemporaryFolder()
        let page = folder.path + "/report.html"
        let made = try fixture.run(["report", "--root", fixture.root, "--html", page])
        #expect(made.status == 0, "\(made.standardError)")
        let html = String(decoding: try #require(Fixtures.readFile(page)), as: UTF8.self)
        #expect(!html.contains("<script") && !html.contains("src=\"http"), "the page must stand alone")

        let browsers: [String] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        let chromium = try #require(browsers.first { access($0, X_OK) == 0 },
                                    "no Chromium: make test installs it (scripts/install-deps.sh --test)")
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(folder.path)/profile"]
        let dom = try ChildProcess.run(chromium, flags + ["--dump-dom", "file://" + page])
        #expect(dom.status == 0)
        for text in ["Summary", "Stage latency", "Failures", "Meter mismatches", "not a supported image", "over the limit",
                     "expected 530.100 to 530.300", "MTR-7", "<svg", "data:image/jpeg;base64,"] {
            #expect(dom.standardOutput.contains(text), "the rendered page lacks \(text)")
        }
        #expect(dom.standardOutput.contains(job.id))
        // And what it shows: a screenshot that is neither blank nor one colour.
        let shot = folder.path + "/report.png"
        let screenshot = try ChildProcess.run(chromium, flags + ["--hide-scrollbars", "--window-size=1100,1600", "--screenshot=\(shot)", "file://" + page])
        #expect(screenshot.status == 0)
        let png = try #require(Fixtures.readFile(shot))
        let image = try png.withUnsafeBytes { try PNGDecoder.decode($0, limits: DecodeLimits()) }.image
        #expect(image.width == 1100 && image.height == 1600)
        var dark = 0, red = 0
        for y in stride(from: 0, to: image.height, by: 4) {
            for x in stride(from: 0, to: image.width, by: 4) {
                let (r, g, b) = image[x, y]
                if Int(r) + Int(g) + Int(b) < 200 { dark += 1 }
                if r > 200 && g < 90 && b < 90 { red += 1 }  // the failed bars of the chart
            }
        }
        #expect(dark > 500, "hardly any text drawn")
        #expect(red > 50, "the summary chart's failed bars are not visible")
    }

    /// An unreadable meter photo is shown with the overlay of how it aligned (here: not at all,
    /// for the fixture's photo is no meter), drawn through the configured profile.
    @Test(.enabled(if: DemoMeterPhotos.folder != nil, "needs the corpus's demo meter for the shipped profile"))
    func anUnreadableMeterPhotoComesWithItsOverlay() throws {
        let writer = try Database(path: fixture.root + "/intake.db")
        let job = try #require(try writer.jobs(status: .done).first)
        _ = try writer.query("DELETE FROM meter_readings")
        _ = try writer.query(
            """
            INSERT INTO meter_readings (job_id, meter_id, captured_at, value, unit, confidence, digits, verdict, reason)
            VALUES (?1, 'demo-meter', '2026-11-20T10:00:00.000Z', NULL, 'm3', 0, '[]', 'unreadable', 'only 2 landmarks of the reference agree')
            """, [.text(job.id)])
        let folder = try TemporaryFolder()
        let config = folder.write("intake.toml", Array("[meters]\nprofiles_dir = \"\(Fixtures.packageRoot)/etc/meters\"\n".utf8))
        let page = folder.path + "/report.html"
        let made = try fixture.run(["report", "--root", fixture.root, "--config", config, "--html", page])
        #expect(made.status == 0, "\(made.standardError)")
        let html = String(decoding: try #require(Fixtures.readFile(page)), as: UTF8.self)
        #expect(html.contains("only 2 landmarks of the reference agree"))
        #expect(html.contains("alt=\"how the photo aligned to the profile and read\" src=\"data:image/jpeg;base64,"), "no overlay in the page")
        _ = try writer.query("DELETE FROM meter_readings")
    }

    @Test func completionsAndHelpComeFromTheArgumentParser() throws {
        let bash = try fixture.run(["--generate-completion-script", "bash"])
        #expect(bash.status == 0 && bash.standardOutput.contains("report") && bash.standardOutput.contains("retry"))
        let help = try fixture.run(["report", "jobs", "--help"])
        #expect(help.standardOutput.contains("--since") && help.standardOutput.contains("--format"))
    }
}

/// `intake retry` against a running daemon.
@Suite(.serialized) struct RetryCommandTests {
    @Test func aFailedJobComesBackAndSucceedsOnceTheCauseIsFixed() throws {
        let daemon = try DaemonHarness(settings: "[limits]\nmax_pixels = 50000\n")
        try daemon.start()
        daemon.drop("prod/big.jpg", Photos.jpeg(width: 400, height: 300, seed: 90))
        daemon.drop("beta/big.jpg", Photos.jpeg(width: 400, height: 300, seed: 91))
        daemon.drop("beta/psd.jpg", Array("8BPS".utf8) + [0, 1] + [UInt8](repeating: 0, count: 40))
        try daemon.waitForAll(3)
        let failed = try daemon.database().jobs(status: .failed)
        #expect(failed.count == 3)

        // The operator raises the limit and reloads, then sends the prod job back.
        let config = String(decoding: Fixtures.readFile(daemon.configPath)!, as: UTF8.self).replacing("max_pixels = 50000", with: "max_pixels = 500000")
        _ = daemon.folder.write("intake.toml", Array(config.utf8))
        daemon.signal(SIGHUP)
        try daemon.waitUntil("the reload", timeout: 60) { daemon.log.contains("configuration reloaded") }
        let prod = try #require(failed.first { $0.environment == "prod" })
        let result = try ChildProcess.run(ChildProcess.built("intake"), ["retry", "--root", daemon.root, prod.id])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("retrying \(prod.id)"))
        try daemon.waitUntil("the retried job is done", timeout: 30) { try daemon.database().job(id: prod.id)?.status == .done }

        let row = try #require(try daemon.database().job(id: prod.id))
        let history = try daemon.database().attempts(jobID: prod.id).map { $0.outcome?.rawValue ?? "?" }
        #expect(history == ["failed", "requeued", "done"])
        #expect(access(try #require(row.finalPath), F_OK) == 0)
        #expect(access(prod.finalPath!, F_OK) != 0 && access(prod.finalPath! + ".error.json", F_OK) != 0, "the dead letter is gone")
        #expect(daemon.files("spool") == ["prune.lock"])  // the lock retry shares with retention, nothing else

        // Every failed job of beta: the big one now passes, the Photoshop file fails again with the same reason.
        let all = try ChildProcess.run(ChildProcess.built("intake"), ["retry", "--root", daemon.root, "--all-failed", "--env", "beta"])
        #expect(all.status == 0)
        try daemon.waitUntil("beta retried", timeout: 30) {
            let jobs = try daemon.database().jobs().filter { $0.environment == "beta" }
            return jobs.allSatisfy { ($0.status == .done || $0.status == .failed) && $0.attempts >= 3 }
        }
        let beta = try daemon.database().jobs().filter { $0.environment == "beta" }
        #expect(beta.first { $0.name == "big.jpg" }?.status == .done)
        let psd = try #require(beta.first { $0.name == "psd.jpg" })
        #expect(psd.error?.contains("Photoshop") == true)
        // Failed again, it has its error report again: the new run's, which the requeue must not take.
        let report = try #require(psd.finalPath) + ".error.json"
        try daemon.waitUntil("the failed-again job's report is filed", timeout: 10) { access(report, F_OK) == 0 }
        #expect(String(decoding: Fixtures.readFile(report) ?? [], as: UTF8.self).contains("\"attempts\" : 3"))
        let done = try ChildProcess.run(ChildProcess.built("intake"), ["retry", "--root", daemon.root, prod.id])
        #expect(done.status == 2 && done.standardError.contains("it is done, not failed"))
        // One sent back and one refused: a script must not take that for all sent (it exited 0).
        let mixed = try ChildProcess.run(ChildProcess.built("intake"), ["retry", "--root", daemon.root, psd.id, prod.id])
        #expect(mixed.status == 2 && mixed.standardOutput.contains("retrying \(psd.id)"), "\(mixed.standardError)")
        daemon.stop()
    }

    /// Run as root on a state root another user owns (the installed daemon's is user intake's),
    /// `intake retry` acts as that user: what it makes in the spool is the daemon's to move. Made
    /// by root, `spool/requeue/prod/` kept the file from a daemon running as that user for good.
    @Test(.enabled(if: geteuid() == 0, "needs root: the command runs as root on a state root another user owns"))
    func aRetryRunAsRootLeavesWhatItMakesToTheStateRootsOwner() throws {
        let daemon = try DaemonHarness(settings: "[limits]\nmax_pixels = 50000\n")
        try daemon.start()
        daemon.drop("prod/big.jpg", Photos.jpeg(width: 400, height: 300, seed: 93))
        try daemon.waitForAll(1)
        let failed = try #require(try daemon.database().jobs(status: .failed).first)
        _ = daemon.stop()
        // The state root handed to user nobody, as an installed one is user intake's.
        let nobody: uid_t = 65534
        #expect(try ChildProcess.run("/bin/chown", ["-R", "\(nobody):\(nobody)", daemon.root]).status == 0)
        // Its way in open to that user too (a temporary folder is its maker's alone).
        #expect(chmod(daemon.folder.path, 0o755) == 0)
        let result = try ChildProcess.run(ChildProcess.built("intake"), ["retry", "--root", daemon.root, failed.id])
        #expect(result.status == 0, "\(result.standardError)")
        for made in ["spool/requeue", "spool/requeue/prod", "spool/requeue/prod/\(failed.id)-big.jpg", "spool/prune.lock"] {
            var status = stat()
            #expect(stat(daemon.root + "/" + made, &status) == 0 && status.st_uid == nobody, "\(made) is uid \(status.st_uid)")
        }
    }

    /// `intake retry` across filesystems copies the dead letter into the spool, then unlinks it
    /// from failed/; killed in between, it leaves the original in both. The copy in the spool runs;
    /// once it has succeeded, the one in failed/ is a leftover that no row names, and it goes.
    @Test func aRetryCutShortBeforeItsUnlinkLeavesNothingInFailedOnceTheJobIsDone() throws {
        let daemon = try DaemonHarness(settings: "[limits]\nmax_pixels = 50000\n")
        try daemon.start()
        daemon.drop("prod/big.jpg", Photos.jpeg(width: 400, height: 300, seed: 92))
        try daemon.waitForAll(1)
        let failed = try #require(try daemon.database().jobs(status: .failed).first)
        let original = try #require(failed.finalPath)
        let bytes = try #require(Fixtures.readFile(original))
        daemon.stop()

        let config = String(decoding: Fixtures.readFile(daemon.configPath)!, as: UTF8.self).replacing("max_pixels = 50000", with: "max_pixels = 500000")
        _ = daemon.folder.write("intake.toml", Array(config.utf8))
        let result = try ChildProcess.run(ChildProcess.built("intake"), ["retry", "--root", daemon.root, failed.id])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(access(original, F_OK) != 0)
        // What the cut-short move leaves: the original back in failed/, beside its report.
        #expect(FileManager.default.createFile(atPath: original, contents: Data(bytes)))
        try daemon.start()
        try daemon.waitUntil("the retried job is done", timeout: 30) { try daemon.database().job(id: failed.id)?.status == .done }
        // The row is final before the committer files the original: wait for both, or the check
        // can fall between the leftovers' removal and the original's move.
        let processed = try #require(try daemon.database().job(id: failed.id)?.finalPath)
        try daemon.waitUntil("failed/ is emptied of it and the processed original kept", timeout: 10) {
            access(original, F_OK) != 0 && access(original + ".error.json", F_OK) != 0 && access(processed, F_OK) == 0
        }
        daemon.stop()
    }
}

@Suite struct ReportFormattingTests {
    let table = ResultTable(columns: ["name", "count", "ms"], rows: [
        [.text("a, \"quoted\" one"), .integer(3), .real(1.23456, decimals: 2)],
        [.text("b"), .integer(12), .null],
    ])

    @Test func tablesAlignNumbersRight() {
        #expect(table.rendered(as: .table) == """
            name             count    ms
            ---------------  -----  ----
            a, "quoted" one      3  1.23
            b                   12     -

            """)
    }

    @Test func csvQuotesWhatNeedsIt() {
        #expect(table.rendered(as: .csv) == "name,count,ms\n\"a, \"\"quoted\"\" one\",3,1.23456\nb,12,\n")
    }

    /// An uploader's text (a sidecar's meter name, a reason quoting it) reaches reports: in a
    /// terminal its control characters show as %XX instead of acting, and in CSV a formula stays text.
    @Test func uploadersTextNeitherDrivesATerminalNorRunsInASpreadsheet() {
        let hostile = ResultTable(columns: ["meter"], rows: [[.text("\u{1B}]0;owned\u{07}x")], [.text("=HYPERLINK(\"http://x\")")], [.text("plain")]])
        let shown = hostile.rendered(as: .table)
        #expect(!shown.contains("\u{1B}") && shown.contains("%1B]0;owned%07x"), "\(shown)")
        let csv = hostile.rendered(as: .csv)
        #expect(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\"") && csv.contains("\nplain\n"), "\(csv)")
    }

    @Test func jsonKeepsTypes() throws {
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(table.rendered(as: .json).utf8)) as? [[String: Any]])
        #expect(parsed[0]["count"] as? Int == 3 && parsed[1]["ms"] is NSNull && parsed[0]["name"] as? String == "a, \"quoted\" one")
    }

    @Test func sinceAcceptsDurationsDatesAndTimes() {
        let now = Timestamp.milliseconds(from: "2026-11-21T12:00:00.000Z")!
        #expect(SinceParser.parse("90m", now: now) == "2026-11-21T10:30:00.000Z")
        #expect(SinceParser.parse("7d", now: now) == "2026-11-14T12:00:00.000Z")
        #expect(SinceParser.parse("2026-11-20", now: now) == "2026-11-20T00:00:00.000Z")
        #expect(SinceParser.parse("2026-11-20T08:15", now: now) == "2026-11-20T08:15:00.000Z")
        #expect(SinceParser.parse("soon", now: now) == nil)
        #expect(SinceParser.parse("200000000000d", now: now) == "1970-01-01T00:00:00.000Z", "no overflow: everything")
    }
}
