import Glibc
import IntakeCore
import IntakeStore
import IntakeTestSupport
import Testing

/// `intake prune` run for real on a real state root and SIGKILLed mid-way, more than once: a
/// kill leaves no job half-removed, and the next run finishes the work.
@Suite("Retention: a kill during pruning")
struct PruneKillTests {
    @Test func aKillAtAnyMomentLeavesEveryJobWhole() throws {
        let fixture = try StateFixture()
        var jobs: [FixtureJob] = []
        try fixture.database.transaction {
            for index in 0..<1_200 { jobs.append(try fixture.finishedJob(daysAgo: 30 + Double(index % 7), failed: index % 5 == 0)) }
        }
        let young = try fixture.finishedJob(daysAgo: 1)
        let config = fixture.folder.write("intake.toml", Array("""
            [retention]
            prod = "7d"
            batch = 40
            """.utf8))
        let intake = ChildProcess.built("intake")
        try #require(access(intake, X_OK) == 0, "intake is not built at \(intake)")

        // Mid-way means the run had pruned some jobs and not yet all when the kill landed.
        var killedMidway = 0
        var remaining = jobs.count
        for delay in [40_000, 90_000, 160_000, 250_000] as [useconds_t] where remaining > 0 {
            let pid = try ChildProcess.spawn(
                intake, ["prune", "--config", config, "--root", fixture.root.path],
                standardOutput: fixture.folder.path + "/out", standardError: fixture.folder.path + "/err")
            usleep(delay)
            kill(pid, SIGKILL)
            let killed = ChildProcess.waitFor(pid) == 128 + SIGKILL
            let before = remaining
            remaining = try jobs.filter { try fixture.rowExists($0.id) }.count
            if killed && remaining < before && remaining > 0 { killedMidway += 1 }
            try expectEveryJobWhole(fixture, jobs + [young])
        }
        #expect(killedMidway >= 1, "no run was killed mid-way through pruning: the test proves nothing")

        let finished = try ChildProcess.run(intake, ["prune", "--config", config, "--root", fixture.root.path])
        #expect(finished.status == 0, "\(finished.standardError)")
        try expectEveryJobWhole(fixture, jobs + [young])
        for job in jobs { #expect(try !fixture.rowExists(job.id)) }
        #expect(try fixture.rowExists(young.id))
        #expect(FileManagerless.list(fixture.root.path + "/spool/prune").isEmpty)
        #expect(FileManagerless.files(under: fixture.root.failed).isEmpty)
    }

    @Test func theDryRunPrintsCountsAndBytesPerEnvironmentAndRemovesNothing() throws {
        let fixture = try StateFixture()
        let jobs = [try fixture.finishedJob(environment: "beta", daysAgo: 9), try fixture.finishedJob(environment: "beta", daysAgo: 9, failed: true),
                    try fixture.finishedJob(environment: "prod", daysAgo: 9)]
        let config = fixture.folder.write("intake.toml", Array("[retention]\nbeta = \"7d\"\n".utf8))
        let intake = ChildProcess.built("intake")
        let dry = try ChildProcess.run(intake, ["prune", "--dry-run", "--config", config, "--root", fixture.root.path])
        #expect(dry.status == 0, "\(dry.standardError)")
        #expect(dry.standardOutput.contains("beta  1  1  6040 (5.9 KiB)"), "\(dry.standardOutput)")
        #expect(dry.standardOutput.contains("would remove: 2 jobs"), "\(dry.standardOutput)")
        #expect(!dry.standardOutput.contains("prod"))
        for job in jobs { #expect(try fixture.rowExists(job.id)) }

        let none = fixture.folder.write("none.toml", Array("".utf8))
        let kept = try ChildProcess.run(intake, ["prune", "--config", none, "--root", fixture.root.path])
        #expect(kept.standardOutput.contains("sets no rule"))
        let missing = try ChildProcess.run(intake, ["prune", "--config", config, "--root", fixture.folder.path + "/nowhere"])
        #expect(missing.status == 1 && missing.standardError.contains("no database at"))

        let real = try ChildProcess.run(intake, ["prune", "--config", config, "--root", fixture.root.path])
        #expect(real.standardOutput.contains("removed: 2 jobs"), "\(real.standardOutput)")
        #expect(try fixture.rowExists(jobs[2].id) && !fixture.rowExists(jobs[0].id))

        let storage = try ChildProcess.run(intake, ["report", "storage", "--root", fixture.root.path])
        #expect(storage.status == 0, "\(storage.standardError)")
        #expect(storage.standardOutput.contains("days_until_full") && storage.standardOutput.contains("free"), "\(storage.standardOutput)")
    }

    /// A state root named through a link and with a trailing slash is the same root: the files go
    /// with the rows. (Compared as text, every path seemed outside it: the rows went, the files stayed.)
    @Test func aRootSpeltAnotherWayStillPrunesTheFilesWithTheRows() throws {
        let fixture = try StateFixture()
        let job = try fixture.finishedJob(environment: "beta", daysAgo: 9)
        let config = fixture.folder.write("intake.toml", Array("[retention]\nbeta = \"7d\"\n".utf8))
        let link = fixture.folder.path + "/root-link"
        #expect(symlink(fixture.root.path, link) == 0)
        let run = try ChildProcess.run(ChildProcess.built("intake"), ["prune", "--config", config, "--root", link + "/"])
        #expect(run.status == 0 && run.standardOutput.contains("removed: 1 jobs"), "\(run.standardOutput)\(run.standardError)")
        #expect(try !fixture.rowExists(job.id))
        for file in job.files { #expect(access(file, F_OK) != 0, "\(file) outlived its rows") }
    }

    /// The files of a job whose rows remain are all there, and no row names a missing file.
    private func expectEveryJobWhole(_ fixture: StateFixture, _ jobs: [FixtureJob]) throws {
        let database = try Database(path: fixture.root.database, readOnly: true)
        var broken = 0
        for job in jobs where try database.job(id: job.id) != nil {
            for file in job.files where !fixture.exists(file) { broken += 1 }
        }
        let named = try database.query("SELECT path FROM outputs UNION SELECT final_path FROM jobs WHERE final_path IS NOT NULL")
        let missing = named.compactMap { $0["path"]?.textValue ?? $0["final_path"]?.textValue }.filter { !fixture.exists($0) }
        #expect(broken == 0, "\(broken) files of jobs whose rows remain are missing")
        #expect(missing.isEmpty, "rows name missing files: \(missing.prefix(3))")
    }
}
