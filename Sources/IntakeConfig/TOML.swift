/// Reads the subset of TOML that configuration files need, strictly.
///
/// Supported: comments, bare/quoted/dotted keys, `[table]` and `[[array.of.tables]]` headers,
/// basic, literal and multi-line strings, integers (decimal, `0x`, `0o`, `0b`, `_` separators),
/// floats (including `inf` and `nan`), booleans, arrays and inline tables.
/// Dates and times are rejected with a message asking for a quoted string instead.
/// Inline tables may span lines and end with a comma, as TOML 1.1 allows.
public enum TOML {
    /// Parses a whole document into its root table, or throws the first problem with its position.
    /// - Parameter fileName: used only to label error messages.
    public static func parse(_ text: String, fileName: String) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(text: text, fileName: fileName)
        return try parser.parseDocument()
    }
}

/// A table under construction. A class, because headers and dotted keys keep descending into
/// tables that are already stored in their parents.
private final class TableBuilder {
    /// How a table came to exist; TOML lets only some of them be extended later.
    enum Origin {
        /// Created as a parent of a header (`a` in `[a.b]`); may still get its own `[a]` header once.
        case implicit
        /// Defined by its own `[header]` or `[[header]]`.
        case header
        /// Created by a dotted key (`a.b = 1`); closed to headers, open to more dotted keys.
        case dottedKey
    }

    enum Content {
        /// Any value, inline tables included: they are complete as written and can't be extended.
        case value(TOMLValue)
        case table(TableBuilder)
        case tableArray([TableBuilder])
    }

    struct Slot {
        var content: Content
        let line: Int
    }

    var origin: Origin
    let line: Int
    private(set) var keys: [String] = []
    private(set) var slots: [String: Slot] = [:]

    init(origin: Origin, line: Int) {
        self.origin = origin
        self.line = line
    }

    func insert(_ content: Content, forKey key: String, line: Int) {
        if slots[key] == nil { keys.append(key) }
        slots[key] = Slot(content: content, line: slots[key]?.line ?? line)
    }

    func build() -> TOMLTable {
        var table = TOMLTable()
        for key in keys {
            guard let slot = slots[key] else { continue }
            let value: TOMLValue =
                switch slot.content {
                case .value(let value): value
                case .table(let child): .table(child.build())
                case .tableArray(let children): .array(children.map { .table($0.build()) })
                }
            table.append(value, forKey: key, line: slot.line)
        }
        return table
    }
}

/// Where something was written: its line, 1-based, and byte offsets. Its column is counted only
/// when an error names it: counting it for every key and value made a long line quadratic to
/// read (a 400 KB line took 37 s).
private struct Location {
    let line: Int
    /// Byte offsets of the line's start and of the place itself.
    let lineStart: Int, position: Int
}

/// One part of a dotted key, with where it was written.
private struct KeyPart {
    let name: String
    let location: Location
}

/// A recursive-descent parser over the document's UTF-8 bytes.
private struct TOMLParser {
    private let bytes: [UInt8]
    private let fileName: String
    private var position = 0
    private var line = 1
    private var lineStart = 0
    private let root = TableBuilder(origin: .header, line: 0)
    /// The table that key-value lines go into: the root, or the last header's table.
    private var current: TableBuilder
    private var currentPath: [String] = []

    init(text: String, fileName: String) {
        var bytes = Array(text.utf8)
        // A byte-order mark is invisible in editors; tolerate it rather than report a stray character.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        self.bytes = bytes
        self.fileName = fileName
        self.current = root
    }

