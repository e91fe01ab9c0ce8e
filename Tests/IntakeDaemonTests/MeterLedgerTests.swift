import IntakeCore
@testable import IntakeDaemon
import IntakeStore
import IntakeTestSupport
import IntakeMeter
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The meter ledger: what verdicts are judged against, as one value the committer keeps current.
@Suite struct MeterLedgerTests {
    let folder = try! TemporaryFolder()

    /// On both stores: PostgreSQL has no `PRAGMA data_version`, and a ledger that asked it for
    /// one never loaded a manual reading there.
    @Test(arguments: DaemonStore.available)
    func manualReadingsAddedByAnotherWriterAreSeenAtTheNextLook(store: DaemonStore) throws {
        let root = StateRoot(path: folder.path, store: try store.makeURL())
        let writer = try Database(path: root.database)
        try writer.addManualReadings([ManualReadingRecord(meterID: "M1", readAt: 1_000, value: 10)])
        let ledger = MeterLedger(root: root)
        #expect(ledger.references(for: "M1").manual.map(\.value) == [10])
        #expect(!ledger.hasManualReadings("M2"))

        // `intake readings` imports while the daemon runs: no restart, no tick needed.
        try writer.addManualReadings([ManualReadingRecord(meterID: "M2", readAt: 2_000, value: 20)])
        #expect(ledger.hasManualReadings("M2"))
        #expect(ledger.references(for: "M2").manual.map(\.value) == [20])
        #expect(ledger.references(for: "M2").problem == nil)
    }

    @Test func acceptedReadingsJoinTheHistoryInCaptureOrder() throws {
        let root = StateRoot(path: folder.path)
        _ = try Database(path: root.database)
        let ledger = MeterLedger(root: root)
        ledger.accept(meter: "M1", capturedAt: 3_000, value: 3)
        ledger.accept(meter: "M1", capturedAt: 1_000, value: 1)
        ledger.accept(meter: "M1", capturedAt: 2_000, value: 2)
        #expect(ledger.references(for: "M1").history.map(\.value) == [1, 2, 3])
        #expect(ledger.references(for: "M9").history.isEmpty)
    }

    @Test func aDatabaseThatCannotBeReadIsAStatedReasonNotASilentEmptyList() throws {
        let ledger = MeterLedger(root: StateRoot(path: folder.path + "/missing"))
        let references = ledger.references(for: "M1")
        #expect(references.manual.isEmpty)
        #expect(references.problem?.contains("could not be read") == true, "\(references.problem ?? "no problem stated")")
    }
}
