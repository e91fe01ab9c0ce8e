import IntakeCore
/// What the meter stage read in one job's image, and its verdict.
public struct MeterReadingRecord: Sendable, Equatable {
    public var meterID: String
    /// Unix milliseconds.
    public var capturedAt: Int64
    public var value: Double?
    public var unit: String?
    public var confidence: Double?
    /// JSON array of the positions read, wheels then dials.
    public var digits: String?
    public var claimedValue: Double?
    public var manualValue: Double?
    public var manualReadAt: Int64?
    public var delta: Double?
    public var verdict: String
    public var reason: String?
    public var plausibility: String?

    public init(meterID: String, capturedAt: Int64, value: Double?, unit: String?, confidence: Double?, digits: String?,
                claimedValue: Double?, manualValue: Double?, manualReadAt: Int64?, delta: Double?, verdict: String,
                reason: String?, plausibility: String?) {
        self.meterID = meterID
        self.capturedAt = capturedAt
        self.value = value
        self.unit = unit
        self.confidence = confidence
        self.digits = digits
        self.claimedValue = claimedValue
        self.manualValue = manualValue
        self.manualReadAt = manualReadAt
        self.delta = delta
        self.verdict = verdict
        self.reason = reason
        self.plausibility = plausibility
    }
}

extension Database {
    /// Records (or replaces, on a job's later attempt) what the meter stage made of its image.
    public func recordMeterReading(jobID: String, _ reading: MeterReadingRecord) throws(StoreError) {
        try execute(
            """
            INSERT INTO meter_readings (job_id, meter_id, captured_at, value, unit, confidence, digits, claimed_value,
                                        manual_value, manual_read_at, delta, verdict, reason, plausibility)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
            ON CONFLICT (job_id) DO UPDATE SET
                meter_id = excluded.meter_id, captured_at = excluded.captured_at, value = excluded.value, unit = excluded.unit,
                confidence = excluded.confidence, digits = excluded.digits, claimed_value = excluded.claimed_value,
                manual_value = excluded.manual_value, manual_read_at = excluded.manual_read_at, delta = excluded.delta,
                verdict = excluded.verdict, reason = excluded.reason, plausibility = excluded.plausibility
            """,
            [.text(jobID), .text(reading.meterID), SQLValue(timestamp: reading.capturedAt), SQLValue(reading.value), SQLValue(reading.unit),
             SQLValue(reading.confidence), SQLValue(reading.digits), SQLValue(reading.claimedValue), SQLValue(reading.manualValue),
             SQLValue(timestamp: reading.manualReadAt), SQLValue(reading.delta), .text(reading.verdict), SQLValue(reading.reason),
             SQLValue(reading.plausibility)])
    }

    /// What the meter stage made of a job's image, or nil when it read none.
    public func meterReading(jobID: String) throws(StoreError) -> MeterReadingRecord? {
        try rows(
            """
            SELECT meter_id, captured_at, value, unit, confidence, digits, claimed_value, manual_value, manual_read_at, delta,
                   verdict, reason, plausibility
            FROM meter_readings WHERE job_id = ?
            """,
            [.text(jobID)]
        ) { row throws(StoreError) in
            MeterReadingRecord(
                meterID: try row.requiredText(0), capturedAt: try row.timestamp(1) ?? 0, value: row.double(2), unit: row.text(3),
                confidence: row.double(4), digits: row.text(5), claimedValue: row.double(6), manualValue: row.double(7),
                manualReadAt: try row.timestamp(8), delta: row.double(9), verdict: try row.requiredText(10), reason: row.text(11),
                plausibility: row.text(12))
        }.first
    }

    /// The readings of `meter` accepted so far (verdict match): the history new readings are judged against.
    public func acceptedMeterReadings(meter: String) throws(StoreError) -> [(capturedAt: Int64, value: Double)] {
        try query(
            "SELECT captured_at, value FROM meter_readings WHERE meter_id = ? AND verdict = 'match' AND value IS NOT NULL ORDER BY captured_at",
            [.text(meter)]
        ).compactMap { row in
            guard let time = row["captured_at"]?.textValue.flatMap(Timestamp.milliseconds(from:)), let value = row["value"]?.realValue else { return nil }
            return (time, value)
        }
    }

    /// Every meter's accepted readings (verdict match), oldest first, with the meter they are of.
    public func allAcceptedMeterReadings() throws(StoreError) -> [(meter: String, capturedAt: Int64, value: Double)] {
        try query(
            "SELECT meter_id, captured_at, value FROM meter_readings WHERE verdict = 'match' AND value IS NOT NULL ORDER BY meter_id, captured_at"
        ).compactMap { row in
            guard let meter = row["meter_id"]?.textValue, let time = row["captured_at"]?.textValue.flatMap(Timestamp.milliseconds(from:)),
                let value = row["value"]?.realValue else { return nil }
            return (meter, time, value)
        }
    }

    /// A number that changes when another connection commits, so that a reader can tell cheaply
    /// whether what it holds in memory may be out of date. SQLite's `PRAGMA data_version`; on
    /// PostgreSQL, which has no such counter, a digest of the current snapshot (`xmin:xmax:xip`):
    /// it moves whenever a transaction that wrote ends, including one that began before a later
    /// one ended (the highest id alone, `xmax`, would miss that one).
    public func dataVersion() throws(StoreError) -> Int {
        switch engine {
        case .sqlite:
            return try rows("PRAGMA data_version") { row throws(StoreError) in try row.requiredInt(0) }.first ?? 0
        case .postgresql:
            let snapshot = try rows("SELECT pg_current_snapshot()::text") { row throws(StoreError) in row.text(0) ?? "" }.first ?? ""
            return Int(truncatingIfNeeded: StableHash.fnv1a(snapshot))
        }
    }
}