    mutating func parseDocument() throws(TOMLError) -> TOMLTable {
        while true {
            skipSpaces()
            guard let byte = peek() else { break }
            switch byte {
            case UInt8(ascii: "#"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                try finishLine(after: "comment")
            case UInt8(ascii: "["):
                try parseHeader()
            default:
                let key = try parseKeyValue(into: current, tablePath: currentPath)
                try finishLine(after: "the value of \(quote(key))")
            }
        }
        return root.build()
    }

    // MARK: Headers and key-value pairs

    private mutating func parseHeader() throws(TOMLError) {
        advance()  // [
        let isArrayOfTables = peek() == UInt8(ascii: "[")
        if isArrayOfTables { advance() }
        let key = try parseKey(expecting: "a table name")
        let names = key.map(\.name)
        let spelled = TOMLSyntax.render(key: names)
        skipSpaces()
        if isArrayOfTables {
            guard peek() == UInt8(ascii: "]"), peek(at: 1) == UInt8(ascii: "]") else {
                throw error("expected ']]' to close [[\(spelled)]], found \(describeNext())")
            }
            advance()
            advance()
        } else {
            guard peek() == UInt8(ascii: "]") else {
                throw error("expected ']' to close [\(spelled)], found \(describeNext())")
            }
            advance()
        }

        var table = root
        var path: [String] = []
        for part in key.dropLast() {
            path.append(part.name)
            if let slot = table.slots[part.name] {
                switch slot.content {
                case .table(let child):
                    table = child
                case .tableArray(let children):
                    // A header below an array of tables extends its most recent element.
                    table = children[children.count - 1]
                case .value(.table):
                    throw error("can't add to \(quote(path)): it is an inline table (line \(slot.line))", at: part.location)
                case .value:
                    throw error("\(quote(path)) already has a value (line \(slot.line)), so it can't be a table", at: part.location)
                }
            } else {
                let child = TableBuilder(origin: .implicit, line: part.location.line)
                table.insert(.table(child), forKey: part.name, line: part.location.line)
                table = child
            }
        }

        let last = key[key.count - 1]
        path.append(last.name)
        let defined: TableBuilder
        if isArrayOfTables {
            defined = try appendTableArrayElement(named: last, in: table, path: path)
        } else {
            defined = try defineTable(named: last, in: table, path: path)
        }
        current = defined
        currentPath = path
        try finishLine(after: isArrayOfTables ? "[[\(spelled)]]" : "[\(spelled)]")
    }

    private func defineTable(named part: KeyPart, in parent: TableBuilder, path: [String]) throws(TOMLError) -> TableBuilder {
        let spelled = TOMLSyntax.render(key: path)
        guard let slot = parent.slots[part.name] else {
            let table = TableBuilder(origin: .header, line: part.location.line)
            parent.insert(.table(table), forKey: part.name, line: part.location.line)
            return table
        }
        switch slot.content {
        case .table(let existing) where existing.origin == .implicit:
            existing.origin = .header
            return existing
        case .table(let existing) where existing.origin == .header:
            throw error("table [\(spelled)] is defined twice (first at line \(existing.line))", at: part.location)
        case .table(let existing):
            throw error("table [\(spelled)] was already defined by dotted keys at line \(existing.line)", at: part.location)
        case .tableArray:
            throw error("\(quote(path)) is an array of tables (line \(slot.line)); use [[\(spelled)]] to add an element", at: part.location)
        case .value(.table):
            throw error("table [\(spelled)] was already defined as an inline table at line \(slot.line)", at: part.location)
        case .value:
            throw error("\(quote(path)) already has a value (line \(slot.line)), so it can't be a table", at: part.location)
        }
    }

    private func appendTableArrayElement(named part: KeyPart, in parent: TableBuilder, path: [String]) throws(TOMLError) -> TableBuilder {
        let element = TableBuilder(origin: .header, line: part.location.line)
        guard let slot = parent.slots[part.name] else {
            parent.insert(.tableArray([element]), forKey: part.name, line: part.location.line)
            return element
        }
        switch slot.content {
        case .tableArray(let elements):
            parent.insert(.tableArray(elements + [element]), forKey: part.name, line: slot.line)
            return element
        case .value(.array):
            throw error("\(quote(path)) is a static array (line \(slot.line)); [[\(TOMLSyntax.render(key: path))]] can't add to it", at: part.location)
        case .value, .table:
            throw error("\(quote(path)) is already defined (line \(slot.line)), so it can't be an array of tables", at: part.location)
        }
    }

    /// Parses `key = value` and stores it; returns the key's parts for messages about the rest of the line.
    private mutating func parseKeyValue(into table: TableBuilder, tablePath: [String]) throws(TOMLError) -> [String] {
        let key = try parseKey(expecting: "a key")
        let names = key.map(\.name)
        skipSpaces()
        guard peek() == UInt8(ascii: "=") else {
            throw error("expected '=' after key \(quote(names)), found \(describeNext())")
        }
        advance()
        skipSpaces()
        let value = try parseValue(path: tablePath + names)
        try store(value, at: key, in: table, tablePath: tablePath)
        return names
    }

    private func store(_ value: TOMLValue, at key: [KeyPart], in table: TableBuilder, tablePath: [String]) throws(TOMLError) {
        var table = table
        var path = tablePath
        for part in key.dropLast() {
            path.append(part.name)
            if let slot = table.slots[part.name] {
                switch slot.content {
                case .table(let child) where child.origin == .dottedKey:
                    table = child
                case .table(let child) where child.origin == .implicit:
                    // Only a parent of headers so far; from now on it belongs to dotted keys.
                    child.origin = .dottedKey
                    table = child
                case .table(let child):
                    throw error("can't add to table [\(TOMLSyntax.render(key: path))] with a dotted key: its header is at line \(child.line)", at: part.location)
                case .tableArray:
                    throw error("can't add to \(quote(path)) with a dotted key: it is an array of tables (line \(slot.line))", at: part.location)
                case .value(.table):
                    throw error("can't add to \(quote(path)): it is an inline table (line \(slot.line))", at: part.location)
                case .value:
                    throw error("\(quote(path)) already has a value (line \(slot.line)), so it can't be a table", at: part.location)
                }
            } else {
                let child = TableBuilder(origin: .dottedKey, line: part.location.line)
                table.insert(.table(child), forKey: part.name, line: part.location.line)
                table = child
            }
        }
        let last = key[key.count - 1]
        path.append(last.name)
        if let slot = table.slots[last.name] {
            throw error("duplicate key \(quote(path)) (first defined at line \(slot.line))", at: last.location)
        }
        table.insert(.value(value), forKey: last.name, line: last.location.line)
    }

    /// Parses a possibly dotted key: `name`, `"quoted name"`, `'literal'`, `a.b.c`.
    private mutating func parseKey(expecting expected: String) throws(TOMLError) -> [KeyPart] {
        var parts: [KeyPart] = []
        var expected = expected
        while true {
            skipSpaces()
            let location = currentLocation
            guard let byte = peek() else { throw error("expected \(expected), found end of file") }
            let name: String
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                if peek(at: 1) == byte, peek(at: 2) == byte {
                    throw error("a key can't be a multi-line string")
                }
                name = byte == UInt8(ascii: "\"") ? try parseBasicString() : try parseLiteralString()
            } else if TOMLSyntax.isBareKeyByte(byte) {
                let start = position
                while let next = peek(), TOMLSyntax.isBareKeyByte(next) { advance() }
                name = String(decoding: bytes[start..<position], as: UTF8.self)
            } else {
                throw error("expected \(expected), found \(describeNext())")
            }
            parts.append(KeyPart(name: name, location: location))
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { return parts }
            advance()
            expected = "a key after '.'"
        }
    }

