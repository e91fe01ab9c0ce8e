import IntakeCore
/// A manual reading as stored.
public struct ManualReadingRecord: Sendable, Equatable {
    public var meterID: String
    /// Unix milliseconds.
    public var readAt: Int64
    public var value: Double
    public var unit: String?
    public var source: String?
    public var note: String?

    public init(meterID: String, readAt: Int64, value: Double, unit: String? = nil, source: String? = nil, note: String? = nil) {
        self.meterID = meterID
        self.readAt = readAt
        self.value = value
        self.unit = unit
        self.source = source
        self.note = note
    }
}

/// The manual readings a photo's reading is checked against.
extension Database {
    /// Adds readings in one transaction, ignoring any already there (same meter, time and value),
    /// so importing a file twice adds nothing. Returns how many were new.
    @discardableResult
    public func addManualReadings(_ readings: [ManualReadingRecord]) throws(StoreError) -> Int {
        try atomically { () throws(StoreError) in
            var added = 0
            for reading in readings {
                try execute(
                    """
                    INSERT INTO manual_readings (meter_id, read_at, value, unit, source, note)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING
                    """,
                    [.text(reading.meterID), SQLValue(timestamp: reading.readAt), .real(reading.value), SQLValue(reading.unit),
                     SQLValue(reading.source), SQLValue(reading.note)])
                added += changes
            }
            return added
        }
    }

    /// Whether the meter has any manual reading: what makes an inbox subfolder of that name a meter.
    public func hasManualReadings(meter: String) throws(StoreError) -> Bool {
        try !query("SELECT 1 FROM manual_readings WHERE meter_id = ? LIMIT 1", [.text(meter)]).isEmpty
    }

    /// Every meter's manual readings, oldest first: what the daemon keeps in memory to judge by.
    public func allManualReadings() throws(StoreError) -> [ManualReadingRecord] {
        try query("SELECT meter_id, read_at, value, unit FROM manual_readings ORDER BY meter_id, read_at, id").compactMap { row in
            guard let meter = row["meter_id"]?.textValue, let readAt = row["read_at"]?.textValue.flatMap(Timestamp.milliseconds(from:)),
                let value = row["value"]?.realValue else { return nil }
            return ManualReadingRecord(meterID: meter, readAt: readAt, value: value, unit: row["unit"]?.textValue)
        }
    }

    /// A cheap signature of the manual readings that changes whenever rows are added or removed.
    public func manualReadingsSignature() throws(StoreError) -> String {
        let row = try query("SELECT count(*) AS n, max(id) AS last FROM manual_readings").first
        return "\(row?["n"]?.integerValue ?? 0)/\(row?["last"]?.integerValue ?? 0)"
    }

    /// A meter's manual readings, oldest first.
    public func manualReadings(meter: String) throws(StoreError) -> [ManualReadingRecord] {
        try query("SELECT * FROM manual_readings WHERE meter_id = ? ORDER BY read_at, id", [.text(meter)]).map { row in
            ManualReadingRecord(
                meterID: row["meter_id"]?.textValue ?? meter,
                readAt: row["read_at"]?.textValue.flatMap(Timestamp.milliseconds(from:)) ?? 0,
                value: row["value"]?.realValue ?? 0, unit: row["unit"]?.textValue, source: row["source"]?.textValue,
                note: row["note"]?.textValue)
        }
    }
}
