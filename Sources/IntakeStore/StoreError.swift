/// Why a database operation failed: SQLite's message and the statement or file involved.
public struct StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, as SQLite or the store put it.
    public var message: String
    /// SQLite's extended result code; nil when the store itself refused (bad argument, unknown schema).
    public var code: Int32?
    /// The statement being prepared or run, when there was one.
    public var sql: String?
    /// The database file, when the problem is the file (opening, schema version).
    public var path: String?

    /// Creates an error from its parts.
    public init(_ message: String, code: Int32? = nil, sql: String? = nil, path: String? = nil) {
        self.message = message
        self.code = code
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
