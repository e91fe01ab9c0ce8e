import IntakeStore
import IntakeTestSupport
import IntakeCore
import IntakePipeline
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Crashes, stops and bad input: nothing lost, nothing doubled, the daemon goes on.
@Suite(.serialized) struct DaemonSafetyTests {
    @Test func killedAtRandomMomentsItLosesAndDoublesNothing() throws {
        let daemon = try DaemonHarness()
        var sources: [String: [UInt8]] = [:]
        // Real photos from the corpus when it is there; made ones otherwise.
        var corpusFiles: [String] = []
        if let corpus = Fixtures.corpus {
            corpusFiles = FileManagerless.files(under: corpus + "/images/photoprism-samples/examples").map {
                corpus + "/images/photoprism-samples/examples/" + $0
            } + FileManagerless.files(under: corpus + "/images/pngsuite").prefix(80).map { corpus + "/images/pngsuite/" + $0 }
        }
        for (n, path) in corpusFiles.enumerated() {
            guard let bytes = Fixtures.readFile(path), bytes.count < 5_000_000 else { continue }
            let source = "\(n % 2 == 0 ? "prod" : "beta")/c\(n)-\(path.split(separator: "/").last!)"
            sources[source] = bytes
        }
        for n in 0..<(300 - sources.count) {
            sources["prod/made-\(n).jpg"] = Photos.jpeg(width: 800, height: 600, seed: 9000 + n)
        }
        for (source, bytes) in sources { daemon.drop(source, bytes) }

        for round in 0..<6 {
            try daemon.start()
            // Killed in its work, not before it has begun: a loaded machine can take longer than
            // the shortest pause to reach the end of recovery.
            try daemon.waitUntil("round \(round) has recovered", timeout: 30) { daemon.log.contains(" recovered ") }
            usleep(UInt32.random(in: 150_000...900_000))
            #expect(daemon.stop(with: SIGKILL) == 128 + SIGKILL, "round \(round)")
        }
        try daemon.start()
        try daemon.waitForAll(sources.count, timeout: 300)
        #expect(daemon.stop() == 0)
        try checkInvariants(daemon, sources: sources)
        // The kills must have landed mid-work, or this test proved nothing.
        let recoveries = daemon.allLogs.split(separator: "\n").filter { $0.contains(" recovered ") }
        #expect(recoveries.count == 7)
        let resumed = recoveries.filter { !$0.contains("requeued=0 interrupted=0 unrecorded=0") }
        #expect(!resumed.isEmpty, "no restart found work to recover: \(recoveries)")
    }

    /// 20 SIGKILLs at random moments while 2,000 files arrive in both inboxes: some dropped while
    /// the daemon runs, some while it is down, the kills landing in claims, work and commits.
    @Test func twentyKillsOverATwoThousandFileFeedLoseAndDoubleNothing() throws {
        let daemon = try DaemonHarness()
        var sources: [String: [UInt8]] = [:]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<20 {
            try daemon.start()
            for n in 0..<100 {
                let index = round * 100 + n
                let source = "\(index % 3 == 0 ? "beta" : "prod")/k-\(index).jpg"
                sources[source] = Photos.jpeg(width: 160, height: 120, seed: 40_000 + index)
                daemon.drop(source, sources[source]!)
            }
            usleep(UInt32.random(in: 20_000...600_000, using: &generator))
            #expect(daemon.stop(with: SIGKILL) == 128 + SIGKILL, "round \(round)")
        }
        try daemon.start()
        try daemon.waitForAll(sources.count, timeout: 300)
        #expect(daemon.stop() == 0)
        #expect(sources.count == 2000)
        try checkInvariants(daemon, sources: sources)
        #expect(try daemon.statusCounts()["failed", default: 0] == 0)
        let recoveries = daemon.allLogs.split(separator: "\n").filter { $0.contains(" recovered ") }
        // Some kills land before start-up recovery is even done, so not every run logs one.
        #expect(recoveries.count >= 2)
        #expect(recoveries.contains { !$0.contains("requeued=0 interrupted=0 unrecorded=0") }, "no kill landed mid-work")
    }

    @Test func sigtermFinishesTheJobsInHandAndTheRestRunNextTime() throws {
        let daemon = try DaemonHarness()
        var sources: [String: [UInt8]] = [:]
        for n in 0..<200 { sources["prod/t-\(n).jpg"] = Photos.jpeg(width: 1200, height: 900, seed: 20000 + n) }
        for (source, bytes) in sources { daemon.drop(source, bytes) }
        try daemon.start()
        usleep(400_000)
        #expect(daemon.stop(with: SIGTERM) == 0)
        #expect(daemon.log.contains("intaked stopped"))
        let finishedAtStop = try daemon.statusCounts()["done", default: 0]
        #expect(finishedAtStop < sources.count, "the test needs jobs left over at the stop")
        try daemon.start()
        try daemon.waitForAll(sources.count, timeout: 300)
        #expect(daemon.stop() == 0)
        try checkInvariants(daemon, sources: sources)
    }

