import IntakeCore
import IntakePipeline
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A write whose temporary file can be neither renamed nor removed (its folder refuses both, as a
/// filesystem gone read-only after the file was made does) leaves the file to `retry()`, which
/// removes it once the fault is over: nothing of the failed write outlives the fault.
@Suite(.serialized, .enabled(if: AppendOnlyFolders.available, "needs chattr +a (root, a filesystem that keeps the flag)"))
struct StrandedTemporaryTests {
    @Test func aWholeFileWriteThatCannotRenameLeavesItsTemporaryToTheRetry() throws {
        let folder = try TemporaryFolder()
        let temporaries = folder.path + "/tmp"
        mkdir(temporaries, 0o755)
        #expect(AppendOnlyFolders.set(temporaries, appendOnly: true))
        defer { AppendOnlyFolders.set(temporaries, appendOnly: false) }
        let before = StrandedTemporaries.count

        let temporary = WholeFile.uniqueTemporary(in: temporaries)
        #expect(throws: WholeFile.Failure.self) {
            try WholeFile.write([1, 2, 3], to: folder.path + "/file", through: temporary, sync: false)
        }
        #expect(access(temporary, F_OK) == 0, "the folder let the temporary file go: the fault was not made")
        #expect(StrandedTemporaries.count == before + 1)
        #expect(StrandedTemporaries.retry() == before + 1, "removed while the fault lasts")

        AppendOnlyFolders.set(temporaries, appendOnly: false)
        StrandedTemporaries.retry()
        #expect(access(temporary, F_OK) != 0, "the temporary file outlived the fault")
        #expect(StrandedTemporaries.count == before)
    }

    @Test func aDurableWriteThatCannotRenameLeavesNothingOnceTheFaultIsOver() throws {
        let folder = try TemporaryFolder()
        let temporaries = folder.path + "/tmp"
        mkdir(temporaries, 0o755)
        #expect(AppendOnlyFolders.set(temporaries, appendOnly: true))
        defer { AppendOnlyFolders.set(temporaries, appendOnly: false) }

        #expect(throws: IntakeError.self) {
            try DurableFile.write([1, 2, 3], to: folder.path + "/file", temporaryFolder: temporaries)
        }
        #expect(FileManagerless.list(temporaries).count == 1, "the fault was not made")
        AppendOnlyFolders.set(temporaries, appendOnly: false)
        StrandedTemporaries.retry()
        #expect(FileManagerless.list(temporaries).isEmpty, "left: \(FileManagerless.list(temporaries))")
    }
}
