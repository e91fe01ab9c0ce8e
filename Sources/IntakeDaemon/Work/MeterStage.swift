import IntakeMeter
import IntakePipeline
import IntakeStore

/// Which meter a job's image shows, and what its uploader claimed: the inbox subfolder names the
/// meter (inbox/prod/MTR-0042/x.jpg); else the configured filename pattern, whose named groups
/// `meter`, and optionally `reading` and `time`, are read from the file's name.
struct MeterNaming: Sendable {
    let pattern: String?

    struct Named: Sendable, Equatable {
        var meter: String
        var claimed: Double?
        var time: Int64?
    }

    func name(_ job: QueuedJob) -> Named? {
        var named = job.meter.map { Named(meter: $0) }
        guard let pattern, let regex = try? Regex(pattern), let match = job.name.firstMatch(of: regex) else { return named }
        func group(_ key: String) -> String? { match.output[key]?.substring.map(String.init) }
        if named == nil, let meter = group("meter"), !meter.isEmpty { named = Named(meter: meter) }
        named?.claimed = group("reading").flatMap(Double.init)
        named?.time = group("time").flatMap(ISOTime.milliseconds)
        return named
    }
}

/// The meter stage of a worker: reads the named meter with its profile and judges the reading
/// against the manual readings and the meter's accepted history, read from the database through
/// the worker's own read-only connection.
struct MeterStage {
    let station: MeterStation
    let naming: MeterNaming
    let databasePath: String
    private var database: Database?

    init(station: MeterStation, naming: MeterNaming, databasePath: String) {
        self.station = station
        self.naming = naming
        self.databasePath = databasePath
    }

    /// The meter the job's image shows, if it names one.
    func meter(of job: QueuedJob) -> MeterNaming.Named? { naming.name(job) }

    /// Whether an image of `named` must be decoded at full resolution: its meter has a profile.
    func needsFullResolution(_ named: MeterNaming.Named?) -> Bool {
        named.map { station.hasProfile($0.meter) } ?? false
    }

    mutating func run(_ job: QueuedJob, named: MeterNaming.Named, image: ProcessedImage) -> MeterReport {
        let read = station.read(meter: named.meter, photo: image.upright)
        let capturedAt = named.time ?? CaptureTime.of(image.facts, path: job.spoolPath)
        if database == nil { database = try? Database(path: databasePath, readOnly: true) }
        let (manual, history) = MeterReferences.load(meter: named.meter, from: database)
        return MeterReport(meter: named.meter, read: read, capturedAt: capturedAt, claimed: named.claimed, manual: manual, history: history)
    }
}

extension MeterReadingRecord {
    init(_ report: MeterReport) {
        self.init(
            meterID: report.meter, capturedAt: report.capturedAt, value: report.reading, unit: report.unit, confidence: report.confidence,
            digits: JSON.text(report.wheels + report.dials), claimedValue: report.claimed, manualValue: report.manualValue,
            manualReadAt: report.manualReadAt, delta: report.delta, verdict: report.verdict.rawValue, reason: report.reason,
            plausibility: report.plausibility)
    }
}
