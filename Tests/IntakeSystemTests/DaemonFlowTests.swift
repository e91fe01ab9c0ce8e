import IntakeStore
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Files dropped into a running intaked every way people and machines drop them.
@Suite(.serialized) struct DaemonFlowTests {
    @Test(arguments: DaemonStore.available) func everyKindOfDropEndsProcessedExactlyOnce(store: DaemonStore) throws {
        let daemon = try DaemonHarness(store: try store.makeURL())
        try daemon.start()
        var expected: [String: [UInt8]] = [:]  // source path → bytes

        // cp: written in place. mv: renamed in whole.
        let copied = Photos.jpeg(seed: 1)
        daemon.copy("prod/copied.jpg", copied)
        expected["prod/copied.jpg"] = copied
        let moved = Photos.jpeg(seed: 2)
        daemon.drop("beta/moved.jpg", moved)
        expected["beta/moved.jpg"] = moved

        // A slow writer: one open, pieces over a second, then close. Never taken half-written.
        let slow = Photos.jpeg(width: 400, height: 300, seed: 3)
        let slowPath = daemon.inbox + "/prod/slow.jpg"
        let file = try #require(fopen(slowPath, "wbe"))
        let pieces = 5, size = (slow.count + pieces - 1) / pieces
        for piece in 0..<pieces {
            let part = Array(slow[(piece * size)..<min(slow.count, (piece + 1) * size)])
            _ = part.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fflush(file)
            usleep(250_000)
        }
        fclose(file)
        expected["prod/slow.jpg"] = slow

        // A meter folder made after start, with a file copied in at once.
        daemon.makeFolders(daemon.inbox + "/prod/MTR-0042")
        let meter = Photos.jpeg(seed: 4)
        daemon.copy("prod/MTR-0042/reading.jpg", meter)
        expected["prod/MTR-0042/reading.jpg"] = meter

        // A whole folder of files moved in at once: its files raise no events of their own.
        let batch = daemon.folder.path + "/batch"
        mkdir(batch, 0o755)
        for n in 0..<3 {
            let bytes = Photos.jpeg(seed: 10 + n)
            _ = daemon.folder.write("batch/b\(n).jpg", bytes)
            expected["beta/batch/b\(n).jpg"] = bytes
        }
        rename(batch, daemon.inbox + "/beta/batch")

        try daemon.waitForAll(expected.count)
        let database = try daemon.database()
        for row in try database.jobs() {
            let bytes = try #require(expected[row.sourcePath], "unexpected job for \(row.sourcePath)")
            #expect(row.status == .done, "\(row.sourcePath): \(row.error ?? "")")
            let original = try #require(row.finalPath)
            #expect(Fixtures.readFile(original) == bytes, "\(row.sourcePath) was not kept byte for byte")
            let outputs = try database.outputs(jobID: row.id)
            #expect(outputs.filter { $0.kind == "rotation" }.count == 4)
            for output in outputs { #expect(access(output.path, R_OK) == 0, "missing \(output.path)") }
        }
        #expect(try database.jobs().count == expected.count)
        #expect(try database.jobs().first { $0.sourcePath == "prod/MTR-0042/reading.jpg" }?.meter == "MTR-0042")
        #expect(daemon.stop() == 0)
    }

    @Test func aBurstOfTwoThousandFilesIsTakenWhole() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let count = 2000
        for n in 0..<count {
            daemon.drop("\(n % 3 == 0 ? "beta" : "prod")/burst-\(n).jpg", Photos.jpeg(width: 48, height: 32, seed: 100 + n))
        }
        try daemon.waitForAll(count, timeout: 300)
        let counts = try daemon.statusCounts()
        #expect(counts["done"] == count)
        #expect(daemon.files("processed").filter { !$0.hasSuffix("_256x256.jpg") }.count == count)
        #expect(daemon.files("augmented").count == count * 4)
        #expect(daemon.stop() == 0)
    }

    /// /dev/shm is tmpfs: a different filesystem from the state root, so rename(2) cannot cross.
    static let sharedMemoryIsAnotherFilesystem: Bool = {
        var shm = stat(), here = stat()
        guard let folder = try? TemporaryFolder() else { return false }
        return stat("/dev/shm", &shm) == 0 && stat(folder.path, &here) == 0 && shm.st_dev != here.st_dev
    }()

