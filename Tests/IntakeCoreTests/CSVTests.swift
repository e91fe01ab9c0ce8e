import IntakeCore
import Testing

/// The strict RFC 4180 reader every CSV of intake goes through, and the field writer.
@Suite struct CSVTests {
    @Test func quotedFieldsHoldCommasLineBreaksAndDoubledQuotes() throws {
        let records = try CSV.records("a,\"b,c\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",x,\r\nlast,,end")
        #expect(records.map(\.fields) == [["a", "b,c", "say \"hi\""], ["two\nlines", "x", ""], ["last", "", "end"]])
        #expect(records.map(\.line) == [1, 2, 4])
    }

    @Test(arguments: [
        ("a,b\"c,d\n", 1, "a quote inside a field"),
        ("h\nok,\"fine\"x\n", 2, "text after a closing quote"),
        ("h\n\n\"never closed,\n\n", 3, "never closed"),
    ])
    func brokenTextIsRefusedWithItsLine(text: String, line: Int, message: String) {
        do {
            _ = try CSV.records(text)
            Issue.record("accepted: \(text.debugDescription)")
        } catch {
            #expect(error.line == line)
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func aRaggedRowIsRefusedWithItsLine() {
        #expect(throws: CSV.Error(line: 3, message: "3 fields, the header has 2")) { try CSV.table("a,b\n1,2\n1,2,3\n") }
        #expect(throws: CSV.Error(line: 2, message: "1 fields, the header has 2")) { try CSV.table("a,b\nalone\n") }
    }

    @Test func aTableSkipsEmptyLinesAndTrimsTheHeader() throws {
        let table = try CSV.table(" file , value\n\nx.jpg,1\n\n")
        #expect(table.header == ["file", "value"])
        #expect(table.rows.map(\.fields) == [["x.jpg", "1"]])
        #expect(table.rows.first?.line == 3)
        #expect(table.column("value") == 1)
    }

    @Test func writtenFieldsReadBackUnchanged() throws {
        let values = ["plain", "with,comma", "with \"quote\"", "two\nlines", "", "carriage\rreturn"]
        let text = values.map(CSV.field).joined(separator: ",") + "\n"
        #expect(try CSV.records(text).map(\.fields) == [values])
    }

    /// Written by Character, a CRLF (one Character, neither "\r" nor "\n") and a quote or a comma
    /// with a combining mark on it were not seen, and the field went out unquoted: a reader split
    /// it into more columns (an uploader's text in a report's CSV could forge a column).
    @Test func aFieldWithACRLFOrAMarkedQuoteOrCommaIsQuotedAndReadBackWhole() throws {
        let values = ["line\r\nbreak", "a\"\u{301}b", "x,\u{301}y", "\u{600}\"", "plain"]
        let text = values.map(CSV.field).joined(separator: ",") + "\n"
        let read = try CSV.records(text).map(\.fields)
        #expect(read.count == 1 && read[0].count == values.count, "\(read)")
        #expect(read.first?.elementsEqual(values) { $0.unicodeScalars.elementsEqual($1.unicodeScalars) } == true, "\(read)")
    }

    /// Trimming answers at once for text with a letter at each end; whitespace of any kind,
    /// ASCII or not, is still trimmed.
    @Test func whitespaceIsTrimmedWhateverItIs() {
        #expect("plain".trimmedWhitespace == "plain")
        #expect(" a b\t".trimmedWhitespace == "a b")
        #expect("x\r\n".trimmedWhitespace == "x")
        #expect("\u{A0}x\u{3000}".trimmedWhitespace == "x")
        #expect("e\u{301}".trimmedWhitespace == "e\u{301}")
        #expect(" \u{2028} ".trimmedWhitespace.isEmpty)
    }
}
