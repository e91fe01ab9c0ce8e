internal import CPostgres
import IntakeCore
import Glibc

/// A connection to a PostgreSQL database through libpq: synchronous, which fits the committer's
/// one thread and the commands, with every statement prepared once and sent with its parameters
/// (`PQexecPrepared`), never spliced into the SQL.
///
/// The password never comes in the URL (which ends up in logs and process lists): libpq reads it
/// from `PGPASSFILE` or `~/.pgpass`, or `[store] password_file` names a file for it.
///
/// Each statement is sent, then its answer awaited with `poll`, not inside libpq's blocking calls:
/// a server that stops answering (its machine stalled, the network cut, the process stopped)
/// would otherwise hold the caller for as long as TCP keeps the connection, a quarter of an hour
/// or for ever. With `answerTimeout`, a statement unanswered for that long gives the connection
/// up as lost, and the caller opens a new one, as after any lost connection.
final class PostgresConnection: StoreConnection {
    let url: String
    private let handle: OpaquePointer
    /// How long a statement may go without a word from the server (nil: as long as it takes).
    var answerTimeout: Double?
    /// Set when a statement went unanswered: the protocol's state is unknown, the connection unusable.
    private var abandoned = false
    private(set) var changes = 0
    /// The name of each statement prepared on this connection, by its SQLite text: parsed and
    /// planned once per connection, as SQLite's statements are cached.
    private var prepared: [String: String] = [:]

