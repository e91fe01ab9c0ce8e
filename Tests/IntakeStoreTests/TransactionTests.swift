import Testing

@testable import IntakeStore

private struct Abort: Error {}

@Suite("Transactions")
struct TransactionTests {
    @Test(arguments: TestEngine.available) func committedWorkStays(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        let value = try database.transaction {
            try database.insertJob(newJob(jobID(1)))
            try database.insertJob(newJob(jobID(2)))
            return 7
        }
        #expect(value == 7)
        #expect(try database.jobs().count == 2)
    }

    @Test(arguments: TestEngine.available) func aThrowRollsBackAndRethrows(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        #expect(throws: Abort.self) {
            try database.transaction {
                try database.insertJob(newJob(jobID(1)))
                try database.complete(doneCompletion(jobID(1), labels: ["a"]))
                throw Abort()
            }
        }
        #expect(try database.job(id: jobID(1)) == nil)
        #expect(try database.scalar("SELECT count(*) FROM labels") == .integer(0))
        // The connection is usable afterwards: no transaction left open.
        try database.transaction { try database.insertJob(newJob(jobID(2))) }
        #expect(try database.jobs().map(\.id) == [jobID(2)])
    }

    @Test(arguments: TestEngine.available) func aNestedThrowRollsBackOnlyTheInnerPart(engine: TestEngine) throws {
        let (folder, database) = try openStore(engine)
        defer { withExtendedLifetime(folder) {} }  // its files outlive the connection
        var refusal: (any Error)?
        try database.transaction {
            try database.insertJob(newJob(jobID(1)))
            try? database.transaction {
                try database.insertJob(newJob(jobID(2)))
                throw Abort()
            }
            // A failing store call inside a batch undoes only itself. (Checked after the closure:
            // #expect(throws:) in here crashes the 6.3.1 compiler's region-isolation pass.)
            do { try database.complete(doneCompletion(jobID(9))) } catch { refusal = error }
            try database.complete(doneCompletion(jobID(1)))
        }
        #expect(refusal is StoreError)
        #expect(try database.jobs().map(\.id) == [jobID(1)])
        #expect(try database.job(id: jobID(1))?.status == .done)
    }
}
