import IntakeMeter
import IntakePipeline
import IntakeStore
import IntakeCore

/// Which meter a job's image shows, and what its uploader claimed. The meter: the inbox subfolder
/// (inbox/prod/MTR-0042/x.jpg) when it names a meter, else the JSON sidecar's `meter`, else the
/// configured filename pattern's named group `meter`. The claimed reading and time: the
/// sidecar's, else the pattern's groups `reading` and `time`.
///
/// A subfolder names a meter when the meter has a profile or manual readings, or its whole name
/// matches `meters.folder_pattern`; otherwise it is just a folder (holiday photos dropped into
/// `inbox/prod/holiday/`), and its photos get no meter verdict.
struct MeterNaming {
    /// The configured patterns, compiled once per worker (a Regex cannot be shared between
    /// threads); nil when none is set or it does not compile.
    private let pattern: Regex<AnyRegexOutput>?
    private let folderPattern: Regex<AnyRegexOutput>?

    init(pattern: String?, folderPattern: String? = nil) {
        self.pattern = pattern.flatMap { try? Regex($0) }
        self.folderPattern = folderPattern.flatMap { try? Regex($0) }
    }

    /// Whether the subfolder `name` names a meter; `isKnown` says whether a meter of that name
    /// has a profile or manual readings.
    func folderNamesMeter(_ name: String, isKnown: (String) -> Bool) -> Bool {
        if let folderPattern, (try? folderPattern.wholeMatch(in: name)) != nil { return true }
        return isKnown(name)
    }

    struct Named: Sendable, Equatable {
        var meter: String
        var claimed: Double?
        var time: Int64?
        /// Why a sidecar's claim could not be used; shown with the verdict.
        var sidecarProblem: String?
    }

    func name(_ job: QueuedJob, sidecar: Result<SidecarClaim, SidecarProblem>? = nil, isKnown: (String) -> Bool = { _ in true }) -> Named? {
        let fromName = patternGroups(job.name)
        let claim = try? sidecar?.get()
        let folder = job.meter.flatMap { folderNamesMeter($0, isKnown: isKnown) ? $0 : nil }
        let patterned = fromName["meter"].flatMap { SafeName.refusal(ofComponent: $0) == nil ? $0 : nil }
        guard let meter = folder ?? claim?.meter ?? patterned else { return nil }
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
/// against the manual readings and the meter's accepted history, as the ledger holds them.
final class MeterStage {
    let station: MeterStation
    let naming: MeterNaming
    let ledger: MeterLedger

    init(station: MeterStation, naming: MeterNaming, ledger: MeterLedger) {
        self.station = station
        self.naming = naming
        self.ledger = ledger
    }

    /// The meter step of the job, when its image shows a meter.
    func step(for job: QueuedJob) -> JobRunner.MeterStep? {
        guard let named = meter(of: job) else { return nil }
        return JobRunner.MeterStep(fullResolution: station.hasProfile(named.meter)) { [self] image in
            run(job, named: named, image: image)
        }
    }

    /// The meter the job's image shows, if its folder, sidecar or name names one.
    func meter(of job: QueuedJob) -> MeterNaming.Named? {
        naming.name(job, sidecar: job.sidecar) { [station, ledger] meter in
            station.hasProfile(meter) || ledger.hasManualReadings(meter)
        }
    }

    func run(_ job: QueuedJob, named: MeterNaming.Named, image: ProcessedImage) -> MeterReport {
        let read = station.read(meter: named.meter, photo: image.upright)
        let capturedAt = CaptureTime.of(image.facts, claimed: named.time, path: job.spoolPath)
        let references = ledger.references(for: named.meter)
        var report = MeterReport(
            meter: named.meter, read: read, capturedAt: capturedAt, claimed: named.claimed, manual: references.manual,
            history: references.history)
        if let problem = references.problem { report.reason += "; \(problem): judged without them" }
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
