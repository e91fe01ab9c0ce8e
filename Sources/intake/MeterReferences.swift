import IntakeConfig
import IntakeCore
import IntakeMeter
import IntakePipeline
import IntakeStore

#if canImport(Glibc)
import Glibc
#endif

extension OneShotProcessor.MeterRequest {
    /// A request to read `meter`, judged against the daemon's database when there is one.
    static func make(meter: String, configuration: IntakeConfiguration) -> OneShotProcessor.MeterRequest {
        let path = configuration.stateRoot().database
        let database = Database.exists(at: path) ? try? Database(path: path, readOnly: true) : nil
        let manual = ((try? database?.manualReadings(meter: meter)) ?? []).map {
            ManualReading(meter: $0.meterID, readAt: $0.readAt, value: $0.value, unit: $0.unit)
        }
        let history = ((try? database?.acceptedMeterReadings(meter: meter)) ?? []).map {
            AcceptedReading(capturedAt: $0.capturedAt, value: $0.value)
        }
        return OneShotProcessor.MeterRequest(
            id: meter, station: MeterStation(profilesFolder: configuration.meters.profilesDir), manual: manual, history: history)
    }
}