    init(url: String, readOnly: Bool, password: String? = nil, answerTimeout: Double? = nil) throws(StoreError) {
        guard !PostgresURLText.holdsPassword(url) else {
            throw StoreError(
                "the URL holds a password; put it in PGPASSFILE (or ~/.pgpass) or [store] password_file instead", path: PostgresURL.redacted(url))
        }
        self.url = url
        var keys = ["dbname", "application_name", "connect_timeout"]
        var values = [url, "intake", "10"]
        if let password {
            keys.append("password")
            values.append(password)
        }
        let connection = PostgresURL.withCStrings(keys) { keyPointers in
            PostgresURL.withCStrings(values) { valuePointers in
                // expand_dbname = 1: the URL given as dbname is parsed as a connection string.
                PQconnectdbParams(keyPointers, valuePointers, 1)
            }
        }
        guard let connection else { throw StoreError("cannot connect to \(url): out of memory", sqlState: "08000", path: url) }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw StoreError("cannot connect to \(url): \(message)", sqlState: "08006", path: url)
        }
        handle = connection
        self.answerTimeout = answerTimeout
        // Durability is PostgreSQL's: a commit returns once it is on the server's disk.
        // A transaction of intake's never waits on anything but the server, so one left open is a
        // client frozen mid-batch (a stalled VM, a cut network): the server ends it after 15 s,
        // freeing its row locks for the hosts that take its claims over.
        try executeScript("SET synchronous_commit = on; SET client_min_messages = warning; SET idle_in_transaction_session_timeout = '15s'")
        if readOnly { try executeScript("SET default_transaction_read_only = on") }
    }

    deinit { PQfinish(handle) }

    @discardableResult
    func run(_ sql: String, _ arguments: [SQLValue], _ each: (Row) throws(StoreError) -> Void) throws(StoreError) -> [String] {
        let name = try statementName(for: sql)
        let texts = arguments.map(Self.text)
        let result = try answer(to: sql) {
            PostgresURL.withOptionalCStrings(texts) { values in
                PQsendQueryPrepared(handle, name, Int32(arguments.count), values, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            break
        default:
            throw error(result, sql: sql)
        }
        let status = String(cString: PQcmdStatus(result))
        if status.hasPrefix("INSERT") || status.hasPrefix("UPDATE") || status.hasPrefix("DELETE") {
            changes = Int(String(cString: PQcmdTuples(result))) ?? 0
        }
        let columnCount = PQnfields(result)
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        let columnTypes = (0..<columnCount).map { PQftype(result, $0) }
        for row in 0..<PQntuples(result) {
            let values = (0..<columnCount).map { column -> SQLValue in
                if PQgetisnull(result, row, column) == 1 { return .null }
                let length = Int(PQgetlength(result, row, column))
                let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, row, column), count: length)
                return Self.value(String(decoding: bytes, as: UTF8.self), type: columnTypes[Int(column)])
            }
            try each(Row(values: values, columns: columns, sql: sql))
        }
        return columns
    }

    func executeScript(_ sql: String) throws(StoreError) {
        let result = try answer(to: sql) { PQsendQuery(handle, sql) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default: throw error(result, sql: sql)
        }
    }

    var isInTransaction: Bool { PQtransactionStatus(handle) != PQTRANS_IDLE }

    /// PostgreSQL takes row locks as it goes; its transactions never fail for want of a file lock.
    var beginStatement: String { "BEGIN" }

    // MARK: dialect

    /// The prepared statement for `sql`, prepared on first use in PostgreSQL's dialect; the
    /// server infers each parameter's type from where it stands.
    private func statementName(for sql: String) throws(StoreError) -> String {
        if let name = prepared[sql] { return name }
        let name = "intake_\(prepared.count + 1)"
        let result = try answer(to: sql) { PQsendPrepare(handle, name, PostgresDialect.translate(sql), 0, nil) }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw error(result, sql: sql) }
        prepared[sql] = name
        return name
    }

    // MARK: waiting for the server

    /// Sends a statement with `send` (one of libpq's `PQsend…`) and waits for its answer: as
    /// `PQexec` would, the first error among its results, else the last result (the caller
    /// clears it). Throws a lost connection's error when it cannot be sent, when the connection
    /// fails meanwhile, or when the server has said nothing for `answerTimeout`.
    private func answer(to sql: String, send: () -> Int32) throws(StoreError) -> OpaquePointer? {
        guard !abandoned else {
            throw StoreError("this connection was given up after the server stopped answering", sqlState: "08006", sql: sql)
        }
        guard send() == 1 else { throw error(nil, sql: sql) }
        var kept: OpaquePointer? = nil
        while true {
            while PQisBusy(handle) == 1 {
                guard waitForInput() else {
                    PQclear(kept)
                    abandoned = true
                    // Whole seconds as such ("3 s"), not as a Double prints them ("3.0 s").
                    let seconds = answerTimeout.map { $0 == $0.rounded() ? String(Int($0)) : String($0) } ?? "?"
                    throw StoreError("the server has not answered for \(seconds) s; giving this connection up", sqlState: "08006", sql: sql)
                }
                guard PQconsumeInput(handle) == 1 else {
                    PQclear(kept)
                    throw error(nil, sql: sql)
                }
            }
            guard let result = PQgetResult(handle) else { return kept }
            if let earlier = kept, Self.isError(earlier) {
                PQclear(result)  // read to the end, so the connection is ready for the next statement
            } else {
                PQclear(kept)
                kept = result
            }
        }
    }

    /// Waits until the server's socket has something to read; false when `answerTimeout` passes
    /// in silence. Any answer at all (a notice, a part of the rows) starts the wait again.
    private func waitForInput() -> Bool {
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        let milliseconds = answerTimeout.map { Int32(min($0 * 1000, Double(Int32.max))) } ?? -1
        while true {
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            // An error on the socket is left to PQconsumeInput, which reports it.
            return ready != 0
        }
    }

    private static func isError(_ result: OpaquePointer) -> Bool {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: false
        default: true
        }
    }

    // MARK: values

    private static func text(_ value: SQLValue) -> String? {
        switch value {
        case .null: nil
        case .integer(let integer): String(integer)
        case .real(let real): real.isFinite ? "\(real)" : (real.isNaN ? "NaN" : real > 0 ? "Infinity" : "-Infinity")
        case .text(let text): text
        case .blob(let bytes): "\\x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }

    /// A result column in text form, as the kind of value its type holds.
    private static func value(_ text: String, type: Oid) -> SQLValue {
        switch type {
        case 16: .integer(text == "t" ? 1 : 0)  // bool, as SQLite's 0 and 1
        case 20, 21, 23, 26: Int64(text).map(SQLValue.integer) ?? .text(text)
        case 700, 701: Double(text).map(SQLValue.real) ?? .text(text)
        case 1700: Int64(text).map(SQLValue.integer) ?? Double(text).map(SQLValue.real) ?? .text(text)  // numeric
        case 17: .blob(hexBytes(text))
        default: .text(text)
        }
    }

    private static func hexBytes(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8.dropFirst(2))
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }

    // MARK: errors

    private func error(_ result: OpaquePointer?, sql: String) -> StoreError {
        let message = result.map { Self.trimmed(PQresultErrorMessage($0)) } ?? ""
        var state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        // A lost connection is the connection's fault whatever the last result said (a server
        // terminating the session answers 57P01, then the socket is gone): open a new one.
        if PQstatus(handle) != CONNECTION_OK || abandoned { state = "08006" }
        let text = message.isEmpty ? Self.trimmed(PQerrorMessage(handle)) : message
        return StoreError(text.isEmpty ? "the server gave no reason" : text, sqlState: state ?? "XX000", sql: sql)
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        var text = String(cString: message)
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }
}

