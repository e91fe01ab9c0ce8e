import IntakeCore

/// One value in a report: rendered aligned in a table, typed in JSON, quoted in CSV.
public enum Cell: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    /// A number shown with `decimals` places in tables; full precision in JSON and CSV.
    case real(Double, decimals: Int)
    case null

    var plain: String {
        switch self {
        case .text(let text): text
        case .integer(let value): String(value)
        case .real(let value, _): String(value)
        case .null: ""
        }
    }

    /// As a table shows it: control characters (an uploader's text can carry escape sequences
    /// that would drive the terminal) as %XX.
    var shown: String {
        switch self {
        case .real(let value, let decimals): Cell.format(value, decimals: decimals)
        case .null: "-"
        case .text(let text): Cell.visible(text)
        default: plain
        }
    }

    /// As a CSV file holds it: text that a spreadsheet would run as a formula (it starts with
    /// `=`, `+`, `-`, `@`, a tab or a carriage return) is kept as text by a leading `'`.
    var inCSV: String {
        guard case .text(let text) = self, let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else {
            return plain
        }
        return "'" + text
    }

    static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                for byte in String(scalar).utf8 { out += SafeName.percent(byte) }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    var isNumber: Bool {
        switch self {
        case .integer, .real: true
        default: false
        }
    }

    /// `value` with exactly `decimals` places.
    public static func decimal(_ value: Double, _ decimals: Int) -> String { format(value, decimals: decimals) }

    static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return String(value) }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = String(rounded)
        if let dot = text.firstIndex(of: ".") {
            let have = text.distance(from: dot, to: text.endIndex) - 1
            if decimals == 0 { text = String(text[..<dot]) } else if have < decimals { text += String(repeating: "0", count: decimals - have) }
        } else if decimals > 0 {
            text += "." + String(repeating: "0", count: decimals)
        }
        return text
    }
}

/// A report's rows under named columns, with an optional title for the table form.
public struct ResultTable: Sendable, Equatable {
    public var title: String?
    public var columns: [String]
    public var rows: [[Cell]]

    public init(title: String? = nil, columns: [String], rows: [[Cell]]) {
        self.title = title
        self.columns = columns
        self.rows = rows
    }
}

/// How `intake` prints what it reports.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Aligned columns, numbers to the right: for people.
    case table
    /// An array of objects, one per row, values typed: for programs.
    case json
    /// RFC 4180 with a header row: for spreadsheets.
    case csv
}

extension ResultTable {
    /// The same rows with only the columns named, in that order.
    public func selecting(_ names: [String]) -> ResultTable {
        let indices = names.compactMap { columns.firstIndex(of: $0) }
        return ResultTable(title: title, columns: indices.map { columns[$0] }, rows: rows.map { row in indices.map { row[$0] } })
    }

    public func rendered(as format: OutputFormat) -> String {
        switch format {
        case .table: aligned()
        case .json: JSONText.array(rows.map { row in zip(columns, row).map { ($0, $1) } })
        case .csv: ([columns.map(CSV.field)] + rows.map { $0.map { CSV.field($0.inCSV) } }).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
        }
    }

    /// Several tables as one: titled blocks in table form; for JSON and CSV, one list whose
    /// rows carry a `section` column naming the table they came from.
    public static func rendered(_ tables: [ResultTable], as format: OutputFormat) -> String {
        if format == .table { return tables.map { $0.aligned() }.joined(separator: "\n") }
        var merged = ResultTable(columns: ["section"], rows: [])
        for table in tables {
            for column in table.columns where !merged.columns.contains(column) { merged.columns.append(column) }
        }
        for table in tables {
            for row in table.rows {
                var cells = [Cell](repeating: .null, count: merged.columns.count)
                cells[0] = .text(table.title ?? "")
                for (column, cell) in zip(table.columns, row) { cells[merged.columns.firstIndex(of: column)!] = cell }
                merged.rows.append(cells)
            }
        }
        return merged.rendered(as: format)
    }

    private func aligned() -> String {
        var out = title.map { "\($0)\n" } ?? ""
        guard !rows.isEmpty else { return out + "  (none)\n" }
        let shown = rows.map { $0.map(\.shown) }
        let widths = columns.indices.map { column in
            ([columns[column]] + shown.map { $0[column] }).map(\.count).max() ?? 0
        }
        let numeric = columns.indices.map { column in rows.allSatisfy { $0[column].isNumber || $0[column] == .null } }
        func line(_ cells: [String]) -> String {
            cells.indices.map { i in
                let pad = String(repeating: " ", count: widths[i] - cells[i].count)
                return numeric[i] ? pad + cells[i] : cells[i] + pad
            }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        out += line(columns)
        out += line(widths.map { String(repeating: "-", count: $0) })
        for row in shown { out += line(row) }
        return out
    }
}

/// Minimal JSON writing for report rows: keys in column order, values typed.
enum JSONText {
    static func array(_ objects: [[(String, Cell)]]) -> String {
        "[" + objects.map(object).joined(separator: ",\n ") + "]\n"
    }

    static func object(_ pairs: [(String, Cell)]) -> String {
        "{" + pairs.map { "\(string($0.0)): \(value($0.1))" }.joined(separator: ", ") + "}"
    }

    static func value(_ cell: Cell) -> String {
        switch cell {
        case .text(let text): string(text)
        case .integer(let value): String(value)
        case .real(let value, _): value.isFinite ? String(value) : "null"
        case .null: "null"
        }
    }

    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
