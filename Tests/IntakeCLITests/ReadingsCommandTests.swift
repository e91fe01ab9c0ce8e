import Foundation
import IntakeReports
import IntakeStore
import IntakeTestSupport
import Testing
import IntakeCore

/// `intake readings`: manual readings in, all or nothing, never twice.
@Suite struct ReadingsCommandTests {
    let intake = ChildProcess.built("intake")

    @Test func importIsAllOrNothingAndNeverTwice() throws {
        let folder = try TemporaryFolder()
        let good = folder.write("readings.csv", Array("""
            meter_id,read_at,value,unit,note
            demo-meter,2026-11-20T08:00:00Z,530.05,m3,"first, with a comma"
            demo-meter,2026-11-20 20:00,530.61,m3,
            MTR-7,2026-11-21,12.5,kWh,

            """.utf8))
        let first = try ChildProcess.run(intake, ["readings", "import", "--root", folder.path, good])
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("imported 3 reading(s)"))
        let again = try ChildProcess.run(intake, ["readings", "import", "--root", folder.path, good])
        #expect(again.standardOutput.contains("imported 0 reading(s)") && again.standardOutput.contains("3 were already there"))

        // A bad row anywhere stops the whole file, naming its line.
        let bad = folder.write("bad.csv", Array("meter_id,read_at,value\ndemo-meter,2026-11-22T08:00:00Z,531\ndemo-meter,yesterday,532\n".utf8))
        let refused = try ChildProcess.run(intake, ["readings", "import", "--root", folder.path, bad])
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("bad.csv:3: read_at \"yesterday\""))

        let listed = try ChildProcess.run(intake, ["readings", "list", "--root", folder.path, "demo-meter", "--format", "json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["value"] as? Double } == [530.05, 530.61])
        #expect(rows.first?["note"] as? String == "first, with a comma")
        #expect(rows.last?["read_at"] as? String == "2026-11-20T20:00:00.000Z")
    }

    /// A large file is written in batches, each its own short transaction, so that another
    /// writer (the daemon, `readings add`) gets in between them rather than waiting for the whole
    /// file: SQLite has one writer, and the daemon gives up on the lock after 5 s. The import
    /// used to be one transaction, and the row added during it came after all of the file's.
    @Test func aLargeImportLetsAnotherWriterInBetweenItsBatches() throws {
        let folder = try TemporaryFolder()
        var text = "meter_id,read_at,value\n"
        for row in 0..<60_000 { text += "m\(row % 7),2026-11-\(10 + row % 20)T\(10 + row % 12):\(10 + row % 50):00Z,\(row)\n" }
        let file = folder.write("large.csv", Array(text.utf8))
        let pid = try ChildProcess.spawn(intake, ["readings", "import", "--root", folder.path, file],
                                         standardOutput: folder.path + "/import.out", standardError: folder.path + "/import.err")
        // Once the first batch is in, add one reading by hand while the rest are still coming.
        let deadline = Date().addingTimeInterval(120)
        var firstBatchIn = false
        while !firstBatchIn && Date() < deadline {
            if let database = try? Database(path: folder.path + "/intake.db", readOnly: true),
               let count = try? database.query("SELECT count(*) AS n FROM manual_readings").first?["n"]?.integerValue, count > 0 {
                firstBatchIn = true
            } else {
                usleep(5_000)
            }
        }
        try #require(firstBatchIn, "no batch of the import was written within 120 s")
        let added = try ChildProcess.run(intake, ["readings", "add", "--root", folder.path, "by-hand", "1.5", "--at", "2026-11-21T06:30:00Z"])
        #expect(added.status == 0, "\(added.standardError)")
        #expect(ChildProcess.waitFor(pid) == 0, "\(String(decoding: Fixtures.readFile(folder.path + "/import.err") ?? [], as: UTF8.self))")
        #expect(String(decoding: Fixtures.readFile(folder.path + "/import.out") ?? [], as: UTF8.self).contains("imported 60000 reading(s)"))

        let database = try Database(path: folder.path + "/intake.db", readOnly: true)
        let byHand = try #require(try database.query("SELECT id FROM manual_readings WHERE meter_id = 'by-hand'").first?["id"]?.integerValue)
        let lastImported = try #require(try database.query("SELECT max(id) AS id FROM manual_readings WHERE meter_id <> 'by-hand'").first?["id"]?.integerValue)
        #expect(byHand < lastImported, "the reading added by hand waited for the whole import")
        #expect(try database.query("SELECT count(*) AS n FROM manual_readings").first?["n"]?.integerValue == 60_001)
    }

    /// A disk that fills part-way through a large import: the batches written stay, the
    /// command says how many rows went in, and the same import run again once there is room
    /// adds exactly the rest.
    @Test(.enabled(if: Mounts.available, "needs the right to mount a tmpfs (root)"))
    func anImportCutShortByAFullDiskSaysHowFarItGotAndTheSameImportFinishesIt() throws {
        let folder = try TemporaryFolder()
        let root = folder.path + "/state"
        try Mounts.tmpfs(at: root, bytes: 6 << 20)
        defer { Mounts.unmount(root) }
        let rows = 150_000
        var text = "meter_id,read_at,value\n"
        for row in 0..<rows { text += "m\(row % 7),2026-11-\(10 + row % 20)T\(10 + row % 12):\(10 + row % 50):00Z,\(row)\n" }
        let file = folder.write("large.csv", Array(text.utf8))

        let cut = try ChildProcess.run(intake, ["readings", "import", "--root", root, file])
        #expect(cut.status == 1)
        let prefix = "intake: import failed after "
        let written = cut.standardError.hasPrefix(prefix)
            ? Int(cut.standardError.dropFirst(prefix.count).prefix { $0.isNumber }) : nil
        let done = try #require(written, "\(cut.standardError)")
        #expect(done > 0 && done < rows && done % ReadingsCommandTests.batchSize == 0, "\(done)")
        #expect(cut.standardError.contains("of \(rows) reading(s) were written: database or disk is full; importing the same file again adds the rest"),
                "\(cut.standardError)")
        #expect(try Database(path: root + "/intake.db", readOnly: true).query("SELECT count(*) AS n FROM manual_readings").first?["n"]?.integerValue == Int64(done))

        try Mounts.resize(root, bytes: 256 << 20)
        let rest = try ChildProcess.run(intake, ["readings", "import", "--root", root, file])
        #expect(rest.status == 0, "\(rest.standardError)")
        #expect(rest.standardOutput.contains("imported \(rows - done) reading(s)") && rest.standardOutput.contains("\(done) were already there"),
                "\(rest.standardOutput)")
        #expect(try Database(path: root + "/intake.db", readOnly: true).query("SELECT count(*) AS n FROM manual_readings").first?["n"]?.integerValue == Int64(rows))
    }

    /// `intake readings import`'s rows per transaction.
    static let batchSize = 10_000

    @Test func aMissingColumnOrNumberIsNamed() throws {
        let folder = try TemporaryFolder()
        let noValue = folder.write("a.csv", Array("meter_id,read_at\nm,2026-11-20\n".utf8))
        let result = try ChildProcess.run(intake, ["readings", "import", "--root", folder.path, noValue])
        #expect(result.status == 1 && result.standardError.contains("a.csv:1: the header needs meter_id, read_at and value"))
        let notNumber = folder.write("b.csv", Array("meter_id,read_at,value\nm,2026-11-20,lots\n".utf8))
        let second = try ChildProcess.run(intake, ["readings", "import", "--root", folder.path, notNumber])
        #expect(second.standardError.contains("b.csv:2: value \"lots\" is not a number"))
    }

    /// Spreadsheets' CSV: Excel's "CSV UTF-8" begins with a byte-order mark, which is not part
    /// of the header's first name; a Latin-1 export is refused with its line rather than read
    /// as a meter name no folder has.
    @Test func aByteOrderMarkIsDroppedAndTextThatIsNotUTF8IsRefusedWithItsLine() throws {
        let folder = try TemporaryFolder()
        let marked = folder.write("excel.csv", [0xEF, 0xBB, 0xBF] + Array("meter_id,read_at,value\nm,2026-11-20,1.5\n".utf8))
        let first = try ChildProcess.run(intake, ["readings", "import", "--root", folder.path, marked])
        #expect(first.status == 0 && first.standardOutput.contains("imported 1 reading(s)"), "\(first.standardError)")
        let latin1 = folder.write("latin1.csv", Array("meter_id,read_at,value\nm,2026-11-20,1\nZ".utf8) + [0xE4] + Array("hler,2026-11-21,2\n".utf8))
        let second = try ChildProcess.run(intake, ["readings", "import", "--root", folder.path, latin1])
        #expect(second.status == 1 && second.standardError.contains("latin1.csv:3: not UTF-8"), "\(second.standardError)")
    }

    /// The file is read as strict RFC 4180: what a spreadsheet would misread is refused, with its line.
    @Test(arguments: [
        ("meter_id,read_at,value\nm,2026-11-20,1\nm,2026-11-21,\"2\n", "c.csv:3: a quote opened here is never closed"),
        ("meter_id,read_at,value\nm,2026-11-20,1\"5\n", "c.csv:2: a quote inside a field"),
        ("meter_id,read_at,value\nm,2026-11-20,1,extra\n", "c.csv:2: 4 fields, the header has 3"),
    ])
    func brokenCSVIsRefusedWithItsLine(text: String, message: String) throws {
        let folder = try TemporaryFolder()
        let file = folder.write("c.csv", Array(text.utf8))
        let result = try ChildProcess.run(intake, ["readings", "import", "--root", folder.path, file])
        #expect(result.status == 1)
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }

    /// A store of an older schema is left for intaked to migrate, as the reports leave it: a
    /// readings command that migrated it after an upgrade left the intaked still running on a
    /// schema newer than itself.
    @Test func aStoreOfAnOlderSchemaIsNotMigratedByTheReadingsCommands() throws {
        let folder = try TemporaryFolder()
        do {
            let database = try Database(path: folder.path + "/intake.db")
            _ = try database.query("PRAGMA user_version = \(Database.schemaVersion - 1)")
        }
        let added = try ChildProcess.run(intake, ["readings", "add", "--root", folder.path, "m", "1.5", "--at", "2026-11-21T06:30:00Z"])
        #expect(added.status == 1 && added.standardError.contains("start this version of intaked once"), "\(added.standardError)")
        let database = try Database(path: folder.path + "/intake.db", readOnly: true)
        #expect(try database.storedSchemaVersion() == Database.schemaVersion - 1)
    }

    @Test func oneReadingCanBeAddedByHand() throws {
        let folder = try TemporaryFolder()
        let added = try ChildProcess.run(intake, ["readings", "add", "--root", folder.path, "demo-meter", "530.9", "--at", "2026-11-21T06:30:00+01:00"])
        #expect(added.status == 0 && added.standardOutput.contains("2026-11-21T05:30:00.000Z"))
        let database = try Database(path: folder.path + "/intake.db", readOnly: true)
        #expect(try database.manualReadings(meter: "demo-meter").map(\.value) == [530.9])
    }

    @Test func isoTimesAsPeopleWriteThem() {
        #expect(ISOTime.milliseconds("2026-11-20") == Timestamp.milliseconds(from: "2026-11-20T00:00:00.000Z"))
        #expect(ISOTime.milliseconds("2026-11-20T08:30:15.25Z") == Timestamp.milliseconds(from: "2026-11-20T08:30:15.250Z"))
        #expect(ISOTime.milliseconds("2024-02-29 23:59") == Timestamp.milliseconds(from: "2024-02-29T23:59:00.000Z"))
        #expect(ISOTime.milliseconds("2026-11-20T08:30:00-05:00") == Timestamp.milliseconds(from: "2026-11-20T13:30:00.000Z"))
        #expect(ISOTime.milliseconds("20/11/2026") == nil)
        #expect(ISOTime.milliseconds("2026-13-01") == nil)
        // No such days: refused, not carried into the next month.
        #expect(ISOTime.milliseconds("2026-02-31T08:00Z") == nil)
        #expect(ISOTime.milliseconds("2025-02-29") == nil)
        #expect(ISOTime.milliseconds("2000-02-29") != nil)
        #expect(ISOTime.milliseconds("2026-04-31") == nil)
        // No such zones.
        #expect(ISOTime.milliseconds("2026-11-20T08:30:00+99:99") == nil)
        #expect(ISOTime.milliseconds("2026-11-20T08:30:00+14:00") != nil)
        // Zones that carry a time out of the years a time is written in: stored, it could not be read back.
        #expect(ISOTime.milliseconds("0000-01-01T00:00:00+14:00") == nil)
        #expect(ISOTime.milliseconds("9999-12-31T23:59:59-14:00") == nil)
        #expect(ISOTime.milliseconds("9999-12-31T23:59:59Z") != nil && ISOTime.milliseconds("0000-01-01T00:00:00Z") != nil)
    }
}
