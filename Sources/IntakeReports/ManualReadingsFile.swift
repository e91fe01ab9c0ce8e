public import IntakeStore

/// A CSV file of manual readings, read whole and checked before anything is imported: a bad row
/// stops the import with its line number, so a file goes in completely or not at all.
/// Header: `meter_id,read_at,value` and optionally `unit`, `source`, `note`, in any order.
public enum ManualReadingsFile {
    public static func parse(_ text: String, fileName: String) throws(ReportError) -> [ManualReadingRecord] {
        let records = CSVReader.records(text)
        guard let header = records.first?.fields.map({ $0.trimmed.lowercased() }) else {
            throw ReportError("\(fileName) is empty: it needs a header row meter_id,read_at,value")
        }
        func column(_ name: String) -> Int? { header.firstIndex(of: name) }
        guard let meter = column("meter_id"), let time = column("read_at"), let value = column("value") else {
            throw ReportError("\(fileName):1: the header needs meter_id, read_at and value (found: \(header.joined(separator: ", ")))")
        }
        let unit = column("unit"), source = column("source"), note = column("note")
        var readings: [ManualReadingRecord] = []
        for record in records.dropFirst() where !(record.fields.count == 1 && record.fields[0].trimmed.isEmpty) {
            let where_ = "\(fileName):\(record.line)"
            func field(_ index: Int?) -> String? {
                guard let index, index < record.fields.count else { return nil }
                let text = record.fields[index].trimmed
                return text.isEmpty ? nil : text
            }
            guard record.fields.count == header.count else {
                throw ReportError("\(where_): \(record.fields.count) fields, the header has \(header.count)")
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

/// RFC 4180 records, each with the line it starts on.
enum CSVReader {
    struct Record {
        var fields: [String]
        var line: Int
    }

    static func records(_ text: String) -> [Record] {
        var records: [Record] = []
        var fields: [String] = [], field = "", quoted = false, line = 1, start = 1
        var scalars = Array(text.unicodeScalars)[...]
        while let scalar = scalars.popFirst() {
            if quoted {
                if scalar == "\"" {
                    if scalars.first == "\"" { scalars.removeFirst(); field.unicodeScalars.append("\"") } else { quoted = false }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
            } else if scalar == "\"" {
                quoted = true
            } else if scalar == "," {
                fields.append(field)
                field = ""
            } else if scalar == "\n" {
                fields.append(field)
                records.append(Record(fields: fields, line: start))
                (fields, field) = ([], "")
                line += 1
                start = line
            } else if scalar != "\r" {
                field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !fields.isEmpty { fields.append(field); records.append(Record(fields: fields, line: start)) }
        return records
    }
}

extension String {
    var trimmed: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