    // MARK: Values

    /// Parses the value that starts here; `path` is the full key it belongs to, for inline tables.
    private mutating func parseValue(path: [String]) throws(TOMLError) -> TOMLValue {
        switch peek() {
        case UInt8(ascii: "\""):
            if peek(at: 1) == UInt8(ascii: "\""), peek(at: 2) == UInt8(ascii: "\"") {
                return .string(try parseMultiLineString(literal: false))
            }
            return .string(try parseBasicString())
        case UInt8(ascii: "'"):
            if peek(at: 1) == UInt8(ascii: "'"), peek(at: 2) == UInt8(ascii: "'") {
                return .string(try parseMultiLineString(literal: true))
            }
            return .string(try parseLiteralString())
        case UInt8(ascii: "["):
            return try parseArray(path: path)
        case UInt8(ascii: "{"):
            return try parseInlineTable(path: path)
        default:
            return try parseBareValue()
        }
    }

    private mutating func parseArray(path: [String]) throws(TOMLError) -> TOMLValue {
        let opening = currentLocation
        try enterNesting()
        defer { nesting -= 1 }
        advance()  // [
        var elements: [TOMLValue] = []
        while true {
            try skipBlankLinesAndComments()
            guard let byte = peek() else {
                throw error("unterminated array: missing ']' for the '[' at line \(opening.line)", at: opening)
            }
            if byte == UInt8(ascii: "]") {
                advance()
                return .array(elements)
            }
            elements.append(try parseValue(path: path))
            try skipBlankLinesAndComments()
            switch peek() {
            case UInt8(ascii: ","):
                advance()
            case UInt8(ascii: "]"):
                advance()
                return .array(elements)
            case nil:
                throw error("unterminated array: missing ']' for the '[' at line \(opening.line)", at: opening)
            default:
                throw error("expected ',' or ']' after an array element, found \(describeNext())")
            }
        }
    }

