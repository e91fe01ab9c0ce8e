public import IntakeStore
import IntakeCore

/// A CSV file of manual readings, read whole and checked before anything is imported: a bad row
/// stops the import with its line number, so a file goes in completely or not at all.
/// Header: `meter_id,read_at,value` and optionally `unit`, `source`, `note`, in any order.
public enum ManualReadingsFile {
    /// The file's bytes read as UTF-8: a byte-order mark (Excel's "CSV UTF-8" writes one) is
    /// dropped, and bytes that are not UTF-8 (a Latin-1 export) are refused with their line, as
    /// a meter name read through them could never match its folder.
    public static func parse(bytes: [UInt8], fileName: String) throws(ReportError) -> [ManualReadingRecord] {
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]
        guard let text = String(validating: body, as: UTF8.self) else {
            var line = 1
            for lineBytes in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                if String(validating: lineBytes, as: UTF8.self) == nil { break }
                line += 1
            }
            throw ReportError("\(fileName):\(line): not UTF-8 text; save the file as UTF-8 (\"CSV UTF-8\")")
        }
        return try parse(text, fileName: fileName)
    }

    public static func parse(_ text: String, fileName: String) throws(ReportError) -> [ManualReadingRecord] {
        let table: CSV.Table
        do {
            table = try CSV.table(text)
        } catch {
            throw ReportError(error.line == 1 && text.isEmpty
                ? "\(fileName) is empty: it needs a header row meter_id,read_at,value" : "\(fileName):\(error.line): \(error.message)")
        }
        let header = table.header.map { $0.lowercased() }
        func column(_ name: String) -> Int? { header.firstIndex(of: name) }
        guard let meter = column("meter_id"), let time = column("read_at"), let value = column("value") else {
            throw ReportError("\(fileName):1: the header needs meter_id, read_at and value (found: \(header.joined(separator: ", ")))")
        }
        let unit = column("unit"), source = column("source"), note = column("note")
        var readings: [ManualReadingRecord] = []
        for record in table.rows {
            let where_ = "\(fileName):\(record.line)"
            func field(_ index: Int?) -> String? {
                guard let index else { return nil }
                let text = record.fields[index].trimmedWhitespace
                return text.isEmpty ? nil : text
            }
            guard let meterID = field(meter) else { throw ReportError("\(where_): meter_id is empty") }
            guard let timeText = field(time), let readAt = ISOTime.milliseconds(timeText) else {
                throw ReportError("\(where_): read_at \"\(field(time) ?? "")\" is not an ISO 8601 time like 2026-11-20T08:30:00Z")
            }
            guard let valueText = field(value), let number = Double(valueText), number.isFinite else {
                throw ReportError("\(where_): value \"\(field(value) ?? "")\" is not a number")
            }
            readings.append(ManualReadingRecord(
                meterID: meterID, readAt: readAt, value: number, unit: field(unit), source: field(source), note: field(note)))
        }
        return readings
    }
}
