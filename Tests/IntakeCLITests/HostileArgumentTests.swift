import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Arguments and configuration files a user can get wrong: each refused with a reason, before
/// anything is done, and never a crash of the command (or, through a reload, of the daemon).
@Suite struct HostileArgumentTests {
    let intake = ChildProcess.built("intake")

    /// A timeout past what milliseconds in an `Int64` hold trapped `submit --wait` after the
    /// files were in the inbox, without the job ids a caller needs to follow them.
    @Test(arguments: ["1e20", "nan", "inf", "-1"])
    func aTimeoutNoWaitCanHaveIsRefusedBeforeAnythingIsSubmitted(timeout: String) throws {
        let folder = try TemporaryFolder()
        let photo = folder.write("a.jpg", Photos.jpeg(width: 32, height: 24, seed: 5))
        let result = try ChildProcess.run(intake, ["submit", photo, "--env", "prod", "--root", folder.path + "/state", "--wait", "--timeout=\(timeout)"])
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardError.contains("--timeout"))
        #expect(access(folder.path + "/state/inbox/prod/a.jpg", F_OK) != 0, "submitted before the refusal")
    }

    /// A typo in `--root` made a state root of its own and dropped the file where no daemon looks.
    @Test func submitRefusesAStateRootThatIsNotThereInsteadOfMakingOne() throws {
        let folder = try TemporaryFolder()
        let photo = folder.write("a.jpg", Photos.jpeg(width: 32, height: 24, seed: 7))
        let result = try ChildProcess.run(intake, ["submit", photo, "--env", "prod", "--root", folder.path + "/stat"])
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.contains("no state root at \(folder.path)/stat"), "\(result.standardError)")
        #expect(access(folder.path + "/stat", F_OK) != 0, "a state root was made")
    }

    /// `--env ../x` wrote the derivatives beside the output tree, and `--env ""` without an
    /// environment level.
    @Test(arguments: ["../esc", "", "Prod"])
    func processRefusesAnEnvironmentThatIsNoName(environment: String) throws {
        let folder = try TemporaryFolder()
        let photo = folder.write("a.jpg", Photos.jpeg(width: 32, height: 24, seed: 6))
        let result = try ChildProcess.run(intake, ["process", photo, "--out", folder.path + "/out", "--env", environment])
        #expect(result.status == 64, "\(result.standardError)")
        #expect(access(folder.path + "/out", F_OK) != 0 && access(folder.path + "/esc", F_OK) != 0)
    }

    /// Each of these ended the command with a signal (and a daemon reloading such a file).
    @Test func configurationsThatCrashedTheCommandAreRefusedOrTakenPlainly() throws {
        let folder = try TemporaryFolder()
        let nested = folder.write("nested.toml", Array(("[classify]\nexternal_command = " + String(repeating: "[", count: 20_000)
            + String(repeating: "]", count: 20_000) + "\n").utf8))
        let deep = try ChildProcess.run(intake, ["report", "--config", nested])
        #expect(deep.status == 1 && deep.standardError.contains("nest more than"), "\(deep.status) \(deep.standardError)")
        // An `@` alone as the URL's authority: no password, just no server there.
        let odd = folder.write("odd.toml", Array("[store]\nurl = \"postgresql://@/db\"\n".utf8))
        let store = try ChildProcess.run(intake, ["report", "--config", odd])
        #expect(store.status == 1, "\(store.status) \(store.standardError)")
    }

    /// -1 meant "no limit" on SQLite and an error on PostgreSQL: refused on both.
    @Test(arguments: ["jobs", "failed", "meters"])
    func aReportLimitUnderOneIsRefused(report: String) throws {
        let folder = try TemporaryFolder()
        let result = try ChildProcess.run(intake, ["report", report, "--root", folder.path, "--limit=-1"])
        #expect(result.status == 64 && result.standardError.contains("--limit must be 1 or more"), "\(result.standardError)")
    }
}
