import IntakeConfig
import IntakeMeter
import IntakePipeline
import IntakeStore

#if canImport(Glibc)
import Glibc
#endif

/// What a meter's readings are judged against, from the daemon's database when there is one:
/// its manual readings, and the readings accepted before.
enum MeterReferences {
    static func request(meter: String, configuration: IntakeConfiguration) -> OneShotProcessor.MeterRequest {
        let station = MeterStation(profilesFolder: configuration.meters.profilesDir)
        let path = configuration.daemon.root + "/intake.db"
        guard access(path, R_OK) == 0, let database = try? Database(path: path, readOnly: true) else {
            return OneShotProcessor.MeterRequest(id: meter, station: station, manual: [], history: [])
        }
        let manual = ((try? database.manualReadings(meter: meter)) ?? []).map {
            ManualReading(meter: $0.meterID, readAt: $0.readAt, value: $0.value)
        }
        let history = ((try? database.acceptedMeterReadings(meter: meter)) ?? []).map {
            AcceptedReading(capturedAt: $0.capturedAt, value: $0.value)
        }
        return OneShotProcessor.MeterRequest(id: meter, station: station, manual: manual, history: history)
    }
}
