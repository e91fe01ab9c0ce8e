internal import CSQLite
import IntakeCore

/// SQLite's `SQLITE_TRANSIENT`: tells a bind call to copy the bytes before it returns, because the
/// Swift buffer it is given lives only for the duration of the call. The C macro is a cast of -1,
/// which Swift cannot import.
var sqliteTransient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

/// One prepared statement. `Database` caches these by SQL text and resets each after use, so a
/// finished statement never holds a read transaction open (which would stop WAL checkpoints).
final class Statement {
    let handle: OpaquePointer
    let sql: String
    /// Set while a caller is stepping through it, so a nested use of the same SQL gets its own statement.
    var isInUse = false

    /// Compiles `sql`, which must hold exactly one statement: silently ignoring a second one would
    /// lose work. `persistent` tells SQLite the statement will be kept and reused.
    init(database: OpaquePointer, sql: String, persistent: Bool) throws(StoreError) {
        var handle: OpaquePointer?
        var hasSecondStatement = false
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sql.withCString { text in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(database, text, -1, flags, &handle, &tail)
            if code == SQLITE_OK, let tail, tail.pointee != 0 {
                // Compile the rest: whitespace and comments compile to no statement at all.
                var extra: OpaquePointer?
                if sqlite3_prepare_v2(database, tail, -1, &extra, nil) != SQLITE_OK || extra != nil {
                    hasSecondStatement = true
                }
                sqlite3_finalize(extra)
            }
            return code
        }
        guard code == SQLITE_OK else {
            throw StoreError(String(cString: sqlite3_errmsg(database)), code: code, sql: sql)
        }
        guard let handle else { throw StoreError("no SQL statement to run", sql: sql) }
        guard !hasSecondStatement else {
            sqlite3_finalize(handle)
            throw StoreError("only one SQL statement can be run at a time", sql: sql)
        }
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds `arguments` to the `?` (or `?N`) parameters in order; the count must match exactly.
    func bind(_ arguments: [SQLValue]) throws(StoreError) {
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard arguments.count == expected else {
            throw StoreError("statement takes \(expected) arguments, given \(arguments.count)", sql: sql)
        }
        for (offset, value) in arguments.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null:
                code = sqlite3_bind_null(handle, index)
            case .integer(let integer):
                code = sqlite3_bind_int64(handle, index, integer)
            case .real(let real):
                code = sqlite3_bind_double(handle, index, real)
            case .text(let text):
                // An explicit length keeps any embedded NUL; withCString never gives a null pointer,
                // so an empty string binds as '' rather than NULL.
                let length = UInt64(text.utf8.count)
                code = text.withCString {
                    sqlite3_bind_text64(handle, index, $0, length, sqliteTransient, UInt8(SQLITE_UTF8))
                }
            case .blob(let bytes):
                if bytes.isEmpty {
                    code = sqlite3_bind_zeroblob(handle, index, 0)  // a null pointer would bind NULL
                } else {
                    code = bytes.withUnsafeBytes {
                        sqlite3_bind_blob64(handle, index, $0.baseAddress, UInt64($0.count), sqliteTransient)
                    }
                }
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
    }

    /// Advances to the next row: true when there is one, false when the statement has finished.
    func step() throws(StoreError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw error(code)
        }
    }

    /// Makes the statement ready for its next use and drops its bindings.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    var columnCount: Int32 { sqlite3_column_count(handle) }

    func columnName(_ index: Int32) -> String {
        sqlite3_column_name(handle, index).map { String(cString: $0) } ?? "column\(index + 1)"
    }

    /// The current row; valid until the next `step` or `reset`.
    var row: Row { Row(statement: self) }

    func error(_ code: Int32) -> StoreError {
        StoreError(String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))), code: code, sql: sql)
    }
}

/// The row a statement is on, read column by column (0-based, in select-list order).
struct Row {
    let statement: Statement
    private var handle: OpaquePointer { statement.handle }

    init(statement: Statement) { self.statement = statement }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// The column as whichever of the five SQLite kinds it holds.
    func value(_ column: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT: return .text(text(column) ?? "")
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    func text(_ column: Int32) -> String? {
        guard !isNull(column), let bytes = sqlite3_column_text(handle, column) else { return nil }
        // Read by length, not up to the first NUL, so text with embedded NULs comes back whole.
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func int64(_ column: Int32) -> Int64? { isNull(column) ? nil : sqlite3_column_int64(handle, column) }
    func int(_ column: Int32) -> Int? { int64(column).map { Int($0) } }
    func double(_ column: Int32) -> Double? { isNull(column) ? nil : sqlite3_column_double(handle, column) }

    /// A column the schema declares NOT NULL; NULL there means the file was edited by hand or is damaged.
    func requiredText(_ column: Int32) throws(StoreError) -> String {
        guard let text = text(column) else { throw missing(column) }
        return text
    }

    func requiredInt(_ column: Int32) throws(StoreError) -> Int {
        guard let value = int(column) else { throw missing(column) }
        return value
    }

    func requiredDouble(_ column: Int32) throws(StoreError) -> Double {
        guard let value = double(column) else { throw missing(column) }
        return value
    }

    /// A time stored as ISO 8601 text, as Unix milliseconds; nil when NULL.
    func timestamp(_ column: Int32) throws(StoreError) -> Int64? {
        guard let text = text(column) else { return nil }
        guard let milliseconds = Timestamp.milliseconds(from: text) else {
            throw StoreError("column \(statement.columnName(column)) holds \"\(text)\", not a time like 2026-11-21T14:25:21.123Z", sql: statement.sql)
        }
        return milliseconds
    }

    func requiredTimestamp(_ column: Int32) throws(StoreError) -> Int64 {
        guard let value = try timestamp(column) else { throw missing(column) }
        return value
    }

    /// A column holding the raw value of a Swift enum.
    func enumeration<Value: RawRepresentable>(_ column: Int32, as type: Value.Type) throws(StoreError) -> Value?
    where Value.RawValue == String {
        guard let text = text(column) else { return nil }
        guard let value = Value(rawValue: text) else {
            throw StoreError("column \(statement.columnName(column)) holds unknown value \"\(text)\"", sql: statement.sql)
        }
        return value
    }

    private func missing(_ column: Int32) -> StoreError {
        StoreError("column \(statement.columnName(column)) is NULL", sql: statement.sql)
    }
}