    private mutating func parseInlineTable(path: [String]) throws(TOMLError) -> TOMLValue {
        let opening = currentLocation
        try enterNesting()
        defer { nesting -= 1 }
        advance()  // {
        // Keys inside follow dotted-key rules; the finished table is stored as a value, which seals it.
        let table = TableBuilder(origin: .dottedKey, line: opening.line)
        while true {
            try skipBlankLinesAndComments()
            guard let byte = peek() else {
                throw error("unterminated inline table: missing '}' for the '{' at line \(opening.line)", at: opening)
            }
            if byte == UInt8(ascii: "}") {
                advance()
                return .table(table.build())
            }
            _ = try parseKeyValue(into: table, tablePath: path)
            try skipBlankLinesAndComments()
            switch peek() {
            case UInt8(ascii: ","):
                advance()
            case UInt8(ascii: "}"):
                advance()
                return .table(table.build())
            case nil:
                throw error("unterminated inline table: missing '}' for the '{' at line \(opening.line)", at: opening)
            default:
                throw error("expected ',' or '}' after an inline table entry, found \(describeNext())")
            }
        }
    }

    /// How many arrays and inline tables the value being read is inside.
    private var nesting = 0
    /// Deeper than any configuration needs, and far from the stack's end: each level is a few
    /// frames of recursion, and 20,000 levels ended the process (a reload killed the daemon).
    static let maximumNesting = 64

    private mutating func enterNesting() throws(TOMLError) {
        guard nesting < Self.maximumNesting else {
            throw error("arrays and inline tables nest more than \(Self.maximumNesting) deep here")
        }
        nesting += 1
    }

    /// Booleans, numbers, and the unquoted words people write by mistake.
    private mutating func parseBareValue() throws(TOMLError) -> TOMLValue {
        let start = position
        let location = currentLocation
        while let byte = peek(), !Self.endsBareValue(byte) { advance() }
        let token = Array(bytes[start..<position])
        let text = String(decoding: token, as: UTF8.self)
        if token.isEmpty {
            throw error("expected a value, found \(describeNext())")
        }
        switch text {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        if Self.looksLikeDateOrTime(token) {
            throw error("dates and times are not supported; quote the value: \(TOMLSyntax.quoted(text))", at: location)
        }
        let first = token[0]
        if Self.isDigit(first) || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: ".") {
            return try parseNumber(token, at: location)
        }
        throw error(
            "expected a value (string, number, boolean, array or inline table), found \(text); strings need quotes",
            at: location)
    }

