import IntakeCore
import IntakeStore
import IntakeTestSupport
import Testing

@testable import IntakeRetention

@Suite("Disk and growth")
struct StorageGrowthTests {
    @Test func theFoldersAreMeasuredAsDuCountsThemAndGrowthIsPerDay() throws {
        let fixture = try StateFixture()
        try fixture.finishedJob(daysAgo: 1)
        try fixture.write(fixture.root.path + "/archive/prod/2026/01/x.jpg", bytes: 10_000)
        let sizes = StorageSizes.measure(fixture.root, archive: fixture.root.path + "/archive")
        // Four 1000-byte files take at least a block each; the database has its pages.
        #expect(sizes["processed"]! >= 2 * 1000 && sizes["augmented"]! >= 2 * 1000)
        #expect(sizes["archive"]! >= 10_000)
        #expect(sizes["database"]! > 0)
        #expect(sizes["failed"] == 0)

        let now = Timestamp.nowMilliseconds()
        let day: Int64 = 86_400_000
        try fixture.database.recordStorageSample(["processed": 1_000_000, "database": 50_000], at: now - 2 * day)
        try fixture.database.recordStorageSample(["processed": 3_000_000, "database": 50_000], at: now)
        try fixture.database.recordStorageSample(["failed": 7], at: now)  // one sample: no growth yet
        let growth = try fixture.database.storageGrowth(now: now)
        #expect(growth.first { $0.folder == "processed" } == StorageGrowth(folder: "processed", bytes: 3_000_000, bytesPerDay: 1_000_000))
        #expect(growth.first { $0.folder == "database" }?.bytesPerDay == 0)
        #expect(growth.first { $0.folder == "failed" }?.bytesPerDay == nil)
        // Samples older than the week do not count.
        try fixture.database.recordStorageSample(["processed": 0], at: now - 30 * day)
        #expect(try fixture.database.storageGrowth(now: now).first { $0.folder == "processed" }?.bytesPerDay == 1_000_000)
    }

    @Test func eachHostSharingAStoreKeepsItsOwnSamples() throws {
        let fixture = try StateFixture()
        let now = Timestamp.nowMilliseconds()
        try fixture.database.recordStorageSample(["processed": 1_000], host: "alpha", at: now)
        try fixture.database.recordStorageSample(["processed": 9_000], host: "bravo", at: now)
        #expect(try fixture.database.storageGrowth(host: "alpha", now: now).map(\.bytes) == [1_000])
        #expect(try fixture.database.storageGrowth(host: "bravo", now: now).map(\.bytes) == [9_000])
        #expect(try fixture.database.storageGrowth(now: now).isEmpty)
        // SQLite's size is its files'; only PostgreSQL is asked.
        #expect(try fixture.database.serverDatabaseBytes() == nil)
    }
}
