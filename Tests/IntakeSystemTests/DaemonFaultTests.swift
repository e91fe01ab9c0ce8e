import CLinux
import IntakePipeline
import IntakeStore
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The faults an operator meets, made real under a running intaked: a full disk, a database
/// locked by another writer or gone read-only, folders deleted or replaced. Each time the daemon
/// must say so once, lose and double nothing, dead-letter nothing for the machine's sake, and
/// finish every file by itself once the fault is gone.
@Suite(.serialized) struct DaemonFaultTests {
    /// Files that are all good: every one must end done.
    func photos(_ count: Int, environment: String = "prod", from seed: Int) -> [String: [UInt8]] {
        var sources: [String: [UInt8]] = [:]
        for n in 0..<count {
            let env = environment == "both" ? (n % 2 == 0 ? "prod" : "beta") : environment
            sources["\(env)/p-\(seed + n).jpg"] = Photos.jpeg(width: 640, height: 480, seed: seed + n)
        }
        return sources
    }

    /// What every fault test checks at the end, besides the invariants of a finished run.
    func checkRodeItOut(_ daemon: DaemonHarness, sources: [String: [UInt8]]) throws {
        try checkInvariants(daemon, sources: sources)
        #expect(try daemon.statusCounts()["failed", default: 0] == 0, "a good file was dead-lettered for the machine's sake")
        #expect(daemon.files("failed").isEmpty)
        #expect(!daemon.allLogs.contains("dropping"), "an event was dropped")
    }

    func count(_ text: String, in log: String) -> Int {
        log.split(separator: "\n").filter { $0.contains(text) }.count
    }

    @Test(.enabled(if: Mounts.available, "needs the right to mount a tmpfs (root)"))
    func aFullDiskPausesTheClaimLosesNothingAndResumesByItself() throws {
        let daemon = try DaemonHarness(daemonSettings: "min_free_bytes = 4_194_304")
        try Mounts.tmpfs(at: daemon.root, bytes: 40 << 20)
        defer { Mounts.unmount(daemon.root) }
        daemon.stagingFolder = daemon.root
        let ballast = daemon.root + "/ballast"

        // Phase 1: the disk fills while jobs are in flight; more files arrive while it is full.
        var sources = photos(60, environment: "both", from: 1000)
        for (source, bytes) in sources { daemon.drop(source, bytes) }
        let late = photos(20, from: 5000)
        // Written before the disk fills; renamed in while it is full (a rename needs no space).
        let staged = late.map { source, bytes -> (source: String, path: String) in
            let path = daemon.root + "/late-\(source.split(separator: "/").last!)"
            let file = fopen(path, "wbe")!
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
            return (source, path)
        }
        try daemon.start()
        usleep(100_000)
        #expect(Mounts.fill(ballast) > 0)
        // The floor is measured at most every quarter second: the pause comes first, then the files.
        try daemon.waitUntil("the claim paused", timeout: 30) { daemon.log.contains("claiming paused") }
        for (source, path) in staged { rename(path, daemon.inbox + "/" + source) }
        sources.merge(late) { $1 }
        usleep(3_000_000)
        // Nothing claimed while full: the late files are all still in the inbox.
        let inboxNow = daemon.files("inbox").filter { !$0.hasPrefix(".") }
        #expect(late.keys.allSatisfy { inboxNow.contains($0) }, "a file was claimed below the floor")
        #expect(daemon.files("failed").isEmpty, "dead-lettered for want of space")
        #expect(count("claiming paused", in: daemon.log) == 1, "the pause is said once")
        // The jobs in flight met the full disk, in their outputs or in the database.
        #expect(daemon.log.contains("outputs and error reports cannot be written") || daemon.log.contains("the database cannot record"),
                "the fault never reached a job: \(daemon.log.suffix(3000))")

        // Space returns: everything finishes without a restart, within a minute.
        unlink(ballast)
        let spaceBack = DaemonHarness.now()
        try daemon.waitForAll(sources.count, timeout: 60)
        print("disk full: all \(sources.count) files final \(Int((DaemonHarness.now() - spaceBack) * 1000)) ms after the ballast went")
        #expect(daemon.log.contains("claiming resumed"))