    private func parseNumber(_ token: [UInt8], at location: Location) throws(TOMLError) -> TOMLValue {
        let text = String(decoding: token, as: UTF8.self)
        func invalid(_ reason: String) -> TOMLError {
            error("invalid number \(text): \(reason)", at: location)
        }
        var index = 0
        var sign = ""
        if token[0] == UInt8(ascii: "+") || token[0] == UInt8(ascii: "-") {
            sign = token[0] == UInt8(ascii: "-") ? "-" : ""
            index = 1
        }

        // 0x, 0o, 0b prefixes
        if token.count >= index + 2, token[index] == UInt8(ascii: "0"),
            let radix = Self.radix(forPrefix: token[index + 1])
        {
            guard index == 0 else { throw invalid("hexadecimal, octal and binary integers can't have a sign") }
            let digits = Array(token[2...])
            guard digits.allSatisfy({ $0 == UInt8(ascii: "_") || Self.isDigit($0, radix: radix) }) else {
                throw invalid("not a base-\(radix) integer")
            }
            let cleaned = try digitsWithoutUnderscores(digits, invalid: invalid)
            guard let value = Int(cleaned, radix: radix) else { throw invalid("out of range for a 64-bit integer") }
            return .integer(value)
        }

        func scanDigits() -> [UInt8] {
            let start = index
            while index < token.count, Self.isDigit(token[index]) || token[index] == UInt8(ascii: "_") { index += 1 }
            return Array(token[start..<index])
        }

        let integerPart = scanDigits()
        guard !integerPart.isEmpty else { throw invalid("a number must start with a digit") }
        let integerDigits = try digitsWithoutUnderscores(integerPart, invalid: invalid)
        if integerDigits.count > 1, integerDigits.first == "0" {
            throw invalid("leading zeros are not allowed")
        }
        var normalized = sign + integerDigits
        var isFloat = false

        if index < token.count, token[index] == UInt8(ascii: ".") {
            index += 1
            let fraction = scanDigits()
            guard !fraction.isEmpty else { throw invalid("a decimal point must be followed by digits") }
            normalized += "." + (try digitsWithoutUnderscores(fraction, invalid: invalid))
            isFloat = true
        }
        if index < token.count, token[index] == UInt8(ascii: "e") || token[index] == UInt8(ascii: "E") {
            index += 1
            var exponentSign = ""
            if index < token.count, token[index] == UInt8(ascii: "+") || token[index] == UInt8(ascii: "-") {
                exponentSign = token[index] == UInt8(ascii: "-") ? "-" : ""
                index += 1
            }
            let exponent = scanDigits()
            guard !exponent.isEmpty else { throw invalid("the exponent needs digits") }
            normalized += "e" + exponentSign + (try digitsWithoutUnderscores(exponent, invalid: invalid))
            isFloat = true
        }
        guard index == token.count else { throw invalid("unexpected \(Self.describe(byte: token[index]))") }

        if isFloat {
            guard let value = Double(normalized), value.isFinite else { throw invalid("out of range for a float") }
            return .float(value)
        }
        guard let value = Int(normalized) else { throw invalid("out of range for a 64-bit integer") }
        return .integer(value)
    }

    /// Digits with their `_` separators removed, after checking each `_` sits between two digits.
    private func digitsWithoutUnderscores(
        _ digits: [UInt8], invalid: (String) -> TOMLError
    ) throws(TOMLError) -> String {
        let underscore = UInt8(ascii: "_")
        guard !digits.isEmpty else { throw invalid("expected digits") }
        for (offset, byte) in digits.enumerated() where byte == underscore {
            let isBetweenDigits = offset > 0 && offset < digits.count - 1 && digits[offset - 1] != underscore && digits[offset + 1] != underscore
            guard isBetweenDigits else { throw invalid("each '_' must sit between two digits") }
        }
        return String(decoding: digits.filter { $0 != underscore }, as: UTF8.self)
    }

    // MARK: Strings

