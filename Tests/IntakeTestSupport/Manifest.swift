/// The corpus oracle, MANIFEST.csv: what the reference decoders said of each file.
public struct Manifest: Sendable {
    public struct Row: Sendable {
        public let fields: [String: String]
        public subscript(_ column: String) -> String { fields[column] ?? "" }
        public var path: String { self["path"] }
    }

    public let rows: [Row]
    public let byPath: [String: Row]

    public init?(corpus: String) {
        guard let bytes = Fixtures.readFile(corpus + "/MANIFEST.csv") else { return nil }
        let records = Self.parseCSV(String(decoding: bytes, as: UTF8.self))
        guard let header = records.first else { return nil }
        rows = records.dropFirst().filter { $0.count == header.count }.map { Row(fields: Dictionary(uniqueKeysWithValues: zip(header, $0))) }
        byPath = Dictionary(rows.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// RFC 4180: quoted fields may hold commas, newlines and doubled quotes.
    static func parseCSV(_ text: String) -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = ""
        var quoted = false, iterator = text.unicodeScalars.makeIterator(), pending: Unicode.Scalar? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    let next = iterator.next()
                    if next == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = next }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                record.append(field); field = ""
            } else if c == "\n" {
                record.append(field); field = ""
                records.append(record); record = []
            } else if c != "\r" {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }
}
