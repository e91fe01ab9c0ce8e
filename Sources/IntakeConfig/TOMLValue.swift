/// A parsed TOML value: what a key maps to once a document has been read.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    /// A static array, or an array of tables written with `[[name]]` headers.
    case array([TOMLValue])
    case table(TOMLTable)
}

/// A TOML table that keeps its keys in the order they were written and the line each was written on.
///
/// The line numbers exist so that a reader of the table can point at the file when it rejects a value.
/// Equality ignores key order and line numbers: two tables are equal when they hold the same keys
/// with equal values.
public struct TOMLTable: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// One key of a table with its value and the line that defined it (0 for tables built in code).
    public struct Entry: Sendable, Equatable {
        /// The key as written, unquoted.
        public let key: String
        /// The key's value; sub-tables and arrays of tables included.
        public let value: TOMLValue
        /// 1-based line of the key (for a table, of its header or first dotted key).
        public let line: Int
    }

    /// The table's entries in the order the document defined them.
    public private(set) var entries: [Entry] = []
    private var indexByKey: [String: Int] = [:]

    /// Creates an empty table.
    public init() {}

    /// Creates a table from literal key-value pairs, in the given order, with line 0.
    public init(dictionaryLiteral elements: (String, TOMLValue)...) {
        for (key, value) in elements {
            append(value, forKey: key, line: 0)
        }
    }

    /// The keys in the order the document defined them.
    public var keys: [String] { entries.map(\.key) }

    /// The number of keys.
    public var count: Int { entries.count }

    /// Whether the table has no keys.
    public var isEmpty: Bool { entries.isEmpty }

    /// The value stored under `key`, or nil when the table doesn't have it.
    public subscript(key: String) -> TOMLValue? {
        indexByKey[key].map { entries[$0].value }
    }

    /// The line on which `key` was defined, or nil when the table doesn't have it.
    public func line(of key: String) -> Int? {
        indexByKey[key].map { entries[$0].line }
    }

    /// Adds a key the table doesn't have yet; the parser has already rejected duplicates.
    mutating func append(_ value: TOMLValue, forKey key: String, line: Int) {
        precondition(indexByKey[key] == nil, "duplicate TOML key \(key)")
        indexByKey[key] = entries.count
        entries.append(Entry(key: key, value: value, line: line))
    }

    /// Same keys with equal values; order and line numbers don't matter.
    public static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool {
        lhs.count == rhs.count && lhs.entries.allSatisfy { rhs[$0.key] == $0.value }
    }
}

/// Why a TOML document could not be parsed, and where.
public struct TOMLError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file name given to the parser, repeated in the description so the message stands alone.
    public let fileName: String
    /// 1-based line of the problem.
    public let line: Int
    /// 1-based column of the problem, counted in Unicode scalars.
    public let column: Int
    /// What was wrong, usually what the parser expected and what it found.
    public let message: String

    /// Creates an error from its parts.
    public init(fileName: String, line: Int, column: Int, message: String) {
        self.fileName = fileName
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, the layout editors and terminals recognise.
    public var description: String { "\(fileName):\(line):\(column): \(message)" }
}

/// Rendering of keys and values the way a TOML file would spell them, for error messages.
package enum TOMLSyntax {
    /// Whether `byte` may appear in a bare (unquoted) key.
    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    /// A dotted key such as `daemon.workers`, quoting only the parts that need it.
    static func render(key parts: [String]) -> String {
        parts.map { part in
            !part.isEmpty && part.utf8.allSatisfy(isBareKeyByte) ? part : quoted(part)
        }.joined(separator: ".")
    }

    /// A basic string literal with the escapes TOML requires.
    package static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u" + hex(scalar.value, digits: 4)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// A value as it would appear in a file, e.g. `"lots"`, `12`, `[90, 45]`.
    static func render(value: TOMLValue) -> String {
        switch value {
        case .string(let string): quoted(string)
        case .integer(let integer): String(integer)
        case .float(let float): String(float)
        case .boolean(let boolean): String(boolean)
        case .array(let elements): "[" + elements.map(render(value:)).joined(separator: ", ") + "]"
        case .table: "a table"
        }
    }

    /// Upper-case hexadecimal, zero-padded to `digits`.
    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
