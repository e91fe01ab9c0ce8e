import ArgumentParser
import Foundation
import IntakeReports
import IntakeStore
import IntakeCore

/// `intake readings …`: the manual readings photos are checked against.
struct ReadingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readings", abstract: "Import, list and add manual meter readings.",
        subcommands: [Import.self, List.self, Add.self])

    /// The database for writing, created if the daemon has not run yet: readings are the
    /// operator's data, written by this command (the daemon only reads them), in short
    /// transactions that wait for the daemon's.
    static func writer(_ source: SourceOptions) -> Database {
        let path = report { try ReportSource.locate(root: source.root, databasePath: source.db, configPath: source.config).database }
        // A PostgreSQL URL names no folder here; SQLite's journal goes beside the database.
        if !path.contains("://") { actAsOwner(of: PathText.folder(of: path)) }
        // A store of an older schema is intaked's to migrate, as the reports say: migrated from
        // here after an upgrade, the intaked still running would find it newer than itself.
        if Database.exists(at: path), let reader = try? Database(path: path, readOnly: true),
           let version = try? reader.storedSchemaVersion(), version > 0, version < Database.schemaVersion {
            fail(ReportSource.olderSchema(at: path, version: version).description)
        }
        do { return try Database(path: path) } catch { fail("cannot write \(PostgresURL.redacted(path)): \(error)") }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load readings from CSV: meter_id,read_at,value[,unit,source,note]. Checked whole first; duplicates ignored.")
        @OptionGroup var source: SourceOptions
        @Argument(help: "The CSV file.") var file: String

        /// Rows written per transaction. The daemon's writes wait for the lock an import holds
        /// (SQLite has one writer), up to its busy timeout of 5 s: one transaction for a file of
        /// 300,000 rows held it for several seconds, and memory for every row.
        static let batchSize = 10_000

        func run() throws {
            let bytes: [UInt8]
            do { bytes = try WholeFile.read(file) } catch { fail(error.description) }
            // Every row is checked before any is written, so a bad row leaves the store as it was.
            let total = report { () throws(ReportError) in
                var reader = try ManualReadingsFile.Reader(bytes: bytes, fileName: file)
                var count = 0
                while try reader.next() != nil { count += 1 }
                return count
            }
            let database = ReadingsCommand.writer(source)
            let progress = Progress(total: total, shown: isatty(2) != 0)
            var reader = report { try ManualReadingsFile.Reader(bytes: bytes, fileName: file) }
            var written = 0, added = 0
            var batch: [ManualReadingRecord] = []
            batch.reserveCapacity(Self.batchSize)
            repeat {
                batch.removeAll(keepingCapacity: true)
                while batch.count < Self.batchSize, let reading = report({ try reader.next() }) { batch.append(reading) }
                guard !batch.isEmpty else { break }
                do {
                    added += try database.addManualReadings(batch)
                } catch {
                    progress.end()
                    // A full disk or a lock is the machine's; its SQL would only hide that.
                    let reason = error.isUnavailable ? error.message : error.description
                    fail(written == 0 ? "import failed, nothing was imported: \(reason)"
                        : "import failed after \(written) of \(total) reading(s) were written: \(reason); "
                            + "importing the same file again adds the rest (rows already there are skipped)")
                }
                written += batch.count
                progress.show(written)
            } while batch.count == Self.batchSize
            progress.end()
            output("imported \(added) reading(s) from \(file); \(total - added) were already there\n")
        }

        /// A bar on a terminal's standard error.
        struct Progress {
            let total: Int
            let shown: Bool

            func show(_ done: Int) {
                guard shown, total > 0 else { return }
                let width = 30, filled = done * width / total
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)".utf8))
            }

            func end() {
                if shown { FileHandle.standardError.write(Data("\n".utf8)) }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A meter's manual readings, oldest first.")
        @OptionGroup var source: SourceOptions
        @OptionGroup var format: FormatOption
        @Argument(help: "The meter id.") var meter: String

        func run() throws {
            let opened = try source.open()
            let readings = report { try opened.database.manualReadings(meter: meter) }
            let table = ResultTable(
                columns: ["meter_id", "read_at", "value", "unit", "source", "note"],
                rows: readings.map { reading in
                    [.text(reading.meterID), .text(Timestamp.string(fromMilliseconds: reading.readAt)), .real(reading.value, decimals: 4),
                     reading.unit.map(Cell.text) ?? .null, reading.source.map(Cell.text) ?? .null, reading.note.map(Cell.text) ?? .null]
                })
            output(table.rendered(as: format.format))
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add one reading, taken now or --at a time.")
        @OptionGroup var source: SourceOptions
        @Argument(help: "The meter id.") var meter: String
        @Argument(help: "The value read.") var value: Double
        @Option(help: "When it was read (ISO 8601; default now).") var at: String?
        @Option(help: "Unit, e.g. m3.") var unit: String?
        @Option(help: "Who or what read it.") var by: String?

        func run() throws {
            guard value.isFinite else { fail("\(value) is not a reading: give a finite number") }
            var time = Timestamp.nowMilliseconds()
            if let at {
                guard let parsed = ISOTime.milliseconds(at) else { fail("--at \(at) is not an ISO 8601 time like 2026-11-20T08:30:00Z") }
                time = parsed
            }
            let database = ReadingsCommand.writer(source)
            do {
                let added = try database.addManualReadings([ManualReadingRecord(meterID: meter, readAt: time, value: value, unit: unit, source: by)])
                output(added == 1 ? "added \(meter) \(value) at \(Timestamp.string(fromMilliseconds: time))\n" : "already there\n")
            } catch {
                fail("\(error)")
            }
        }
    }
}
