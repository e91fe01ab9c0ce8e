internal import CSQLite
import Glibc

/// A connection to the SQLite file, with its prepared statements cached by SQL text.
///
/// One file in WAL mode, one writer (the daemon) and any number of read-only connections (reports,
/// `sqlite3`); WAL lets readers see the last commit while the writer is mid-transaction. Opened
/// without SQLite's mutex: each thread opens its own.
final class SQLiteConnection: StoreConnection {
    let path: String
    let handle: OpaquePointer
    private var statements: [String: Statement] = [:]

    init(path: String, readOnly: Bool) throws(StoreError) {
        if readOnly, access(path, F_OK) != 0 {
            throw StoreError("no database at \(path)", path: path)
        }
        self.path = path
        handle = try Self.open(path: path, readOnly: readOnly)
        // From here on a throw runs deinit, which closes the handle.
        try configure(readOnly: readOnly)
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

    private func configure(readOnly: Bool) throws(StoreError) {
        // Wait for a lock rather than fail at once: readers and the writer overlap all the time.
        try run("PRAGMA busy_timeout = 5000", []) { _ in }
        try run("PRAGMA foreign_keys = ON", []) { _ in }
        if readOnly {
            try run("PRAGMA query_only = 1", []) { _ in }
            return
        }
        var mode: String?
        try run("PRAGMA journal_mode = WAL", []) { row throws(StoreError) in mode = row.text(0) }
        guard mode?.lowercased() == "wal" else {
            throw StoreError("could not switch the database to WAL mode (journal_mode is \(mode ?? "unknown"))", path: path)
        }
        // FULL, not WAL's usual NORMAL: the daemon commits in batches and tells no one a job is done
        // until its commit has reached the disk, so every commit must survive a power cut.
        try run("PRAGMA synchronous = FULL", []) { _ in }
    }

    /// Runs `body` with the cached statement for `sql`, reset afterwards whatever happens.
    private func withStatement<T>(_ sql: String, _ body: (Statement) throws(StoreError) -> T) throws(StoreError) -> T {
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

    @discardableResult
    func run(_ sql: String, _ arguments: [SQLValue], _ each: (Row) throws(StoreError) -> Void) throws(StoreError) -> [String] {
        try withStatement(sql) { statement throws(StoreError) in
            try statement.bind(arguments)
            let columns = (0..<statement.columnCount).map(statement.columnName)
            while try statement.step() { try each(statement.row(columns: columns)) }
            return columns
        }
    }

    var changes: Int { Int(sqlite3_changes64(handle)) }

    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// IMMEDIATE: the write lock at once, so a write never fails half-way for want of it.
    var beginStatement: String { "BEGIN IMMEDIATE" }

    func executeScript(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw StoreError(message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code)), code: code, sql: sql)
        }
    }
}
