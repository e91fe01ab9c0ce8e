import IntakeCore
/// One SQLite value, as bound to a statement or read from a result column.
///
/// SQLite stores five kinds of value; this is all of them, so `Database.query` can hand back any row
/// without guessing a Swift type.
public enum SQLValue: Sendable, Equatable, Hashable {
    /// SQL NULL.
    case null
    /// A 64-bit signed integer.
    case integer(Int64)
    /// An IEEE double.
    case real(Double)
    /// UTF-8 text.
    case text(String)
    /// Raw bytes.
    case blob([UInt8])
}

extension SQLValue {
    /// The text, or nil when the value is anything else.
    public var textValue: String? {
        if case .text(let text) = self { text } else { nil }
    }

    /// The integer, or nil when the value is anything else.
    public var integerValue: Int64? {
        if case .integer(let integer) = self { integer } else { nil }
    }

    /// The number as a Double, from an integer or a real; nil otherwise.
    public var realValue: Double? {
        switch self {
        case .real(let real): real
        case .integer(let integer): Double(integer)
        default: nil
        }
    }

    // Binding helpers: a Swift optional becomes NULL when nil, so call sites stay one line per column.

    public init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }
    public init(_ integer: Int?) { self = integer.map { .integer(Int64($0)) } ?? .null }
    public init(_ integer: Int64?) { self = integer.map(SQLValue.integer) ?? .null }
    public init(_ real: Double?) { self = real.map(SQLValue.real) ?? .null }
    init(timestamp milliseconds: Int64?) { self = milliseconds.map { .text(Timestamp.string(fromMilliseconds: $0)) } ?? .null }
}
