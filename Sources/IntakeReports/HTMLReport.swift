import FoundationEssentials
public import IntakeStore
public import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// `intake report --html FILE`: one self-contained page for a person to review — summary
/// charts in inline SVG, failures with their reasons, and meter mismatches and unreadable photos
/// each with its 256 derivative and the alignment overlay embedded, the value read, the digits
/// with their confidences and the manual reading.
/// No scripts, no external files: it can be mailed or archived as it is.
public struct HTMLReport {
    let reports: Reports
    let database: Database
    let root: String
    /// Draws how a meter photo aligned and read (`intake meter check`'s overlay) as JPEG bytes,
    /// given the meter and the filed original's path; nil where it cannot.
    public typealias MeterOverlay = (_ meter: String, _ original: String) -> [UInt8]?
    let meterOverlay: MeterOverlay?

    public init(database: Database, root: String, now: Int64 = Timestamp.nowMilliseconds(), storageHost: String = "",
                meterOverlay: MeterOverlay? = nil) {
        self.database = database
        self.root = root
        self.meterOverlay = meterOverlay
        reports = Reports(database: database, now: now, storageHost: storageHost)
    }

    public func render() throws(ReportError) -> String {
        let summary = try reports.summary()
        let stages = try reports.stages()
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
            <title>intake report</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
            h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
            table { border-collapse: collapse; margin: 0.5em 0; } th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; }
            .mismatch { display: flex; gap: 1.5em; margin: 1em 0; padding: 1em; border: 1px solid #e3b4b4; border-radius: 6px; }
            .mismatch img { width: 256px; height: 256px; border: 1px solid #ccc; }
            .mismatch img.overlay { width: 384px; height: auto; }
            .digit { display: inline-block; margin: 0 0.2em; padding: 0.2em 0.4em; border: 1px solid #bbb; border-radius: 3px; text-align: center; }
            .digit small { display: block; color: #666; font-size: 0.75em; }
            .low { background: #fde2e2; } .empty { color: #888; font-style: italic; }
            </style></head><body>
            <h1>intake report</h1>
            <p>State root <code>\(escape(root))</code>, generated \(escape(Timestamp.string(fromMilliseconds: reports.now))).</p>

            """
        page += section("Summary", statusChart(summary[0]) + htmlTable(summary[0]) + htmlTable(summary[1]))
        page += section("Stage latency", latencyChart(stages) + htmlTable(stages))
        page += section("Failures", try failures())
        page += section("Meter mismatches and unreadable photos", try mismatches())
        page += section("Top failure reasons", htmlTable(summary[2]))
        page += section("Meter verdicts", htmlTable(summary[3]))
        return page + "</body></html>\n"
    }

    // MARK: sections

    private func section(_ title: String, _ body: String) -> String {
        "<section id=\"\(title.lowercased().replacing(" ", with: "-"))\"><h2>\(escape(title))</h2>\n\(body)</section>\n"
    }

    private func failures() throws(ReportError) -> String {
        let table = try reports.failed(limit: 50)
        return table.rows.isEmpty
            ? "<p class=\"empty\">No failures.</p>\n" : htmlTable(table.selecting(["job", "env", "file", "stage", "reason", "attempts", "finished"]))
    }

    private func mismatches() throws(ReportError) -> String {
        let rows = try reports.rows(
            """
            SELECT m.job_id, m.meter_id, m.captured_at, m.value, m.unit, m.manual_value, m.manual_read_at, m.delta, m.digits, m.reason,
                   m.verdict,
                   (SELECT path FROM outputs o WHERE o.job_id = m.job_id AND o.kind = 'derivative') AS derivative,
                   (SELECT path FROM outputs o WHERE o.job_id = m.job_id AND o.kind = 'original') AS original
              FROM meter_readings m WHERE m.verdict IN ('mismatch', 'unreadable') ORDER BY m.captured_at DESC LIMIT 50
            """)
        guard !rows.isEmpty else { return "<p class=\"empty\">No mismatches, nothing unreadable.</p>\n" }
        return rows.map { row in
            let unit = row["unit"]?.textValue.map { " " + $0 } ?? ""
            var html = "<div class=\"mismatch\">"
            if let path = row["derivative"]?.textValue, let jpeg = try? Data(contentsOf: URL(fileURLWithPath: path)) {
                html += "<img alt=\"derivative of \(escape(row["job_id"]?.textValue ?? ""))\" src=\"data:image/jpeg;base64,\(jpeg.base64EncodedString())\">"
            } else {
                html += "<p class=\"empty\">derivative not found</p>"
            }
            // Where the camera moved or something hides the meter, the overlay shows it at once.
            if let meter = row["meter_id"]?.textValue, let original = row["original"]?.textValue, let overlay = meterOverlay?(meter, original) {
                html += "<img class=\"overlay\" alt=\"how the photo aligned to the profile and read\" src=\"data:image/jpeg;base64,\(Data(overlay).base64EncodedString())\">"
            }
            html += "<div><p><b>Meter</b> \(escape(row["meter_id"]?.textValue ?? "?")) · job <code>\(escape(row["job_id"]?.textValue ?? ""))</code> · \(escape(row["captured_at"]?.textValue ?? ""))</p>"
            html += "<p><b>\(escape(row["verdict"]?.textValue ?? ""))</b> · <b>read</b> \(number(row["value"]))\(escape(unit)) · <b>manual</b> \(number(row["manual_value"]))\(escape(unit))"
            html += " (\(escape(row["manual_read_at"]?.textValue ?? "")))· <b>delta</b> \(number(row["delta"]))\(escape(unit))</p>"
            html += "<p>\(digits(row["digits"]?.textValue))</p>"
            html += "<p>\(escape(row["reason"]?.textValue ?? ""))</p></div></div>\n"
            return html
        }.joined()
    }

    /// Each digit with its confidence underneath; the unsure ones tinted.
    private func digits(_ json: String?) -> String {
        struct Digit: Decodable { let value: Double; let confidence: Double }
        guard let json, let list = try? JSONDecoder().decode([Digit].self, from: Data(json.utf8)) else { return "" }
        return list.map { digit in
            "<span class=\"digit\(digit.confidence < 0.8 ? " low" : "")\">\(Cell.format(digit.value, decimals: 1))<small>\(Cell.format(digit.confidence, decimals: 2))</small></span>"
        }.joined()
    }

    // MARK: charts (inline SVG)

    /// Stacked bars per environment: done, failed, waiting.
    private func statusChart(_ table: ResultTable) -> String {
        let rows = table.rows.compactMap { row -> (String, [Int64])? in
            guard case .text(let environment) = row[0] else { return nil }
            let counts = [row[3], row[4], row[1], row[2]].map { cell -> Int64 in if case .integer(let n) = cell { return n } else { return 0 } }
            return (environment, counts)
        }
        guard let largest = rows.map({ $0.1.reduce(0, +) }).max(), largest > 0 else { return "" }
        let colours = ["#4caf50", "#e53935", "#9e9e9e", "#ffb300"]
        var svg = "<svg role=\"img\" aria-label=\"jobs by environment\" width=\"620\" height=\"\(rows.count * 34 + 30)\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (index, (environment, counts)) in rows.enumerated() {
            let y = index * 34 + 4
            svg += "<text x=\"0\" y=\"\(y + 19)\">\(escape(environment))</text>"
            var x = 70.0
            for (count, colour) in zip(counts, colours) where count > 0 {
                let width = Double(count) / Double(largest) * 480
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(width)\" height=\"26\" fill=\"\(colour)\"><title>\(count)</title></rect>"
                x += width
            }
            svg += "<text x=\"\(x + 6)\" y=\"\(y + 19)\">\(counts.reduce(0, +))</text>"
        }
        let legend = zip(["done", "failed", "queued", "processing"], colours).enumerated().map { index, pair in
            "<rect x=\"\(70 + index * 110)\" y=\"\(rows.count * 34 + 12)\" width=\"12\" height=\"12\" fill=\"\(pair.1)\"/><text x=\"\(86 + index * 110)\" y=\"\(rows.count * 34 + 23)\">\(pair.0)</text>"
        }.joined()
        return svg + legend + "</svg>\n"
    }

    /// p50 and p99 per stage, as bars.
    private func latencyChart(_ table: ResultTable) -> String {
        let rows = table.rows.compactMap { row -> (String, Double, Double)? in
            guard case .text(let stage) = row[0], case .real(let p50, _) = row[2], case .real(let p99, _) = row[4] else { return nil }
            return (stage, p50, p99)
        }
        guard let largest = rows.map(\.2).max(), largest > 0 else { return "" }
        var svg = "<svg role=\"img\" aria-label=\"stage latency\" width=\"620\" height=\"\(rows.count * 30 + 10)\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (index, (stage, p50, p99)) in rows.enumerated() {
            let y = index * 30 + 4
            svg += "<text x=\"0\" y=\"\(y + 16)\">\(escape(stage))</text>"
            svg += "<rect x=\"80\" y=\"\(y)\" width=\"\(p99 / largest * 440)\" height=\"22\" fill=\"#90caf9\"><title>p99 \(p99) ms</title></rect>"
            svg += "<rect x=\"80\" y=\"\(y + 5)\" width=\"\(p50 / largest * 440)\" height=\"12\" fill=\"#1565c0\"><title>p50 \(p50) ms</title></rect>"
            svg += "<text x=\"\(86 + p99 / largest * 440)\" y=\"\(y + 16)\">\(Cell.format(p50, decimals: 1)) / \(Cell.format(p99, decimals: 1)) ms</text>"
        }
        return svg + "</svg>\n"
    }

    // MARK: pieces

    private func htmlTable(_ table: ResultTable) -> String {
        guard !table.rows.isEmpty else { return "<p class=\"empty\">\(escape(table.title ?? "")): none.</p>\n" }
        var html = table.title.map { "<h3>\(escape($0))</h3>" } ?? ""
        html += "<table><thead><tr>" + table.columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for row in table.rows {
            html += "<tr>" + row.map { cell in cell.isNumber ? "<td class=\"n\">\(escape(cell.shown))</td>" : "<td>\(escape(cell.shown))</td>" }.joined() + "</tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    private func number(_ value: SQLValue?) -> String {
        guard let number = value?.realValue else { return "–" }
        return escape(Cell.format(number, decimals: 3))
    }

    private func escape(_ text: String) -> String { HTMLText.escaped(text) }
}
