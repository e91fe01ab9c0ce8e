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
        var records: [Record] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var line = 1, start = 1
        /// Where the reader is within the current field.
        enum Place { case fieldStart, unquoted, quoted, afterClosingQuote }
        var place = Place.fieldStart
        var quoteLine = 1
        var scalars = text.unicodeScalars[...]

        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            place = .fieldStart
        }
        func endRecord() {
            endField()
            records.append(Record(fields: fields, line: start))
            fields = []
        }

        while let scalar = scalars.popFirst() {
            switch place {
            case .quoted:
                if scalar == "\"" {
                    if scalars.first == "\"" {
                        scalars.removeFirst()
                        field.append("\"")
                    } else {
                        place = .afterClosingQuote
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.append(scalar)
                }
            case .fieldStart, .unquoted, .afterClosingQuote:
                switch scalar {
                case ",":
                    endField()
                case "\n":
                    endRecord()
                    line += 1
                    start = line
                case "\r" where scalars.first == "\n":
                    break  // the CR of a CRLF
                case "\"" where place == .fieldStart:
                    place = .quoted
                    quoteLine = line
                case "\"":
                    throw Error(line: line, message: "a quote inside a field that does not start with one (quote the whole field and double the quote: \"\"\"\")")
                default:
                    if place == .afterClosingQuote {
                        throw Error(line: line, message: "text after a closing quote (a quote inside a quoted field is written \"\")")
                    }
                    field.append(scalar)
                    place = .unquoted
                }
            }
        }
        if place == .quoted { throw Error(line: quoteLine, message: "a quote opened here is never closed") }
        if place != .fieldStart || !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
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
        var records = try records(text)[...]
        guard let first = records.popFirst() else { throw Error(line: 1, message: "the file is empty: it needs a header row") }
        let header = first.fields.map(\.trimmedWhitespace)
        var rows: [Record] = []
        for record in records where !(record.fields.count == 1 && record.fields[0].trimmedWhitespace.isEmpty) {
            guard record.fields.count == header.count else {
                throw Error(line: record.line, message: "\(record.fields.count) fields, the header has \(header.count)")
            }
            rows.append(record)
        }
        return Table(header: header, rows: rows)
    }
}

extension String {
    /// Without leading and trailing whitespace.
    public var trimmedWhitespace: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
