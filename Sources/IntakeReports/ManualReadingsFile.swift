public import IntakeStore
import IntakeCore

/// A CSV file of manual readings, checked row by row: a bad row stops the import with its line
/// number. Header: `meter_id,read_at,value` and optionally `unit`, `source`, `note`, in any order.
public enum ManualReadingsFile {
    /// Every reading of the file; see ``Reader`` for one at a time.
    public static func parse(bytes: [UInt8], fileName: String) throws(ReportError) -> [ManualReadingRecord] {
        var reader = try Reader(bytes: bytes, fileName: fileName)
        var readings: [ManualReadingRecord] = []
        while let reading = try reader.next() { readings.append(reading) }
        return readings
    }

    public static func parse(_ text: String, fileName: String) throws(ReportError) -> [ManualReadingRecord] {
        try parse(bytes: Array(text.utf8), fileName: fileName)
    }

    /// The readings of a file one at a time, so that a file of millions of rows is never held as
    /// records all at once.
    public struct Reader {
        private let fileName: String
        private var table: CSV.TableReader
        private let meter: Int, time: Int, value: Int, unit: Int?, source: Int?, note: Int?

        /// The file's bytes read as UTF-8: a byte-order mark (Excel's "CSV UTF-8" writes one) is
        /// dropped, and bytes that are not UTF-8 (a Latin-1 export) are refused with their line,
        /// as a meter name read through them could never match its folder.
        public init(bytes: [UInt8], fileName: String) throws(ReportError) {
            self.fileName = fileName
            let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
            if let line = Self.firstLineThatIsNotUTF8(body) {
                throw ReportError("\(fileName):\(line): not UTF-8 text; save the file as UTF-8 (\"CSV UTF-8\")")
            }
            do {
                table = try CSV.TableReader(utf8: body)
            } catch {
                throw ReportError(error.line == 1 && body.isEmpty
                    ? "\(fileName) is empty: it needs a header row meter_id,read_at,value" : "\(fileName):\(error.line): \(error.message)")
            }
            let header = table.header.map { $0.lowercased() }
            func column(_ name: String) -> Int? { header.firstIndex(of: name) }
            guard let meter = column("meter_id"), let time = column("read_at"), let value = column("value") else {
                throw ReportError("\(fileName):1: the header needs meter_id, read_at and value (found: \(header.joined(separator: ", ")))")
            }
            (self.meter, self.time, self.value) = (meter, time, value)
            (unit, source, note) = (column("unit"), column("source"), column("note"))
        }

        /// The line of the first byte that is not part of UTF-8 text, or nil when all of it is.
        /// Checked without copying: the file may be large.
        static func firstLineThatIsNotUTF8(_ bytes: [UInt8]) -> Int? {
            var decoder = UTF8()
            var iterator = bytes.makeIterator()
            var line = 1
            while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
                case .emptyInput: return nil
                case .error: return line
                }
            }
        }

        /// The next reading, or nil after the last; a row that is not a reading throws with its line.
        public mutating func next() throws(ReportError) -> ManualReadingRecord? {
            let found: CSV.Record?
            do {
                found = try table.next()
            } catch {
                throw ReportError("\(fileName):\(error.line): \(error.message)")
            }
            guard let record = found else { return nil }
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
            return ManualReadingRecord(
                meterID: meterID, readAt: readAt, value: number, unit: field(unit), source: field(source), note: field(note))
        }
    }
}
