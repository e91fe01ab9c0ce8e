import IntakeStore
import IntakeTestSupport
import Testing
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// JSON sidecars through a running daemon: the claim a sidecar carries reaches the meter reading,
/// the sidecar travels with its image (claim, commit, retry) and is never a job of its own, and
/// one whose image never comes is set aside with the reason.
@Suite(.serialized) struct DaemonSidecarTests {
    /// MTR-… folders name meters by the folder pattern (they have no profile or readings here).
    static let settings = "[meters]\nsidecar_wait_seconds = 1\nfolder_pattern = 'MTR-\\d+'\n"

    @Test func sidecarClaimsAreComparedAndFiledBesideTheirImages() throws {
        let daemon = try DaemonHarness(settings: Self.settings)
        try daemon.start()
        let claimA = Array(#"{"reading": 12.5, "time": "2026-01-02T03:04:05Z", "uploader": "field app 3.1"}"#.utf8)
        daemon.drop("prod/MTR-7/a.jpg.json", claimA)
        daemon.drop("prod/MTR-7/a.jpg", Photos.jpeg(seed: 1))
        // `<stem>.json` also counts, and may name the meter when no subfolder does.
        daemon.drop("prod/b.json", Array(#"{"meter": "MTR-9", "reading": "3.25"}"#.utf8))
        daemon.drop("prod/b.jpg", Photos.jpeg(seed: 2))
        daemon.drop("prod/MTR-7/c.jpg.json", Array("reading: 4".utf8))
        daemon.drop("prod/MTR-7/c.jpg", Photos.jpeg(seed: 3))
        daemon.drop("prod/lonely.json", Array(#"{"reading": 1}"#.utf8))
        // A folder that names no meter (no profile, no readings, not the pattern) is just a folder.
        daemon.drop("prod/holiday/d.jpg", Photos.jpeg(seed: 5))
        try daemon.waitForAll(5, timeout: 60)

        let database = try daemon.database()
        let jobs = Dictionary(uniqueKeysWithValues: try database.jobs().map { ($0.name, $0) })
        #expect(Set(jobs.keys) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "lonely.json"], "a sidecar taken with its image is no job")
        #expect(jobs["d.jpg"]?.status == .done)
        let readings = Dictionary(uniqueKeysWithValues: try database.query(
            "SELECT j.name, m.meter_id, m.claimed_value, m.captured_at, m.reason FROM meter_readings m JOIN jobs j ON j.id = m.job_id"
        ).map { ($0["name"]?.textValue ?? "?", $0) })

        let a = try #require(readings["a.jpg"])
        #expect(a["meter_id"] == .text("MTR-7"))
        #expect(a["claimed_value"]?.realValue == 12.5)
        // The photo has no EXIF time, so the sidecar's time is the capture time.
        #expect(a["captured_at"]?.textValue.flatMap(Timestamp.milliseconds(from:)) == ISOTime.milliseconds("2026-01-02T03:04:05Z"))
        #expect(readings["b.jpg"]?["meter_id"] == .text("MTR-9"))
        #expect(readings["b.jpg"]?["claimed_value"]?.realValue == 3.25)
        let c = try #require(readings["c.jpg"])
        #expect(c["claimed_value"] == .null)
        #expect(c["reason"]?.textValue?.contains("the sidecar is not a JSON object") == true, "\(c)")
        #expect(readings["d.jpg"] == nil, "a holiday photo got a meter verdict: \(readings["d.jpg"] ?? [:])")

        // Filed beside the originals, bytes unchanged, under the name of the image they came with.
        let original = try #require(jobs["a.jpg"]?.finalPath)
        #expect(Fixtures.readFile(original + ".json") == claimA)
        #expect(access(try #require(jobs["b.jpg"]?.finalPath) + ".json", F_OK) == 0)
        let lonely = try #require(jobs["lonely.json"])
        #expect(lonely.status == .failed)
        #expect(lonely.error?.contains("a JSON sidecar whose image never came") == true, "\(lonely.error ?? "")")
        #expect(access(try #require(lonely.finalPath) + ".error.json", F_OK) == 0)
        #expect(daemon.files("spool").isEmpty)
        daemon.stop()
    }

    /// An image whose sidecar is still being written waits for it; once the sidecar is done, the
    /// image is claimed at once, with the sidecar. Nothing else offers the image again (the
    /// sidecar's own event is the sidecar's), so it waited for the periodic scan, an hour here.
    @Test func anImageWaitingForItsSidecarIsClaimedOnceTheSidecarIsDoneNotAtTheNextScan() throws {
        let daemon = try DaemonHarness(settings: Self.settings, scanSeconds: 3600)
        try daemon.start()
        daemon.makeFolders(daemon.inbox + "/prod/MTR-7")
        let sidecar = daemon.inbox + "/prod/MTR-7/w.jpg.json"
        let writer = open(sidecar, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        try #require(writer >= 0)
        let claim = Array(#"{"reading": 7.5}"#.utf8)
        _ = claim.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        daemon.drop("prod/MTR-7/w.jpg", Photos.jpeg(seed: 9))
        // Longer than the image's own retries (6 s), so that only the sidecar's event is left to claim it.
        usleep(7_000_000)
        #expect(try daemon.statusCounts().values.reduce(0, +) == 0, "claimed while its sidecar was being written")
        close(writer)
        // Well within the hour to the next scan.
        try daemon.waitForAll(1, timeout: 30)
        let reading = try daemon.database().query("SELECT claimed_value FROM meter_readings").first
        #expect(reading?["claimed_value"]?.realValue == 7.5, "the sidecar's claim was not taken with the image")
        #expect(daemon.stop() == 0)
    }

    /// rsync and shell globs send `x.jpg` before `x.jpg.json`: the image runs without the claim,
    /// and the sidecar, alone, is set aside. Its reason names the job that ran without it, where
    /// it said "whose image never came".
    @Test func aSidecarThatCameAfterItsImageSaysWhichJobRanWithoutIt() throws {
        let daemon = try DaemonHarness(settings: Self.settings)
        try daemon.start()
        daemon.drop("prod/MTR-7/late.jpg", Photos.jpeg(seed: 11))
        try daemon.waitForAll(1, timeout: 30)
        let image = try #require(try daemon.database().jobs().first)
        daemon.drop("prod/MTR-7/late.jpg.json", Array(#"{"reading": 2.5}"#.utf8))
        try daemon.waitForAll(2, timeout: 30)
        let sidecar = try #require(try daemon.database().jobs().first { $0.name == "late.jpg.json" })
        #expect(sidecar.status == .failed)
        #expect(sidecar.error?.contains("came after its image: late.jpg came first and ran as job \(image.id)") == true, "\(sidecar.error ?? "")")
        #expect(daemon.stop() == 0)
    }

    @Test func aJobIdOfferedBySidecarIsTakenOnlyWhenFreshUnusedAndForThisImage() throws {
        let daemon = try DaemonHarness(settings: Self.settings)
        try daemon.start()
        let offered = JobID.make()
        let firstBytes = Photos.jpeg(seed: 20)
        daemon.drop("beta/first.jpg.json", Array("{\"job\": \"\(offered)\", \"bytes\": \(firstBytes.count)}".utf8))
        daemon.drop("beta/first.jpg", firstBytes)
        try daemon.waitForAll(1, timeout: 30)
        #expect(try daemon.database().job(id: offered.rawValue)?.name == "first.jpg", "the offered id was not taken")

        // The same sidecar copied beside another image, one from a week ago, one given for an
        // image of another size, and one fresh id offered twice at once: new ids, and the twice
        // offered one taken once (before either is committed, so the daemon must remember it).
        daemon.drop("beta/copy.jpg.json", Array("{\"job\": \"\(offered)\"}".utf8))
        daemon.drop("beta/copy.jpg", Photos.jpeg(seed: 21))
        let old = JobID.make(milliseconds: JobID.nowMilliseconds() - 7 * 86_400_000)
        daemon.drop("beta/old.jpg.json", Array("{\"job\": \"\(old)\"}".utf8))
        daemon.drop("beta/old.jpg", Photos.jpeg(seed: 22))
        let resized = JobID.make()
        daemon.drop("beta/other.jpg.json", Array("{\"job\": \"\(resized)\", \"bytes\": 12}".utf8))
        daemon.drop("beta/other.jpg", Photos.jpeg(seed: 23))
        let twice = JobID.make()
        daemon.drop("beta/twin-a.jpg.json", Array("{\"job\": \"\(twice)\"}".utf8))
        daemon.drop("beta/twin-b.jpg.json", Array("{\"job\": \"\(twice)\"}".utf8))
        daemon.drop("beta/twin-a.jpg", Photos.jpeg(seed: 24))
        daemon.drop("beta/twin-b.jpg", Photos.jpeg(seed: 25))
        try daemon.waitForAll(6, timeout: 30)
        let jobs = try daemon.database().jobs()
        #expect(Set(jobs.map(\.id)).count == 6)
        #expect(jobs.first { $0.name == "copy.jpg" }?.id != offered.rawValue)
        #expect(jobs.first { $0.name == "old.jpg" }?.id != old.rawValue)
        #expect(jobs.first { $0.name == "other.jpg" }?.id != resized.rawValue)
        #expect(jobs.filter { $0.id == twice.rawValue }.count == 1)
        #expect(jobs.allSatisfy { $0.status == .done })
        #expect(daemon.log.contains("the job id offered is old, already used or given for another image"))
        #expect(daemon.stop() == 0)
    }

    @Test func aRetriedJobTakesItsSidecarBackWithIt() throws {
        let daemon = try DaemonHarness(settings: Self.settings + "[limits]\nmax_pixels = 50000\n")
        try daemon.start()
        let claim = Array(#"{"reading": 7}"#.utf8)
        daemon.drop("prod/MTR-1/big.jpg.json", claim)
        daemon.drop("prod/MTR-1/big.jpg", Photos.jpeg(width: 400, height: 300, seed: 4))
        try daemon.waitForAll(1)
        let failed = try #require(try daemon.database().jobs(status: .failed).first)
        let deadLetter = try #require(failed.finalPath)
        #expect(Fixtures.readFile(deadLetter + ".json") == claim, "filed beside the failed original")

        // The operator raises the limit and sends the job back: the sidecar goes with it.
        let config = String(decoding: Fixtures.readFile(daemon.configPath)!, as: UTF8.self)
            .replacing("max_pixels = 50000", with: "max_pixels = 500000")
        _ = daemon.folder.write("intake.toml", Array(config.utf8))
        daemon.signal(SIGHUP)
        try daemon.waitUntil("the reload", timeout: 60) { daemon.log.contains("configuration reloaded") }
        let retry = try ChildProcess.run(ChildProcess.built("intake"), ["retry", "--root", daemon.root, failed.id])
        #expect(retry.status == 0, "\(retry.standardError)")
        // Done in the database first, then filed (sidecar, then original): wait for the original.
        try daemon.waitUntil("the retried job is done and filed", timeout: 30) {
            guard let job = try daemon.database().job(id: failed.id), job.status == .done, let path = job.finalPath else { return false }
            return access(path, F_OK) == 0
        }

        let done = try #require(try daemon.database().job(id: failed.id)?.finalPath)
        #expect(Fixtures.readFile(done + ".json") == claim, "filed beside the processed original")
        #expect(access(deadLetter + ".json", F_OK) != 0)
        #expect(access(deadLetter + ".error.json", F_OK) != 0, "the old error report outlived the retry")
        let claimed = try daemon.database().query("SELECT claimed_value FROM meter_readings WHERE job_id = ?", [.text(failed.id)])
        #expect(claimed.first?["claimed_value"]?.realValue == 7)
        #expect(daemon.files("spool") == ["prune.lock"])  // the lock retry shares with retention, nothing else
        daemon.stop()
    }
    @Test func aJobIdLabelledOnTheImageIsTakenWhenFreshUnusedAndForThisImage() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        /// Written beside the inbox, labelled as `intake serve` labels an upload, renamed in.
        func dropLabelled(_ name: String, _ bytes: [UInt8], job: JobID, labelBytes: Int? = nil) {
            let staging = daemon.folder.write("labelled-\(name)", bytes)
            let fd = open(staging, O_RDONLY)
            #expect(UploadLabel.set(on: fd, job: job.rawValue, bytes: labelBytes ?? bytes.count) == 0)
            close(fd)
            rename(staging, daemon.inbox + "/prod/" + name)
        }
        let offered = JobID.make(), resized = JobID.make()
        dropLabelled("labelled.jpg", Photos.jpeg(seed: 31), job: offered)
        dropLabelled("resized.jpg", Photos.jpeg(seed: 32), job: resized, labelBytes: 7)
        try daemon.waitForAll(2, timeout: 30)
        let jobs = try daemon.database().jobs()
        #expect(jobs.first { $0.name == "labelled.jpg" }?.id == offered.rawValue)
        #expect(jobs.first { $0.name == "resized.jpg" }?.id != resized.rawValue)
        #expect(daemon.log.contains("user.intake.job"), "the refused label was not named in the log")
        #expect(daemon.stop() == 0)
    }
}