    @Test(.enabled(if: sharedMemoryIsAnotherFilesystem, "needs /dev/shm on another filesystem than the temporary folder"))
    func anInboxOnAnotherFilesystemIsClaimedByCopyThenUnlink() throws {
        var template = Array("/dev/shm/intake-test-XXXXXX".utf8CString)
        let share = String(cString: try #require(mkdtemp(&template)))
        defer { _ = FileManagerless.removeTree(share) }
        let daemon = try DaemonHarness()
        daemon.makeFolders(daemon.inbox)
        symlink(share, daemon.inbox + "/beta")  // an administrator's link to the share
        try daemon.start()
        let photo = Photos.jpeg(seed: 31)
        let staged = share + "/.upload"
        if let file = fopen(staged, "wbe") {
            _ = photo.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        rename(staged, share + "/remote.jpg")
        symlink("/etc/passwd", share + "/link.jpg")
        try daemon.waitUntil("both files are final", timeout: 30) {
            let counts = try daemon.statusCounts()
            return counts["done", default: 0] + counts["failed", default: 0] == 2
        }
        let jobs = try daemon.database().jobs()
        let remote = try #require(jobs.first { $0.name == "remote.jpg" })
        #expect(remote.status == .done)
        // The commit records the job, then moves the original: wait for the move, too.
        let finalPath = try #require(remote.finalPath)
        try daemon.waitUntil("the original is filed", timeout: 30) { Fixtures.readFile(finalPath) != nil }
        #expect(Fixtures.readFile(finalPath) == photo)
        #expect(jobs.first { $0.name == "link.jpg" }?.status == .failed)
        #expect(FileManagerless.list(share).isEmpty, "left on the share: \(FileManagerless.list(share))")
        daemon.stop()
    }

    @Test func aFullQueueLeavesTheRestInTheInboxAndTakesItWhenRoomIsMade() throws {
        // Five jobs in memory at most, and no periodic scan to fall back on.
        let daemon = try DaemonHarness(workers: 1)
        let config = String(decoding: Fixtures.readFile(daemon.configPath)!, as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("reconcile_interval_seconds") ? "reconcile_interval_seconds = 3600\nqueue_capacity = 5" : String($0) }
            .joined(separator: "\n")
        _ = daemon.folder.write("intake.toml", Array(config.utf8))
        try daemon.start()
        for n in 0..<60 { daemon.drop("prod/many-\(n).jpg", Photos.jpeg(width: 320, height: 240, seed: 700 + n)) }
        try daemon.waitForAll(60, timeout: 60)
        #expect(try daemon.statusCounts()["done"] == 60)
        daemon.stop()
    }

    @Test(arguments: DaemonStore.available) func theSameContentTwiceIsProcessedAgainAndMarkedDuplicate(store: DaemonStore) throws {
        let daemon = try DaemonHarness(store: try store.makeURL())
        try daemon.start()
        let bytes = Photos.jpeg(seed: 7)
        daemon.drop("prod/first.jpg", bytes)
        try daemon.waitForAll(1)
        daemon.drop("beta/again.jpg", bytes)
        try daemon.waitForAll(2)
        let jobs = try daemon.database().jobs()
        let first = try #require(jobs.first { $0.name == "first.jpg" })
        let again = try #require(jobs.first { $0.name == "again.jpg" })
        #expect(first.duplicateOf == nil)
        #expect(again.duplicateOf == first.id)
        #expect(again.status == .done)
        daemon.stop()
    }

    @Test func prodGoesFirstAndBetaStillMoves() throws {
        // One worker, fast aging: beta claimed at t=0 outranks prod arriving after 1.5 s.
        let daemon = try DaemonHarness(workers: 1, settings: "[queue]\naging_seconds = 0.5\n")
        for n in 0..<60 {
            daemon.drop("beta/b-\(n).jpg", Photos.jpeg(width: 640, height: 480, seed: 3000 + n))
            daemon.drop("prod/p-\(n).jpg", Photos.jpeg(width: 640, height: 480, seed: 4000 + n))
        }
        try daemon.start()
        // A steady prod stream for a while: without aging, beta would wait until it dries up.
        var dropped = 60
        let until = DaemonHarness.now() + 4
        while DaemonHarness.now() < until {
            daemon.drop("prod/stream-\(dropped).jpg", Photos.jpeg(width: 640, height: 480, seed: 5000 + dropped))
            dropped += 1
            usleep(20_000)
        }
        try daemon.waitForAll(60 + dropped, timeout: 300)
        let order = try daemon.database().jobs().filter { $0.finishedAt != nil }.sorted { $0.finishedAt! < $1.finishedAt! }
        let firstTwenty = order.prefix(20).map(\.environment)
        #expect(firstTwenty.allSatisfy { $0 == "prod" }, "first jobs: \(firstTwenty)")
        let lastBeta = try #require(order.lastIndex { $0.environment == "beta" })
        let lastProd = try #require(order.lastIndex { $0.environment == "prod" })
        #expect(lastBeta < lastProd, "beta waited until the prod stream had dried up")
        daemon.stop()
    }
}
