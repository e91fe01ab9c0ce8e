import IntakeCore

/// One result row, read column by column (0-based, in select-list order), whichever engine gave
/// it. The accessors convert as SQLite does between its kinds, so a reader written once works on
/// both: an integer read as text is its digits, text read as a number is parsed.
struct Row {
    let values: [SQLValue]
    let columns: [String]
    /// The statement it came from, for error messages.
    let sql: String

    func isNull(_ column: Int32) -> Bool { values[Int(column)] == .null }

    func value(_ column: Int32) -> SQLValue { values[Int(column)] }

    func columnName(_ column: Int32) -> String { Int(column) < columns.count ? columns[Int(column)] : "column\(column + 1)" }

    func text(_ column: Int32) -> String? {
        switch values[Int(column)] {
        case .null: nil
        case .text(let text): text
        case .integer(let integer): String(integer)
        case .real(let real): String(real)
        case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }

    func int64(_ column: Int32) -> Int64? {
        switch values[Int(column)] {
        case .null: nil
        case .integer(let integer): integer
        case .real(let real): Int64(exactly: real.rounded(.towardZero)) ?? 0
        case .text(let text): Int64(text) ?? Double(text).flatMap { Int64(exactly: $0.rounded(.towardZero)) } ?? 0
        case .blob: 0
        }
    }

    func int(_ column: Int32) -> Int? { int64(column).map { Int($0) } }

    func double(_ column: Int32) -> Double? {
        switch values[Int(column)] {
        case .null: nil
        case .integer(let integer): Double(integer)
        case .real(let real): real
        case .text(let text): Double(text) ?? 0
        case .blob: 0
        }
    }

    /// A column the schema declares NOT NULL; NULL there means the data was edited by hand or is damaged.
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
            throw StoreError("column \(columnName(column)) holds \"\(text)\", not a time like 2026-11-21T14:25:21.123Z", sql: sql)
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
            throw StoreError("column \(columnName(column)) holds unknown value \"\(text)\"", sql: sql)
        }
        return value
    }

    private func missing(_ column: Int32) -> StoreError {
        StoreError("column \(columnName(column)) is NULL", sql: sql)
    }
}
