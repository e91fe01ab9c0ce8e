public import IntakeMeter
public import IntakeStore

/// What a meter's readings are judged against: its manual readings, and the readings accepted
/// before (verdict match). Both empty without a database.
public enum MeterReferences {
    public static func load(meter: String, from database: Database?) -> (manual: [ManualReading], history: [AcceptedReading]) {
        guard let database else { return ([], []) }
        let manual = ((try? database.manualReadings(meter: meter)) ?? []).map {
            ManualReading(meter: $0.meterID, readAt: $0.readAt, value: $0.value)
        }
        let history = ((try? database.acceptedMeterReadings(meter: meter)) ?? []).map {
            AcceptedReading(capturedAt: $0.capturedAt, value: $0.value)
        }
        return (manual, history)
    }
}
