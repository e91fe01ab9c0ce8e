import IntakeCore

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
        // The strict reader: a manifest it cannot read is a broken oracle, not a shorter one.
        let table: CSV.Table
        do {
            table = try CSV.table(String(decoding: bytes, as: UTF8.self))
        } catch {
            fatalError("MANIFEST.csv \(error)")
        }
        rows = table.rows.map { Row(fields: Dictionary(uniqueKeysWithValues: zip(table.header, $0.fields))) }
        byPath = Dictionary(rows.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