    /// `"..."` on one line, with escapes.
    private mutating func parseBasicString() throws(TOMLError) -> String {
        let opening = currentLocation
        advance()  // "
        var content: [UInt8] = []
        while true {
            guard let byte = peek(), byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") else {
                throw error("unterminated string: missing closing '\"' before the end of the line", at: opening)
            }
            switch byte {
            case UInt8(ascii: "\""):
                advance()
                return String(decoding: content, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &content, allowLineContinuation: false)
            default:
                try checkNotControl(byte, in: "a string")
                content.append(byte)
                advance()
            }
        }
    }

    /// `'...'` on one line, taken verbatim.
    private mutating func parseLiteralString() throws(TOMLError) -> String {
        let opening = currentLocation
        advance()  // '
        var content: [UInt8] = []
        while true {
            guard let byte = peek(), byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") else {
                throw error("unterminated string: missing closing \"'\" before the end of the line", at: opening)
            }
            advance()
            if byte == UInt8(ascii: "'") { return String(decoding: content, as: UTF8.self) }
            try checkNotControl(byte, in: "a string")
            content.append(byte)
        }
    }

    /// `"""..."""` or `'''...'''`; line endings become `\n`.
    private mutating func parseMultiLineString(literal: Bool) throws(TOMLError) -> String {
        let opening = currentLocation
        let quote = literal ? UInt8(ascii: "'") : UInt8(ascii: "\"")
        advance()
        advance()
        advance()
        // A newline right after the opening delimiter is not part of the string.
        if peek() == UInt8(ascii: "\n") {
            advance()
        } else if peek() == UInt8(ascii: "\r"), peek(at: 1) == UInt8(ascii: "\n") {
            advance()
            advance()
        }
        var content: [UInt8] = []
        while true {
            guard let byte = peek() else {
                let delimiter = literal ? "'''" : "\"\"\""
                throw error("unterminated multi-line string: missing closing \(delimiter)", at: opening)
            }
            switch byte {
            case quote:
                var run = 0
                while peek(at: run) == quote { run += 1 }
                for _ in 0..<run { advance() }
                if run >= 3 {
                    // Up to two quotes may sit just inside the closing delimiter.
                    guard run <= 5 else { throw error("too many quotes at the end of a multi-line string") }
                    content.append(contentsOf: repeatElement(quote, count: run - 3))
                    return String(decoding: content, as: UTF8.self)
                }
                content.append(contentsOf: repeatElement(quote, count: run))
            case UInt8(ascii: "\\") where !literal:
                try parseEscape(into: &content, allowLineContinuation: true)
            case UInt8(ascii: "\n"):
                content.append(byte)
                advance()
            case UInt8(ascii: "\r"):
                try consumeNewline()
                content.append(UInt8(ascii: "\n"))
            default:
                try checkNotControl(byte, in: "a string")
                content.append(byte)
                advance()
            }
        }
    }

    /// Parses the escape at the backslash and appends what it stands for.
    private mutating func parseEscape(into content: inout [UInt8], allowLineContinuation: Bool) throws(TOMLError) {
        let location = currentLocation
        advance()  // \
        guard let byte = peek() else { throw error("unterminated string", at: location) }
        let simple: UInt8? =
            switch byte {
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "t"): 0x09
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "\""): UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): UInt8(ascii: "\\")
            default: nil
            }
        if let simple {
            advance()
            content.append(simple)
            return
        }
        if byte == UInt8(ascii: "u") || byte == UInt8(ascii: "U") {
            advance()
            let length = byte == UInt8(ascii: "u") ? 4 : 8
            var value: UInt32 = 0
            for _ in 0..<length {
                guard let digit = peek(), let digitValue = Self.hexValue(digit) else {
                    throw error("\\\(Character(Unicode.Scalar(byte))) needs exactly \(length) hexadecimal digits", at: location)
                }
                value = value << 4 | UInt32(digitValue)
                advance()
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw error("escape U+\(TOMLSyntax.hex(value, digits: 4)) is not a Unicode scalar value", at: location)
            }
            UTF8.encode(scalar) { content.append($0) }
            return
        }
        if allowLineContinuation, Self.isSpaceOrTab(byte) || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
            // A backslash ending a line drops the line break and the whitespace that follows it.
            var lookahead = 0
            while let next = peek(at: lookahead), Self.isSpaceOrTab(next) { lookahead += 1 }
            if let next = peek(at: lookahead), next == UInt8(ascii: "\n") || next == UInt8(ascii: "\r") {
                while let next = peek(), Self.isSpaceOrTab(next) || next == UInt8(ascii: "\n") || next == UInt8(ascii: "\r") {
                    if next == UInt8(ascii: "\r") { try consumeNewline() } else { advance() }
                }
                return
            }
        }
        throw error(
            "invalid escape '\\\(describeScalar(at: position))'; valid escapes are \\\" \\\\ \\b \\f \\n \\r \\t \\uXXXX \\UXXXXXXXX",
            at: location)
    }

    // MARK: Whitespace, comments, line ends

    /// After a complete statement: optional spaces and comment, then a line break or the end of the file.
    private mutating func finishLine(after statement: String) throws(TOMLError) {
        skipSpaces()
        if peek() == UInt8(ascii: "#") { try skipComment() }
        guard let byte = peek() else { return }
        guard byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") else {
            throw error("expected the end of the line after \(statement), found \(describeNext())")
        }
        try consumeNewline()
    }

    /// Inside arrays and inline tables, where values may continue on later lines.
    private mutating func skipBlankLinesAndComments() throws(TOMLError) {
        while true {
            skipSpaces()
            switch peek() {
            case UInt8(ascii: "#"): try skipComment()
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"): try consumeNewline()
            default: return
            }
        }
    }

    private mutating func skipComment() throws(TOMLError) {
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            if byte == UInt8(ascii: "\r"), peek(at: 1) == UInt8(ascii: "\n") { return }
            try checkNotControl(byte, in: "a comment")
            advance()
        }
    }

    private mutating func skipSpaces() {
        while let byte = peek(), Self.isSpaceOrTab(byte) { advance() }
    }

    /// Consumes `\n` or `\r\n`; a lone carriage return is not a line ending in TOML.
    private mutating func consumeNewline() throws(TOMLError) {
        if peek() == UInt8(ascii: "\r") {
            guard peek(at: 1) == UInt8(ascii: "\n") else { throw error("a carriage return must be followed by a line feed") }
            advance()
        }
        advance()
    }

    private func checkNotControl(_ byte: UInt8, in context: String) throws(TOMLError) {
        if (byte < 0x20 && byte != 0x09) || byte == 0x7F {
            throw error("control character U+\(TOMLSyntax.hex(UInt32(byte), digits: 4)) is not allowed in \(context); escape it")
        }
    }

    // MARK: Cursor

    private func peek(at offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    private mutating func advance() {
        guard position < bytes.count else { return }
        if bytes[position] == UInt8(ascii: "\n") {
            line += 1
            lineStart = position + 1
        }
        position += 1
    }

    private var currentLocation: Location { Location(line: line, lineStart: lineStart, position: position) }

    // MARK: Errors

    private func error(_ message: String, at location: Location? = nil) -> TOMLError {
        let location = location ?? currentLocation
        // Columns count Unicode scalars, so skip UTF-8 continuation bytes.
        let column = bytes[location.lineStart..<location.position].lazy.filter { $0 & 0xC0 != 0x80 }.count + 1
        return TOMLError(fileName: fileName, line: location.line, column: column, message: message)
    }

    private func quote(_ key: [String]) -> String {
        "\"" + TOMLSyntax.render(key: key) + "\""
    }

    /// What the cursor is looking at, for "expected X, found Y".
    private func describeNext() -> String {
        guard let byte = peek() else { return "end of file" }
        if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return "end of line" }
        return "'\(describeScalar(at: position))'"
    }

    private func describeScalar(at index: Int) -> String {
        guard index < bytes.count else { return "" }
        let byte = bytes[index]
        if byte < 0x20 || byte == 0x7F { return "U+" + TOMLSyntax.hex(UInt32(byte), digits: 4) }
        let end = min(index + 4, bytes.count)
        return String(String(decoding: bytes[index..<end], as: UTF8.self).unicodeScalars.first ?? "?")
    }

    private static func describe(byte: UInt8) -> String {
        byte < 0x80 && byte >= 0x20 ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(TOMLSyntax.hex(UInt32(byte), digits: 2))"
    }

    // MARK: Byte classes

    private static func isSpaceOrTab(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    private static func isDigit(_ byte: UInt8, radix: Int = 10) -> Bool {
        guard let value = hexValue(byte) else { return false }
        return value < radix
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    private static func radix(forPrefix byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "x"): 16
        case UInt8(ascii: "o"): 8
        case UInt8(ascii: "b"): 2
        default: nil
        }
    }

    /// Where an unquoted value stops: whitespace, a separator, a closing bracket or a comment.
    private static func endsBareValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"),
            UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"):
            true
        default:
            false
        }
    }

    /// `1979-05-27…` or `07:32…`: what a TOML date or time starts with.
    private static func looksLikeDateOrTime(_ token: [UInt8]) -> Bool {
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= token.count && token[range].allSatisfy { isDigit($0) }
        }
        let isDate = digits(0..<4) && token.count > 4 && token[4] == UInt8(ascii: "-")
        let isTime = digits(0..<2) && token.count > 2 && token[2] == UInt8(ascii: ":")
        return isDate || isTime
    }
}
