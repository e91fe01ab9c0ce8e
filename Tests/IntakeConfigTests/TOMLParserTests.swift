import Testing

@testable import IntakeConfig

/// Parses a document that must be valid.
private func parse(_ text: String) throws -> TOMLTable {
    try TOML.parse(text, fileName: "test.toml")
}

@Suite("TOML values")
struct TOMLValueTests {
    @Test func basicStringsUnescape() throws {
        let table = try parse(#"s = "tab\there \"quoted\" back\\slash\nline é \u00e9 \U0001F600""#)
        #expect(table["s"] == .string("tab\there \"quoted\" back\\slash\nline é é 😀"))
    }

    @Test func literalStringsAreVerbatim() throws {
        let table = try parse(#"path = 'C:\temp\n "x"'"#)
        #expect(table["path"] == .string(#"C:\temp\n "x""#))
    }

    @Test func multiLineStrings() throws {
        let text = "basic = \"\"\"\none\n  two \\\n    three\"\"\"\nliteral = '''\nraw \\n\n'''\nquotes = \"\"\"a \"\" b\"\"\"\"\"\n"
        let table = try parse(text)
        #expect(table["basic"] == .string("one\n  two three"))
        #expect(table["literal"] == .string("raw \\n\n"))
        #expect(table["quotes"] == .string("a \"\" b\"\""))
    }

    @Test func integers() throws {
        let table = try parse(
            """
            plain = 42
            negative = -17
            positive = +5
            zero = 0
            separated = 52_428_800
            hex = 0xFF
            octal = 0o755
            binary = 0b1010
            largest = 9223372036854775807
            smallest = -9223372036854775808
            """)
        #expect(table["plain"] == .integer(42))
        #expect(table["negative"] == .integer(-17))
        #expect(table["positive"] == .integer(5))
        #expect(table["zero"] == .integer(0))
        #expect(table["separated"] == .integer(52_428_800))
        #expect(table["hex"] == .integer(255))
        #expect(table["octal"] == .integer(0o755))
        #expect(table["binary"] == .integer(10))
        #expect(table["largest"] == .integer(Int.max))
        #expect(table["smallest"] == .integer(Int.min))
    }

    @Test func floats() throws {
        let table = try parse(
            """
            half = 1.5
            thousand = 1e3
            negative = -0.25
            avogadro = 6.022E+23
            tiny = 5e-3
            separated = 1_000.000_5
            infinite = -inf
            """)
        #expect(table["half"] == .float(1.5))
        #expect(table["thousand"] == .float(1000))
        #expect(table["negative"] == .float(-0.25))
        #expect(table["avogadro"] == .float(6.022e23))
        #expect(table["tiny"] == .float(0.005))
        #expect(table["separated"] == .float(1000.0005))
        #expect(table["infinite"] == .float(-.infinity))
        guard case .float(let notANumber)? = try parse("x = nan")["x"] else {
            Issue.record("nan did not parse as a float")
            return
        }
        #expect(notANumber.isNaN)
    }

    @Test func booleans() throws {
        let table = try parse("yes = true\nno = false")
        #expect(table["yes"] == .boolean(true))
        #expect(table["no"] == .boolean(false))
    }

    @Test func arraysSpanLinesNestAndAllowTrailingCommas() throws {
        let table = try parse(
            """
            empty = []
            angles = [
                90,   # a quarter turn
                180,
                # a comment on its own line
                270,
            ]
            nested = [[1, 2], ["a"], []]
            mixed = [1, "two", 3.0, true]
            """)
        #expect(table["empty"] == .array([]))
        #expect(table["angles"] == .array([.integer(90), .integer(180), .integer(270)]))
        #expect(
            table["nested"] == .array([.array([.integer(1), .integer(2)]), .array([.string("a")]), .array([])]))
        #expect(table["mixed"] == .array([.integer(1), .string("two"), .float(3), .boolean(true)]))
    }

    @Test func inlineTables() throws {
        let table = try parse(#"point = { x = 1, y = 2, label.text = "origin", tags = ["a"], inner = {} }"#)
        let expected: TOMLTable = [
            "x": .integer(1), "y": .integer(2), "label": .table(["text": .string("origin")]),
            "tags": .array([.string("a")]), "inner": .table([:]),
        ]
        #expect(table["point"] == .table(expected))
    }

    @Test func commentsAndBlankLinesAreIgnored() throws {
        let table = try parse("# leading comment\n\n  a = 1 # trailing\n\t\n[t] # after a header\n# last")
        #expect(table == ["a": .integer(1), "t": .table([:])])
    }

    @Test func windowsLineEndings() throws {
        let table = try parse("a = 1\r\n[t]\r\nb = \"x\" # c\r\n")
        #expect(table == ["a": .integer(1), "t": .table(["b": .string("x")])])
    }
}

@Suite("TOML keys and tables")
struct TOMLStructureTests {
    @Test func dottedAndQuotedKeys() throws {
        let table = try parse(
            """
            a.b.c = 1
            a.b.d = 2
            "quoted key" = 3
            'literal.key' = 4
            site."example.com" = 5
            """)
        #expect(table["a"] == .table(["b": .table(["c": .integer(1), "d": .integer(2)])]))
        #expect(table["quoted key"] == .integer(3))
        #expect(table["literal.key"] == .integer(4))
        #expect(table["site"] == .table(["example.com": .integer(5)]))
    }

    @Test func tableHeadersNestAndKeepOrder() throws {
        let table = try parse(
            """
            top = 0
            [daemon]
            workers = 4
            [environments.prod]
            weight = 4
            [environments.beta]
            weight = 1
            [environments]
            note = "defined after its children"
            """)
        #expect(table.keys == ["top", "daemon", "environments"])
        let environments = try #require(table["environments"])
        guard case .table(let environmentsTable) = environments else {
            Issue.record("environments is not a table")
            return
        }
        #expect(environmentsTable.keys == ["prod", "beta", "note"])
        #expect(environmentsTable["prod"] == .table(["weight": .integer(4)]))
        #expect(table["daemon"] == .table(["workers": .integer(4)]))
    }

    @Test func arraysOfTables() throws {
        let table = try parse(
            """
            [[fruit]]
            name = "apple"
            [fruit.physical]
            color = "red"
            [[fruit.variety]]
            name = "red delicious"

            [[fruit]]
            name = "banana"
            """)
        let apple: TOMLTable = [
            "name": .string("apple"),
            "physical": .table(["color": .string("red")]),
            "variety": .array([.table(["name": .string("red delicious")])]),
        ]
        #expect(table["fruit"] == .array([.table(apple), .table(["name": .string("banana")])]))
    }

    @Test func subTablesMayExtendDottedKeyTables() throws {
        let table = try parse(
            """
            [fruit]
            apple.color = "red"
            [fruit.apple.texture]
            smooth = true
            """)
        let apple: TOMLTable = ["color": .string("red"), "texture": .table(["smooth": .boolean(true)])]
        #expect(table["fruit"] == .table(["apple": .table(apple)]))
    }

    @Test func linesAreRecordedPerKey() throws {
        let table = try parse("\n# comment\nfirst = 1\n\n[section]\nsecond = 2\n")
        #expect(table.line(of: "first") == 3)
        #expect(table.line(of: "section") == 5)
        guard case .table(let section)? = table["section"] else {
            Issue.record("section is not a table")
            return
        }
        #expect(section.line(of: "second") == 6)
        #expect(table.line(of: "missing") == nil)
    }

    @Test func emptyDocumentIsAnEmptyTable() throws {
        #expect(try parse("").isEmpty)
        #expect(try parse("\n# only a comment\n").isEmpty)
    }
}

@Suite("TOML errors")
struct TOMLErrorTests {
    /// The error a document must produce.
    private func parseError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> TOMLError? {
        do {
            let table = try TOML.parse(text, fileName: "intake.toml")
            Issue.record("expected an error, parsed \(table)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func missingEqualsNamesTheKeyAndLine() throws {
        let error = try #require(parseError("[daemon]\nroot = \"x\"\nworkers 4\n"))
        #expect(error.line == 3)
        #expect(error.column == 9)
        #expect(error.message == #"expected '=' after key "workers", found '4'"#)
        #expect(error.description == #"intake.toml:3:9: expected '=' after key "workers", found '4'"#)
    }

    @Test func unterminatedStringPointsAtItsOpening() throws {
        let error = try #require(parseError("a = 1\nname = \"open\nb = 2"))
        #expect(error.line == 2)
        #expect(error.column == 8)
        #expect(error.message.contains("unterminated string"))
    }

    @Test func unterminatedArrayNamesItsOpeningLine() throws {
        let error = try #require(parseError("a = [\n1,\n2,\n"))
        #expect(error.line == 1)
        #expect(error.message.contains("unterminated array"))
    }

    @Test func duplicateKeyNamesTheFirstDefinition() throws {
        let error = try #require(parseError("[daemon]\nworkers = 1\n\nworkers = 2\n"))
        #expect(error.line == 4)
        #expect(error.message == #"duplicate key "daemon.workers" (first defined at line 2)"#)
    }

    @Test func duplicateKeyThroughDottedKeys() throws {
        let error = try #require(parseError("a.b = 1\na = 2\n"))
        #expect(error.line == 2)
        #expect(error.message.contains(#"duplicate key "a""#))
    }

    @Test func redefinedTable() throws {
        let error = try #require(parseError("[limits]\nmax_bytes = 1\n[limits]\nmax_pixels = 2\n"))
        #expect(error.line == 3)
        #expect(error.message == "table [limits] is defined twice (first at line 1)")
    }

    @Test func headerCannotReopenDottedKeyTable() throws {
        let error = try #require(parseError("[fruit]\napple.color = \"red\"\n[fruit.apple]\n"))
        #expect(error.line == 3)
        #expect(error.message.contains("already defined by dotted keys at line 2"))
    }

    @Test func dottedKeyCannotExtendHeaderTable() throws {
        let error = try #require(parseError("[a.b]\nx = 1\n[a]\nb.y = 2\n"))
        #expect(error.line == 4)
        #expect(error.message.contains("can't add to table [a.b] with a dotted key"))
    }

    @Test func inlineTablesAreSealed() throws {
        let error = try #require(parseError("point = { x = 1 }\n[point]\ny = 2\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("inline table"))
    }

    @Test func staticArrayIsNotAnArrayOfTables() throws {
        let error = try #require(parseError("fruit = []\n[[fruit]]\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("static array"))
    }

    @Test func tableIsNotAnArrayOfTables() throws {
        let error = try #require(parseError("[[fruit]]\n[fruit]\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("array of tables"))
    }

    @Test(arguments: [
        ("x = 1__000", "each '_' must sit between two digits"),
        ("x = _1", "strings need quotes"),
        ("x = 1_", "each '_' must sit between two digits"),
        ("x = 012", "leading zeros are not allowed"),
        ("x = 1.", "a decimal point must be followed by digits"),
        ("x = .5", "a number must start with a digit"),
        ("x = 1e", "the exponent needs digits"),
        ("x = 1.2.3", "unexpected '.'"),
        ("x = 12abc", "unexpected 'a'"),
        ("x = 9223372036854775808", "out of range for a 64-bit integer"),
        ("x = 1e999", "out of range for a float"),
        ("x = -0x10", "can't have a sign"),
        ("x = 0xZZ", "not a base-16 integer"),
    ])
    func badNumbers(text: String, reason: String) throws {
        let error = try #require(parseError("# numbers\n" + text))
        #expect(error.line == 2)
        #expect(error.column == 5)
        #expect(error.message.contains(reason), "message: \(error.message)")
    }

    @Test func unquotedWordAsksForQuotes() throws {
        let error = try #require(parseError("max_pixels = lots"))
        #expect(error.message == "expected a value (string, number, boolean, array or inline table), found lots; strings need quotes")
    }

    @Test func datesAreRejectedWithAHint() throws {
        let error = try #require(parseError("when = 1979-05-27"))
        #expect(error.message == #"dates and times are not supported; quote the value: "1979-05-27""#)
        let timeError = try #require(parseError("at = 07:32:00"))
        #expect(timeError.message.contains("dates and times are not supported"))
    }

    @Test(arguments: [
        (#"s = "bad \q escape""#, "invalid escape '\\q'"),
        (#"s = "\u12""#, "needs exactly 4 hexadecimal digits"),
        (#"s = "\uD800""#, "not a Unicode scalar value"),
        ("s = \"tab\u{01}\"", "control character U+0001"),
        ("x = 1 2", "expected the end of the line"),
        ("x =", "expected a value, found end of file"),
        ("x = \n", "expected a value, found end of line"),
        ("= 1", "expected a key, found '='"),
        ("a. = 1", "expected a key after '.'"),
        ("[daemon", "expected ']' to close [daemon]"),
        ("[[jobs]", "expected ']]' to close [[jobs]]"),
        ("x = [1 2]", "expected ',' or ']'"),
        ("x = [1,,2]", "expected a value, found ','"),
        ("x = { a = 1 b = 2 }", "expected ',' or '}'"),
        ("x = { a = 1, a = 2 }", #"duplicate key "x.a""#),
        ("x = 1\ry = 2", "carriage return"),
    ])
    func malformedDocuments(text: String, reason: String) throws {
        let error = try #require(parseError(text))
        #expect(error.line == 1)
        #expect(error.message.contains(reason), "message: \(error.message)")
    }

    /// Nesting is bounded: 20,000 levels ran the parser off its stack, and every command, and a
    /// daemon reloading the file, died.
    @Test func deepNestingIsRefusedWithAReason() throws {
        let deep = "x = " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)
        let error = try #require(parseError(deep))
        #expect(error.message.contains("nest more than"), "\(error.message)")
        #expect(try parse("x = " + String(repeating: "[", count: 60) + String(repeating: "]", count: 60))["x"] != nil)
        let deepTables = "x = " + String(repeating: "{a=", count: 20_000) + "1" + String(repeating: "}", count: 20_000)
        #expect(parseError(deepTables)?.message.contains("nest more than") == true)
        // Where an error is deep in a long line, its column is still counted right.
        let long = "x = [" + String(repeating: "1, ", count: 1000) + "é, 2]"
        #expect(parseError(long)?.column == 5 + 3 * 1000 + 1)
    }
}
