import IntakeCore
import IntakeMeter
import IntakeStore
import Synchronization

/// What every meter's readings are judged against: its manual readings and the readings
/// accepted before (its history), held as one value in memory. Workers read it as a snapshot and
/// never query the database the committer is writing; the committer adds each accepted reading
/// once its job is committed. Manual readings come from another writer (`intake readings`): each
/// look first asks the store whether anyone committed since (`dataVersion`), then whether the manual
/// readings changed (one indexed count), and reloads them only then. If the database cannot be
/// read, that is a reason the verdicts state, never a silent `no_reference`.
final class MeterLedger: Sendable {
    /// A meter's references, or why there are none to trust.
    struct References {
        var manual: [ManualReading]
        var history: [AcceptedReading]
        /// Set when the manual readings could not be read: the verdict says so.
        var problem: String?
    }

    private struct Book {
        var manual: [String: [ManualReading]] = [:]
        var history: [String: [AcceptedReading]] = [:]
        var problem: String?
    }

    private struct Reader {
        /// The ledger's own read-only connection, used only under the lock (SQLite's
        /// multi-thread mode allows one connection on several threads, one at a time).
        var database: Database?
        /// What was seen at the last load: the store's data version and the manual readings' signature.
        var dataVersion: Int?
        var signature: String?
    }

    /// Its store, opened as the long-running parts open it: the workers ask, and a PostgreSQL
    /// store that stopped answering must not hold them.
    private let root: StateRoot
    private let book = Mutex(Book())
    /// Guards `reader`: a Mutex cannot hold the connection, which is not Sendable.
    private let readerLock = Condition()
    nonisolated(unsafe) private var reader = Reader()

    /// Loads every meter's references from `root`'s store.
    init(root: StateRoot) {
        self.root = root
        reloadManualReadings(force: true)
        switch read({ database, _ throws(StoreError) in try database.allAcceptedMeterReadings() }) {
        case .success(let accepted):
            let history = Dictionary(grouping: accepted, by: \.meter).mapValues { readings in
                readings.map { AcceptedReading(capturedAt: $0.capturedAt, value: $0.value) }
            }
            book.withLock { $0.history = history }
        case .failure(let error):
            book.withLock { $0.problem = "the meter's accepted readings could not be read (\(error))" }
        }
    }

    func references(for meter: String) -> References {
        reloadManualReadings()
        return book.withLock { book in
            References(manual: book.manual[meter] ?? [], history: book.history[meter] ?? [], problem: book.problem)
        }
    }

    /// Whether the meter has manual readings: what makes an inbox subfolder of its name a meter.
    func hasManualReadings(_ meter: String) -> Bool {
        reloadManualReadings()
        return book.withLock { $0.manual[meter]?.isEmpty == false }
    }

    /// Adds a reading the committer has just recorded as accepted (verdict match).
    func accept(meter: String, capturedAt: Int64, value: Double) {
        book.withLock { book in
            var history = book.history[meter, default: []]
            let reading = AcceptedReading(capturedAt: capturedAt, value: value)
            // Kept in capture order: photos are not always committed in the order they were taken.
            let index = history.lastIndex { $0.capturedAt <= capturedAt }.map { $0 + 1 } ?? 0
            history.insert(reading, at: index)
            book.history[meter] = history
        }
    }

    /// Reloads the manual readings when they changed since the last look.
    private func reloadManualReadings(force: Bool = false) {
        let loaded = read { database, seen throws(StoreError) -> [ManualReadingRecord]? in
            let version = try database.dataVersion()
            guard force || version != seen.dataVersion else { return nil }
            let signature = try database.manualReadingsSignature()
            // What was seen is noted only once what it stands for is loaded: a load that fails is
            // tried again at the next look instead of passing for done.
            if !force && signature == seen.signature {
                seen.dataVersion = version
                return nil
            }
            let records = try database.allManualReadings()
            (seen.dataVersion, seen.signature) = (version, signature)
            return records
        }
        switch loaded {
        case .success(nil):
            break
        case .success(let records?):
            let manual = Dictionary(grouping: records, by: \.meterID).mapValues { readings in
                readings.map { ManualReading(meter: $0.meterID, readAt: $0.readAt, value: $0.value, unit: $0.unit) }
            }
            book.withLock { book in
                book.manual = manual
                if book.problem?.hasPrefix("the manual readings") == true { book.problem = nil }
            }
        case .failure(let error):
            // The last good readings are kept; with none, verdicts say why they have no reference.
            book.withLock { book in
                if book.manual.isEmpty { book.problem = "the manual readings could not be read (\(error))" }
            }
        }
    }

    /// Runs `body` with the ledger's connection (opened when needed) and what was seen last; a
    /// connection that failed is dropped with what it saw (a data version means something only
    /// to the connection that read it), so that the next call opens afresh and loads again.
    private func read<T>(_ body: (Database, inout Reader) throws(StoreError) -> T) -> Result<T, StoreError> {
        readerLock.locked {
            do throws(StoreError) {
                let database: Database
                if let open = reader.database {
                    database = open
                } else {
                    database = try root.openDatabase(readOnly: true)
                }
                reader.database = database
                return .success(try body(database, &reader))
            } catch {
                reader = Reader()
                return .failure(error)
            }
        }
    }
}
