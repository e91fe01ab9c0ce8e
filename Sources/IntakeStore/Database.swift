internal import CSQLite
import Glibc

/// The daemon's SQLite database: one connection, with its prepared statements cached by SQL text.
///
/// One file in WAL mode, one writer (the daemon) and any number of read-only connections (reports,
/// `sqlite3`); WAL lets readers see the last commit while the writer is mid-transaction. A
/// `Database` is not Sendable: the connection is opened without SQLite's mutex, so each thread opens
/// its own.
public final class Database {
    /// The schema version this build creates and understands: the number of migrations.
    public static var schemaVersion: Int { Schema.migrations.count }

    /// The file this connection is open on.
    public let path: String
    /// True for a connection opened with `readOnly: true`.
    public let isReadOnly: Bool

    let handle: OpaquePointer
    private var statements: [String: Statement] = [:]

    /// Opens (and, unless `readOnly`, creates and migrates) the database at `path`.
    ///
    /// A writer switches the file to WAL and brings its schema up to ``schemaVersion``. A reader
    /// refuses a missing file and a schema newer than this build, rather than misreading it.
    public init(path: String, readOnly: Bool = false) throws(StoreError) {
        if readOnly, access(path, F_OK) != 0 {
            throw StoreError("no database at \(path)", path: path)
        }
        self.handle = try Self.open(path: path, readOnly: readOnly)
        self.path = path
        self.isReadOnly = readOnly
        // From here on a throw runs deinit, which closes the handle.
        try configure()
        if readOnly {
            let onDisk = try userVersion()
            if onDisk > Self.schemaVersion { throw newerSchemaError(onDisk) }
        } else {
            try migrate()
        }
    }

    deinit {
        // Statements first: closing a connection with statements still prepared would leave it open.
        statements.removeAll()
        sqlite3_close(handle)
    }

    private static func open(path: String, readOnly: Bool) throws(StoreError) -> OpaquePointer {
        let access = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, access | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close(handle)
            throw StoreError("cannot open database at \(path): \(message)", code: code, path: path)
        }
        sqlite3_extended_result_codes(handle, 1)
        return handle
    }

    private func configure() throws(StoreError) {
        // Wait for a lock rather than fail at once: readers and the writer overlap all the time.
        try execute("PRAGMA busy_timeout = 5000")
        try execute("PRAGMA foreign_keys = ON")
        if isReadOnly {
            try execute("PRAGMA query_only = 1")
            return
        }
        let mode = try rows("PRAGMA journal_mode = WAL") { row throws(StoreError) in row.text(0) }.first ?? nil
        guard mode?.lowercased() == "wal" else {
            throw StoreError("could not switch the database to WAL mode (journal_mode is \(mode ?? "unknown"))", path: path)
        }
        // FULL, not WAL's usual NORMAL: the daemon commits in batches and tells no one a job is done
        // until its commit has reached the disk, so every commit must survive a power cut.
        try execute("PRAGMA synchronous = FULL")
    }

    // MARK: Running statements

    /// Runs `body` with the cached statement for `sql`, reset afterwards whatever happens.
    func withStatement<T>(_ sql: String, _ body: (Statement) throws(StoreError) -> T) throws(StoreError) -> T {
        let statement: Statement
        if let cached = statements[sql], !cached.isInUse {
            statement = cached
        } else if statements[sql] == nil {
            statement = try Statement(database: handle, sql: sql, persistent: true)
            statements[sql] = statement
        } else {
            // The same SQL run again while its cached statement is still stepping: use a fresh one.
            statement = try Statement(database: handle, sql: sql, persistent: false)
        }
        statement.isInUse = true
        defer {
            statement.reset()
            statement.isInUse = false
        }
        return try body(statement)
    }

    /// Runs a statement that returns no rows worth reading.
    func execute(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) {
        try withStatement(sql) { statement throws(StoreError) in
            try statement.bind(arguments)
            while try statement.step() {}
        }
    }

    /// Runs a statement and maps each row it returns.
    func rows<T>(_ sql: String, _ arguments: [SQLValue] = [], _ read: (Row) throws(StoreError) -> T) throws(StoreError) -> [T] {
        try withStatement(sql) { statement throws(StoreError) in
            try statement.bind(arguments)
            var results: [T] = []
            while try statement.step() { results.append(try read(statement.row)) }
            return results
        }
    }

    /// Rows the last INSERT, UPDATE or DELETE changed.
    var changes: Int { Int(sqlite3_changes64(handle)) }

    /// Runs several statements at once, as a migration script does; not cached.
    func executeScript(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw StoreError(message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code)), code: code, sql: sql)
        }
    }

    /// Runs any single SQL statement and returns its rows as column name → value, for reports and tests.
    ///
    /// Arguments bind to `?` parameters in order. A read-only connection refuses statements that write.
    public func query(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) -> [[String: SQLValue]] {
        try withStatement(sql) { statement throws(StoreError) in
            try statement.bind(arguments)
            let names = (0..<statement.columnCount).map(statement.columnName)
            var results: [[String: SQLValue]] = []
            while try statement.step() {
                let row = statement.row
                var values: [String: SQLValue] = [:]
                for (index, name) in names.enumerated() { values[name] = row.value(Int32(index)) }
                results.append(values)
            }
            return results
        }
    }

    // MARK: Transactions

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// The outermost call takes the write lock at once (`BEGIN IMMEDIATE`), so a write never fails
    /// half-way for want of the lock; a call inside another becomes a savepoint, so store operations
    /// that are atomic on their own can also be batched.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let nested = try begin()
        do {
            let result = try body()
            try commit(nested: nested)
            return result
        } catch {
            rollback(nested: nested)
            throw error
        }
    }

    /// ``transaction(_:)`` for the store's own operations, keeping their error type.
    func atomically<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        let nested = try begin()
        do {
            let result = try body()
            try commit(nested: nested)
            return result
        } catch {
            rollback(nested: nested)
            throw error
        }
    }

    /// Starts a transaction, or a savepoint when one is already open; returns whether it was nested.
    private func begin() throws(StoreError) -> Bool {
        let nested = sqlite3_get_autocommit(handle) == 0
        try execute(nested ? "SAVEPOINT intake_nested" : "BEGIN IMMEDIATE")
        return nested
    }

    private func commit(nested: Bool) throws(StoreError) {
        try execute(nested ? "RELEASE intake_nested" : "COMMIT")
    }

    /// Best effort: the error that caused the rollback is the one worth reporting, and SQLite may
    /// already have rolled back by itself (after SQLITE_FULL, say), making ROLLBACK fail harmlessly.
    private func rollback(nested: Bool) {
        if nested {
            try? execute("ROLLBACK TO intake_nested")
            try? execute("RELEASE intake_nested")
        } else if sqlite3_get_autocommit(handle) == 0 {
            try? execute("ROLLBACK")
        }
    }
}

/// Each connection belongs to one thread (it is opened with SQLITE_OPEN_NOMUTEX).
@available(*, unavailable)
extension Database: Sendable {}
