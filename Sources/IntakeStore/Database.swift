import Glibc

/// The store: one connection to the SQLite file (the embedded default) or to a PostgreSQL
/// database shared by several hosts, with the same schema, queries and migrations on both.
///
/// The queries are written once, in the SQL both engines speak; `?` and `?N` parameters, and
/// SQLite's implicit `rowid` (an explicit `seq` column in PostgreSQL), are translated for
/// PostgreSQL by its connection. A `Database` is not Sendable: each thread opens its own.
public final class Database {
    /// The engines a store can live in.
    public enum Engine: String, Sendable {
        case sqlite
        case postgresql
    }

    /// The schema version this build creates and understands: the number of migrations.
    public static var schemaVersion: Int { Schema.migrations(for: .sqlite).count }

    /// The file this connection is open on, or the PostgreSQL URL (which never holds a password).
    public let path: String
    /// True for a connection opened with `readOnly: true`.
    public let isReadOnly: Bool
    public let engine: Engine
    let connection: any StoreConnection

    /// Whether `location` names a PostgreSQL database (`postgresql://…`) rather than a file.
    public static func isPostgreSQL(_ location: String) -> Bool {
        location.hasPrefix("postgresql://") || location.hasPrefix("postgres://")
    }

    /// Whether there is a store at `location` to read: a file that exists, or any PostgreSQL URL
    /// (whether the server answers is learnt by connecting).
    public static func exists(at location: String) -> Bool {
        isPostgreSQL(location) || access(location, F_OK) == 0
    }

    /// Opens (and, unless `readOnly`, creates and migrates) the store at `path`: a file, or a
    /// `postgresql://` URL.
    ///
    /// A writer brings the schema up to ``schemaVersion``. A reader refuses a missing file and a
    /// schema newer than this build, rather than misreading it.
    ///
    /// `answerTimeout` (PostgreSQL only) is how long a statement may go without a word from the
    /// server before the connection is given up as lost, the error saying so; nil waits as long
    /// as the server takes, as a report over a large store may need to. A SQLite file answers or
    /// fails by itself.
    public init(path: String, readOnly: Bool = false, answerTimeout: Double? = nil) throws(StoreError) {
        if Self.isPostgreSQL(path) {
            connection = try PostgresConnection(url: path, readOnly: readOnly, answerTimeout: answerTimeout)
            engine = .postgresql
        } else {
            connection = try SQLiteConnection(path: path, readOnly: readOnly)
            engine = .sqlite
        }
        self.path = path
        self.isReadOnly = readOnly
        if readOnly {
            let onDisk = try userVersion()
            if onDisk > Self.schemaVersion { throw newerSchemaError(onDisk) }
        } else {
            try migrate()
        }
    }

    // MARK: Running statements

    /// Runs a statement that returns no rows worth reading.
    func execute(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) {
        try connection.run(sql, arguments) { _ throws(StoreError) in }
    }

    /// Runs a statement and maps each row it returns.
    func rows<T>(_ sql: String, _ arguments: [SQLValue] = [], _ read: (Row) throws(StoreError) -> T) throws(StoreError) -> [T] {
        var results: [T] = []
        try connection.run(sql, arguments) { row throws(StoreError) in results.append(try read(row)) }
        return results
    }

    /// Rows the last INSERT, UPDATE or DELETE changed.
    var changes: Int { connection.changes }

    /// Runs several statements at once, as a migration script does.
    func executeScript(_ sql: String) throws(StoreError) {
        try connection.executeScript(sql)
    }

    /// Runs any single SQL statement and returns its rows as column name → value, for reports and tests.
    ///
    /// Arguments bind to `?` parameters in order. A read-only connection refuses statements that write.
    public func query(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) -> [[String: SQLValue]] {
        var results: [[String: SQLValue]] = []
        try connection.run(sql, arguments) { row throws(StoreError) in
            var values: [String: SQLValue] = [:]
            for (index, name) in row.columns.enumerated() { values[name] = row.values[index] }
            results.append(values)
        }
        return results
    }

    // MARK: Transactions

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// The outermost call takes SQLite's write lock at once (`BEGIN IMMEDIATE`), so a write never
    /// fails half-way for want of the lock; a call inside another becomes a savepoint, so store
    /// operations that are atomic on their own can also be batched.
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
        let nested = connection.isInTransaction
        try execute(nested ? "SAVEPOINT intake_nested" : connection.beginStatement)
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
        } else if connection.isInTransaction {
            try? execute("ROLLBACK")
        }
    }
}

/// Each connection belongs to one thread.
@available(*, unavailable)
extension Database: Sendable {}
