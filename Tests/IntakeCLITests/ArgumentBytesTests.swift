import IntakePipeline
import IntakeTestSupport
import Testing

/// Arguments that are not UTF-8 are refused by name, never silently decoded into another path.
@Suite struct ArgumentBytesTests {
    /// A state root named in Latin-1 ("café" as 63 61 66 E9): decoded as Swift decodes arguments,
    /// it became "caf\u{FFFD}", a folder intaked would have made and run in beside the real one.
    @Test(arguments: ["intake", "intaked"])
    func aRootThatIsNotUTF8IsRefusedSayingWhich(program: String) throws {
        let folder = try TemporaryFolder()
        let subcommand = program == "intake" ? "report " : ""
        // The shell makes the byte E9, which a Swift string cannot hold.
        let result = try ChildProcess.run("/bin/sh", [
            "-c", "exec \"$0\" \(subcommand)--root \"$1$(printf '\\351')\"", ChildProcess.built(program), folder.path + "/caf",
        ])
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardError.contains("\(program): argument \(program == "intake" ? 3 : 2) (\(folder.path)/caf%E9) is not UTF-8 text"),
                "\(result.standardError)")
        #expect(FileManagerless.list(folder.path).isEmpty, "\(FileManagerless.list(folder.path))")
    }

    @Test func textInAnyScriptIsUTF8AndTakenAsItIs() throws {
        let folder = try TemporaryFolder()
        try DurableFile.makeFolders(folder.path + "/café")
        let result = try ChildProcess.run(ChildProcess.built("intake"), ["readings", "add", "--root", folder.path + "/café", "m", "1"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(FileManagerless.list(folder.path + "/café").contains("intake.db"))
    }
}
