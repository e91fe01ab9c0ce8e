import IntakeConfig
import IntakeMeter
import IntakePipeline
import IntakeStore

#if canImport(Glibc)
import Glibc
#endif

extension OneShotProcessor.MeterRequest {
    /// A request to read `meter`, judged against the daemon's database when there is one.
    static func make(meter: String, configuration: IntakeConfiguration) -> OneShotProcessor.MeterRequest {
        let path = configuration.daemon.root + "/intake.db"
        let database = access(path, R_OK) == 0 ? try? Database(path: path, readOnly: true) : nil
        let (manual, history) = MeterReferences.load(meter: meter, from: database)
        return OneShotProcessor.MeterRequest(
            id: meter, station: MeterStation(profilesFolder: configuration.meters.profilesDir), manual: manual, history: history)
    }
}