/// What the connection needs of a `postgresql://` URL, and C strings for libpq.
public enum PostgresURL {
    /// The URL without a password, for messages.
    public static func redacted(_ url: String) -> String { PostgresURLText.redacted(url) }

    static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
        withOptionalCStrings(strings.map { Optional($0) }) { pointers in
            body(pointers!)
        }
    }

    /// The strings as a NULL-terminated array of C strings (nil stays NULL), valid during `body`.
    static func withOptionalCStrings<T>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
        let copies = strings.map { $0.map { UnsafePointer(strdup($0)!) } } + [nil]
        defer { copies.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
        return copies.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// SQLite's SQL as PostgreSQL reads it: the one place the two dialects meet in the queries.
enum PostgresDialect {
    static func translate(_ sql: String) -> String {
        var output = ""
        let characters = Array(sql)
        var index = 0
        var nextParameter = 1
        while index < characters.count {
            let character = characters[index]
            if character == "'" {
                // A string literal, '' inside it included, copied as it is.
                var end = index + 1
                while end < characters.count {
                    if characters[end] == "'" {
                        if end + 1 < characters.count && characters[end + 1] == "'" { end += 2; continue }
                        break
                    }
                    end += 1
                }
                output += String(characters[index...min(end, characters.count - 1)])
                index = end + 1
                continue
            }
            if character == "-" && index + 1 < characters.count && characters[index + 1] == "-" {
                while index < characters.count && characters[index] != "\n" { output.append(characters[index]); index += 1 }
                continue
            }
            if character == "?" {
                var end = index + 1
                while end < characters.count, characters[end].isASCII, characters[end].isNumber { end += 1 }
                if end > index + 1 {
                    output += "$" + String(characters[(index + 1)..<end])
                } else {
                    output += "$\(nextParameter)"
                    nextParameter += 1
                }
                // `?1 IS NULL OR column = ?1`, the optional filter: PostgreSQL cannot tell the
                // type of a NULL it only tests, so it is given the filters' type, text.
                if String(characters[end..<min(end + 8, characters.count)]).uppercased() == " IS NULL" { output += "::text" }
                index = end
                continue
            }
            if character.isLetter || character == "_" {
                var end = index
                while end < characters.count, characters[end].isLetter || characters[end].isNumber || characters[end] == "_" { end += 1 }
                let word = String(characters[index..<end])
                output += word.lowercased() == "rowid" ? "seq" : word
                index = end
                continue
            }
            output.append(character)
            index += 1
        }
        return output
    }
}
