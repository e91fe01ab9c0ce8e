/// Comma-separated values as RFC 4180 defines them, read strictly: a file that breaks the rules
/// is refused with the line that breaks them, never guessed at. Every CSV intake reads — manual
/// readings, the corpus's labels and its manifest — goes through here.
///
/// Accepted: fields separated by commas; records ending in CRLF or LF (the last one may end
/// without); a field in double quotes may hold commas, line breaks and doubled quotes (`""`).
/// Refused: a quote inside a field that does not start with one, text after a closing quote, a
/// quote never closed, and (in ``table(_:)``) a record whose field count differs from the header's.
public enum CSV {
    /// One record and the line it starts on (1-based).
    public struct Record: Sendable, Equatable {
        public var fields: [String]
        public var line: Int
    }

    /// A header and the records under it, every one as wide as the header. Empty lines are skipped.
    public struct Table: Sendable {
        public var header: [String]
        public var rows: [Record]

        /// The index of the column named `name`, if the header has it.
        public func column(_ name: String) -> Int? { header.firstIndex(of: name) }
    }

    /// What is wrong with a CSV text, and on which line.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }

        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    /// The records of `text`; an empty line is a record of one empty field, as the RFC has it.
    public static func records(_ text: String) throws(CSV.Error) -> [Record] {
        var reader = Reader(text)
        var records: [Record] = []
        while let record = try reader.next() { records.append(record) }
        return records
    }

    /// The records of a text one at a time, for a file too large to hold as records all at once.
    /// It reads UTF-8 bytes: every character CSV gives a meaning to is ASCII, and no byte of
    /// another character's encoding is, so splitting bytes splits the text where its scalars would.
    public struct Reader {
        /// Where the reader is within the current field.
        private enum Place { case fieldStart, unquoted, quoted, afterClosingQuote }
        private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"),
            carriageReturn = UInt8(ascii: "\r")
        private let bytes: [UInt8]
        private var index = 0
        private var line = 1
        private var finished = false
        /// The field being read, kept to reuse its storage.
        private var field: [UInt8] = []

        public init(_ text: String) {
            bytes = Array(text.utf8)
        }

        /// Text already known to be UTF-8, read where it lies.
        public init(utf8 bytes: [UInt8]) {
            self.bytes = bytes
        }

        /// The next record, or nil after the last.
        public mutating func next() throws(CSV.Error) -> Record? {
            guard !finished else { return nil }
            var fields: [String] = []
            let start = line
            var place = Place.fieldStart
            var quoteLine = line

            func endField() {
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                place = .fieldStart
            }

            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                let nextByte = index < bytes.count ? bytes[index] : nil
                switch place {
                case .quoted:
                    if byte == Self.quote {
                        if nextByte == Self.quote {
                            index += 1
                            field.append(Self.quote)
                        } else {
                            place = .afterClosingQuote
                        }
                    } else {
                        if byte == Self.newline { line += 1 }
                        field.append(byte)
                    }
                case .fieldStart, .unquoted, .afterClosingQuote:
                    switch byte {
                    case Self.comma:
                        endField()
                    case Self.newline:
                        endField()
                        line += 1
                        return Record(fields: fields, line: start)
                    case Self.carriageReturn where nextByte == Self.newline:
                        break  // the CR of a CRLF
                    case Self.quote where place == .fieldStart:
                        place = .quoted
                        quoteLine = line
                    case Self.quote:
                        throw Error(line: line, message: "a quote inside a field that does not start with one (quote the whole field and double the quote: \"\"\"\")")
                    default:
                        if place == .afterClosingQuote {
                            throw Error(line: line, message: "text after a closing quote (a quote inside a quoted field is written \"\")")
                        }
                        field.append(byte)
                        place = .unquoted
                    }
                }
            }
            finished = true
            if place == .quoted { throw Error(line: quoteLine, message: "a quote opened here is never closed") }
            // The last record may end without a line break; a text ending in one has no record after it.
            guard place != .fieldStart || !field.isEmpty || !fields.isEmpty else { return nil }
            endField()
            return Record(fields: fields, line: start)
        }
    }

    /// `text` as one field of a record written out: quoted (with quotes doubled) when it must be.
    /// By Unicode scalar, as a reader splits: as Characters, a CRLF is one that is neither "\r"
    /// nor "\n", and a quote or comma with a combining mark on it is neither, so such a field went
    /// out unquoted and split into columns of its own.
    public static func field(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        var out = String.UnicodeScalarView()
        out.append("\"")
        for scalar in text.unicodeScalars {
            out.append(scalar)
            if scalar == "\"" { out.append("\"") }
        }
        out.append("\"")
        return String(out)
    }

    /// The header (first record, trimmed) and the records under it. A record of a different width
    /// than the header is an error naming its line; empty lines are skipped.
    public static func table(_ text: String) throws(CSV.Error) -> Table {
        var reader = try TableReader(text)
        var rows: [Record] = []
        while let row = try reader.next() { rows.append(row) }
        return Table(header: reader.header, rows: rows)
    }

    /// A header and the records under it one at a time, with ``table(_:)``'s checks.
    public struct TableReader {
        public let header: [String]
        private var records: Reader

        public init(_ text: String) throws(CSV.Error) {
            try self.init(records: Reader(text))
        }

        /// Text already known to be UTF-8, read where it lies.
        public init(utf8 bytes: [UInt8]) throws(CSV.Error) {
            try self.init(records: Reader(utf8: bytes))
        }

        private init(records: Reader) throws(CSV.Error) {
            var records = records
            guard let first = try records.next() else { throw Error(line: 1, message: "the file is empty: it needs a header row") }
            header = first.fields.map(\.trimmedWhitespace)
            self.records = records
        }

        /// The next record as wide as the header, or nil after the last.
        public mutating func next() throws(CSV.Error) -> Record? {
            while let record = try records.next() {
                if record.fields.count == 1 && record.fields[0].trimmedWhitespace.isEmpty { continue }
                guard record.fields.count == header.count else {
                    throw Error(line: record.line, message: "\(record.fields.count) fields, the header has \(header.count)")
                }
                return record
            }
            return nil
        }
    }
}

extension String {
    /// Without leading and trailing whitespace.
    public var trimmedWhitespace: String {
        // Most text has nothing to trim, and a byte below 0x80 at either end that is not a space
        // settles that without breaking the text into Characters (a whitespace Character neither
        // starts nor ends with such a byte).
        if let first = utf8.first, let last = utf8.last, first < 0x80, last < 0x80,
            !Self.isASCIISpace(first), !Self.isASCIISpace(last) {
            return self
        }
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }

    /// The ASCII bytes `Character.isWhitespace` holds to be whitespace: tab to carriage return, and space.
    private static func isASCIISpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
}