        // Phase 2: full again, more files, and a SIGKILL while it is full.
        let more = photos(30, environment: "both", from: 9000)
        for (source, bytes) in more { daemon.drop(source, bytes) }
        sources.merge(more) { $1 }
        usleep(50_000)
        Mounts.fill(ballast)
        usleep(1_500_000)
        #expect(daemon.stop(with: SIGKILL) == 128 + SIGKILL)
        unlink(ballast)
        try daemon.start()
        try daemon.waitForAll(sources.count, timeout: 60)
        #expect(daemon.stop() == 0)
        try checkRodeItOut(daemon, sources: sources)
    }

    static let hasSQLiteShell = access("/usr/bin/sqlite3", X_OK) == 0

    @Test(.enabled(if: hasSQLiteShell, "needs the sqlite3 shell (scripts/install-deps.sh --test installs it)"))
    func aDatabaseLockedByAnotherWriterHoldsEventsUntilItIsFree() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        var sources = photos(10, from: 100)
        for (source, bytes) in sources { daemon.drop(source, bytes) }
        try daemon.waitForAll(sources.count)

        // Another writer takes the write lock and keeps it for 30 seconds.
        let holdSeconds = 30
        let shell = try ChildProcess.spawn(
            "/usr/bin/sqlite3", [daemon.root + "/intake.db", "-cmd", ".timeout 20000", "-cmd", "BEGIN IMMEDIATE;", "-cmd", ".shell sleep \(holdSeconds)", "COMMIT;"],
            standardOutput: daemon.folder.path + "/sqlite3.out", standardError: daemon.folder.path + "/sqlite3.err")
        usleep(500_000)
        let during = photos(40, environment: "both", from: 200)
        for (source, bytes) in during { daemon.drop(source, bytes) }
        sources.merge(during) { $1 }
        try daemon.waitUntil("the committer says the database cannot record", timeout: 30) {
            daemon.log.contains("the database cannot record")
        }
        #expect(ChildProcess.waitFor(shell) == 0, "the sqlite3 shell failed: it never held the lock")
        let lockGone = DaemonHarness.now()
        try daemon.waitForAll(sources.count, timeout: 60)
        print("database locked: all \(sources.count) files final \(Int((DaemonHarness.now() - lockGone) * 1000)) ms after the lock went")
        #expect(count("the database cannot record;", in: daemon.log) == 1, "the outage is said once")
        #expect(daemon.log.contains("over: the database cannot record"))
        #expect(daemon.stop() == 0)
        try checkRodeItOut(daemon, sources: sources)
    }

    /// Linux refuses to remount a filesystem read-only while a process has a file on it open for
    /// writing (the database is), so the state root is made read-only the way an administrator's
    /// bind mount does it: every file, rename and folder made anew fails with EROFS.
    @Test(.enabled(if: Mounts.available, "needs the right to mount (root)"))
    func aStateRootGoneReadOnlyForAWhileLosesNothing() throws {
        let daemon = try DaemonHarness()
        var sources = photos(40, environment: "both", from: 300)
        for (source, bytes) in sources { daemon.drop(source, bytes) }
        try daemon.start()
        usleep(150_000)
        try Mounts.bindReadOnly(daemon.root)
        var unmounted = false
        defer { if !unmounted { Mounts.unmount(daemon.root) } }
        let during = photos(10, from: 350)
        for (source, bytes) in during { daemon.drop(source, bytes) }  // refused by the filesystem: never arrive
        usleep(5_000_000)
        #expect(daemon.files("failed").isEmpty)
        #expect(count("files cannot be claimed into the spool;", in: daemon.log) <= 1)
        #expect(daemon.log.contains("outputs and error reports cannot be written"), "the fault never reached a job: \(daemon.log.suffix(3000))")
        Mounts.unmount(daemon.root)
        unmounted = true
        let after = photos(10, from: 400)
        for (source, bytes) in after { daemon.drop(source, bytes) }
        sources.merge(after) { $1 }
        try daemon.waitForAll(sources.count, timeout: 60)
        #expect(daemon.stop() == 0)
        try checkRodeItOut(daemon, sources: sources)
    }

    @Test func foldersDeletedOrReplacedUnderTheDaemonAreSaidAndRecoveredFrom() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        var sources: [String: [UInt8]] = [:]

        // inbox/beta deleted: made again, and files dropped there afterwards are taken.
        #expect(FileManagerless.removeTree(daemon.inbox + "/beta"))
        try daemon.waitUntil("inbox/beta is made again", timeout: 30) {
            daemon.log.contains("inbox folder was missing; made it again") && access(daemon.inbox + "/beta", F_OK) == 0
        }
        let beta = photos(5, environment: "beta", from: 600)
        for (source, bytes) in beta { daemon.drop(source, bytes) }
        sources.merge(beta) { $1 }
        try daemon.waitForAll(sources.count, timeout: 30)

        // inbox/beta replaced by a file: said once, taken up again when it is a folder. The swap is
        // atomic (RENAME_EXCHANGE), or the daemon could make the folder again in between.
        let file = daemon.inbox + "/beta-as-a-file"
        close(open(file, O_WRONLY | O_CREAT, 0o644))
        #expect(intake_exchange(file, daemon.inbox + "/beta") == 0)
        #expect(FileManagerless.removeTree(file))
        try daemon.waitUntil("the daemon says inbox/beta is not a folder", timeout: 30) {
            daemon.log.contains("inbox folder is not a folder")
        }
        unlink(daemon.inbox + "/beta")
        let betaAgain = photos(3, environment: "beta", from: 650)
        for (source, bytes) in betaAgain { daemon.drop(source, bytes) }
        sources.merge(betaAgain) { $1 }
        try daemon.waitForAll(sources.count, timeout: 30)
        #expect(daemon.log.contains("inbox folder is back"))

        // processed/ replaced by a file: the jobs wait (no attempt spent, nothing failed), then finish.
        rename(daemon.root + "/processed", daemon.root + "/processed.away")
        close(open(daemon.root + "/processed", O_WRONLY | O_CREAT, 0o644))
        let waiting = photos(5, from: 700)
        for (source, bytes) in waiting { daemon.drop(source, bytes) }
        sources.merge(waiting) { $1 }
        try daemon.waitUntil("the workers say they cannot write", timeout: 30) {
            daemon.log.contains("outputs and error reports cannot be written")
        }
        usleep(2_000_000)
        #expect(try daemon.statusCounts()["failed", default: 0] == 0)
        unlink(daemon.root + "/processed")
        rename(daemon.root + "/processed.away", daemon.root + "/processed")
        try daemon.waitForAll(sources.count, timeout: 60)
        #expect(daemon.log.contains("over: outputs and error reports cannot be written"))

        // failed/ deleted: a bad file is still dead-lettered, with its report.
        #expect(FileManagerless.removeTree(daemon.root + "/failed"))
        let bad = "prod/not-an-image.jpg"
        daemon.drop(bad, Array("this is not a JPEG".utf8))
        try daemon.waitForAll(sources.count + 1, timeout: 30)
        let failedFiles = daemon.files("failed")
        #expect(failedFiles.contains { $0.hasSuffix("not-an-image.jpg") } && failedFiles.contains { $0.hasSuffix(".error.json") })
        #expect(daemon.stop() == 0)
        #expect(!daemon.allLogs.contains("dropping"))
    }

    @Test func anEnvironmentFolderMovedAwayIsMadeAgainAndItsNewSubfoldersAreWatched() throws {
        // No reconciliation scan for the test's length: only inotify can find the files.
        let daemon = try DaemonHarness(scanSeconds: 3600)
        try daemon.start()
        var sources = photos(1, environment: "prod/MTR-1", from: 800)
        for (source, bytes) in sources { daemon.drop(source, bytes) }
        try daemon.waitForAll(sources.count, timeout: 30)

        // inbox/prod moved out of the inbox, with its watched subfolder inside.
        let away = daemon.folder.path + "/prod-moved-away"
        #expect(rename(daemon.inbox + "/prod", away) == 0)
        try daemon.waitUntil("inbox/prod is made again", timeout: 30) { access(daemon.inbox + "/prod", F_OK) == 0 }
        // A subfolder of the same name made again is a new folder: it is watched afresh, not
        // taken for the one moved away with its old watch.
        #expect(mkdir(daemon.inbox + "/prod/MTR-1", 0o755) == 0)
        usleep(1_000_000)
        let again = photos(2, environment: "prod/MTR-1", from: 810)
        for (source, bytes) in again { daemon.drop(source, bytes) }
        sources.merge(again) { $1 }
        try daemon.waitForAll(sources.count, timeout: 30)

        // What is dropped in the folder moved away is no longer the daemon's.
        let outside = daemon.folder.write("prod-moved-away/MTR-1/outside.jpg", Photos.jpeg(width: 64, height: 48, seed: 1))
        usleep(1_500_000)
        #expect(access(outside, F_OK) == 0, "a file outside the inbox was claimed")
        #expect(daemon.stop() == 0)
        try checkRodeItOut(daemon, sources: sources)
    }

    @Test(.enabled(if: Mounts.available, "needs the right to mount (root) to make failed/ read-only"))
    func anUnwritableFailedFolderHoldsTheDeadLetterUntilItCanBeWritten() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        try Mounts.bindReadOnly(daemon.root + "/failed")
        var unmounted = false
        defer { if !unmounted { Mounts.unmount(daemon.root + "/failed") } }
        daemon.drop("prod/broken.png", Array("\u{89}PNG\r\n\u{1A}\nnot really".utf8))
        try daemon.waitUntil("the workers say they cannot write", timeout: 30) {
            daemon.log.contains("outputs and error reports cannot be written")
        }
        usleep(1_500_000)
        #expect(try daemon.statusCounts()["failed", default: 0] == 0, "recorded as failed without its report")
        Mounts.unmount(daemon.root + "/failed")
        unmounted = true
        try daemon.waitForAll(1, timeout: 60)
        #expect(try daemon.statusCounts()["failed", default: 0] == 1)
        #expect(daemon.files("failed").contains { $0.hasSuffix("broken.png.error.json") })
        #expect(daemon.stop() == 0)
    }

    /// processed/, augmented/ and failed/ each on a filesystem of its own (a bigger disk mounted on
    /// one, say), which renames cannot cross: every job is filed all the same, by copy, sync,
    /// rename and unlink, with no temporary file left anywhere; a symbolic link and a pipe are
    /// set aside as what they are (a pipe opened to be copied would stop the committer for good);
    /// and `intake retry` sends a dead letter back across them.
    @Test(.enabled(if: Mounts.available, "needs the right to mount a tmpfs (root)"))
    func outputTreesOnFilesystemsOfTheirOwnAreFiledInto() throws {
        let daemon = try DaemonHarness()
        let trees = ["processed", "augmented", "failed"].map { daemon.root + "/" + $0 }
        for tree in trees {
            daemon.makeFolders(tree)
            try Mounts.tmpfs(at: tree, bytes: 64 << 20)
        }
        defer { for tree in trees { Mounts.unmount(tree) } }
        try daemon.start()
        var sources = photos(6, environment: "both", from: 7000)
        sources["prod/broken.png"] = Array("\u{89}PNG\r\n\u{1A}\nnot really".utf8)
        for (source, bytes) in sources { daemon.drop(source, bytes) }
        symlink("/etc/hostname", daemon.inbox + "/prod/link.jpg")
        mkfifo(daemon.inbox + "/prod/pipe.jpg", 0o644)
        try daemon.waitForAll(sources.count + 2, timeout: 60)
        try daemon.waitUntil("every original is filed", timeout: 30) {
            try daemon.database().jobs().allSatisfy { job in job.finalPath.map { access($0, F_OK) == 0 } ?? false }
        }
        let special = try daemon.database().jobs(status: .failed).filter { $0.name == "link.jpg" || $0.name == "pipe.jpg" }
        #expect(special.count == 2)
        for job in special {
            var status = stat()
            #expect(lstat(try #require(job.finalPath), &status) == 0)
            #expect(status.st_mode & S_IFMT == (job.name == "link.jpg" ? S_IFLNK : S_IFIFO), "\(job.name) filed as something else")
        }
        let counts = try daemon.statusCounts()
        #expect(counts["done"] == 6 && counts["failed"] == 3, "\(counts)")
        #expect(daemon.files("failed").contains { $0.hasSuffix("broken.png.error.json") })
        #expect(!daemon.log.contains("cross-device"), "a rename tried to cross filesystems")

        // Back from failed/ (its own filesystem) into the spool: refused again, and filed again.
        let failed = try #require(try daemon.database().jobs(status: .failed).first { $0.name == "broken.png" })
        let retry = try ChildProcess.run(ChildProcess.built("intake"), ["retry", "--root", daemon.root, failed.id])
        #expect(retry.status == 0, "\(retry.standardError)\(retry.standardOutput)")
        try daemon.waitUntil("the retried job is failed and filed again", timeout: 30) {
            guard let job = try daemon.database().job(id: failed.id), job.status == .failed, job.attempts > failed.attempts,
                  let path = job.finalPath else { return false }
            return access(path, F_OK) == 0 && access(path + ".error.json", F_OK) == 0
        }
        #expect(daemon.stop() == 0)
        try checkInvariants(daemon, sources: sources, otherJobs: 2)
    }
    /// A share mounted read-only in the inbox: its files can be read (copied into the spool) but
    /// not removed. Claimed anyway, each would be run again at every scan, a new job each time,
    /// without a word. Such a file is left where it is and said once; once the daemon may remove
    /// it and it is dropped again, it is claimed.
    @Test(.enabled(if: Mounts.available, "needs the right to mount a tmpfs (root)"))
    func aFileThatCanBeReadButNotRemovedIsLeftAndSaidOnceNotRunAtEveryScan() throws {
        let daemon = try DaemonHarness(scanSeconds: 0.5)
        let share = daemon.inbox + "/prod/share"
        daemon.makeFolders(share)
        try Mounts.tmpfs(at: share, bytes: 8 << 20)
        defer { Mounts.unmount(share) }
        let sources = photos(2, environment: "prod", from: 7100)
        let (first, second) = (sources.keys.sorted()[0], sources.keys.sorted()[1])
        try DurableFile.write(sources[first]!, to: share + "/r.jpg")
        try Mounts.remount(share, readOnly: true)
        try daemon.start()
        daemon.drop(first, sources[first]!)
        // (Not `waitForAll`: the share's file stays in the inbox.)
        try daemon.waitUntil("the other file is done", timeout: 30) { try daemon.statusCounts()["done", default: 0] == 1 }
        try daemon.waitUntil("the unremovable file is said", timeout: 30) { daemon.log.contains("cannot remove a file from the inbox") }
        usleep(2_500_000)  // five scans
        #expect(try daemon.database().jobs().count == 1, "the file in the read-only share was run")
        #expect(access(share + "/r.jpg", F_OK) == 0)
        let said = daemon.log.split(separator: "\n").filter { $0.contains("cannot remove a file from the inbox") }
        #expect(said.count == 1, "said more than once")
        #expect(FileManagerless.files(under: daemon.root + "/spool").allSatisfy { !$0.hasSuffix("r.jpg") }, "its copy was left in the spool")

        // Writable again and dropped again (another version of it): claimed.
        try Mounts.remount(share, readOnly: false)
        try DurableFile.write(sources[second]!, to: share + "/r.jpg")
        try daemon.waitForAll(2, timeout: 30)
        #expect(access(share + "/r.jpg", F_OK) != 0)
        #expect(daemon.stop() == 0)
    }

    /// An inbox folder with the sticky bit (`chmod 1777`, as /tmp is) lets a file be moved only
    /// by its owner, the folder's owner or root. A file another user dropped there is refused
    /// with EPERM: that is the file's owner, not the spool failing. It is said once for the file,
    /// which stays, and the files intaked may move go on being claimed. (It was said as the
    /// spool's outage, called over by the next file's success, and said again at every scan.)
    @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0, "needs root and setpriv, to run intaked as another user"))
    func aFileOfAnotherUserInAStickyInboxFolderIsSaidOnceAndTheOthersGoOn() throws {
        let daemon = try DaemonHarness(scanSeconds: 0.5)
        daemon.makeFolders(daemon.inbox + "/beta")
        // beta is root's and sticky, as a shared drop folder would be.
        #expect(chmod(daemon.inbox + "/beta", 0o1777) == 0)
        try startAsNobody(daemon, owning: [daemon.root, daemon.inbox, daemon.inbox + "/prod"])
        defer { daemon.stop() }

        let foreign = daemon.drop("beta/foreign.jpg", Photos.jpeg(width: 64, height: 48, seed: 71))
        var sources: [String: [UInt8]] = [:]
        for n in 0..<3 {
            let bytes = Photos.jpeg(width: 64, height: 48, seed: 72 + n)
            let path = daemon.drop("beta/own-\(n).jpg", bytes)
            #expect(chown(path, Self.nobody, Self.nobody) == 0)
            sources["beta/own-\(n).jpg"] = bytes
        }
        // The foreign file stays in the inbox, so not `waitForAll`.
        try daemon.waitUntil("the daemon's own files are done and the foreign one was tried", timeout: 60) {
            try daemon.statusCounts()["done", default: 0] == sources.count && daemon.log.contains("sticky inbox folder")
        }
        // Several scans of the folder pass with the foreign file still in it.
        usleep(2_000_000)
        #expect(access(foreign, F_OK) == 0, "the foreign file left the inbox")
        let log = daemon.log
        #expect(count("cannot move a file out of a sticky inbox folder", in: log) == 1, "\(log.suffix(3000))")
        #expect(log.contains("owner=0"), "the file's owner is not said")
        #expect(!log.contains("files cannot be claimed into the spool"), "said as the spool's outage")
        #expect(try daemon.statusCounts()["done", default: 0] == sources.count)
    }

    /// A folder in the inbox intaked may not read (a producer's `chmod 000`) is said once, as
    /// other files left in the inbox are: its files waited there with nothing said anywhere. Once
    /// it may be read, its files are taken.
    @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0, "needs root and setpriv, to run intaked as another user"))
    func aFolderTheDaemonMayNotReadIsSaidOnceAndItsFilesTakenOnceItMay() throws {
        let daemon = try DaemonHarness(scanSeconds: 0.5)
        daemon.makeFolders(daemon.inbox + "/prod")
        try startAsNobody(daemon, owning: [daemon.root, daemon.inbox, daemon.inbox + "/prod"])
        defer { daemon.stop() }

        // A folder of intaked's user that no one may read, a photo dropped in it (by root).
        daemon.makeFolders(daemon.inbox + "/prod/locked")
        let photo = daemon.drop("prod/locked/shut.jpg", Photos.jpeg(width: 64, height: 48, seed: 81))
        #expect(chown(daemon.inbox + "/prod/locked", Self.nobody, Self.nobody) == 0 && chmod(daemon.inbox + "/prod/locked", 0o000) == 0)
        try daemon.waitUntil("the unreadable folder is said", timeout: 30) { daemon.log.contains("cannot read a folder in the inbox") }
        usleep(1_500_000)  // several scans more
        #expect(count("cannot read a folder in the inbox", in: daemon.log) == 1, "\(daemon.log.suffix(2000))")
        #expect(access(photo, F_OK) == 0)

        #expect(chmod(daemon.inbox + "/prod/locked", 0o755) == 0)
        try daemon.waitUntil("its file is taken once it may be read", timeout: 30) { try daemon.statusCounts()["done", default: 0] == 1 }
    }

    static let nobody: uid_t = 65534

    /// Starts `daemon` as user nobody through setpriv, `folders` handed to it (those that exist)
    /// and the harness's folder open to it.
    func startAsNobody(_ daemon: DaemonHarness, owning folders: [String]) throws {
        #expect(chmod(daemon.folder.path, 0o755) == 0)
        for folder in folders { #expect(chown(folder, Self.nobody, Self.nobody) == 0 || access(folder, F_OK) != 0, "\(folder)") }
        try daemon.start(through: ["/usr/bin/setpriv", "--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups"])
    }
}
