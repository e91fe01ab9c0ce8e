import Testing

@testable import IntakeStore

@Suite("Readers and the writer")
struct ConcurrentAccessTests {
    /// WAL: a reader sees the last commit, without waiting, while the writer holds its write lock.
    @Test func readerReadsWhileTheWriterIsInAWriteTransaction() throws {
        let folder = try TemporaryFolder()
        let writer = try Database(path: folder.databasePath)
        try writer.insertJob(newJob(jobID(1)))
        let reader = try Database(path: folder.databasePath, readOnly: true)

        #expect(try reader.scalar("PRAGMA journal_mode") == .text("wal"))

        // A tiny page cache makes the big transaction below spill pages before it commits. Without
        // WAL that needs an exclusive lock on the file, which would shut the reader out.
        _ = try writer.query("PRAGMA cache_size = 2")
        // A reader that would have to wait for a lock fails at once instead: reading proves it did not wait.
        _ = try reader.query("PRAGMA busy_timeout = 0")
        try writer.transaction {
            for n in 2...400 { try writer.insertJob(newJob(jobID(n), name: String(repeating: "n", count: 200))) }
            #expect(try reader.jobs().map(\.id) == [jobID(1)])
            // A reader opened mid-transaction works too.
            let lateReader = try Database(path: folder.databasePath, readOnly: true)
            _ = try lateReader.query("PRAGMA busy_timeout = 0")
            #expect(try lateReader.statusCounts()["queued"] == 1)
            #expect(try writer.statusCounts()["queued"] == 400)
        }
        #expect(try reader.jobs().count == 400)
    }
}
