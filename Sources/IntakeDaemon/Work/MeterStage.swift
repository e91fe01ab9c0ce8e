import IntakeMeter
import IntakePipeline
import IntakeStore

/// Which meter a job's image shows, and what its uploader claimed. The meter: the inbox subfolder
/// (inbox/prod/MTR-0042/x.jpg), else the JSON sidecar's `meter`, else the configured filename
/// pattern's named group `meter`. The claimed reading and time: the sidecar's, else the pattern's
/// groups `reading` and `time`.
struct MeterNaming {
    /// The configured pattern, compiled once per worker (a Regex cannot be shared between
    /// threads); nil when none is set or it does not compile, and then no file name names a meter.
    private let pattern: Regex<AnyRegexOutput>?

    init(pattern: String?) {
        self.pattern = pattern.flatMap { try? Regex($0) }
    }

    struct Named: Sendable, Equatable {
        var meter: String
        var claimed: Double?
        var time: Int64?
        /// Why a sidecar's claim could not be used; shown with the verdict.
        var sidecarProblem: String?
    }

    func name(_ job: QueuedJob, sidecar: Result<SidecarClaim, SidecarProblem>? = nil) -> Named? {
        let fromName = patternGroups(job.name)
        let claim = try? sidecar?.get()
        guard let meter = job.meter ?? claim?.meter ?? fromName["meter"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        var named = Named(meter: meter)
        named.claimed = claim?.reading ?? fromName["reading"].flatMap(Double.init)
        named.time = claim?.time ?? fromName["time"].flatMap(ISOTime.milliseconds)
        if case .failure(let problem)? = sidecar { named.sidecarProblem = problem.reason }
        return named
    }

    /// The pattern's named groups `meter`, `reading` and `time` in a file's name, those that matched.
    private func patternGroups(_ name: String) -> [String: String] {
        guard let pattern, let match = name.firstMatch(of: pattern) else { return [:] }
        var groups: [String: String] = [:]
        for key in ["meter", "reading", "time"] {
            if let value = match.output[key]?.substring { groups[key] = String(value) }
        }
        return groups
    }
}

/// The meter stage of a worker: reads the named meter with its profile and judges the reading
/// against the manual readings and the meter's accepted history, read from the database through
/// the worker's own read-only connection.
struct MeterStage {
    let station: MeterStation
    let naming: MeterNaming
    let databasePath: String
    let layout: OutputLayout
    private var database: Database?

    init(station: MeterStation, naming: MeterNaming, databasePath: String, layout: OutputLayout) {
        self.station = station
        self.naming = naming
        self.databasePath = databasePath
        self.layout = layout
    }

    /// The meter the job's image shows, if it or its sidecar names one.
    func meter(of job: QueuedJob) -> MeterNaming.Named? {
        naming.name(job, sidecar: SidecarClaim.read(layout.spooledSidecar(job: job.id)))
    }

    /// Whether an image of `named` must be decoded at full resolution: its meter has a profile.
    func needsFullResolution(_ named: MeterNaming.Named?) -> Bool {
        named.map { station.hasProfile($0.meter) } ?? false
    }

    mutating func run(_ job: QueuedJob, named: MeterNaming.Named, image: ProcessedImage) -> MeterReport {
        let read = station.read(meter: named.meter, photo: image.upright)
        let capturedAt = CaptureTime.of(image.facts, claimed: named.time, path: job.spoolPath)
        if database == nil { database = try? Database(path: databasePath, readOnly: true) }
        let (manual, history) = MeterReferences.load(meter: named.meter, from: database)
        var report = MeterReport(meter: named.meter, read: read, capturedAt: capturedAt, claimed: named.claimed, manual: manual, history: history)
        if let problem = named.sidecarProblem { report.reason += "; \(problem): its claim was not compared" }
        return report
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
