internal import CSQLite

/// Why a database operation failed: SQLite's message and the statement or file involved.
public struct StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, as SQLite or the store put it.
    public var message: String
    /// SQLite's extended result code; nil when the store itself refused (bad argument, unknown schema).
    public var code: Int32?
    /// PostgreSQL's SQLSTATE (`08006`, `53100`…), for a PostgreSQL store.
    public var sqlState: String?
    /// The statement being prepared or run, when there was one.
    public var sql: String?
    /// The database file, when the problem is the file (opening, schema version).
    public var path: String?

    /// Creates an error from its parts.
    public init(_ message: String, code: Int32? = nil, sqlState: String? = nil, sql: String? = nil, path: String? = nil) {
        self.message = message
        self.code = code
        self.sqlState = sqlState
        self.sql = sql
        self.path = path
    }

    /// `path: message (in: SQL)`, leaving out the path when the message already names it.
    public var description: String {
        var text = message
        if let path, !message.contains(path) { text = "\(path): \(text)" }
        if let sql { text += " (in: \(sql))" }
        return text
    }
}

extension StoreError {
    /// Whether the database could not do the work for the machine's sake (another writer holds
    /// the lock, the disk is full or read-only, an I/O error, the file cannot be opened), not
    /// for what was asked: the same request may succeed later and must be kept, not dropped.
    public var isUnavailable: Bool {
        if let sqlState { return Self.unavailableStates.contains { sqlState.hasPrefix($0) } }
        guard let code else { return false }
        return Self.unavailableCodes.contains(code & 0xFF)
    }

    /// Whether the connection itself may be spoilt (the file went read-only, vanished or failed
    /// to read): a fresh one is opened for the next try.
    public var needsNewConnection: Bool {
        if let sqlState { return sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") }
        guard let code else { return false }
        return [SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN].contains(code & 0xFF)
    }

    /// PostgreSQL's: the connection (08), the server shutting down or starting (57P), out of
    /// disk or memory (53), a deadlock or serialization failure (40), a lock not available, a
    /// read-only server (a standby, or a full disk's emergency), a statement cancelled (57014,
    /// an administrator's or a timeout's), a system or I/O error on the server (58).
    private static let unavailableStates = ["08", "57P", "57014", "53", "58", "40", "55P03", "25006"]

    private static let unavailableCodes: Set<Int32> = [
        SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_PROTOCOL,
    ]
}
