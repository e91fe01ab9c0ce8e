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

    /// The current row's values, read out: valid after the next `step`.
    func row(columns: [String]) -> Row {
        Row(values: (0..<columnCount).map(value), columns: columns, sql: sql)
    }

    /// The column as whichever of the five SQLite kinds it holds.
    private func value(_ column: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            guard let bytes = sqlite3_column_text(handle, column) else { return .text("") }
            // Read by length, not up to the first NUL, so text with embedded NULs comes back whole.
            let count = Int(sqlite3_column_bytes(handle, column))
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    func error(_ code: Int32) -> StoreError {
        StoreError(String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))), code: code, sql: sql)
    }
}