    /// Names too long to file (with `<job>-` before and `.error.json` after, over the 255 bytes
    /// a file system takes) are filed under their start, a digest and their extension: before,
    /// a 246-byte name could not even be claimed, and stayed in the inbox for good. Folders too.
    @Test func filesWhoseNamesAreTooLongToFileAreFiledUnderAShortenedName() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let bad = String(repeating: "n", count: 231) + ".jpg", good = String(repeating: "g", count: 246) + ".jpg"
        daemon.drop("prod/" + bad, Array("not an image".utf8))
        daemon.drop("prod/" + good, Photos.jpeg(seed: 61))
        // A folder whose name is over the limit once escaped (90 '%' are 270 bytes as %25): its
        // files failed every claim with "File name too long", for good.
        let folder = String(repeating: "%", count: 90)
        daemon.drop("prod/\(folder)/in-folder.jpg", Photos.jpeg(seed: 62))
        try daemon.waitForAll(3, timeout: 30)
        #expect(try daemon.database().jobs().first { $0.name == "in-folder.jpg" }?.status == .done)
        let jobs = try daemon.database().jobs().filter { $0.name != "in-folder.jpg" }
        let failed = try #require(jobs.first { $0.name.hasPrefix("nnn") }), done = try #require(jobs.first { $0.name.hasPrefix("ggg") })
        #expect(failed.status == .failed && done.status == .done)
        for job in [failed, done] {
            #expect(job.name.utf8.count == SafeName.maximumBytes && job.name.hasSuffix(".jpg") && job.name.contains("~"), "\(job.name)")
        }
        #expect(daemon.files("failed").contains { $0.hasSuffix(failed.name) })
        #expect(daemon.files("failed").contains { $0.hasSuffix(failed.name + ".error.json") }, "the report was not written")
        #expect(daemon.files("processed").contains { $0.hasSuffix(done.name) })
        #expect(daemon.files("inbox").isEmpty)
        #expect(daemon.stop() == 0)
    }

    /// The database file removed under a running daemon: said plainly, nothing recorded into the
    /// removed file (where it would be lost), the job kept in the spool, and recorded in the new
    /// file after a restart.
    @Test func aDatabaseFileRemovedWhileRunningIsSaidAndItsJobsWaitForTheNextStart() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        daemon.drop("prod/before.jpg", Photos.jpeg(seed: 71))
        try daemon.waitForAll(1, timeout: 30)
        for suffix in ["", "-wal", "-shm"] { unlink(daemon.root + "/intake.db" + suffix) }
        daemon.drop("prod/after.jpg", Photos.jpeg(seed: 72))
        try daemon.waitUntil("the daemon says the database file went", timeout: 30) { daemon.log.contains("was removed or replaced") }
        #expect(daemon.files("processed").allSatisfy { !$0.hasSuffix("after.jpg") }, "filed with no record of it")
        #expect(daemon.stop() == 0)
        try daemon.start()
        try daemon.waitUntil("the job is recorded in the new database", timeout: 60) {
            try daemon.database().jobs().contains { $0.name == "after.jpg" && $0.status == .done }
        }
        try daemon.waitForAll(1, timeout: 30)  // and filed: the database says done first
        #expect(daemon.files("processed").contains { $0.hasSuffix("after.jpg") })
        #expect(daemon.stop() == 0)
    }

    /// A folder renamed inside the inbox is watched under its new name, and a folder made again
    /// under its old name is watched too: both are seen by their events, with no periodic scan.
    @Test func aFolderRenamedInTheInboxIsWatchedUnderItsNewNameAndItsOldNameAfresh() throws {
        let daemon = try DaemonHarness(scanSeconds: 3600)
        try DurableFile.makeFolders(daemon.inbox + "/prod/site-1")
        try daemon.start()
        daemon.drop("prod/site-1/first.jpg", Photos.jpeg(seed: 81))
        try daemon.waitForAll(1, timeout: 30)
        #expect(rename(daemon.inbox + "/prod/site-1", daemon.inbox + "/prod/site-2") == 0)
        usleep(200_000)
        daemon.drop("prod/site-2/second.jpg", Photos.jpeg(seed: 82))
        try daemon.waitForAll(2, timeout: 30)
        try DurableFile.makeFolders(daemon.inbox + "/prod/site-1")
        usleep(200_000)
        daemon.drop("prod/site-1/third.jpg", Photos.jpeg(seed: 83))
        try daemon.waitForAll(3, timeout: 30)

        // A folder below a renamed one is still watched, under its new path.
        try DurableFile.makeFolders(daemon.inbox + "/prod/site-2/cam")
        usleep(200_000)
        #expect(rename(daemon.inbox + "/prod/site-2", daemon.inbox + "/prod/site-3") == 0)
        usleep(200_000)
        daemon.drop("prod/site-3/cam/fourth.jpg", Photos.jpeg(seed: 84))
        try daemon.waitForAll(4, timeout: 30)

        // Moved out of the inbox, a folder and the one below it are no longer watched (their
        // watches would follow them wherever they went).
        let before = Self.inotifyWatches(of: daemon.pid)
        #expect(rename(daemon.inbox + "/prod/site-3", daemon.folder.path + "/site-3-moved-out") == 0)
        try daemon.waitUntil("the moved-out folders' watches are removed", timeout: 10) {
            Self.inotifyWatches(of: daemon.pid) == before - 2
        }
        #expect(daemon.stop() == 0)
    }

    /// A filesystem mounted on a watched folder (a share, a disk) hides the folder the watch is
    /// on: inotify says nothing of it, and every file dropped there waited for the periodic scan.
    /// The mount table's change sets the watch afresh, on what is there now; so does its unmount.
    @Test(.enabled(if: Mounts.available, "needs the right to mount a tmpfs (root)"))
    func aFilesystemMountedOnAWatchedFolderIsWatchedAtOnce() throws {
        let daemon = try DaemonHarness(scanSeconds: 3600)
        let share = daemon.inbox + "/prod/share"
        try DurableFile.makeFolders(share)
        try daemon.start()
        daemon.drop("prod/share/before.jpg", Photos.jpeg(seed: 85))
        try daemon.waitForAll(1, timeout: 30)
        try Mounts.tmpfs(at: share, bytes: 16 << 20)
        var mounted = true
        defer { if mounted { Mounts.unmount(share) } }
        usleep(2_000_000)  // the scan the mount sets off, a second after it
        // Written on the share itself, as its users would: moved in there, on its filesystem.
        try DurableFile.write(Photos.jpeg(seed: 86), to: share + "/on-the-share.jpg")
        try daemon.waitUntil("the file on the mounted share is claimed", timeout: 20) {
            try daemon.statusCounts()["done", default: 0] == 2
        }
        Mounts.unmount(share)
        mounted = false
        usleep(2_000_000)
        daemon.drop("prod/share/after.jpg", Photos.jpeg(seed: 87))
        try daemon.waitForAll(3, timeout: 20)
        #expect(daemon.stop() == 0)
    }

    /// What the daemon never takes is said, once: a file in the inbox itself or in a folder that
    /// is no environment's (a mistyped `Prod/`), and a folder nested past the limit, whether it
    /// was there at the start or made while the daemon ran (made then, its files were taken,
    /// and after a restart not).
    @Test func filesOutsideEveryEnvironmentAndTooDeepAreSaidOnceAndLeft() throws {
        let daemon = try DaemonHarness(scanSeconds: 0.5)
        let deep = "prod/" + (1...16).map { "d\($0)" }.joined(separator: "/")
        daemon.drop(deep + "/at-start.jpg", Photos.jpeg(seed: 88))
        try daemon.start()
        daemon.drop("stray.jpg", Photos.jpeg(seed: 89))
        daemon.drop("Prod/typo.jpg", Photos.jpeg(seed: 90))
        daemon.drop("prod/made/" + (1...16).map { "e\($0)" }.joined(separator: "/") + "/while-running.jpg", Photos.jpeg(seed: 91))
        daemon.drop("prod/fine.jpg", Photos.jpeg(seed: 92))
        try daemon.waitUntil("the file in its environment is done", timeout: 30) { try daemon.statusCounts()["done", default: 0] == 1 }
        usleep(2_500_000)  // five scans more
        let lines = daemon.log.split(separator: "\n")
        for name in ["stray.jpg", "Prod"] {
            #expect(lines.filter { $0.contains("not in an environment's folder") && $0.contains("/inbox/\(name)") }.count == 1, "\(name)")
        }
        #expect(lines.filter { $0.contains("nested too deep") }.count == 2, "\(lines.filter { $0.contains("nested too deep") })")
        #expect(try daemon.database().jobs().map(\.name) == ["fine.jpg"])
        #expect(access(daemon.inbox + "/" + deep + "/at-start.jpg", F_OK) == 0)
        #expect(daemon.stop() == 0)
    }

    /// How many inotify watches the process `pid` holds, as the kernel counts them.
    static func inotifyWatches(of pid: Int32) -> Int {
        FileManagerless.list("/proc/\(pid)/fdinfo").reduce(0) { total, fd in
            let text = String(decoding: Fixtures.readFile("/proc/\(pid)/fdinfo/\(fd)") ?? [], as: UTF8.self)
            return total + text.split(separator: "\n").filter { $0.hasPrefix("inotify wd:") }.count
        }
    }

    @Test(arguments: DaemonStore.available) func badInputsAreDeadLetteredWithTheirReasonAndTheDaemonGoesOn(store: DaemonStore) throws {
        let daemon = try DaemonHarness(store: try store.makeURL())
        try daemon.start()
        var sources: [String: [UInt8]] = [:]
        var refused: Set<String> = []
        func drop(_ source: String, _ bytes: [UInt8], refuse: Bool) {
            daemon.drop(source, bytes)
            sources[source] = bytes
            if refuse { refused.insert(source) }
        }
        drop("prod/empty.jpg", [], refuse: true)
        drop("prod/lying.jpg", Array("GIF89a".utf8) + [UInt8](repeating: 1, count: 64), refuse: true)
        drop("prod/truncated.jpg", Array(Photos.jpeg(seed: 1).prefix(40)), refuse: true)
        drop("prod/name with spaces.jpg", Photos.jpeg(seed: 2), refuse: false)
        drop("prod/colons:and,commas.jpg", Photos.jpeg(seed: 3), refuse: false)
        if let corpus = Fixtures.corpus {
            let bad = [
                "images/decompression-bombs/spark.png", "images/jpeg-decoder-tests/crashtest/images/max_size.jpg",
                "images/libpng-testpngs/testpngs/crashers/huge_tEXt_chunk.png", "images/pngsuite/xcsn0g01.png",
                "images/photoprism-samples/examples/Random.docx", "images/photoprism-samples/examples/canon_eos_6d.dng",
            ]
            for (n, path) in bad.enumerated() {
                drop("beta/bad-\(n)-\(path.split(separator: "/").last!)", Fixtures.readFile(corpus + "/" + path)!, refuse: true)
            }
            // A phone's HEIC named .jpg: its name lies, its content is an image intake reads.
            drop("beta/phone.jpg", Fixtures.readFile(corpus + "/images/exif-samples/from-exif-py/heic/heic_hdlr_box.jpg")!, refuse: false)
        }
        // Names that are not text: a newline, and bytes that are not UTF-8.
        let newline = daemon.inbox + "/prod/line\nbreak.jpg"
        let lineBytes = Photos.jpeg(seed: 4)
        _ = daemon.folder.write("nl.jpg", lineBytes)
        rename(daemon.folder.path + "/nl.jpg", newline)
        let latin1: [UInt8] = Array((daemon.inbox + "/prod/caf").utf8) + [0xE9, 0x2E, 0x6A, 0x70, 0x67, 0]
        _ = daemon.folder.write("l1.jpg", Photos.jpeg(seed: 5))
        latin1.withUnsafeBufferPointer { target in
            target.withMemoryRebound(to: CChar.self) { _ = rename(daemon.folder.path + "/l1.jpg", $0.baseAddress!) }
        }
        // A symbolic link to a secret: never followed, set aside as it is.
        symlink("/etc/passwd", daemon.inbox + "/prod/passwd.jpg")

        let total = sources.count + 3
        try daemon.waitForAll(total, timeout: 120)
        let jobs = try daemon.database().jobs()
        for job in jobs {
            if refused.contains(job.sourcePath) || job.name == "passwd.jpg" {
                #expect(job.status == .failed, "\(job.sourcePath) should have been refused")
                #expect(job.error?.isEmpty == false)
                let report = try #require(Fixtures.readFile((job.finalPath ?? "") + ".error.json"), "no error report for \(job.sourcePath)")
                let text = String(decoding: report, as: UTF8.self)
                #expect(text.contains("\"stage\"") && text.contains("\"reason\"") && text.contains("\"attempts\""))
            }
        }
        #expect(jobs.first { $0.name == "line%0Abreak.jpg" }?.status == .done)
        #expect(jobs.first { $0.name == "caf%E9.jpg" }?.status == .done)
        let link = try #require(jobs.first { $0.name == "passwd.jpg" })
        #expect(link.error?.contains("symbolic link") == true)
        var status = stat()
        #expect(lstat(try #require(link.finalPath), &status) == 0 && status.st_mode & S_IFMT == S_IFLNK, "the link itself is kept")
        #expect(jobs.first { $0.name == "name with spaces.jpg" }?.status == .done)
        if Fixtures.corpus != nil { #expect(jobs.first { $0.name == "phone.jpg" }?.status == .done) }

        // Still alive and working.
        daemon.drop("prod/after.jpg", Photos.jpeg(seed: 6))
        try daemon.waitForAll(total + 1)
        #expect(daemon.stop() == 0)
    }
}
